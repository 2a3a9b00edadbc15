"""The Django session store of the web channel and back-office (skarbiec.web.session_store)."""

import pytest
from django.contrib.sessions.models import Session

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
    assert list(Session.objects.values_list("session_key", flat=True)) == [other.session_key]
