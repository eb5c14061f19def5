"""The text and JSON forms of a model check (:class:`sd_runner.validation.checks.ModelCheck`),
as ``sd-runner check`` prints them."""

from __future__ import annotations

import json


def check_text(result) -> str:
    """One line per check, member, assertion and knockout, then the verdict."""
    return "\n".join(result.summary_lines())


def check_json(result) -> str:
    """Every section of the check as one JSON object."""
    return json.dumps(result.as_dict(), indent=1)
