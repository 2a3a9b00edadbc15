"""Count before check (R-X6): one mechanism, used for every secret.

- No module but skarbiec.core.attempts compares a password, PIN proof, fingerprint assertion or
  SMS code (read from the source, so a new flow cannot slip one in).
- For each secret, at the very moment of the comparison, another database connection already
  sees the attempt counted: that is what a process killed right then leaves behind. Moving the
  count after the comparison, or into the comparison's transaction, fails these tests.
"""

import ast
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from django.db import connection, transaction

from skarbiec.channels.models import MobileChannel, WebChannel
from skarbiec.channels.web.login import begin_web_login, complete_web_login
from skarbiec.channels.web.password import request_web_password_change
from skarbiec.client import ApiError, DeviceClient
from skarbiec.core import attempts
from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.core.models import RateLimitCounter
from skarbiec.core.throttling import rate_limit_key
from skarbiec.otp.models import Confirmation
from tests.api.authenticator import SoftwareAuthenticator
from tests.api.steps import MOBILE_PASSWORD, PIN, last_code, member_with_channel, ready_device
from tests.factories import make_member

SOURCE = Path(__file__).resolve().parents[2] / "src" / "skarbiec"
T = TypeVar("T")
CTX = RequestContext(ip_address="10.9.9.9", channel="web")
PASSWORD = "Start#2024pl"

# Names that compare a presented secret with a stored one.
COMPARISONS = {
    "compare_digest",
    "constant_time_compare",
    "verify_authentication_response",
    "check_password",
    "verify_password",
}


def _comparisons_in(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)
        if isinstance(node, ast.Name | ast.Attribute) and name in COMPARISONS:
            found.append(f"{path.relative_to(SOURCE)}:{node.lineno} {name}")
        # argon2's PasswordHasher.verify and pyotp's TOTP.verify, however they are reached.
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "verify"
            and any(w in ast.unparse(node.func.value).lower() for w in ("hasher", "totp"))
        ):
            found.append(f"{path.relative_to(SOURCE)}:{node.lineno} hasher.verify")
    return found


# Not a member's secret: the Prometheus scrape token, a long random value of the installation
# (R-D4), compared in constant time; R-X6 is about members' passwords, PINs and codes. The
# benchmark measures the Argon2id verify rate on a made-up password of its own (SPEC §11, P3).
NOT_MEMBERS_SECRETS = {"operations/metrics.py", "operations/benchmark/probes.py"}
# Stamps the server derives from what it stores (a staff member's password hash and session
# generation), compared in constant time to end sessions that predate a change: nobody
# presents them, so there is no guess to count.
SERVER_STAMPS = {"backoffice/login.py", "backoffice/session.py"}
# Two texts one session typed: the temporary password its login accepted (kept as a digest)
# and the new password, which must differ (R-W1). Nothing stored is guessed at.
TYPED_TWICE = {"channels/web/temporary_password.py"}


def test_r_x6_only_the_attempts_mechanism_compares_secrets():
    mechanism = SOURCE / "core" / "attempts.py"
    assert _comparisons_in(mechanism), "the scan must see the mechanism's own comparisons"
    elsewhere = [
        hit
        for path in sorted(SOURCE.rglob("*.py"))
        if path != mechanism
        and "migrations" not in path.parts
        and str(path.relative_to(SOURCE)) not in NOT_MEMBERS_SECRETS | TYPED_TWICE
        for hit in _comparisons_in(path)
        if not (
            str(path.relative_to(SOURCE)) in SERVER_STAMPS
            and hit.endswith(" constant_time_compare")
        )
    ]
    assert elsewhere == []


def test_r_x6_the_scan_would_see_a_comparison_slipped_into_a_flow(tmp_path):
    flow = tmp_path / "flow.py"
    flow.write_text(
        "import hmac\nfrom skarbiec.core.password_hashing import argon2_hasher\n"
        "def pin_ok(a, b):\n    return hmac.compare_digest(a, b)\n"
        "def password_ok(h, p):\n    return argon2_hasher().verify(h, p)\n"
    )
    global SOURCE
    saved, SOURCE = SOURCE, tmp_path
    try:
        assert len(_comparisons_in(flow)) == 2
    finally:
        SOURCE = saved


@contextmanager
def at_each_comparison(hook: Callable[[], None]) -> Iterator[None]:
    """Run `hook` each time a secret is compared, just before the comparison."""
    classes = (attempts.PasswordGuess, attempts.DigestGuess, attempts.FingerprintGuess)
    originals = {cls: cls._matches for cls in classes}

    def hooked(original):
        def _matches(self, row):
            hook()
            return original(self, row)

        return _matches

    for cls, original in originals.items():
        cls._matches = hooked(original)
    try:
        yield
    finally:
        for cls, original in originals.items():
            cls._matches = original


def on_another_connection(work: Callable[[], T]) -> T:
    """`work` on a thread of its own, so on a database connection of its own, to its end."""
    box: list[T] = []

    def run() -> None:
        try:
            box.append(work())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return box[0]


@contextmanager
def counter_seen_at_comparison(read: Callable[[], int]) -> Iterator[list[int]]:
    """Read the counter through a second connection each time a secret is compared."""
    seen: list[int] = []
    with at_each_comparison(lambda: seen.append(on_another_connection(read))):
        yield seen


def web_failures(member) -> Callable[[], int]:
    return lambda: WebChannel.objects.get(member=member).failed_attempts


def mobile_field(member, field: str) -> Callable[[], int]:
    return lambda: getattr(MobileChannel.objects.get(member=member), field)


def newest_confirmation_failures(member) -> Callable[[], int]:
    return lambda: Confirmation.objects.filter(member=member).latest("pk").failed_codes


def unknown_counter(scope: str, login: str) -> Callable[[], int]:
    key = rate_limit_key(scope, login)
    return lambda: (
        (
            RateLimitCounter.objects.filter(key=key, window_start=0).values_list("count", flat=True)
        ).first()
        or 0
    )


def _raises(fn: Callable[[], object]) -> str:
    try:
        fn()
    except (DomainError, ApiError) as e:
        return e.code
    return "accepted"


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def scenario_web_password_at_login():
    member = make_member()
    return (lambda: begin_web_login(member.login, "Wrong#pass1", CTX)), web_failures(member)


def scenario_unknown_login_at_web_login():
    login = "1234500000"
    return (lambda: begin_web_login(login, "Wrong#pass1", CTX)), unknown_counter(
        "unknown-login", login
    )


def scenario_web_password_at_password_change():
    member = make_member()
    attempt = lambda: request_web_password_change(  # noqa: E731
        member, "Wrong#pass1", "Nowe#Haslo42", "Nowe#Haslo42", CTX
    )
    return attempt, web_failures(member)


def scenario_web_login_sms_code():
    member = make_member()
    pending = begin_web_login(member.login, PASSWORD, CTX)
    code = _wrong(last_code(member))
    return (lambda: complete_web_login(pending, code, CTX)), newest_confirmation_failures(member)


def scenario_mobile_app_password_at_activation():
    member = member_with_channel()
    device = DeviceClient.in_process(language="en")
    attempt = lambda: device.activate(member.login, "Wrong#pass12")  # noqa: E731
    return attempt, mobile_field(member, "failed_password_attempts")


def scenario_activation_of_a_disabled_channel():
    member = make_member()
    device = DeviceClient.in_process(language="en")
    attempt = lambda: device.activate(member.login, PASSWORD)  # noqa: E731
    return attempt, mobile_field(member, "failed_password_attempts")


def scenario_device_activation_sms_code():
    member = member_with_channel()
    device = DeviceClient.in_process(language="en")
    device.activate(member.login, MOBILE_PASSWORD)
    code = _wrong(last_code(member))
    return (lambda: device.confirm_activation(code)), newest_confirmation_failures(member)


def scenario_pin():
    device = DeviceClient.in_process(language="en")
    member = ready_device(device)
    return (lambda: device.login_pin("86420")), mobile_field(member, "failed_auth_attempts")


def scenario_fingerprint():
    device = DeviceClient.in_process(language="en")
    member = ready_device(device)
    authenticator = SoftwareAuthenticator("https://localhost:8443")
    options = device.fingerprint_registration_options()
    device.register_fingerprint(options["challenge"], authenticator.create(options))
    device.logout()

    def attempt():
        options = device.fingerprint_login_options()
        credential = authenticator.get(options, user_verified=False)
        return device.login_fingerprint(options["challenge"], credential)

    return attempt, mobile_field(member, "failed_auth_attempts")


SCENARIOS = {
    "web password (login)": scenario_web_password_at_login,
    "unknown Login (web login)": scenario_unknown_login_at_web_login,
    "web password (password change)": scenario_web_password_at_password_change,
    "SMS code (web login)": scenario_web_login_sms_code,
    "mobile-app password (activation)": scenario_mobile_app_password_at_activation,
    "activation of a disabled channel": scenario_activation_of_a_disabled_channel,
    "SMS code (device activation)": scenario_device_activation_sms_code,
    "PIN": scenario_pin,
    "fingerprint": scenario_fingerprint,
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_r_x6_each_secret_is_counted_and_committed_before_it_is_compared(name, _api):
    attempt, read = SCENARIOS[name]()
    before = read()
    with counter_seen_at_comparison(read) as seen:
        refusal = _raises(attempt)
    assert refusal not in ("accepted", "rate_limited"), refusal
    # Exactly one comparison, and the other connection already saw it counted.
    assert seen == [before + 1], f"{name}: counter seen at comparison {seen}, before {before}"
    assert read() == before + 1


@pytest.mark.django_db(transaction=True)
def test_r_x6_a_right_password_is_counted_first_and_given_back(_api):
    member = make_member()
    read = web_failures(member)
    with counter_seen_at_comparison(read) as seen:
        begin_web_login(member.login, PASSWORD, CTX)
    assert seen == [1] and read() == 0


@pytest.mark.django_db(transaction=True)
def test_r_x6_a_check_that_fails_for_a_reason_not_the_members_gives_the_attempt_back(
    _api, monkeypatch
):
    """The comparison itself breaking (here: Argon2 running out of memory) is not the
    member's mistake: the attempt is given back, nothing about the password was learnt."""
    member = make_member()

    def broken(self, row):
        raise MemoryError("argon2 could not allocate")

    monkeypatch.setattr(attempts.PasswordGuess, "_matches", broken)
    with pytest.raises(MemoryError):
        begin_web_login(member.login, PASSWORD, CTX)
    assert web_failures(member)() == 0


@pytest.mark.django_db
def test_r_x6_wrong_answers_are_counted_even_with_an_odd_secret(_api):
    member = make_member()
    for password in ("x" * 128, "ą\x01", " a "):
        assert _raises(lambda p=password: begin_web_login(member.login, p, CTX)) in (
            "wrong_credentials",
            "channel_blocked",
        )
    assert web_failures(member)() == 3
    assert PIN  # the PIN scenarios above use the steps' PIN


@pytest.mark.django_db
@pytest.mark.parametrize("login", ["known", "unknown"])
def test_r_x6_r_t3_a_password_of_nothing_visible_is_no_guess_and_not_counted(_api, login):
    """Spaces, a zero-width space, a tab: no password is made of those, whatever the Login (the
    same answer for an unknown one, R-T3)."""
    member = make_member()
    name = member.login if login == "known" else "1234500000"
    for password in ("", "   ", "\u200b", "\t \u00a0", "\ufeff\n"):
        assert _raises(lambda p=password: begin_web_login(name, p, CTX)) == "invalid_input"
    assert web_failures(member)() == 0
    assert unknown_counter("unknown-login", "1234500000")() == 0


@contextmanager
def attempts_in_flight(attempt: Callable[[], object], depth: int) -> Iterator[list[str]]:
    """At the comparison of each attempt, one more attempt starts on another connection and
    runs to its end before the first one is compared: `depth` attempts in flight at once. Yields
    the log: "compared" at each comparison, then each nested attempt's outcome as it ends
    (innermost first)."""
    outcomes: list[str] = []
    started = [1]

    def one_more() -> None:
        outcomes.append("compared")
        if started[0] < depth:
            started[0] += 1
            outcomes.append(on_another_connection(lambda: _raises(attempt)))

    with at_each_comparison(one_more):
        yield outcomes


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_r_x4_r_x6_three_attempts_in_flight_leave_no_fourth_comparison(name, _api, monkeypatch):
    """Three wrong attempts counted and not yet settled take the whole budget: a fourth that
    arrives meanwhile is refused without being compared (R-X4, R-M5, R-W2, R-X7), whether the
    mechanism counts under a row lock or with one conditional UPDATE. Here the three cannot
    settle while it waits (they wait for it), so it is told to try again, nothing counted."""
    monkeypatch.setattr(attempts, "SETTLE_WAIT_SECONDS", 0.05)
    attempt, read = SCENARIOS[name]()
    with attempts_in_flight(attempt, depth=4) as outcomes:
        outcomes.append(_raises(attempt))
    assert outcomes.count("compared") == 3, (name, outcomes)
    # The fourth attempt (innermost, first to end) was refused before any comparison.
    assert outcomes[3] == "rate_limited", (name, outcomes)
    assert read() == 3


@contextmanager
def second_attempt_waiting(attempt: Callable[[], object], monkeypatch) -> Iterator[list[str]]:
    """At the first comparison, the same attempt starts again on another connection (a
    double-click) and the first is compared only once the second waits for its outcome.
    Yields the log: "compared" at each comparison; the second's outcome is appended when the
    block ends."""
    outcomes: list[str] = []
    waiting = threading.Event()
    real_time = attempts.time

    class _Time:
        monotonic = staticmethod(real_time.monotonic)

        @staticmethod
        def sleep(seconds: float) -> None:
            waiting.set()
            real_time.sleep(seconds)

    monkeypatch.setattr(attempts, "time", _Time)
    second: list[threading.Thread] = []
    box: list[str] = []

    def run_second() -> None:
        try:
            box.append(_raises(attempt))
        finally:
            connection.close()

    def at_comparison() -> None:
        outcomes.append("compared")
        if not second:
            second.append(threading.Thread(target=run_second))
            second[0].start()
            assert waiting.wait(10), "the second attempt did not wait for the first"

    with at_each_comparison(at_comparison):
        yield outcomes
        second[0].join(10)
    outcomes.extend(box)


@pytest.mark.django_db(transaction=True)
def test_r_w2_r_x6_a_right_password_double_clicked_after_two_wrong_is_not_told_blocked(
    _api, monkeypatch
):
    """The limit's last place is taken by the first click, still being compared: the second
    waits for its outcome instead of being told the channel is blocked, then is counted and
    compared like any attempt (F4)."""
    member = make_member()
    for _ in range(2):
        _raises(lambda: begin_web_login(member.login, "Wrong#pass1", CTX))
    with second_attempt_waiting(
        lambda: begin_web_login(member.login, PASSWORD, CTX), monkeypatch
    ) as outcomes:
        outcomes.append(_raises(lambda: begin_web_login(member.login, PASSWORD, CTX)))
    # The second is compared once the first has settled; the first's "accepted" is logged when
    # its call returns, which may come after that comparison.
    assert sorted(outcomes) == ["accepted", "accepted", "compared", "compared"], outcomes
    assert outcomes[0] == "compared" and outcomes[-1] == "accepted", outcomes
    assert WebChannel.objects.get(member=member).state == WebChannel.State.ACTIVE


@pytest.mark.django_db(transaction=True)
def test_r_x7_a_right_code_double_clicked_after_two_wrong_does_not_cancel(_api, monkeypatch):
    """The second click waits for the first: it finds the code used, not three wrong codes,
    and the login is not cancelled."""
    member = make_member()
    pending = begin_web_login(member.login, PASSWORD, CTX)
    code = last_code(member)
    for _ in range(2):
        _raises(lambda: complete_web_login(pending, _wrong(code), CTX))
    with second_attempt_waiting(
        lambda: complete_web_login(pending, code, CTX), monkeypatch
    ) as outcomes:
        outcomes.append(_raises(lambda: complete_web_login(pending, code, CTX)))
    assert outcomes[:2] == ["compared", "accepted"] and len(outcomes) == 3, outcomes
    assert outcomes[2] not in ("compared", "accepted", "otp_attempts_exhausted"), outcomes
    assert Confirmation.objects.filter(member=member).latest("pk").state == "confirmed"


@pytest.mark.django_db(transaction=True)
def test_r_m5_r_x6_an_attempt_waiting_on_a_wrong_one_at_the_limit_is_told_blocked_uncompared(
    _api, monkeypatch
):
    """Two wrong PINs settled, a third being compared: a right PIN arriving then waits, and
    once the third blocks the app it is refused without being compared (R-M5)."""
    device = DeviceClient.in_process(language="en")
    member = ready_device(device)
    other = DeviceClient.in_process(language="en")
    other.device_id, other.private_key, other.device_secret = (
        device.device_id, device.private_key, device.device_secret
    )  # fmt: skip
    for _ in range(2):
        _raises(lambda: device.login_pin("86420"))
    with second_attempt_waiting(lambda: other.login_pin(PIN), monkeypatch) as outcomes:
        outcomes.append(_raises(lambda: device.login_pin("86420")))
    assert outcomes == ["compared", "channel_blocked", "channel_blocked"], outcomes
    assert mobile_field(member, "failed_auth_attempts")() == 3


@pytest.mark.django_db(transaction=True)
def test_r_b3_r_t3_r_x6_a_blocked_web_channel_is_told_only_to_the_right_password(_api):
    """Blocked at the helpline with no failure on record: the attempt is counted before the
    comparison like any other (a wrong one answers as for an unknown Login, R-T3), and the
    right password learns of the block and is given back, whichever way the mechanism counts."""
    from skarbiec.channels.lifecycle import block_web_channel_on_request

    member = make_member()
    block_web_channel_on_request(member, CTX)
    read = web_failures(member)
    with counter_seen_at_comparison(read) as seen:
        assert _raises(lambda: begin_web_login(member.login, PASSWORD, CTX)) == "channel_blocked"
    assert seen == [1] and read() == 0


@pytest.mark.django_db(transaction=True)
def test_r_m5_r_x6_a_channel_blocked_after_the_first_check_is_not_compared(_api, monkeypatch):
    """The app's channel is blocked between the request's early check and the count (staff
    act in between): the PIN is neither counted nor compared."""
    from skarbiec.channels.lifecycle import block_mobile_channel
    from skarbiec.channels.mobile import pin

    device = DeviceClient.in_process(language="en")
    member = ready_device(device)
    block_mobile_channel(member, "staff", CTX)
    monkeypatch.setattr(pin, "require_usable_channel", lambda member: None)
    read = mobile_field(member, "failed_auth_attempts")
    with counter_seen_at_comparison(read) as seen:
        assert _raises(lambda: device.login_pin(PIN)) == "channel_blocked"
    assert seen == [] and read() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", ["web password (login)", "SMS code (web login)"])
def test_r_x6_a_count_inside_a_callers_transaction_is_refused(name, _api):
    """A flow that wrapped the check in its own transaction could roll the count back with
    it: the mechanism refuses to count there, by one statement or under the lock."""
    attempt, read = SCENARIOS[name]()
    with counter_seen_at_comparison(read) as seen, pytest.raises(RuntimeError, match="durable"):
        with transaction.atomic():
            attempt()
    assert seen == [], "compared although the count could still be rolled back"
    assert read() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: SQLite locks the file")
def test_r_m5_r_x6_a_right_pin_is_settled_under_the_channels_row_lock(_api, monkeypatch):
    """While a right PIN is settled (count reset, session opened), nobody can block the app's
    channel in between: the row is locked from the refusal check to the commit."""
    from skarbiec.channels.mobile import pin

    device = DeviceClient.in_process(language="en")
    member = ready_device(device)
    table = MobileChannel._meta.db_table
    outcome: list[str] = []

    def block_meanwhile() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
            try:
                cursor.execute(
                    f"UPDATE {table} SET state = 'blocked' WHERE member_id = %s",  # noqa: S608
                    [member.pk],
                )
            except Exception:  # noqa: BLE001 - the lock timeout is the expected answer
                return "waited"
            return "blocked"

    accept = pin.AuthCounter.accept

    def accept_while_someone_blocks(self, row):  # type: ignore[no-untyped-def]
        outcome.append(on_another_connection(block_meanwhile))
        return accept(self, row)

    monkeypatch.setattr(pin.AuthCounter, "accept", accept_while_someone_blocks)
    device.login_pin(PIN)
    assert outcome == ["waited"]
    assert MobileChannel.objects.get(member=member).state == MobileChannel.State.ACTIVE
