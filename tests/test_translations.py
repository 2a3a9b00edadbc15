"""R-X5: Polish is the default language; English is available on every page, screen and API
message.

The catalogue (src/skarbiec/locale/pl/LC_MESSAGES/django.po) must be complete: no untranslated or
fuzzy entry, placeholders kept, three Polish plural forms, the committed .mo compiled from the .po,
and every text of the source extracted into it. Key answers must be Polish by default and English
when the member chooses it.

polib is not a dependency, so the .po is read by the small parser below.
"""

import ast
import gettext
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

import skarbiec
from skarbiec.channels.lifecycle import block_mobile_channel
from skarbiec.client import ApiError, DeviceClient
from skarbiec.core.context import RequestContext
from tests.api.steps import MOBILE_PASSWORD, member_with_channel
from tests.factories import make_member
from tests.web.login_steps import PASSWORD, english_client, last_sms_code

SOURCE = Path(skarbiec.__file__).parent
PO = SOURCE / "locale" / "pl" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
PLURAL_FORMS = (
    "nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);"
)
# %(name)s / %(n)d for Python, {name} for the mobile app's script, HTML tags in templates.
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}|</?[a-z][^>]*>")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    obsolete: bool = False

    @property
    def where(self) -> str:
        return f"{self.msgid!r} ({' '.join(self.references) or 'no reference'})"


_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")$")


def parse_po(path: Path) -> list[Entry]:
    """Entries of a .po file in order; the header is the entry with the empty msgid."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] = ("msgid", 0)

    def append(key: tuple[str, int], text: str) -> None:
        assert entry is not None
        name, index = key
        if name == "msgstr":
            entry.msgstr[index] = entry.msgstr.get(index, "") + text
        else:
            setattr(entry, name, (getattr(entry, name) or "") + text)

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            entry = None
            continue
        if entry is None:
            entry = Entry()
            entries.append(entry)
        if line.startswith("#~"):
            entry.obsolete = True
        elif line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#:"):
            entry.references += line[2:].split()
        elif line.startswith("#"):
            continue
        elif match := _KEYWORD.match(line):
            keyword, index, quoted = match.groups()
            target = ("msgstr", int(index or 0)) if keyword.startswith("msgstr") else (keyword, 0)
            append(target, ast.literal_eval(quoted))
        elif line.startswith('"'):
            append(target, ast.literal_eval(line))
        else:
            raise AssertionError(f"{path}: cannot read the line {raw!r}")
    return entries


def messages(path: Path = PO) -> list[Entry]:
    return [e for e in parse_po(path) if e.msgid and not e.obsolete]


def untranslated_or_fuzzy(entries: list[Entry]) -> list[str]:
    return [
        e.where for e in entries if "fuzzy" in e.flags or not e.msgstr or not all(e.msgstr.values())
    ]


def test_r_x5_catalogue_has_no_untranslated_or_fuzzy_entry() -> None:
    entries = messages()
    assert len(entries) > 300  # the parser read the real catalogue
    assert untranslated_or_fuzzy(entries) == []


def test_r_x5_translations_keep_their_placeholders() -> None:
    wrong = []
    for e in messages():
        wanted = sorted(PLACEHOLDER.findall(e.msgid))
        for text in e.msgstr.values():
            if sorted(PLACEHOLDER.findall(text)) != wanted:
                wrong.append(f"{e.where}: {text!r}")
    assert wrong == []


def test_r_x5_polish_plurals_have_three_forms() -> None:
    header = next(e for e in parse_po(PO) if not e.msgid)
    assert f"Plural-Forms: {PLURAL_FORMS}\n" in header.msgstr[0]
    plurals = [e for e in messages() if e.msgid_plural is not None]
    assert plurals, "the catalogue has plural entries (operations, attempts, minutes)"
    assert [e.where for e in plurals if sorted(e.msgstr) != [0, 1, 2]] == []


def test_r_x5_plural_forms_follow_polish_grammar() -> None:
    from django.utils import translation
    from django.utils.translation import ngettext

    with translation.override("pl"):
        said = {
            n: ngettext("%(total)s operation", "%(total)s operations", n) % {"total": n}
            for n in (1, 2, 4, 5, 12, 14, 22, 25, 101)
        }
    assert said == {
        1: "1 operacja",
        2: "2 operacje",
        4: "4 operacje",
        5: "5 operacji",
        12: "12 operacji",
        14: "14 operacji",
        22: "22 operacje",
        25: "25 operacji",
        101: "101 operacji",
    }


def test_r_x5_committed_mo_is_compiled_from_the_po() -> None:
    """A forgotten `skarbiec compilemessages` would ship the old texts."""
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "gettext's msgfmt is needed (apt-get install gettext)"
    result = subprocess.run(
        [msgfmt, "--check", "--statistics", "-o", "/dev/null", str(PO)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr
    with MO.open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    stale = []
    for e in messages():
        key = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        if e.msgid_plural is None:
            if compiled._catalog.get(key) != e.msgstr[0]:  # type: ignore[attr-defined]
                stale.append(e.where)
        elif any(
            compiled._catalog.get((key, i)) != text  # type: ignore[attr-defined]
            for i, text in e.msgstr.items()
        ):
            stale.append(e.where)
    assert stale == []


def test_r_x5_every_text_of_the_source_is_in_the_catalogue(tmp_path, settings, monkeypatch) -> None:
    """makemessages over a copy of the source: a text added without its Polish translation
    shows up as untranslated (or fuzzy) and is named here."""
    for tool in ("xgettext", "msgmerge", "msguniq"):
        assert shutil.which(tool), f"gettext's {tool} is needed (apt-get install gettext)"
    copy = tmp_path / "skarbiec"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("__pycache__", "static"))
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["pl"], verbosity=0, no_obsolete=True)
    entries = messages(copy / "locale" / "pl" / "LC_MESSAGES" / "django.po")
    assert len(entries) > 300  # makemessages ran over the real source
    assert untranslated_or_fuzzy(entries) == []


# -- answers in the member's language -----------------------------------------------------------


@pytest.mark.django_db
def test_r_x5_web_login_error_is_polish_by_default_and_english_when_chosen() -> None:
    member = make_member()
    polish = Client().post("/login/", {"login": member.login, "password": "Wrong#pass12"})
    english = english_client().post("/login/", {"login": member.login, "password": "Wrong#pass1"})
    assert polish.status_code == english.status_code == 401
    assert polish["Content-Language"] == "pl" and english["Content-Language"] == "en"
    assert "Login lub hasło są nieprawidłowe." in polish.content.decode()
    assert "The Login or password is incorrect." not in polish.content.decode()
    assert "The Login or password is incorrect." in english.content.decode()


@pytest.mark.django_db
def test_r_x5_password_rules_in_polish_and_english() -> None:
    """R-P1 rules on the page that replaces the temporary password, in both languages."""
    pages = {}
    for language in ("pl", "en"):
        client = Client()
        client.cookies["skarbiec_lang"] = language
        member = make_member(must_change_password="yes")
        client.post("/login/", {"login": member.login, "password": PASSWORD})
        client.post("/login/code/", {"code": last_sms_code(member)})
        response = client.post("/password/", {"new_password": "ab1", "repeated": "ab1"})
        assert response.status_code == 400
        pages[language] = response.content.decode()
    assert "Hasło musi mieć co najmniej 8 znaków." in pages["pl"]
    assert "mieć od 8 do 15 znaków," in pages["pl"]
    assert "The password must have at least 8 characters." not in pages["pl"]
    assert "The password must have at least 8 characters." in pages["en"]
    assert "have 8 to 15 characters," in pages["en"]


@pytest.fixture
def _keep_test_connection():
    """The WSGI handler closes database connections when a request ends; inside the test's
    transaction that would close the test's own connection (as in tests/api/conftest.py)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("_keep_test_connection")
def test_r_x5_mobile_api_channel_blocked_follows_accept_language() -> None:
    member = member_with_channel()
    block_mobile_channel(member, "pin_failures", RequestContext(actor="test", channel="cli"))
    answers = {}
    for language in ("pl", "en", None):
        device = DeviceClient.in_process(language=language or "pl")
        if language is None:  # no header at all: the default language
            device.http.headers.pop("Accept-Language")
        with pytest.raises(ApiError) as e:
            device.activate(member.login, MOBILE_PASSWORD)
        device.close()
        assert (e.value.status, e.value.code) == (403, "channel_blocked")
        answers[language] = e.value.body["message"]
    assert answers["pl"] == answers[None]
    assert answers["pl"].startswith("Aplikacja mobilna jest zablokowana.")
    assert "Ustawienia → Aktywuj Aplikację mobilną" in answers["pl"]
    assert answers["en"].startswith("The mobile app is blocked.")
    assert "Settings → Activate mobile app" in answers["en"]


@pytest.mark.django_db
def test_r_x5_every_text_of_the_mobile_app_has_its_polish_translation() -> None:
    texts = Client().get("/m/i18n.json").json()
    assert set(texts) == {"pl", "en"} and set(texts["pl"]) == set(texts["en"])
    same = sorted(key for key in texts["en"] if texts["pl"][key] == texts["en"][key])
    assert same == ["login"]  # "Login" is the Polish term too
    assert texts["pl"]["blocked_title"] == "Aplikacja mobilna jest zablokowana"
    assert texts["en"]["blocked_title"] == "The mobile app is blocked"
