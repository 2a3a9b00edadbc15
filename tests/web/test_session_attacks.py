"""Attacks on sessions and on settling parallel attempts (R-W3, R-O4, R-X7, R-X8): a re-key
racing a logout, parallel wrong codes, forged cookies. A session open across a block:
tests/web/test_forged_requests.py."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import pytest
from django.db import connection
from django.test import Client
from tests.factories import make_member
from tests.web.login_steps import PASSWORD, last_sms_code, wrong_code

from skarbiec.channels.models import WebChannel
from skarbiec.channels.web.login import begin_web_login, complete_web_login
from skarbiec.client import ApiError
from skarbiec.core import attempts
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.otp.models import Confirmation
from skarbiec.web import session_store

T = TypeVar("T")
CTX = RequestContext(ip_address="10.7.7.7", channel="web")


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings):
    # Tests that are about rate limits lower them again themselves.
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)


def on_another_connection(work: Callable[[], T]) -> T:
    """`work` on a thread of its own (so a database connection of its own), to its end."""
    box: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            box.append(work())
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            failure.append(e)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return box[0]


def outcome(fn: Callable[[], object]) -> str:
    try:
        fn()
    except (DomainError, ApiError) as e:
        return e.code
    return "accepted"


@contextmanager
def at_each_comparison(hook: Callable[[], None]) -> Iterator[None]:
    """Run `hook` each time a secret is compared, just before the comparison (that is, after
    its attempt was counted and committed, while it is not settled yet)."""
    classes = (attempts.PasswordGuess, attempts.DigestGuess)
    originals = {cls: cls._matches for cls in classes}

    def hooked(original):  # type: ignore[no-untyped-def]
        def _matches(self, row):  # type: ignore[no-untyped-def]
            hook()
            return original(self, row)

        return _matches

    for cls, original in originals.items():
        cls._matches = hooked(original)  # type: ignore[method-assign]
    try:
        yield
    finally:
        for cls, original in originals.items():
            cls._matches = original  # type: ignore[method-assign]


@contextmanager
def in_flight(attempt: Callable[[], object], depth: int) -> Iterator[list[str]]:
    """At each comparison one more `attempt` starts on another connection and runs to its end
    before the first is compared: `depth` attempts in flight at once, as parallel requests."""
    log: list[str] = []
    started = [1]

    def one_more() -> None:
        log.append("compared")
        if started[0] < depth:
            started[0] += 1
            log.append(on_another_connection(lambda: outcome(attempt)))

    with at_each_comparison(one_more):
        yield log


# ---------------------------------------------------------------------------------------------
# R-W3 / logout: re-keying a session that was deleted meanwhile


@pytest.mark.django_db(transaction=True)
def test_r_w3_cycling_the_key_of_a_session_logged_out_meanwhile_does_not_bring_it_back():
    """A request loaded the member's session; meanwhile the member logged out in another tab
    (the row is deleted). The request then re-keys the session (a web password change keeps
    its session with a new key; the staff login, the code step do the same). Like `save()`
    (test_saving_a_session_deleted_meanwhile_is_refused), it must not write the logged-out
    session back under a new key."""
    store = session_store.SessionStore()
    store["member_id"] = 42
    store.create()
    loaded = session_store.SessionStore(store.session_key)
    assert loaded["member_id"] == 42
    session_store.SessionStore().delete(store.session_key)  # logout elsewhere
    try:
        loaded.cycle_key()
    except Exception:  # noqa: BLE001 - refusing (UpdateError, SessionInterrupted) is fine
        pass
    if loaded.session_key is not None:
        assert session_store.SessionStore(loaded.session_key).load().get("member_id") is None, (
            "the logged-out session is alive again under a new key"
        )


# ---------------------------------------------------------------------------------------------
# R-O4 / R-X7: one operation, one consequence


@pytest.mark.django_db(transaction=True)
def test_r_o4_r_x7_three_wrong_login_codes_at_once_count_one_web_failure_not_three():
    """Three wrong codes for one web login cancel it and count ONE failure toward the web
    lockout (R-O4, R-X7). Sent as parallel requests, each of the three settlements finds the
    budget spent and runs the consequence again: three failures, the channel blocked."""
    member = make_member()
    pending = begin_web_login(member.login, PASSWORD, CTX)
    code = wrong_code(last_sms_code(member))
    with in_flight(lambda: complete_web_login(pending, code, CTX), depth=3) as log:
        log.append(outcome(lambda: complete_web_login(pending, code, CTX)))
    assert log.count("compared") == 3
    channel = WebChannel.objects.get(member=member)
    assert channel.state == WebChannel.State.ACTIVE, "one cancelled login blocked the channel"
    assert channel.failed_attempts == 1, channel.failed_attempts


@pytest.mark.django_db(transaction=True)
def test_r_o4_r_x7_a_wrong_code_settled_after_the_right_one_does_not_cancel_the_operation():
    """One wrong code, then (double submit, two tabs) a wrong and the right code at once: only
    two wrong codes in all, and the operation was confirmed. The late wrong code must not turn
    the confirmed operation into an exhausted one nor run the consequence of three wrong
    codes (a web failure here; in the app, the mobile channel BLOCKED)."""
    member = make_member()
    pending = begin_web_login(member.login, PASSWORD, CTX)
    right = last_sms_code(member)
    wrong = wrong_code(right)
    assert outcome(lambda: complete_web_login(pending, wrong, CTX)) == "otp_invalid"
    fired: list[str] = []
    started: list[bool] = []

    def right_code_meanwhile() -> None:
        if not started:  # once: the right code's own comparison runs this hook too
            started.append(True)
            fired.append(
                on_another_connection(
                    lambda: outcome(lambda: complete_web_login(pending, right, CTX))
                )
            )

    with at_each_comparison(right_code_meanwhile):
        late = outcome(lambda: complete_web_login(pending, wrong, CTX))
    assert fired == ["accepted"]
    confirmation = Confirmation.objects.get(pk=pending.otp_id)
    channel = WebChannel.objects.get(member=member)
    # The late wrong code finds the operation closed: its answer says so, nothing else changes.
    assert (late, confirmation.state, channel.failed_attempts) == (
        "otp_expired",
        Confirmation.State.CONFIRMED,
        0,
    )


# ---------------------------------------------------------------------------------------------
# R-X10: failures per client address


# ---------------------------------------------------------------------------------------------
# R-X8: a forged session cookie


@pytest.mark.django_db
def test_r_x8_a_session_cookie_with_an_escaped_nul_is_refused_not_a_500():
    """The raw Cookie header has no NUL (the edge checks it), but a quoted cookie value's octal
    escape \\000 becomes one when Django parses it; PostgreSQL cannot take it as a key."""
    client = Client(raise_request_exception=False)
    response = client.get("/", HTTP_COOKIE='skarbiec_session="\\000aaaaaaaaaaaaaaaaaaaaaaaa"')
    assert response.status_code < 500, response.status_code
    response = client.get(
        "/backoffice/", HTTP_COOKIE='skarbiec_session="\\000aaaaaaaaaaaaaaaaaaaaaaaa"'
    )
    assert response.status_code < 500, response.status_code
