"""Browser tests in real chromium (Debian's /usr/bin/chromium) against pytest-django's live
server. pytest-playwright is not used: the fixtures are here.

Screenshots go to docs/screenshots only when SKARBIEC_SCREENSHOTS=1 (`make screenshots`);
otherwise to a temporary directory, so an ordinary test run leaves the working tree clean."""

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop in the test's thread; Django would otherwise refuse
# the test's own database calls (creating members, reading the SMS outbox) there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import (  # noqa: E402
    Browser,
    BrowserContext,
    Page,
    Playwright,
    sync_playwright,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = "Pixel 7"  # 412×839, Android, touch

# Opens a phone-sized context; keyword arguments override the device's (e.g. user_agent).
PhoneContext = Callable[..., BrowserContext]


def screenshot_directory(environ: Mapping[str, str], scratch: Path) -> Path:
    """docs/screenshots when the run was asked to refresh them, else the scratch directory."""
    return SCREENSHOTS if environ.get("SKARBIEC_SCREENSHOTS") == "1" else scratch


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM}")
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser, live_server) -> Iterator[BrowserContext]:  # noqa: ANN001
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 1280, "height": 860}
    )
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    page.close()


@pytest.fixture
def phone_context(playwright: Playwright, browser: Browser, live_server) -> Iterator[PhoneContext]:  # noqa: ANN001
    """Opens browser contexts emulating a Pixel 7 at the live server, in English; the test may
    open several (a second phone, an old Android) and they are all closed after it."""
    opened: list[BrowserContext] = []

    def open_phone(**overrides: object) -> BrowserContext:
        options = {
            **playwright.devices[PHONE],
            "base_url": live_server.url,
            "locale": "en-GB",
            **overrides,
        }
        context = browser.new_context(**options)  # type: ignore[arg-type]
        opened.append(context)
        return context

    yield open_phone
    for context in opened:
        context.close()


@pytest.fixture(scope="session")
def screenshots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = screenshot_directory(os.environ, tmp_path_factory.mktemp("screenshots"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory
