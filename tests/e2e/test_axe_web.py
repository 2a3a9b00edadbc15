"""WCAG 2.1 AA in the internet service (issue 12, item 7): axe-core finds no violation on any
page state, in Polish and English, on a desktop and a 320 px phone, and no page is wider than
the phone (R-X5, R-W1–R-W6, R-L1–R-L5). A new page: one more row in a table below."""

from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page

from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account, LedgerEntry
from skarbiec.ledger.nrb import format_nrb
from skarbiec.members.models import Member
from tests.e2e.axe import LANGUAGES, State, open_context, walk
from tests.factories import make_credit_union, make_member
from tests.ledger.helpers import WEB
from tests.web.login_steps import PASSWORD, last_sms_code, wrong_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _settings(settings, live_server):
    settings.RATE_LIMIT_PER_ADDRESS = (10_000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (10_000, 60)
    settings.OTP_SEND_LIMIT = (10_000, 600)
    settings.PUBLIC_URL = live_server.url


@dataclass
class World:
    member: Member
    temporary: Member  # must replace a temporary password
    blocked: Member  # three wrong passwords ahead
    current: Account
    savings: Account
    entry: LedgerEntry
    target: Account


def _world() -> World:
    cu = make_credit_union(name="SKOK Przykładowa", helpline_phones=["801 803 800"])
    member = make_member(cu, first_name="Anna", last_name="Nowak-Wielowyrazowa")
    current = open_account(member, Account.Kind.CURRENT, WEB)
    savings = open_account(member, Account.Kind.SAVINGS, WEB)
    deposit_cash(current, 2_500_00, WEB, title="Wynagrodzenie za listopad")
    deposit_cash(savings, 120_00, WEB)
    other = make_member(cu, first_name="Ewa", last_name="Lis")
    target = open_account(other, Account.Kind.CURRENT, WEB)
    return World(
        member=member,
        temporary=make_member(cu, first_name="Jan", must_change_password="yes"),
        blocked=make_member(cu, first_name="Piotr"),
        current=current,
        savings=savings,
        entry=LedgerEntry.objects.filter(account=current).order_by("pk").first(),  # type: ignore[arg-type]
        target=target,
    )


def go(path: str):
    return lambda page, world: page.goto(path.format(w=world))


def submit(page: Page, form: str = "main form.form") -> None:
    """Sends the page's (last) form as its submit button would, and waits for the answer."""
    with page.expect_navigation():
        page.locator(form).last.evaluate("(f) => f.requestSubmit()")


def password_step(page: Page, member: Member, password: str = PASSWORD) -> None:
    page.goto("/")
    page.fill("#id_login", member.login)
    page.fill("#id_password", password)
    submit(page)


def code_step(page: Page, member: Member) -> None:
    page.fill("#id_code", last_sms_code(member))
    submit(page)


def log_out(page: Page, world: World) -> None:
    submit(page, "form.logout-form")


def log_in(member_of):
    def reach(page: Page, world: World) -> None:
        member = member_of(world)
        password_step(page, member)
        code_step(page, member)

    return reach


def wrong_password(page: Page, world: World) -> None:
    password_step(page, world.member, "Wrong#pass1")


def blocked(page: Page, world: World) -> None:
    for _ in range(3):
        password_step(page, world.blocked, "Wrong#pass1")


def code_page(page: Page, world: World) -> None:
    password_step(page, world.member)


def code_error(page: Page, world: World) -> None:
    page.fill("#id_code", wrong_code(last_sms_code(world.member)))
    submit(page)


def transfer_to_other(page: Page, world: World) -> None:
    page.goto("/transfers/new/")
    page.fill("#id_payee_account", format_nrb(world.target.number))
    page.fill("#id_payee_name", "Ewa Lis")
    page.fill("#id_title", "Za obiad")
    page.fill("#id_amount", "12,50")
    submit(page)


def own_transfer_booked(page: Page, world: World) -> None:
    page.goto("/transfers/new/")
    page.select_option("#id_to_own", world.savings.number)
    page.fill("#id_title", "Oszczędności")
    page.fill("#id_amount", "10")
    submit(page)


def payee_code(page: Page, world: World) -> None:
    page.goto("/payees/")
    page.fill("#id_name", "Ewa Lis")
    page.fill("#id_account", format_nrb(world.target.number))
    submit(page)


def limits_code(page: Page, world: World) -> None:
    page.goto("/limits/")
    page.fill("#id_per_transaction", "30000")
    submit(page)


def limits_error(page: Page, world: World) -> None:
    page.goto("/limits/")
    page.fill("#id_daily", "x")
    submit(page)


def session_warning(page: Page, world: World) -> None:
    """The idle warning (R-W3) as it shows a minute before the end."""
    page.clock.install()
    page.goto("/start/")
    page.clock.run_for(245_000)
    page.locator("[data-session-warning]").wait_for(state="visible")


ANONYMOUS = [
    State("landing", go("/")),
    State("login, wrong password", wrong_password),
    State("blocked after three wrong passwords", blocked),
    State("get the app", go("/get-the-app/")),
    State("page not found", go("/no-such-page/")),
    State("SMS code", code_page),
    State("SMS code, wrong code", code_error),
]
TEMPORARY_PASSWORD = [
    State("replace the temporary password", log_in(lambda w: w.temporary)),
    State("temporary password, refused", lambda page, world: submit(page)),
]
MEMBER = [
    State("start", log_in(lambda w: w.member)),
    State("accounts", go("/accounts/")),
    State("history", go("/accounts/{w.current.pk}/")),
    State("history, bad filter", go("/accounts/{w.current.pk}/?amount_min=x")),
    State("history entry", go("/accounts/entries/{w.entry.pk}/")),
    State("statements", go("/accounts/{w.current.pk}/statements/")),
    State("new transfer", go("/transfers/new/")),
    State("new transfer, refused", lambda page, world: submit(page)),
    State("transfer, SMS code", transfer_to_other),
    State("transfer, wrong code", lambda page, world: submit(page)),
    State("transfer between own accounts, booked", own_transfer_booked),
    State("trusted payees", go("/payees/")),
    State("trusted payee, SMS code", payee_code),
    State("limits", go("/limits/")),
    State("limits, refused", limits_error),
    State("limits, SMS code", limits_code),
    State("settings: access channels", go("/settings/channels/")),
    State("settings: activate the mobile channel", go("/settings/channels/mobile/activate/")),
    State("settings: activate the app", go("/settings/mobile-app/")),
    State("settings: devices", go("/settings/devices/")),
    State("settings: password", go("/settings/password/")),
    State("settings: password, refused", lambda page, world: submit(page)),
    State("settings: security events", go("/settings/security-events/")),
    State("idle warning", session_warning),
]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_r_x5_every_web_page_meets_wcag_21_aa(browser: Browser, live_server, lang: str):
    world = _world()
    context = open_context(browser, live_server.url, lang)
    page = context.new_page()
    page.set_default_timeout(15_000)
    found = walk(page, ANONYMOUS, world, lang)
    found |= walk(page, TEMPORARY_PASSWORD, world, lang)
    log_out(page, world)
    found |= walk(page, MEMBER, world, lang)
    context.close()
    assert found == {}, "\n".join(f"{name}: {p}" for name, ps in found.items() for p in ps)
