"""Staff command line (R-X2): staff users, onboarding members (R-B2), unblocking the web (R-B3)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import translation

from skarbiec.audit.models import AuditEvent
from skarbiec.channels.lifecycle import block_web_channel
from skarbiec.channels.models import WebChannel
from skarbiec.ledger.models import Account
from skarbiec.ledger.nrb import format_nrb
from skarbiec.members.models import Member, StaffProfile
from skarbiec.members.passwords import password_problems
from skarbiec.otp.models import SmsMessage
from skarbiec.otp.sms import decrypt_body
from tests.factories import CLI, make_credit_union, make_member, make_pesel

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    with translation.override("en"):  # the assertions read the English messages
        call_command(*args, stdout=out)
    return out.getvalue()


def test_r_x2_staff_create_prints_a_valid_generated_password() -> None:
    cu = make_credit_union()
    out = run(
        "staff", "create", "--username", "ewa", "--role", "clerk", "--credit-union", cu.sort_code
    )
    password = out.split("Password: ")[1].strip()
    assert password_problems(password) == []
    user = User.objects.get(username="ewa")
    assert user.check_password(password)
    assert user.staff.role == StaffProfile.Role.CLERK and user.staff.credit_union == cu
    event = AuditEvent.objects.get(event="staff_user_created")
    # The installation's first staff member: nobody to name yet (R-B5).
    assert event.actor == "cli:first-staff" and event.data == {"username": "ewa", "role": "clerk"}
    # From then on an administrator is named.
    with pytest.raises(CommandError, match="--staff USERNAME"):
        run(
            "staff",
            "create",
            "--username",
            "jan",
            "--role",
            "clerk",
            "--credit-union",
            cu.sort_code,
        )
    with pytest.raises(CommandError, match="Your role does not allow this"):
        run("staff", "create", "--username", "jan", "--role", "clerk", "--credit-union",
            cu.sort_code, "--staff", "ewa")  # fmt: skip


def test_r_x2_installation_admin_needs_no_credit_union() -> None:
    run("staff", "create", "--username", "root-admin", "--role", "admin")
    assert User.objects.get(username="root-admin").staff.credit_union is None


def test_r_x2_staff_create_refusals() -> None:
    cu = make_credit_union()
    with pytest.raises(CommandError, match="must belong to a credit union"):
        run("staff", "create", "--username", "h", "--role", "helpline")
    with pytest.raises(CommandError, match="No credit union with sort code 00000000"):
        run("staff", "create", "--username", "h", "--role", "admin", "--credit-union", "00000000")
    run("staff", "create", "--username", "h", "--role", "admin", "--credit-union", cu.sort_code)
    with pytest.raises(CommandError, match="already exists"):
        run("staff", "create", "--username", "H", "--role", "admin", "--staff", "h",
            "--credit-union", cu.sort_code)  # fmt: skip
    with pytest.raises(CommandError, match="username"):
        run("staff", "create", "--username", "a b", "--role", "admin", "--staff", "h",
            "--credit-union", cu.sort_code)  # fmt: skip
    assert User.objects.count() == 1


def _clerk(cu: object) -> str:
    from skarbiec.members.staff import create_staff_user

    create_staff_user("kasia", "clerk", cu, CLI)  # type: ignore[arg-type]
    return "kasia"


def test_r_b2_member_create_prints_login_and_sends_password_by_sms_only() -> None:
    cu = make_credit_union()
    out = run(
        "member",
        "create",
        "--staff",
        _clerk(cu),
        "--credit-union",
        cu.sort_code,
        "--first-name",
        "Ewa",
        "--last-name",
        "Lis",
        "--pesel",
        make_pesel(),
        "--phone",
        "600 100 200",
    )
    member = Member.objects.get()
    assert f"Login: {member.login}" in out
    assert member.must_change_password
    # As the back-office's onboarding: a current account, shown with its number.
    (account,) = Account.objects.filter(member=member)
    assert account.kind == Account.Kind.CURRENT
    assert f"Account (current): {format_nrb(account.number)}" in out
    sms = SmsMessage.objects.get(member=member)
    assert sms.phone == "+48600100200"
    body = decrypt_body(sms.body_encrypted)
    temporary = next(word for word in body.split() if any(c in "!@#$%&*?" for c in word))
    assert temporary.rstrip(".") not in out  # the password never appears on the screen
    assert AuditEvent.objects.filter(
        event="member_onboarded", member_id=member.pk, actor="staff:kasia"
    )


def test_r_b2_member_create_refuses_bad_input_without_writing() -> None:
    cu = make_credit_union()
    base = [
        "member",
        "create",
        "--staff",
        _clerk(cu),
        "--credit-union",
        cu.sort_code,
        "--first-name",
        "Ewa",
        "--last-name",
        "Lis",
    ]
    with pytest.raises(CommandError, match="PESEL"):
        run(*base, "--pesel", "90010112345", "--phone", "600100200")
    with pytest.raises(CommandError, match="phone"):
        run(*base, "--pesel", make_pesel(), "--phone", "12")
    with pytest.raises(CommandError, match="sort code 99999999"):
        run(
            "member",
            "create",
            "--credit-union",
            "99999999",
            "--first-name",
            "E",
            "--last-name",
            "L",
            "--pesel",
            make_pesel(),
            "--phone",
            "600100200",
        )
    pesel = make_pesel()
    run(*base, "--pesel", pesel, "--phone", "600100200")
    with pytest.raises(CommandError, match="already exists"):
        run(*base, "--pesel", pesel, "--phone", "600100200")
    assert Member.objects.count() == 1
    assert SmsMessage.objects.count() == 1


def test_r_x2_r_b3_web_unblock_restores_access_with_new_temporary_password() -> None:
    member = make_member()
    channel = WebChannel.objects.get(member=member)
    block_web_channel(channel, "wrong_passwords", CLI)
    from skarbiec.members.staff import create_staff_user

    create_staff_user("tele", "helpline", member.credit_union, CLI)
    out = run("web", "unblock", member.login, "--staff", "tele")
    assert "unblocked" in out
    channel.refresh_from_db()
    member.refresh_from_db()
    assert channel.state == WebChannel.State.ACTIVE and channel.failed_attempts == 0
    assert member.must_change_password
    unblocked = AuditEvent.objects.get(event="web_channel_unblocked")
    assert unblocked.actor == "staff:tele" and unblocked.channel == "cli"
    assert SmsMessage.objects.filter(member=member).count() == 2


def test_r_x2_web_unblock_unknown_login() -> None:
    with pytest.raises(CommandError, match="No member has the Login 1234567890"):
        run("web", "unblock", "1234567890")


@pytest.fixture(scope="module")
def migrated_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data_dir: Path = tmp_path_factory.mktemp("cli-data")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"} and not k.startswith("SKARBIEC_")
    }
    env["SKARBIEC_DATA_DIR"] = str(data_dir)
    subprocess.run([sys.executable, "-m", "skarbiec", "migrate", "-v0"], env=env, check=True)
    return env


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "member",
                "create",
                "--credit-union",
                "12345678",
                "--first-name",
                "E",
                "--last-name",
                "L",
                "--pesel",
                "1234",
                "--phone",
                "600100200",
            ],
            "No credit union",
        ),
        (["web", "unblock", "1234567890"], "No member has the Login 1234567890"),
        (["web", "block", "1234567890", "--staff", "x"], "No member has the Login 1234567890"),
        # a separate process speaks the default language, Polish (R-X5)
        (["staff", "create", "--username", "u", "--role", "helpline"], "przypisany do kasy"),
    ],
)
def test_r_x2_cli_errors_exit_non_zero_without_traceback(
    migrated_env: dict[str, str], args: list[str], message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "skarbiec", *args], env=migrated_env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_r_x2_cli_invalid_pesel_exits_non_zero(migrated_env: dict[str, str]) -> None:
    skarbiec = [sys.executable, "-m", "skarbiec"]
    create_cu = (
        "from skarbiec.members.models import CreditUnion;"
        "from skarbiec.members.staff import create_staff_user;"
        "from skarbiec.core.context import RequestContext;"
        "cu = CreditUnion.objects.create(name='SKOK CLI', sort_code='19401236');"
        "create_staff_user('cli-clerk', 'clerk', cu, RequestContext())"
    )
    subprocess.run([*skarbiec, "shell", "-c", create_cu], env=migrated_env, check=True)
    result = subprocess.run(
        [
            *skarbiec,
            "member",
            "create",
            "--staff",
            "cli-clerk",
            "--credit-union",
            "19401236",
            "--first-name",
            "E",
            "--last-name",
            "L",
            "--pesel",
            "90010112345",
            "--phone",
            "600100200",
        ],
        env=migrated_env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "Numer PESEL jest nieprawidłowy." in result.stderr  # default language (R-X5)
    assert "Traceback" not in result.stderr
