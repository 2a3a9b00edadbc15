"""`skarbiec ledger check | open-account | deposit | balances`."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from skarbiec.core.errors import DomainError
from skarbiec.ledger.accounts import deposit_cash, open_account, record_balance_seen
from skarbiec.ledger.amounts import format_amount, parse_amount
from skarbiec.ledger.integrity import ledger_problems
from skarbiec.ledger.models import Account
from skarbiec.ledger.nrb import format_nrb, parse_nrb
from skarbiec.members.cli import add_staff_argument, cli_staff


class Command(BaseCommand):
    help = "Ledger: check balances against entries, open accounts, book cash deposits."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("check", help="recompute every balance; exit 1 on any difference")
        p = sub.add_parser("open-account", help="open an account for a member")
        p.add_argument("--login", required=True)
        p.add_argument("--kind", choices=["current", "savings"], default="current")
        p.add_argument("--name", default=None)
        add_staff_argument(p)
        p = sub.add_parser("deposit", help="book a cash deposit (branch cash → account)")
        p.add_argument("--account", required=True, help="account number (NRB or PL IBAN)")
        p.add_argument("--amount", required=True, help='e.g. "1 234,56"')
        p.add_argument("--title", default="Cash deposit")
        add_staff_argument(p)
        p = sub.add_parser("balances", help="list a member's accounts")
        p.add_argument("--login", required=True)
        add_staff_argument(p)

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, "_" + opts["action"].replace("-", "_"))(opts)
        except DomainError as e:
            raise CommandError(str(e.message))

    def _check(self, opts: dict[str, Any]) -> None:
        problems = ledger_problems()
        for p in problems:
            self.stderr.write(str(p))
        if problems:
            raise CommandError(f"ledger check failed: {len(problems)} problem(s)", returncode=1)
        n = Account.objects.count()
        self.stdout.write(f"ledger check passed: {n} accounts, balances equal their entries")

    def _open_account(self, opts: dict[str, Any]) -> None:
        staff = cli_staff(opts["staff"], permission="onboard_members")
        account = open_account(staff.member(opts["login"]), opts["kind"], staff.ctx, opts["name"])
        self.stdout.write(f"{account.kind} {format_nrb(account.number)}")

    def _deposit(self, opts: dict[str, Any]) -> None:
        staff = cli_staff(opts["staff"], permission="handle_cash")
        number = parse_nrb(opts["account"])
        account = Account.objects.filter(number=number, member__isnull=False).first()
        if account is None or not staff.may_act_in(account.credit_union):
            raise CommandError("no member account with this number")
        txn = deposit_cash(account, parse_amount(opts["amount"]), staff.ctx, opts["title"])
        account.refresh_from_db()
        self.stdout.write(
            f"booked transaction {txn.pk}; balance {format_amount(account.booked_minor)}"
        )

    def _balances(self, opts: dict[str, Any]) -> None:
        # Balances only for staff who pay cash, and who saw them recorded, as on the back-office's
        # cash page (R-B5).
        staff = cli_staff(opts["staff"], permission="handle_cash")
        member = staff.member(opts["login"])
        for a in Account.objects.filter(member=member).order_by("pk"):
            record_balance_seen(a, staff.ctx)
            self.stdout.write(
                f"{a.kind:8} {format_nrb(a.number)}  booked {format_amount(a.booked_minor)}"
                f"  available {format_amount(a.available_minor)}"
            )
