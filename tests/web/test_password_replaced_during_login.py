"""A password replaced while a login's password is being compared (R-W1, R-O1, R-X6). Found by
a review of the change of 7 December: the login went on with the old password, and with a
stored hash needing a rehash the member's new password was overwritten by the old one."""

import argon2
import pytest
from django.db import transaction
from tests.factories import CLI, make_member, password_matches
from tests.lock_waits import committed_while_the_acceptance_waits
from tests.web.login_steps import PASSWORD, english_client

from skarbiec.channels.models import WebChannel
from skarbiec.channels.web import password as web_password
from skarbiec.core import attempts
from skarbiec.core.locks import for_update
from skarbiec.core.password_hashing import hash_password
from skarbiec.members.models import Member
from skarbiec.otp.models import SmsMessage
from skarbiec.otp.operations import lock_members_codes

NEW = "Nowe#Haslo2025"


def _change_password_meanwhile(monkeypatch, member):
    original = attempts.PasswordGuess._matches
    done = []

    def matches(self, row):
        result = original(self, row)
        if not done:
            done.append(1)
            # The member's voluntary change commits while this login's Argon2 runs.
            with transaction.atomic():
                lock_members_codes(member)  # the order of every change (docs/architecture.md)
                channel = for_update(WebChannel.objects).get(member=member)
                locked = for_update(Member.objects).get(pk=member.pk)
                web_password._replace_web_password(
                    member, locked, channel, hash_password(NEW), True, CLI
                )
        return result

    monkeypatch.setattr(attempts.PasswordGuess, "_matches", matches)


@pytest.mark.django_db
def test_r_w1_a_password_replaced_during_its_comparison_opens_no_login(monkeypatch):
    member = make_member()
    _change_password_meanwhile(monkeypatch, member)
    browser = english_client()
    r = browser.post("/login/", {"login": member.login, "password": PASSWORD})
    assert r.status_code == 409
    assert not SmsMessage.objects.filter(member=member, give_up_at__isnull=False).exists()
    assert browser.get("/login/code/")["Location"] == "/"
    # Not the member's mistake: nothing counted; the new password logs in.
    assert WebChannel.objects.get(member=member).failed_attempts == 0
    monkeypatch.undo()
    r = browser.post("/login/", {"login": member.login, "password": NEW})
    assert r.status_code == 302 and r["Location"] == "/login/code/"


@pytest.mark.django_db
def test_r_w1_a_rehash_never_writes_back_a_replaced_password(monkeypatch):
    member = make_member()
    # A hash of older parameters (e.g. from before an ARGON2_* upgrade): rehashed at login.
    old = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    Member.objects.filter(pk=member.pk).update(web_password_hash=old)
    member.refresh_from_db()
    _change_password_meanwhile(monkeypatch, member)
    browser = english_client()
    r = browser.post("/login/", {"login": member.login, "password": PASSWORD})
    assert r.status_code == 409
    member.refresh_from_db()
    assert password_matches(member.web_password_hash, NEW)
    assert not password_matches(member.web_password_hash, PASSWORD)


@pytest.mark.django_db
def test_r_w1_a_password_replaced_after_its_acceptance_is_not_rehashed_over(monkeypatch):
    """The rehash runs after the acceptance, outside the channel's lock: a change committed in
    between stays (the rehash writes only over the hash it compared)."""
    from skarbiec.channels.web import login

    member = make_member()
    old = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    Member.objects.filter(pk=member.pk).update(web_password_hash=old)

    def hash_after_a_change(password: str) -> str:
        Member.objects.filter(pk=member.pk).update(web_password_hash=hash_password(NEW))
        return hash_password(password)

    monkeypatch.setattr(login, "hash_password", hash_after_a_change)
    english_client().post("/login/", {"login": member.login, "password": PASSWORD})
    member.refresh_from_db()
    assert password_matches(member.web_password_hash, NEW)


@pytest.mark.django_db(transaction=True)
def test_r_w1_a_change_committing_while_the_login_waits_for_its_lock_is_seen(monkeypatch):
    """Fault review of 7 December (PostgreSQL): the change holds the channel's lock while the
    login, its password compared, waits for it. PostgreSQL then re-reads the locked channel row
    (the new generation) but keeps the member row joined to it from before (the old hash):
    the old password passed and its code opened a session. The acceptance reads the hash
    afresh."""
    member = make_member()

    def change() -> None:
        lock_members_codes(member)
        channel = for_update(WebChannel.objects).get(member=member)
        locked = for_update(Member.objects).get(pk=member.pk)
        web_password._replace_web_password(member, locked, channel, hash_password(NEW), True, CLI)

    browser = english_client()
    with committed_while_the_acceptance_waits(monkeypatch, change):
        r = browser.post("/login/", {"login": member.login, "password": PASSWORD})
    assert r.status_code == 409
    assert browser.get("/login/code/")["Location"] == "/"
    member.refresh_from_db()
    assert password_matches(member.web_password_hash, NEW)
