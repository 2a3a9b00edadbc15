"""axe-core (npm registry, pinned in package-lock.json; `make node-tools`) run in real chromium
over a table of page states: each state is a name and the steps that reach it, so a new page is
one more row. A state fails on any WCAG 2.1 A/AA violation axe finds, on a page wider than a
phone's screen (WCAG 1.4.10 Reflow, checked at 320 CSS px) and on a `lang` other than the
language the page was asked in."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LANGUAGES = ("pl", "en")
# Each state is audited on a desktop and then, without reaching it again, at the narrowest screen
# WCAG 1.4.10 asks to reflow for (320 CSS px): same document, the phone's layout.
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 320, "height": 700}
PHONE_WIDTH = PHONE["width"]
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags}, resultTypes: ["violations"],
    // WCAG 2.5.3 Label in Name: axe marks it experimental, so it is turned on by name.
    rules: {"label-content-name-mismatch": {enabled: true}},
  });
  return result.violations.map((v) => v.id + " (" + v.impact + "): " + v.help + " — " +
    v.nodes.slice(0, 4).map((n) => n.target.join(" ")).join(", "));
}"""

# The elements that stick out past the phone's width, to name them in the failure.
WIDER_THAN = """(limit) => [...document.querySelectorAll("body *")]
  .filter((el) => el.getBoundingClientRect().right > limit + 1).slice(0, 4)
  .map((el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className ? "." + el.className.split(" ")[0] : ""))"""


@dataclass(frozen=True)
class State:
    """One page state: its name and how to reach it from the previous row's page."""

    name: str
    reach: Callable[[Page, Any], None]


def open_context(browser: Browser, base_url: str, lang: str, **options: Any) -> BrowserContext:
    """A browser in the language (its Accept-Language, the web's language cookie and the app's
    choice). The CSP is bypassed only so that axe's script can be injected."""
    locale = {"pl": "pl-PL", "en": "en-GB"}[lang]
    options.setdefault("viewport", DESKTOP)
    context = browser.new_context(base_url=base_url, locale=locale, bypass_csp=True, **options)
    context.add_cookies([{"name": "skarbiec_lang", "value": lang, "url": base_url}])
    context.add_init_script(f"localStorage.setItem('skarbiec-lang', '{lang}')")
    return context


def audit(page: Page, lang: str, viewport: str) -> list[str]:
    """What is wrong with the page as it is now; an empty list when nothing."""
    page.wait_for_load_state()
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    problems: list[str] = page.evaluate(RUN_AXE, WCAG_21_AA)
    found_lang = page.evaluate("() => document.documentElement.lang")
    if found_lang != lang:
        problems.append(f'lang="{found_lang}", expected "{lang}"')
    if viewport == "phone":
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > PHONE_WIDTH:
            wide = page.evaluate(WIDER_THAN, PHONE_WIDTH)
            problems.append(f"page {width} px wide at {PHONE_WIDTH} px (1.4.10): {wide}")
    return problems


def walk(page: Page, states: list[State], world: Any, lang: str) -> dict[str, list[str]]:
    """Reaches each state in turn and audits it on both viewports; returns the problems by
    state and viewport."""
    found: dict[str, list[str]] = {}
    for state in states:
        state.reach(page, world)
        for viewport, size in VIEWPORTS.items():
            page.set_viewport_size(size)
            problems = audit(page, lang, viewport)
            if problems:
                found[f"{state.name} ({viewport})"] = problems
        page.set_viewport_size(DESKTOP)
    return found
