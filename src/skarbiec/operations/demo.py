"""Demo data for trying Skarbiec out (`skarbiec demo`); safe to load again and again.

Later features (accounts, history, mobile app) extend `load_demo_data`, keeping it idempotent:
look the demo objects up first and create only what is missing.
"""

from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db import transaction

from skarbiec.channels.enrolment import create_member
from skarbiec.core.context import RequestContext
from skarbiec.members.models import CreditUnion, Member, StaffProfile
from skarbiec.members.staff import create_staff_user

DEMO = RequestContext(actor="system:demo", channel="cli")
DEMO_SORT_CODE = "19401236"  # valid sort-code check digit, not a real institution
DEMO_CREDIT_UNION = "SKOK Demo"
DEMO_HELPLINE = ["801 803 800", "58 782 59 00"]


@dataclass(frozen=True)
class DemoPerson:
    first_name: str
    last_name: str
    pesel: str
    phone: str
    email: str
    password: str


@dataclass(frozen=True)
class DemoStaffUser:
    username: str
    role: str
    password: str


DEMO_MEMBERS = (
    # PESELs with a valid check digit: 12 March 1985 (woman), 24 July 1979 (man).
    DemoPerson(
        "Anna", "Nowak", "85031212343", "600 700 801", "anna.nowak@example.com", "Demo#Anna2024"
    ),
    DemoPerson(
        "Jan", "Kowalski", "79072412356", "600 700 802", "jan.kowalski@example.com", "Demo#Jan2024"
    ),
)
DEMO_STAFF = (
    DemoStaffUser("admin", StaffProfile.Role.ADMIN, "Demo#Admin2024"),
    DemoStaffUser("clerk", StaffProfile.Role.CLERK, "Demo#Clerk2024"),
    DemoStaffUser("helpline", StaffProfile.Role.HELPLINE, "Demo#Help2024"),
)


@dataclass
class DemoData:
    credit_union: CreditUnion
    # (member, demo password); the password is the demo's unless the member changed it.
    members: list[tuple[Member, str]] = field(default_factory=list)
    staff: list[tuple[User, str, str]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)


def load_demo_data() -> DemoData:
    """Create the demo credit union, members and staff when missing; return them all."""
    with transaction.atomic():
        cu, made = CreditUnion.objects.get_or_create(
            sort_code=DEMO_SORT_CODE,
            defaults={"name": DEMO_CREDIT_UNION, "helpline_phones": DEMO_HELPLINE},
        )
        data = DemoData(credit_union=cu)
        if made:
            data.created.append(f"credit union {cu.name}")

        for person in DEMO_MEMBERS:
            member = Member.objects.filter(credit_union=cu, pesel=person.pesel).first()
            if member is None:
                member, _password = create_member(
                    cu,
                    first_name=person.first_name,
                    last_name=person.last_name,
                    pesel=person.pesel,
                    phone=person.phone,
                    email=person.email,
                    ctx=DEMO,
                    temporary_password=person.password,
                )
                # Demo logins work at once with the printed password (no forced change).
                Member.objects.filter(pk=member.pk).update(must_change_password=False)
                member.must_change_password = False
                data.created.append(f"member {member.full_name}")
            data.members.append((member, person.password))

        # Accounts and a year of history for the demo members (R-L5); idempotent.
        from skarbiec.ledger.demo import load_demo_ledger

        data.created += load_demo_ledger(cu, [m for m, _password in data.members])

        for staff in DEMO_STAFF:
            user = User.objects.filter(username=staff.username).first()
            if user is None:
                user, _password = create_staff_user(
                    staff.username,
                    staff.role,
                    cu if staff.role != StaffProfile.Role.ADMIN else None,
                    DEMO,
                    password=staff.password,
                )
                data.created.append(f"staff user {staff.username}")
            data.staff.append((user, str(staff.role), staff.password))
    return data
