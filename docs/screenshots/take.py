"""Screenshots of the top of each HTML report, for the README.

Run from the repository root with the project installed and Debian's Chromium with
Playwright (as the browser tests use them):

    python docs/screenshots/take.py [PICTURE.png ...]

Each report is written by its command into a temporary folder and opened offline at
1280 x 900 pixels; the PNGs land beside this file. The calibration report is left out: it
takes a full calibration (see calibration/run.sh).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def reports(folder: Path) -> dict[str, list[str]]:
    """Each report's file name and the command that writes it, run in ``folder`` (names
    relative to it, so that no path of this machine shows in a picture)."""
    mdl = folder / "changed.mdl"
    text = (Path("models") / "value_chain_capture.mdl").read_text(encoding="utf-8")
    # A change for the diff report to show: patents come 1.5 times as cheaply (a constant
    # the calibration leaves alone, so that the runs see it).
    mdl.write_text(re.sub(r"(Patent Yield=\s*\n\s*)([0-9.]+)",
                          lambda m: m.group(1) + str(float(m.group(2)) * 1.5), text, count=1),
                   encoding="utf-8")
    return {
        "comparison.png": ["compare", "--loops", "--uncertainty", "200",
                           "--report", "comparison.html"],
        "sensitivity.png": ["sensitivity", "--method", "morris", "--n", "20",
                            "--report", "sensitivity.html"],
        "optimize.png": ["optimize", "--out", "mixes",
                         "--report", "optimize.html"],
        "discover.png": ["discover", "domestic-value-chain", "--members", "2000",
                         "--report", "discover.html"],
        "diff.png": ["diff", mdl.name, "--html", "diff.html"],
        "explorer.png": ["explore", "--out", "explorer.html"],
    }


def main(wanted: list[str]) -> None:
    command = shutil.which("sd-runner") or str(Path(sys.executable).parent / "sd-runner")
    with tempfile.TemporaryDirectory() as name, sync_playwright() as playwright:
        folder = Path(name)
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=FLAGS)
        for picture, arguments in reports(folder).items():
            if wanted and picture not in wanted:
                continue
            done = subprocess.run([command, *arguments], stdout=subprocess.DEVNULL, cwd=folder)
            # diff exits 1 when an outcome moves, as diff(1) does when files differ.
            if done.returncode not in ((0, 1) if arguments[0] == "diff" else (0,)):
                raise SystemExit(f"{arguments[0]} failed with exit code {done.returncode}")
            page_file = folder / arguments[-1]  # every command above names its page last
            context = browser.new_context(offline=True, viewport={"width": 1280,
                                                                  "height": 900})
            page = context.new_page()
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            page.wait_for_timeout(3000)  # plotly draws after the load event
            page.screenshot(path=str(HERE / picture))
            context.close()
            print(f"{picture}: {arguments[0]}")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
