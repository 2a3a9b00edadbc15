"""`skarbiec creditunion create|configure|list` (R-B4, R-T1): the same services as the
back-office's administrator pages, for a named staff member (`--staff`)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from skarbiec.backoffice.credit_unions import configure_credit_union, create_credit_union
from skarbiec.backoffice.policy import BOUNDS, FLAGS, VERSIONS
from skarbiec.backoffice.scope import credit_unions_of
from skarbiec.core.errors import DomainError
from skarbiec.members.cli import FIRST_STAFF, CliStaff, add_staff_argument, cli_staff
from skarbiec.members.models import CreditUnion, StaffProfile


def _yes_no(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"yes", "true", "1", "tak", "on"}:
        return True
    if lowered in {"no", "false", "0", "nie", "off"}:
        return False
    raise ValueError(value)


_yes_no.__name__ = "yes/no"


class Command(BaseCommand):
    help = "Credit unions (R-B4): create, configure (settings and §8 policy), list."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a new, fully separate credit union")
        create.add_argument("--name", required=True)
        create.add_argument("--sort-code", required=True)
        create.add_argument(
            "--helpline", required=True, action="append", help="a helpline number (repeat)"
        )
        create.add_argument("--offers-mobile-app", type=_yes_no, default=True)
        add_staff_argument(create)
        configure = sub.add_parser("configure", help="change settings and the security policy")
        configure.add_argument("sort_code")
        configure.add_argument("--name")
        configure.add_argument("--new-sort-code")
        configure.add_argument("--helpline", action="append")
        configure.add_argument("--offers-mobile-app", type=_yes_no)
        configure.add_argument("--logo", type=Path, help="PNG or JPEG, at most 200 KB")
        for name in BOUNDS:
            configure.add_argument("--" + name.replace("_", "-"), type=int, dest=name)
        for name in FLAGS:
            configure.add_argument("--" + name.replace("_", "-"), type=_yes_no, dest=name)
        for name in VERSIONS:
            configure.add_argument("--" + name.replace("_", "-"), dest=name)
        add_staff_argument(configure)
        listing = sub.add_parser("list", help="the credit unions with their policy")
        add_staff_argument(listing)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "_" + options["action"])(options)
        except DomainError as exc:
            field = exc.details.get("field")
            prefix = f"{field}: " if field else ""
            raise CommandError(prefix + str(exc.message))

    def _admin(self, options: dict[str, Any]) -> CliStaff:
        return cli_staff(options["staff"], permission="configure_credit_union")

    def _create(self, options: dict[str, Any]) -> None:
        if not options["staff"] and not StaffProfile.objects.exists():
            ctx, profile = FIRST_STAFF, None  # a new installation: nobody to name yet
        else:
            staff = self._admin(options)
            ctx, profile = staff.ctx, staff.profile
        cu = create_credit_union(
            profile,
            name=options["name"],
            sort_code=options["sort_code"],
            helpline_phones=options["helpline"],
            offers_mobile_app=options["offers_mobile_app"],
            ctx=ctx,
        )
        self.stdout.write(f"Credit union {cu.name} (sort code {cu.sort_code}) created.")

    def _configure(self, options: dict[str, Any]) -> None:
        staff = self._admin(options)
        cu = staff.credit_union(options["sort_code"])
        changes: dict[str, Any] = {}
        for key, option in (
            ("name", "name"),
            ("sort_code", "new_sort_code"),
            ("helpline_phones", "helpline"),
            ("offers_mobile_app", "offers_mobile_app"),
            *((n, n) for n in (*BOUNDS, *FLAGS, *VERSIONS)),
        ):
            if options.get(option) is not None:
                changes[key] = options[option]
        logo = options["logo"].read_bytes() if options.get("logo") else None
        if not changes and logo is None:
            raise CommandError("Nothing to change: give at least one setting.")
        cu = configure_credit_union(staff.profile, cu, changes, staff.ctx, logo=logo)
        self.stdout.write(f"Credit union {cu.name} (sort code {cu.sort_code}) configured.")

    def _list(self, options: dict[str, Any]) -> None:
        staff = cli_staff(options["staff"], permission="configure_credit_union")
        unions: list[CreditUnion] = list(credit_unions_of(staff.profile))
        for cu in unions:
            self.stdout.write(
                f"{cu.sort_code}  {cu.name}  helpline: {', '.join(cu.helpline_phones)}  "
                f"mobile app: {'yes' if cu.offers_mobile_app else 'no'}  "
                f"idle: {cu.idle_timeout_seconds}s  attempts: {cu.max_web_password_failures}/"
                f"{cu.max_auth_failures}/{cu.max_otp_failures}  OTP: {cu.otp_ttl_seconds}s"
            )
