"""Where the browser tests put their screenshots: docs/screenshots only when asked (`make
screenshots` sets SKARBIEC_SCREENSHOTS=1), so `make test` and CI leave the tree unchanged."""

import os
from pathlib import Path

from tests.e2e.conftest import SCREENSHOTS, screenshot_directory


def test_screenshots_go_to_docs_only_when_asked(tmp_path: Path):
    assert SCREENSHOTS.parts[-2:] == ("docs", "screenshots")
    assert screenshot_directory({"SKARBIEC_SCREENSHOTS": "1"}, tmp_path) == SCREENSHOTS
    assert screenshot_directory({}, tmp_path) == tmp_path
    assert screenshot_directory({"SKARBIEC_SCREENSHOTS": "0"}, tmp_path) == tmp_path


def test_screenshots_dir_of_this_run_matches_the_environment(screenshots_dir: Path):
    asked = os.environ.get("SKARBIEC_SCREENSHOTS") == "1"
    assert (screenshots_dir == SCREENSHOTS) is asked
    assert screenshots_dir.is_dir()
