"""R-X5, issue 12 item 6: every page and app screen speaks one language. Each page is rendered
in Polish and in English and its visible text searched for words only the other language uses
(a list of known strings: menu, greetings, account names from the catalogue, month names, the
currency as each writes it). Text marked with its own `lang` (the language switch) is allowed."""

import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from tests.api.steps import enable_mobile_channel, ready_device
from tests.factories import make_credit_union, make_member
from tests.ledger.helpers import WEB
from tests.web.login_steps import log_in

from skarbiec.client import DeviceClient
from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account, LedgerEntry, Order
from skarbiec.mobileapp.views import texts_by_language

pytestmark = pytest.mark.django_db(transaction=True)

POLISH_ONLY = [
    "Dzień dobry", "Rachunki", "Przelew", "Ustawienia", "Wyloguj", "Zaufani odbiorcy", "Limity",
    "Książka odbiorców",
    "Konto osobiste", "Konto oszczędnościowe", "Wpłata gotówkowa", "Kasa oddziału", "Dalej",
    "Infolinia", "Automatyczne wylogowanie", "Historia", "Twoje", "zł", "stycznia", "lutego",
    "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia", "września", "października",
    "listopada", "grudnia",
]  # fmt: skip
ENGLISH_ONLY = [
    "Good day", "Accounts", "Transfer", "Settings", "Log out", "Trusted payees", "Limits",
    "Payee book",
    "Current account", "Savings account", "Cash deposit", "Branch cash", "Next", "Helpline",
    "Automatic logout", "History", "Your", "p.m.", "a.m.", "PLN\u00a0", "January", "February",
    "March", "April", "June", "July", "August", "September", "October", "November", "December",
]  # fmt: skip
OTHER = {"pl": ENGLISH_ONLY, "en": POLISH_ONLY}


class VisibleText(HTMLParser):
    """The text a reader meets: no scripts or styles, nor elements marked with another lang."""

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang
        self.skip: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        other = dict(attrs).get("lang")
        if (
            self.skip
            or tag in ("script", "style")
            or (other and tag != "html" and other != self.lang)
        ):
            if tag not in ("input", "img", "br", "meta", "link"):
                self.skip.append(tag)
            return
        for name, value in attrs:
            if name in ("aria-label", "alt", "title", "placeholder") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self.skip and self.skip[-1] == tag:
            self.skip.pop()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def foreign_words(text: str, lang: str) -> list[str]:
    """The other language's words found, and a doubled period (a date ending in "p.m." before
    the sentence's own: "1:40 p.m..")."""
    found = [w for w in OTHER[lang] if re.search(r"(?<!\w)" + re.escape(w) + r"(?!\w)", text)]
    found += re.findall(r"\S*(?<!\.)\.\.(?!\.)", text)
    return found


def page_text(html: str, lang: str) -> str:
    parser = VisibleText(lang)
    parser.feed(html)
    return " ".join(parser.parts)


def _member_with_history():
    cu = make_credit_union(name="SKOK Przykładowa")
    member = make_member(cu, first_name="Anna")
    current = open_account(member, Account.Kind.CURRENT, WEB)
    savings = open_account(member, Account.Kind.SAVINGS, WEB, name="Konto oszczędnościowe")
    deposit_cash(current, 2_000_00, WEB)  # "Cash deposit" from "Branch cash"
    return member, current, savings


PAGES = [
    "/start/",
    "/accounts/",
    "/accounts/{current}/",
    "/accounts/entries/{entry}/",
    "/accounts/{current}/statements/",
    "/transfers/new/",
    "/transfers/{order}/",
    "/payees/",
    "/limits/",
    "/limits/?channel=mobile",
    "/settings/channels/",
    "/settings/channels/mobile/activate/",
    "/settings/mobile-app/",
    "/settings/devices/",
    "/settings/password/",
    "/settings/security-events/",
    "/get-the-app/",
    "/no-such-page/",
]


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_r_x5_every_page_in_one_language(lang: str):
    member, current, savings = _member_with_history()
    enable_mobile_channel(member)
    first = Client()
    log_in(first, member)  # the previous login the start page names, with its date
    client = Client()
    client.cookies["skarbiec_lang"] = lang
    anonymous = client.get("/").content.decode()
    log_in(client, member)
    client.post(
        "/transfers/new/",
        {
            "from_account": current.pk,
            "to_own": savings.number,
            "title": "Obiad",
            "amount": "10",
            "idempotency_key": "one-language",
        },
    )
    ids = {
        "current": current.pk,
        "entry": LedgerEntry.objects.filter(account=current).order_by("pk").first().pk,
        "order": Order.objects.get(member=member).pk,
    }
    found = {}
    pages = {"/": anonymous} | {
        url.format(**ids): client.get(url.format(**ids)).content.decode() for url in PAGES
    }
    for url, html in pages.items():
        assert f'<html lang="{lang}">' in html, url
        words = foreign_words(page_text(html, lang), lang)
        if words:
            found[url] = words
    assert found == {}, found


def test_r_x5_every_app_text_and_api_answer_in_one_language(settings):
    settings.PUBLIC_URL = "https://localhost:8443"
    texts = texts_by_language()
    for lang in ("pl", "en"):
        joined = " ".join(texts[lang].values())
        assert foreign_words(joined, lang) == [], lang
    member, _current, _savings = _member_with_history()
    enable_mobile_channel(member)
    device = DeviceClient.in_process()
    try:
        ready_device(device, member)
        for lang in ("pl", "en"):
            device.http.headers["Accept-Language"] = lang
            accounts = device.call("GET", "/accounts", auth=True)
            history = device.call("GET", f"/accounts/{accounts[0]['id']}/history", auth=True)
            assert foreign_words(str(accounts) + str(history), lang) == [], lang
    finally:
        device.close()
