"""Rate limits in the database (R-X3, R-X10), failing closed.

Limits count per purpose (R-X10):
- per Login and per device, every attempt at a secret (`consume_rate_limit`);
- per client address, only failures and anonymous requests (`address_failures_limited`,
  `consume_rate_limit` for anonymous ones), so thousands of members behind one carrier address
  can log in at once while one address guessing many Logins is stopped.
"""

import hashlib
import ipaddress
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

from django.db import DatabaseError, connection, transaction
from django.db.models import F, QuerySet

from skarbiec.core import clock
from skarbiec.core.attempts import Counter
from skarbiec.core.errors import DomainError, NotMembersMistake, RateLimited, ServiceUnavailable
from skarbiec.core.keys import keyed_hash
from skarbiec.core.locks import for_update
from skarbiec.core.models import RateLimitCounter
from skarbiec.core.prepared import prepared_select

log = logging.getLogger(__name__)


def rate_limit_key(scope: str, subject: str) -> str:
    # Logins and addresses are hashed with the installation's key: a plain hash of a 10-digit
    # Login, a PESEL typed in its place or an IPv4 address is undone by trying them all, and a
    # password typed into the username field would be kept as an unsalted hash (R-X9).
    return keyed_rate_limit_key(scope, plain_digest(subject))


def plain_digest(subject: str) -> str:
    """How counters named their subject before they were keyed (and inside the keyed name, so
    that core/migrations/0003 could rename the old rows in place)."""
    return hashlib.sha256(subject.encode()).hexdigest()[:40]


def keyed_rate_limit_key(scope: str, digest: str) -> str:
    return f"{scope}:{keyed_hash('rate-limit', digest)[:40]}"


#: The prefix of an IPv6 address that counts as one client: a household or a phone is given a
#: /64 (RFC 6177), and picks any address in it at will.
IPV6_CLIENT_PREFIX = 64


def address_subject(address: str) -> str:
    """What a per-address limit counts: an IPv4 address, or the /64 network of an IPv6 one
    (an IPv4 address mapped into IPv6 as itself). One client moving through the 2^64
    addresses of its own network must not get a fresh limit with each (R-X10)."""
    try:
        parsed = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return address or "-"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_CLIENT_PREFIX), strict=False))
    return str(parsed)


def _window(window_seconds: int) -> tuple[int, int]:
    """(start of the current window, seconds until the next one)."""
    now = clock.now().timestamp()
    start = int(now) // window_seconds * window_seconds
    # Rounded up: a client that waits what it was told is never refused again.
    return start, max(math.ceil(start + window_seconds - now), 1)


def _add(key: str, window: int) -> int:
    """Count one in (key, window) and return the new count: one statement (an upsert), atomic
    on its own, so parallel requests never lose a count and no transaction is needed."""
    table = connection.ops.quote_name(RateLimitCounter._meta.db_table)
    # Inside a caller's transaction, a savepoint keeps a failure here from breaking it.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with guard, connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, window_start, count) VALUES (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (key, window_start) DO UPDATE SET count = {table}.count + 1 "
            "RETURNING count",
            [key, window],
        )
        row = cursor.fetchone()
    return int(row[0])


def consume_rate_limit(scope: str, subject: str, limit: int, window_seconds: int) -> None:
    """Count one request for (scope, subject); above `limit` per window raise RateLimited with
    the seconds until the next window.

    Any database failure refuses the request: a limiter that cannot count must not let
    attempts through (fail closed).
    """
    key = rate_limit_key(scope, subject)
    window, retry_after = _window(window_seconds)
    try:
        count = _add(key, window)
    except DatabaseError:
        log.exception("rate limiter unavailable; refusing request")
        raise ServiceUnavailable()
    if count > limit:
        raise RateLimited(retry_after=retry_after)


@prepared_select
def _window_count(key: str, window: int) -> QuerySet[RateLimitCounter]:
    # Prepared (core/prepared.py): read before every PIN, fingerprint and password attempt.
    return RateLimitCounter.objects.filter(key=key, window_start=window).only("count")


@contextmanager
def address_failures_limited(
    scope: str,
    address: str,
    limit: int,
    window_seconds: int,
    unproven: tuple[type[DomainError], ...] | None = None,
) -> Iterator[bool]:
    """Refuse an address that failed `limit` times in the window; count a failure when the
    body raises a member-facing refusal (wrong secret, blocked, unknown). Successes and
    refusals that are not the member's mistake are not counted (R-X10).

    With `unproven` (requests signed by a device key), an address over its limit is still
    served, and only a request that turns out not to come from a bound device (refused with
    one of `unproven`: unknown device, bad challenge or signature, malformed) is refused as
    limited: a few junk requests must not lock out every member behind one carrier address,
    and a bound device's secrets have counters of their own. Yields whether the address is
    over its limit (the body may then refuse what it can tell cheaply is unproven); failures
    over the limit are not counted again."""
    key = rate_limit_key(scope, address_subject(address))
    window, retry_after = _window(window_seconds)
    try:
        counted = _window_count.first(key=key, window=window)
    except DatabaseError:
        log.exception("rate limiter unavailable; refusing request")
        raise ServiceUnavailable()
    over_limit = (counted.count if counted is not None else 0) >= limit
    if over_limit and unproven is None:
        raise RateLimited(retry_after=retry_after)
    try:
        yield over_limit
    except DomainError as e:
        if not isinstance(e, NotMembersMistake) and not over_limit:
            try:
                _add(key, window)
            except DatabaseError:
                log.exception("could not count a failure of %s", scope)
        if over_limit and unproven is not None and isinstance(e, unproven):
            raise RateLimited(retry_after=retry_after) from e
        raise


def purge_old_rate_limit_windows(older_than_seconds: int = 3600) -> int:
    """Delete rate-limit windows older than an hour (R-X9)."""
    cutoff = int(clock.now().timestamp()) - older_than_seconds
    # Window 0 holds the unknown-Login counters, which never expire (R-T3).
    old = RateLimitCounter.objects.filter(window_start__lt=cutoff, window_start__gt=0)
    deleted, _ = old.delete()
    return deleted


class UnknownLoginCounter(Counter[RateLimitCounter]):
    """Failed attempts for a Login that does not exist, so it walks through the same answers
    (attempts left, then blocked) as a real one (R-T3). Kept without a window, like the
    real channel's counter."""

    field = "count"

    def __init__(
        self,
        scope: str,
        login: str,
        limit: int,
        wrong: Callable[[int], DomainError],
        blocked: Callable[[], DomainError],
    ) -> None:
        self.key = rate_limit_key(scope, login)
        self._plain_hash_key = f"{scope}:{plain_digest(login)}"
        self.limit = limit
        self._wrong = wrong
        self._blocked = blocked

    def lock(self) -> RateLimitCounter:
        _row, created = RateLimitCounter.objects.get_or_create(key=self.key, window_start=0)
        if created:
            self._carry_over_plain_hash_count()
        return for_update(RateLimitCounter.objects).get(key=self.key, window_start=0)

    def _carry_over_plain_hash_count(self) -> None:
        """Failures counted under a plain hash by an instance of the previous version while
        core/migrations/0003 renamed the rows (a rolling upgrade) go on counting: a real
        Login's failures survive the upgrade, and an unknown Login's walk toward "blocked"
        must too, or trying one again after the upgrade would tell it apart (R-T3). In the
        transaction that created the new row."""
        old = RateLimitCounter.objects.filter(key=self._plain_hash_key, window_start=0).first()
        if old is None:
            return
        settled = max(old.count - old.count_in_flight, 0)
        RateLimitCounter.objects.filter(key=self.key, window_start=0).update(
            count=F("count") + settled
        )
        old.delete()

    def exhausted(self, row: RateLimitCounter) -> DomainError:
        return self._blocked()

    def reject(self, row: RateLimitCounter) -> DomainError:
        left = self.attempts_left(row)
        return self._wrong(left) if left else self._blocked()
