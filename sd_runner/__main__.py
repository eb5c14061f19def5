"""``python -m sd_runner``: the same as the ``sd-runner`` command."""

from sd_runner.cli import main

main()
