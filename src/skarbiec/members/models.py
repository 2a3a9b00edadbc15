"""Credit unions (tenants) with their security policy, members and their credentials."""

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class CreditUnion(models.Model):
    """R-T1. The security policy (§8) lives on the credit union; defaults are the seed's."""

    name = models.CharField(max_length=200)
    sort_code = models.CharField(max_length=8, unique=True, validators=[RegexValidator(r"^\d{8}$")])
    helpline_phones = models.JSONField(default=list)
    offers_mobile_app = models.BooleanField(default=True)
    # The credit union's logo for the web and the app headers (an administrator's setting,
    # R-B4): kept in the database like all state (R-X3); empty means the default mark.
    # Database defaults: the previous version, still serving during an upgrade, can create a
    # credit union without knowing these columns (R-D5).
    logo = models.BinaryField(blank=True, default=b"", db_default=b"", editable=True)
    logo_content_type = models.CharField(max_length=32, blank=True, default="", db_default="")

    max_auth_failures = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    max_otp_failures = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    max_web_password_failures = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    idle_timeout_seconds = models.PositiveIntegerField(
        default=300, validators=[MinValueValidator(60), MaxValueValidator(300)]
    )
    session_absolute_seconds = models.PositiveIntegerField(
        default=3600, validators=[MinValueValidator(300), MaxValueValidator(12 * 3600)]
    )
    otp_digits = models.PositiveSmallIntegerField(
        default=6, validators=[MinValueValidator(6), MaxValueValidator(8)]
    )
    otp_ttl_seconds = models.PositiveIntegerField(
        default=300, validators=[MinValueValidator(60), MaxValueValidator(600)]
    )
    pin_length = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(4), MaxValueValidator(8)]
    )
    min_android_version = models.CharField(max_length=16, default="5.1")
    min_ios_version = models.CharField(max_length=16, default="10.0")
    refuse_rooted_devices = models.BooleanField(default=True)
    activation_requires_otp = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    """R-T2, R-T3. A member with the internet service has a 10-digit Login."""

    credit_union = models.ForeignKey(CreditUnion, on_delete=models.PROTECT, related_name="members")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    pesel = models.CharField(max_length=11)
    phone = models.CharField(max_length=20)
    email = models.EmailField(blank=True)
    address = models.CharField(max_length=300, blank=True)
    language = models.CharField(max_length=5, default="pl")
    login = models.CharField(max_length=10, unique=True)
    web_password_hash = models.CharField(max_length=200)
    # A temporary password (onboarding, operator reset) must be changed at first login (R-W1).
    must_change_password = models.BooleanField(default=True)
    # Until when that temporary password opens the internet service (R-W1): an SMS lying in an
    # old phone or a drawer must not be a key for ever. Set with every temporary password
    # (members/passwords.temporary_password_fields), cleared when the member sets their own.
    temporary_password_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["credit_union", "pesel"], name="member_pesel_per_cu")
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.login})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class StaffProfile(models.Model):
    """A staff user (Django auth user) working for one credit union, or the installation."""

    class Role(models.TextChoices):
        HELPLINE = "helpline", _("helpline operator")
        CLERK = "clerk", _("branch clerk")
        ADMIN = "admin", _("administrator")

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="staff")
    credit_union = models.ForeignKey(
        CreditUnion, null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    # The authenticator's secret (R-B1): shown once as a QR code at enrolment, never again;
    # stored sealed (members/staff.authenticator_secret).
    totp_secret = models.CharField(max_length=255, blank=True)
    totp_confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last time step accepted: a code is never accepted twice.
    totp_last_step = models.BigIntegerField(default=0, db_default=0)
    # Keyed digests of the unused recovery codes; the codes are shown once, at enrolment.
    recovery_codes = models.JSONField(default=list, blank=True)
    # Consecutive failures (core/attempts.py): the policy's limit locks the account until an
    # administrator unlocks it.
    failed_password_attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    # Attempts counted and still being compared, and the last count (core/attempts.py).
    failed_password_attempts_in_flight = models.PositiveSmallIntegerField(default=0, db_default=0)
    failed_password_attempts_counted_at = models.DateTimeField(null=True, blank=True)
    failed_totp_attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    # Attempts counted and still being compared, and the last count (core/attempts.py).
    failed_totp_attempts_in_flight = models.PositiveSmallIntegerField(default=0, db_default=0)
    failed_totp_attempts_counted_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    # Raised by every lock, unlock, deactivation and reactivation: part of the credentials
    # stamp, so a session opened before any of them never resumes (R-B1).
    session_generation = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        # Views check these permissions; the groups of the roles hold them (data migration).
        permissions = [
            ("find_members", "Find members and see their overview"),
            ("act_on_channels", "Block and unblock members' channels"),
            ("onboard_members", "Onboard members and open accounts"),
            ("handle_cash", "Pay cash in and out at the branch"),
            ("configure_credit_union", "Change the credit union's settings and policy"),
            ("manage_staff", "Manage staff accounts and roles"),
            ("read_audit", "Read and export the audit log"),
        ]

    def __str__(self) -> str:
        return self.user.username
