"""One mapping of domain errors to pages (R-X8): views do not catch refusals themselves."""

import ast
from pathlib import Path

import pytest
from django.test import Client
from tests.factories import CLI, make_member
from tests.web.login_steps import log_in

from skarbiec.channels.lifecycle import block_web_channel_on_request

WEB = Path(__file__).resolve().parents[2] / "src" / "skarbiec" / "web"


def test_r_x8_no_page_view_catches_a_domain_error_itself():
    caught = []
    for path in WEB.rglob("*.py"):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                names = ast.unparse(node.type)
                if "Error" in names and ("Domain" in names or "Blocked" in names):
                    caught.append(f"{path.relative_to(WEB)}:{node.lineno} {names}")
    assert caught == []


@pytest.mark.django_db
def test_r_x8_not_found_and_blocked_have_their_own_pages(client: Client):
    member = make_member()
    other = make_member()
    log_in(client, member)
    from skarbiec.ledger.accounts import open_account
    from skarbiec.ledger.models import Account

    foreign = open_account(other, Account.Kind.CURRENT, CLI)
    response = client.get(f"/accounts/{foreign.pk}/")
    assert response.status_code == 404
    assert "Not available" in response.content.decode()
    block_web_channel_on_request(member, CLI)
    # The session of a blocked channel ends; the login form then answers with the blocked page.
    assert client.get("/start/")["Location"] == "/"
    response = client.post("/login/", {"login": member.login, "password": "Start#2024pl"})
    assert response.status_code == 403
    assert "801 803 800" in response.content.decode()
