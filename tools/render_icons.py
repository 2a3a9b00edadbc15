"""Draws the app's PNG icons from the default mark (SVG) in chromium: `make icons`.

The PWA manifest needs PNG icons of 192 and 512 px; they are generated from
members/static/members/mark.svg, never drawn by hand, so the web and the app show one mark.
"""

import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1] / "src" / "skarbiec"
MARK = ROOT / "members" / "static" / "members" / "mark.svg"
ICONS = {192: ROOT / "mobileapp" / "static" / "mobileapp" / "icon-192.png",
         512: ROOT / "mobileapp" / "static" / "mobileapp" / "icon-512.png"}


def main() -> int:
    svg = MARK.read_text(encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        for size, target in ICONS.items():
            sized = re.sub(r'width="\d+" height="\d+"', f'width="{size}" height="{size}"', svg, 1)
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(f"<!DOCTYPE html><html><body style='margin:0'>{sized}</body></html>")
            page.locator("svg").screenshot(path=str(target), omit_background=True)
            page.close()
            print(f"{target.relative_to(ROOT.parents[1])}: {size}x{size}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
