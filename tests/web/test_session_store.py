"""The Django session store of the web channel and back-office (skarbiec.web.session_store)."""

import time

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.models import Session
from django.core import signing
from django.core.signing import b62_encode
from django.db import OperationalError

from skarbiec.web import session_store


@pytest.mark.django_db(transaction=True)
def test_r_w1_a_new_session_key_that_clashes_is_drawn_again(monkeypatch):
    """The key is not looked up before the insert: a clash is refused by the unique key and a
    new key drawn; the session that held the key keeps its data."""
    existing = session_store.SessionStore()
    existing["member"] = "first"
    existing.create()
    keys = iter([existing.session_key, "k" * 32])
    monkeypatch.setattr(session_store, "get_random_string", lambda length, chars: next(keys))
    store = session_store.SessionStore()
    store["member"] = "second"
    store.create()
    assert store.session_key == "k" * 32
    assert session_store.SessionStore(existing.session_key).load() == {"member": "first"}
    assert session_store.SessionStore("k" * 32).load() == {"member": "second"}


@pytest.mark.django_db
def test_deleting_a_session_removes_only_that_one():
    one, other = session_store.SessionStore(), session_store.SessionStore()
    one.create()
    other.create()
    one.delete()
    session_store.SessionStore().delete("no-such-key")
    assert list(Session.objects.values_list("session_key", flat=True)) == [
        session_store.stored_key(other.session_key)
    ]


@pytest.mark.django_db(transaction=True)
def test_r_w1_a_cycled_key_is_written_once_and_again_only_when_the_data_changes(
    django_assert_num_queries, monkeypatch
):
    """At the password step the pending login is stored, then the key cycled: one UPDATE
    re-keys the row with the data, and the end of the request does not write the same data
    again. A change after that is written; the old key is gone."""
    store = session_store.SessionStore()
    store["planted"] = "yes"
    store.create()
    old_key = store.session_key
    store["pending"] = {"member_id": 1}
    with django_assert_num_queries(1):  # the row re-keyed in place
        store.cycle_key()
    assert store.session_key != old_key
    # The end of the request may come in the next second, whose encoding of the same data is
    # signed with another timestamp: still not written again.
    later = int(time.time()) + 5
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: b62_encode(later))
    with django_assert_num_queries(0):
        store.save()
    store["pending"] = {"member_id": 1, "attempts_left": 2}
    with django_assert_num_queries(1):
        store.save()
    assert session_store.SessionStore(store.session_key).load() == {
        "planted": "yes",
        "pending": {"member_id": 1, "attempts_left": 2},
    }
    assert session_store.SessionStore(old_key).load() == {}
    assert not Session.objects.filter(session_key=session_store.stored_key(old_key)).exists()


@pytest.mark.django_db(transaction=True)
def test_saving_a_session_deleted_meanwhile_is_refused():
    """Logged out in another tab: the request's write finds no row and says so (Django then
    answers SessionInterrupted), it does not bring the session back."""
    from django.contrib.sessions.backends.base import UpdateError

    store = session_store.SessionStore()
    store["member"] = "first"
    store.create()
    session_store.SessionStore().delete(store.session_key)
    store["member"] = "changed"
    with pytest.raises(UpdateError):
        store.save()
    assert not Session.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_expired_session_is_not_loaded():
    from datetime import timedelta

    from django.utils import timezone

    store = session_store.SessionStore()
    store["member"] = "first"
    store.create()
    Session.objects.filter(session_key=session_store.stored_key(store.session_key)).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    fresh = session_store.SessionStore(store.session_key)
    assert fresh.load() == {}
    assert fresh.session_key is None


@pytest.mark.django_db(transaction=True)
def test_r_w1_a_cycled_key_that_clashes_falls_back_to_a_new_row(monkeypatch):
    """The re-key's new key is taken by another session: that session keeps its data, this
    one gets another key through Django's insert, and its old key stops working."""
    other = session_store.SessionStore()
    other["member"] = "other"
    other.create()
    store = session_store.SessionStore()
    store["member"] = "mine"
    store.create()
    old_key = store.session_key
    keys = iter([other.session_key, "k" * 32])
    monkeypatch.setattr(session_store, "get_random_string", lambda length, chars: next(keys))
    store.cycle_key()
    assert store.session_key == "k" * 32
    assert session_store.SessionStore(other.session_key).load() == {"member": "other"}
    assert session_store.SessionStore("k" * 32).load() == {"member": "mine"}
    assert session_store.SessionStore(old_key).load() == {}


@pytest.mark.django_db(transaction=True)
def test_r_w1_cycling_the_key_of_a_session_never_stored_inserts_it():
    store = session_store.SessionStore()
    store["pending"] = {"member_id": 1}
    store.cycle_key()
    assert session_store.SessionStore(store.session_key).load() == {"pending": {"member_id": 1}}


@pytest.mark.django_db(transaction=True)
def test_r_x8_a_locked_database_at_the_session_write_is_not_an_invalid_request(monkeypatch):
    """Django's UpdateError becomes a 400 "invalid data" page in the session middleware: a
    database that cannot write just then must go up as the database error it is (the 503
    page with Retry-After), only a session deleted meanwhile is an UpdateError."""
    store = session_store.SessionStore()
    store["member"] = "first"
    store.create()
    store["member"] = "second"

    def locked(sql: str, params: list[object]) -> int:
        raise OperationalError("database is locked")

    monkeypatch.setattr(store, "_write", locked)
    with pytest.raises(OperationalError):
        store.save()
    monkeypatch.setattr(store, "_write", lambda sql, params: 0)
    with pytest.raises(UpdateError):
        store.save()


@pytest.mark.django_db
def test_r_x9_a_copy_of_the_database_opens_no_session(client):
    """The table holds keyed hashes of the keys: a key read from a copy of the database, sent
    as the cookie, is no session (the browser's key is nowhere in the database)."""
    from tests.factories import make_member
    from tests.web.login_steps import log_in

    member = make_member()
    log_in(client, member)
    browser_key = client.cookies["skarbiec_session"].value
    [stored] = Session.objects.values_list("session_key", flat=True)
    assert stored == session_store.stored_key(browser_key) and browser_key not in stored
    thief = type(client)()
    thief.cookies["skarbiec_session"] = stored
    assert thief.get("/start/")["Location"] == "/"
    assert client.get("/start/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_r_x9_the_async_session_methods_keep_the_key_hashed_too():
    from asgiref.sync import async_to_sync

    store = session_store.SessionStore()
    store["member"] = "first"
    async_to_sync(store.acreate)()
    [stored] = Session.objects.values_list("session_key", flat=True)
    assert stored == session_store.stored_key(store.session_key)
    loaded = session_store.SessionStore(store.session_key)
    assert async_to_sync(loaded.aload)() == {"member": "first"}
    assert async_to_sync(loaded.aexists)(store.session_key)
    async_to_sync(loaded.adelete)()
    assert not Session.objects.exists()
