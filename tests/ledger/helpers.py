"""Ledger test data through the real services."""

import itertools
import re
import threading
from collections.abc import Callable

from django.db import close_old_connections, connection

from skarbiec.core.context import RequestContext
from skarbiec.core.errors import DomainError
from skarbiec.ledger.accounts import deposit_cash, open_account
from skarbiec.ledger.models import Account, Order
from skarbiec.ledger.nrb import make_nrb
from skarbiec.ledger.orders import create_transfer_order
from skarbiec.members.models import CreditUnion, Member
from skarbiec.otp.models import SmsMessage
from skarbiec.otp.sms import decrypt_body
from tests.factories import make_member

WEB = RequestContext(ip_address="10.2.0.1", channel="web")
MOBILE = RequestContext(ip_address="10.2.0.2", channel="mobile")
_keys = itertools.count(1)
# A valid account number in another bank (not a test credit union's sort code).
EXTERNAL = make_nrb("10901014", "0000071219812874")


def key() -> str:
    return f"k-{next(_keys)}"


def member_with_account(
    cu: CreditUnion | None = None, balance_minor: int = 0, **kw: str
) -> tuple[Member, Account]:
    member = make_member(cu, **kw)
    account = open_account(member, Account.Kind.CURRENT, WEB)
    if balance_minor:
        deposit_cash(account, balance_minor, WEB)
        account.refresh_from_db()
    return member, account


def internal_transfer_awaiting_code(
    cu: CreditUnion, amount_minor: int, idempotency_key: str
) -> tuple[Member, Account, Account, Order]:
    """A payer with 1000 zł and a web transfer of `amount_minor` to Anna Nowak's account in
    the same credit union, awaiting its SMS code: (payer, source, target, order)."""
    payer, source = member_with_account(cu, balance_minor=1000_00)
    _payee, target = member_with_account(cu, first_name="Anna", last_name="Nowak")
    order = create_transfer_order(
        payer, "web", source.pk, target.number, "Anna Nowak", amount_minor, "Rent",
        idempotency_key, WEB,
    )  # fmt: skip
    return payer, source, target, order


def last_sms(member: Member) -> str:
    sms = SmsMessage.objects.filter(member=member).order_by("-pk").first()
    return decrypt_body(sms.body_encrypted)


def last_code(member: Member) -> str:
    return re.search(r"\b(\d{6})\b", last_sms(member)).group(1)


def wrong_code(member: Member) -> str:
    return "000000" if last_code(member) != "000000" else "111111"


def balance(account: Account) -> int:
    account.refresh_from_db()
    return account.booked_minor


def run_parallel(fn: Callable[[int], object], n: int) -> list[object]:
    """`fn(0)` … `fn(n - 1)` on n threads released at once, each with its own database
    connection; each outcome is what `fn` returned, a domain error's code, or "crash:…"."""
    outcomes: list[object] = []
    lock = threading.Lock()
    start = threading.Barrier(n)

    def worker(i: int) -> None:
        try:
            start.wait()
            result = fn(i)
        except DomainError as e:
            result = e.code
        except Exception as e:  # a crash must fail the test, visibly
            result = f"crash:{type(e).__name__}:{str(e).splitlines()[0] if str(e) else ''}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    close_old_connections()
    return outcomes
