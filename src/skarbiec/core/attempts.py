"""Count before check (R-X6): the one mechanism through which every secret is compared.

Web and mobile-app passwords, PIN proofs, fingerprint assertions and SMS codes are compared
only here (a test greps the package for any other comparison), and only after their attempt
was counted in a transaction of its own that has committed. `atomic(durable=True)` makes that
a checked fact: a caller that wraps `check_secret` in a transaction gets an error instead of a
count it could roll back. A counter that can say as a filter when its row is open
(`Counter.open_rows`) is counted by one conditional UPDATE that commits by itself; the others,
and every refusal, go through the row lock. Then the attempt is settled:

- right secret: under the counter's row lock the counter is checked again (a parallel failure
  may have blocked it meanwhile), the attempt is given back (or the count reset) and the
  caller's `on_accept` runs in the same transaction. A Login blocked for a reason the guesser
  cannot see (`Counter.refusal_once_proven`) is refused only here, after the right secret, so
  a wrong guess gets the answers an unknown Login gets (R-T3);
- wrong secret: the count stays; the counter writes its audit event and, at the limit, its
  consequence (block a channel, cancel an operation) in one transaction; the refusal is raised
  after that commit, so the failure outlives the failed request. A row a parallel attempt
  closed meanwhile (blocked, confirmed, cancelled) gets its refusal instead: a consequence
  runs once. The limit's consequence counts settled failures only: attempts counted and still
  being compared in parallel (`<field>_in_flight`) are not failures yet, so a right PIN sent
  alongside two wrong ones does not block the app (F4);
- anything else raised between the count and the settlement, or by `on_accept` (a refusal that
  is not the member's mistake: send limit, rate limit, a database or gateway failure, a device
  removed meanwhile) gives the attempt back in a transaction of its own.

A refused attempt (blocked, every attempt taken) compares nothing but spends the same work as
a comparison, so timing does not tell a blocked Login from a wrong password.

Every counter's row has, next to its counted field, `<field>_in_flight` (attempts counted and
not yet settled) and `<field>_counted_at` (the last count). An attempt that never settles (its
process died, or the database went away before the give-back could commit) is not the
member's mistake: it is never a failure, and it holds its place under the limit for
`IN_FLIGHT_SECONDS` after the last count, so no more attempts than the limit are compared in
that time; the next count after that gives it back.
"""

import hmac
import logging
import math
import time
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from typing import Any, TypeVar, overload

import pyotp
from argon2.exceptions import InvalidHashError, VerificationError
from django.db import DatabaseError, OperationalError, transaction
from webauthn import verify_authentication_response
from webauthn.helpers.exceptions import WebAuthnException

from skarbiec.core import clock
from skarbiec.core.attempt_counts import (
    IN_FLIGHT_SECONDS,
    count_statement,
    counted_at_field,
    give_back_lost,
    give_back_one,
    held_to_a_lowered_limit,
    in_flight_field,
    settle_own,
    store_count,
)
from skarbiec.core.counters import Counter, Row
from skarbiec.core.errors import AttemptsBeingChecked, DomainError, NothingPresented
from skarbiec.core.password_hashing import argon2_hasher, decoy_hash

log = logging.getLogger(__name__)

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# What the member presented


def _comparable(presented: object) -> str:
    """What the member presented, as `hmac.compare_digest` takes it: a string of ASCII only.
    Anything else (not a string, a digit of another script) never matches, and is counted."""
    return presented if isinstance(presented, str) and presented.isascii() else ""


class Guess(ABC):
    """A presented secret and what it must match. Only `check_secret` compares it."""

    #: Whether `_matches` reads the counter's row (a stored value taken as counted).
    reads_row: bool = True

    @abstractmethod
    def _matches(self, row: Any) -> bool:
        """Compare; `row` is the counter's row as counted (for values stored on it)."""

    def _decoy(self) -> None:  # noqa: B027 (most guesses cost nothing to skip)
        """Spend what a comparison costs without comparing (refused attempts)."""

    def nothing_presented(self) -> bool:
        """Whether nothing was presented at all (no guess at the secret, never counted)."""
        return False


def _blank(text: str) -> bool:
    """Nothing but spaces, controls and invisible characters: no password is made of those."""
    return all(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in text)


class PasswordGuess(Guess):
    """A password against an Argon2id hash. `stored_hash` may be a function of the counter's
    row; None or "" (unknown Login, channel without a password) never matches but costs the
    same Argon2 work (R-T3): a `decoy` hash of the parameters the real hashes of its kind have
    (members' by default; staff passwords are hashed by Django with heavier ones)."""

    def __init__(
        self,
        stored_hash: str | None | Callable[[Any], str | None],
        presented: str,
        decoy: Callable[[], str] = decoy_hash,
    ) -> None:
        self._stored = stored_hash
        self._decoy_hash = decoy
        self._presented = presented if isinstance(presented, str) else ""
        self.reads_row = callable(stored_hash)
        #: The hash the comparison used. A caller's acceptance, under the lock every password
        #: change takes, refuses when the stored hash is another by then: a password replaced
        #: while this one was compared is not what the attempt proved (R-W1, R-M7, R-B1).
        self.compared_hash: str | None = None

    def _matches(self, row: Any) -> bool:
        stored = self._stored(row) if callable(self._stored) else self._stored
        self.compared_hash = stored
        try:
            matched = argon2_hasher().verify(stored or self._decoy_hash(), self._presented)
        except (VerificationError, InvalidHashError):
            return False
        return bool(matched) and bool(stored)

    def _decoy(self) -> None:
        try:
            argon2_hasher().verify(self._decoy_hash(), self._presented)
        except (VerificationError, InvalidHashError):
            pass

    def nothing_presented(self) -> bool:
        return _blank(self._presented)


class DigestGuess(Guess):
    """A keyed hash of what the member presented (PIN proof, SMS code) against the stored
    one, in constant time. `expected` may be a function of the counter's row."""

    def __init__(self, expected: str | None | Callable[[Any], str | None], presented: str) -> None:
        self._expected = expected
        self._presented = _comparable(presented)
        self.reads_row = callable(expected)

    def _matches(self, row: Any) -> bool:
        expected = self._expected(row) if callable(self._expected) else self._expected
        return bool(expected) and hmac.compare_digest(str(expected), self._presented)


class TotpGuess(Guess):
    """A code from a staff member's authenticator app (RFC 6238, 30-second steps, one step of
    clock drift either way). A step at or before `last_step` never matches again (no replay);
    the step that matched is left in `matched_step` for the caller to store."""

    matched_step: int = 0

    def __init__(
        self,
        secret: Callable[[Any], str],
        last_step: Callable[[Any], int],
        presented: str,
        now: float,
    ) -> None:
        self._secret = secret
        self._last_step = last_step
        self._presented = _comparable(presented)
        self._now = now

    def _matches(self, row: Any) -> bool:
        secret = self._secret(row)
        if not secret:
            return False
        totp = pyotp.TOTP(secret)
        step = int(self._now // totp.interval)
        found = False
        for candidate in (step - 1, step, step + 1):
            code = totp.at(candidate * totp.interval)
            if hmac.compare_digest(code, self._presented) and candidate > self._last_step(row):
                self.matched_step = candidate
                found = True
        return found


class AnyDigestGuess(Guess):
    """A keyed hash of a presented one-time secret (a staff recovery code) against a list of
    unused ones, each compared in constant time; the match is left in `matched`."""

    matched: str = ""

    def __init__(self, expected: Callable[[Any], list[str]], presented: str) -> None:
        self._expected = expected
        self._presented = _comparable(presented)

    def _matches(self, row: Any) -> bool:
        for digest in self._expected(row) or []:
            if hmac.compare_digest(str(digest), self._presented):
                self.matched = str(digest)
        return bool(self.matched)


class FingerprintGuess(Guess):
    """A WebAuthn assertion from a platform authenticator; user verification is required by
    the server whatever the client asked for (R-M4). No registered credential: never matches."""

    new_sign_count: int = 0
    reads_row = False

    def __init__(
        self,
        credential: dict[str, Any],
        *,
        challenge: bytes,
        rp_id: str,
        origin: str,
        public_key: bytes | None,
        sign_count: int,
    ) -> None:
        self._credential = credential
        self._challenge = challenge
        self._rp_id = rp_id
        self._origin = origin
        self._public_key = public_key
        self._sign_count = sign_count

    def _matches(self, row: Any) -> bool:
        if self._public_key is None:
            return False
        try:
            verified = verify_authentication_response(
                credential=self._credential,
                expected_challenge=self._challenge,
                expected_rp_id=self._rp_id,
                expected_origin=self._origin,
                credential_public_key=self._public_key,
                credential_current_sign_count=self._sign_count,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError):
            return False
        self.new_sign_count = verified.new_sign_count
        return True


class ReportedFailure(Guess):
    """The device reports a failure it saw itself (a finger the sensor refused): a counted
    attempt that never matches."""

    reads_row = False

    def _matches(self, row: Any) -> bool:
        return False


# ---------------------------------------------------------------------------------------------
# The mechanism


@overload
def check_secret(counter: Counter[Row], guess: Guess) -> Row: ...


@overload
def check_secret(counter: Counter[Row], guess: Guess, on_accept: Callable[[Row], T]) -> T: ...


def check_secret(
    counter: Counter[Row], guess: Guess, on_accept: Callable[[Row], T] | None = None
) -> T | Row:
    """Count, compare, settle (see the module docstring). Returns `on_accept(row)`, or the row
    when there is no `on_accept`; raises the counter's refusal otherwise. A password of
    nothing but spaces or invisible characters is refused before anything is counted: it is
    no guess, whatever Login it is for (R-X6)."""
    if guess.nothing_presented():
        raise NothingPresented()
    row = _count(counter, guess)
    try:
        matched = guess._matches(row)
    except BaseException:
        give_back(counter)
        raise
    if not matched:
        raise _settled_as_wrong(counter)
    try:
        with transaction.atomic(durable=True):
            row = counter.lock()
            refusal = counter.refusal(row) or counter.refusal_once_proven(row)
            if refusal is not None:
                raise refusal
            settle_own(counter, row)
            counter.accept(row)
            return on_accept(row) if on_accept is not None else row
    except BaseException:
        give_back(counter)
        raise


#: Tries of a wrong secret's settlement that the database chose as a deadlock victim.
SETTLEMENT_TRIES = 3


def _settled_as_wrong(counter: Counter[Any]) -> DomainError:
    """The count stays; audit, and the consequence at the limit, in one transaction. A secret
    known to be wrong must not end up in flight, to be given back later: when the database
    picks this transaction as a deadlock victim (another flow locked the same rows in the
    other order, e.g. the operation started again), it settles again."""
    for attempt in range(1, SETTLEMENT_TRIES + 1):
        try:
            with transaction.atomic(durable=True):
                row = counter.lock()
                settle_own(counter, row)
                store_count(counter, row, counter.counted(row))
                # Settled after a parallel attempt closed the row (blocked it, ran the
                # operation's consequence, confirmed it): the count stays, the consequence runs
                # only once.
                return counter.refusal(row) or counter.reject(row)
        except OperationalError:
            if attempt == SETTLEMENT_TRIES:
                raise
            log.warning("settling a wrong attempt again (try %s)", attempt + 1, exc_info=True)
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


#: How long an attempt waits for parallel ones that took the last places under the limit.
SETTLE_WAIT_SECONDS = 2.0


def _count(counter: Counter[Row], guess: Guess) -> Row | None:
    """Count the attempt and commit; the row as counted, or None when it was counted by one
    statement (the guess does not read it).

    When the limit's last places are taken by attempts still being compared in parallel (a
    double-click, a second tab), their outcome decides this one's answer: it waits for them
    (no lock held) and looks again. Told "blocked" or "cancelled" before, the member would
    believe a consequence that a right secret among them then averts; counted, it could pass
    the limit. If they have not settled after SETTLE_WAIT_SECONDS, it is refused as not the
    member's mistake, nothing counted."""
    shares_a_budget = type(counter).counted_beside is not Counter.counted_beside
    if not guess.reads_row and not shares_a_budget and _count_in_one_statement(counter):
        return None
    deadline, pause = time.monotonic() + SETTLE_WAIT_SECONDS, 0.01
    while True:
        with transaction.atomic(durable=True):
            row = counter.lock()
            refusal = counter.refusal(row)
            give_back_lost(counter, row)
            if refusal is None:
                held_to_a_lowered_limit(counter, row)
            beside = counter.counted_beside(row) if refusal is None else 0
            undecided = False
            if refusal is None and counter.counted(row) + beside >= counter.limit:
                in_flight = counter.in_flight(row) + beside
                undecided = in_flight > 0 and counter.failures(row) < counter.limit
                if not undecided:
                    refusal = counter.exhausted(row)
            if refusal is None and not undecided:
                setattr(row, in_flight_field(counter.field), counter.in_flight(row) + 1)
                store_count(counter, row, counter.counted(row) + 1, counted_at=clock.now())
        if not undecided:
            break
        # Waiting on the row's own attempts, or only on those beside it (which run out by
        # themselves: `counted_beside` leaves out the ones older than IN_FLIGHT_SECONDS).
        own = counter.in_flight(row) > 0
        counted_at = getattr(row, counted_at_field(counter.field))
        since = (clock.now() - counted_at).total_seconds() if own else 0.0
        if time.monotonic() >= deadline or since > SETTLE_WAIT_SECONDS:
            # Not settled in time, or counted so long ago that it was most likely lost with
            # its process: it holds its place until IN_FLIGHT_SECONDS after the last count.
            held = IN_FLIGHT_SECONDS - since if own else SETTLE_WAIT_SECONDS
            refusal = AttemptsBeingChecked(retry_after=max(math.ceil(held), 1))
            break
        time.sleep(pause)
        pause = min(pause * 2, 0.2)
    if refusal is not None:
        guess._decoy()
        raise refusal
    return row


def _count_in_one_statement(counter: Counter[Any]) -> bool:
    """`UPDATE … SET count = count + 1 WHERE <open> AND count < limit`: the database checks the
    row's state and the limit under the row lock it takes for the write, so parallel attempts
    never pass the limit. False (nothing counted) when the row is not open or the attempts are
    taken: the locked path then finds the refusal (or counts, if the row opened meanwhile)."""
    statement = count_statement(type(counter))
    if statement is None:
        return False
    # Alone the UPDATE commits by itself (autocommit). Inside a caller's transaction the
    # durable block raises, as the locked path does: the count must not be rolled back.
    in_transaction = transaction.get_connection().in_atomic_block
    now = clock.now()
    with transaction.atomic(durable=True) if in_transaction else nullcontext():
        counted = statement.run(
            subject_id=counter.subject_id,
            limit=counter.limit,
            now=now,
            fresh_after=now - timedelta(seconds=IN_FLIGHT_SECONDS),
        )
    return counted == 1


def give_back(counter: Counter[Any]) -> None:
    """Return one counted attempt, in a transaction of its own: the request failed for a reason
    that is not the member's mistake. If even that fails (the database is gone), the attempt
    stays in flight, never a failure, and the first count after IN_FLIGHT_SECONDS gives it
    back."""
    try:
        with transaction.atomic(durable=True):
            row = counter.lock()
            settle_own(counter, row)
            give_back_one(counter, row)
    except (DatabaseError, DomainError):
        log.warning("could not give back a counted attempt", exc_info=True)
