"""Steps of the web login as a member does them, for HTTP and browser tests."""

import re

from django.test import Client

from skarbiec.members.models import Member
from skarbiec.otp.models import SmsMessage
from skarbiec.otp.sms import decrypt_body

PASSWORD = "Start#2024pl"


def last_sms_code(member: Member) -> str:
    """The code from the newest SMS in the outbox for this member."""
    sms = SmsMessage.objects.filter(member=member).order_by("-pk").first()
    assert sms is not None, "no SMS in the outbox"
    match = re.search(r"\b(\d{6,8})\b", decrypt_body(sms.body_encrypted))
    assert match, "no code in the SMS"
    return match.group(1)


def wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def log_in(client: Client, member: Member, password: str = PASSWORD) -> None:
    """Both factors through the real pages; fails the test if any step is refused."""
    response = client.post("/login/", {"login": member.login, "password": password})
    assert response.status_code == 302, response.content.decode()[:500]
    assert response["Location"] == "/login/code/"
    response = client.post("/login/code/", {"code": last_sms_code(member)})
    assert response.status_code == 302, response.content.decode()[:500]


def english_client(**defaults: object) -> Client:
    """A browser that chose English (cookie), so assertions read the English texts."""
    client = Client(**defaults)  # type: ignore[arg-type]
    client.cookies["skarbiec_lang"] = "en"
    return client


def page_without(html: str, name: str) -> str:
    """A page with `name` (a Login, a username) and the per-response CSRF masks taken out:
    pages that must not tell two cases apart compare equal after this."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    html = re.sub(r'"X-CSRFToken": "[^"]+"', "", html)
    return html.replace(name, "NAME")
