"""R-X8: single hostile fields in otherwise valid back-office forms; among them digits of other
scripts ("٣") where ASCII digits are required (sort code, helpline, phone, PESEL, app
versions), which are refused and store nothing (R-B2, R-T1)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from skarbiec.ledger.accounts import open_account
from skarbiec.ledger.models import Account, LedgerTransaction
from skarbiec.members.models import CreditUnion, Member, StaffProfile
from tests.backoffice.staff import cash_form, log_in, make_staff
from tests.factories import CLI, make_credit_union, make_member, make_pesel

pytestmark = pytest.mark.django_db

ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _client(settings, staff):
    settings.RATE_LIMIT_PER_ADDRESS = (100_000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (100_000, 60)
    client = Client(raise_request_exception=False)
    log_in(client, staff)
    return client


def _page(response, what):
    assert response.status_code < 500, f"{what}: {response.status_code}"
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("text/html"), what


@pytest.mark.parametrize(
    "amount", ["1e3", "١٠", "0,001", "-5", "NaN", "9" * 32, "0", "  5 ", "１０", "5.", "1 234,567"]
)
def test_r_x8_cash_amounts(settings, amount):
    member = make_member()
    account = open_account(member, Account.Kind.CURRENT, CLI)
    client = _client(settings, make_staff("clerk", member.credit_union))
    before = LedgerTransaction.objects.count()
    url = f"/backoffice/accounts/{account.pk}/cash/"
    response = client.post(
        url, cash_form(client, account.pk, direction="withdrawal", amount=amount)
    )
    _page(response, amount)
    response = client.post(url, cash_form(client, account.pk, direction="deposit", amount=amount))
    _page(response, amount)
    if response.status_code != 302:
        assert LedgerTransaction.objects.count() == before


def _settings_form(cu, **over):
    form = {
        "name": cu.name,
        "sort_code": cu.sort_code,
        "helpline_phones": "801 803 800",
        "idle_timeout_seconds": "300",
        "max_auth_failures": "3",
        "max_otp_failures": "3",
        "max_web_password_failures": "3",
        "otp_ttl_seconds": "300",
        "otp_digits": "6",
        "pin_length": "5",
        "session_absolute_seconds": "3600",
        "min_android_version": "5.1",
        "min_ios_version": "10.0",
    }
    form.update(over)
    return form


@pytest.mark.parametrize(
    "field,value",
    [
        ("idle_timeout_seconds", "9" * 30),
        ("idle_timeout_seconds", "1e3"),
        ("idle_timeout_seconds", "-0"),
        ("pin_length", "٥"),
        ("otp_digits", "NaN"),
        ("min_ios_version", "999.999.999"),
        ("min_ios_version", "1" * 16),
        ("min_ios_version", "1..1"),
        ("helpline_phones", "801\n" * 6),
        ("helpline_phones", "+" + "1" * 30),
        ("name", " "),
        ("name", "x" * 201),
        ("sort_code", "1234 5678"),
        ("sort_code", "12345678\n"),
    ],
)
def test_r_x8_credit_union_settings_single_field(settings, field, value):
    cu = make_credit_union()
    client = _client(settings, make_staff("admin", cu))
    response = client.post(
        f"/backoffice/credit-unions/{cu.pk}/", _settings_form(cu, **{field: value})
    )
    _page(response, f"{field}={value!r}")


@pytest.mark.parametrize(
    "logo",
    [
        b"",
        b"\x89PNG\r\n\x1a\n",
        b"\x89PNG\r\n\x1a\n" + b"x" * 300_000,
        b"GIF89a",
        b"\xff\xd8\xff" + b"\x00" * 10,
    ],
)
def test_r_x8_credit_union_logo_uploads(settings, logo):
    cu = make_credit_union()
    client = _client(settings, make_staff("admin", cu))
    form = _settings_form(cu)
    form["logo"] = SimpleUploadedFile("logo.png", logo, content_type="image/png")
    response = client.post(f"/backoffice/credit-unions/{cu.pk}/", form)
    _page(response, repr(logo[:10]))
    # the logo shown back
    _page(Client(raise_request_exception=False).get(f"/brand/{cu.pk}/logo"), "brand")


@pytest.mark.parametrize("role", ["", "root", "admin" * 100, "ADMIN"])
def test_r_x8_staff_role_change_junk(settings, role):
    cu = make_credit_union()
    admin = make_staff("admin", cu)
    other = make_staff("helpline", cu)
    client = _client(settings, admin)
    response = client.post(f"/backoffice/staff/{other.pk}/role/", {"role": role})
    _page(response, role[:20])
    other.refresh_from_db()
    assert other.role == "helpline"


@pytest.mark.parametrize(
    "username", ["a b", "ą" * 10, "<script>", "x" * 151, " ", "\u202eadmin", "admin\u200b", "ADMIN"]
)
def test_r_x8_staff_new_usernames(settings, username):
    cu = make_credit_union()
    admin = make_staff("admin", cu, username="admin")
    client = _client(settings, admin)
    StaffProfile.objects.count()
    response = client.post("/backoffice/staff/new/", {"username": username, "role": "helpline"})
    _page(response, username[:20])


@pytest.mark.parametrize(
    "q", ["٦٠٠١٠٠٢٠٠", "+48 600-100-200", "%", "_", "\\", "ą" * 200, "(((", "9" * 100, "   "]
)
def test_r_x8_helpline_search(settings, q):
    member = make_member()
    client = _client(settings, make_staff("helpline", member.credit_union))
    _page(client.post("/backoffice/members/", {"q": q}, follow=True), q[:20])


@pytest.mark.parametrize("name", ["x" * 101, "\u202e", "   ", "😀" * 100])
def test_r_x8_open_account_names(settings, name):
    member = make_member()
    client = _client(settings, make_staff("clerk", member.credit_union))
    response = client.post(
        f"/backoffice/members/{member.pk}/accounts/new/", {"kind": "current", "name": name}
    )
    _page(response, name[:10])


@pytest.mark.parametrize(
    "field,value",
    [
        ("first_name", "x" * 101),
        ("first_name", "   "),
        ("last_name", "\u202e"),
        ("address", "x" * 301),
        ("phone", "+" + "1" * 19),
        ("phone", "(600) 100-200"),
        ("language", "de"),
        ("credit_union", "999"),
        ("email", "a@b"),
        ("pesel", " " + "1" * 10),
    ],
)
def test_r_x8_onboarding_single_field(settings, field, value):
    cu = make_credit_union()
    client = _client(settings, make_staff("clerk", cu))
    form = {
        "first_name": "Ewa",
        "last_name": "Lis",
        "pesel": make_pesel(),
        "phone": "600100200",
        "language": "pl",
    }
    form[field] = value
    _page(client.post("/backoffice/onboard/", form), f"{field}={value!r}")


def test_r_x8_audit_filters(settings):
    cu = make_credit_union()
    client = _client(settings, make_staff("admin", cu))
    for params in [
        {"since": "9998-12-31", "until": "9998-12-31"},
        {"since": "1900-01-01"},
        {"member": "٠" * 10},
        {"event": "%"},
        {"staff": "ą" * 150},
        {"since": "2026-02-30"},
        {"page": "٣"},
        {"page": str(2**63)},
    ]:
        _page(client.get("/backoffice/audit/", params), str(params))
        _page(client.get("/backoffice/audit/export.csv", params), "csv " + str(params))


def _page_4xx(response, what):
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code}"
    assert response["Content-Type"].startswith("text/html"), what


@pytest.mark.parametrize("field", ["sort_code", "helpline_phones"])
def test_r_x8_new_credit_union_with_arabic_indic_digits_is_refused(settings, field):
    client = _client(settings, make_staff("admin", None))
    before = CreditUnion.objects.count()
    data = {"name": "SKOK Arab", "sort_code": "95001234", "helpline_phones": "801 803 800",
            "offers_mobile_app": "on"}  # fmt: skip
    data[field] = data[field].translate(ARABIC)
    response = client.post("/backoffice/credit-unions/new/", data)
    stored = list(CreditUnion.objects.values_list(field, flat=True))
    numbers = list(Account.objects.values_list("number", flat=True))
    _page_4xx(response, f"stored {field} {stored!r}, accounts {numbers!r}")
    assert CreditUnion.objects.count() == before


@pytest.mark.parametrize("field", ["phone", "pesel"])
def test_r_x8_onboarding_with_arabic_indic_digits_is_refused(settings, field):
    cu = make_credit_union()
    client = _client(settings, make_staff("clerk", cu))
    data = {"first_name": "Ewa", "last_name": "Lis", "pesel": make_pesel(),
            "phone": "600100200", "language": "pl"}  # fmt: skip
    data[field] = data[field].translate(ARABIC)
    response = client.post("/backoffice/onboard/", data)
    stored = list(Member.objects.values_list(field, flat=True))
    _page_4xx(response, f"stored {field} {stored!r}")
    assert not Member.objects.exists()


def test_r_x8_policy_with_arabic_indic_min_android_version_is_refused(settings):
    cu = make_credit_union()
    client = _client(settings, make_staff("admin", cu))
    form = _settings_form(cu, min_android_version="٥.١", refuse_rooted="on",
                          activation_requires_otp="on", offers_mobile_app="on")  # fmt: skip
    response = client.post(f"/backoffice/credit-unions/{cu.pk}/", form)
    cu.refresh_from_db()
    _page_4xx(response, f"stored {cu.min_android_version!r}")
    assert cu.min_android_version == "5.1"


@pytest.mark.parametrize(
    "field,value",
    [
        ("first_name", "Ola\x1b[31m\x08"),
        ("last_name", "\u202eanoK"),
        ("first_name", "O\u200bla"),
        ("address", "ul. Długa 1\r\nX-Injected: 1"),
        ("address", "ul. Długa\x7f 1"),
    ],
)
def test_r_t2_r_b5_onboarding_refuses_controls_and_invisible_characters(settings, field, value):
    """A terminal's escape codes act on whoever prints the audit log; U+202E shows one
    member's name as another's. The member's own forms refused them; the clerk's stored them."""
    cu = make_credit_union()
    client = _client(settings, make_staff("clerk", cu))
    data = {"first_name": "Ewa", "last_name": "Lis", "pesel": make_pesel(),
            "phone": "600100200", "language": "pl", field: value}  # fmt: skip
    response = client.post("/backoffice/onboard/", data)
    _page_4xx(response, f"{field}={value!r}")
    assert f'data-field-error="{field}"'.encode() in response.content
    assert not Member.objects.exists()


def test_r_t2_an_address_on_two_lines_is_kept(settings):
    cu = make_credit_union()
    client = _client(settings, make_staff("clerk", cu))
    data = {"first_name": "Ewa", "last_name": "Lis", "pesel": make_pesel(),
            "phone": "600100200", "language": "pl",
            "address": "ul. Długa 1\n00-001 Warszawa"}  # fmt: skip
    assert client.post("/backoffice/onboard/", data).status_code == 302
    assert Member.objects.get().address == "ul. Długa 1\n00-001 Warszawa"


@pytest.mark.parametrize("name", ["SKOK\x1b[2J Demo", "SKOK \u202eDemo", "SKOK\u200b Demo"])
def test_r_b4_r_o2_a_credit_union_name_with_controls_is_refused(settings, name):
    """The name starts every SMS of the credit union and heads its pages."""
    cu = make_credit_union()
    before = cu.name
    client = _client(settings, make_staff("admin", cu))
    response = client.post(f"/backoffice/credit-unions/{cu.pk}/", _settings_form(cu, name=name))
    _page_4xx(response, repr(name))
    cu.refresh_from_db()
    assert cu.name == before


@pytest.mark.parametrize(
    "field,value", [("idle_timeout_seconds", "٢٤٠"), ("session_absolute_seconds", "３０００")]
)
def test_r_x8_policy_numbers_in_other_scripts_are_refused(settings, field, value):
    """Every other number is read in ASCII digits; Django's field took any script's."""
    cu = make_credit_union()
    before = getattr(cu, field)
    client = _client(settings, make_staff("admin", cu))
    response = client.post(
        f"/backoffice/credit-unions/{cu.pk}/", _settings_form(cu, **{field: value})
    )
    _page_4xx(response, f"{field}={value!r}")
    cu.refresh_from_db()
    assert getattr(cu, field) == before


def test_r_x8_a_staff_username_in_arabic_indic_digits_is_refused(settings):
    cu = make_credit_union()
    client = _client(settings, make_staff("admin", cu, username="admin"))
    response = client.post("/backoffice/staff/new/", {"username": "١٢٣", "role": "helpline"})
    _page_4xx(response, "username")
    assert not StaffProfile.objects.filter(user__username="١٢٣").exists()


def test_r_x8_an_unknown_choice_is_not_repeated_in_the_page(settings):
    """Django's message repeats the value sent: a form's largest value, a page as large."""
    cu = make_credit_union()
    client = _client(settings, make_staff("clerk", cu))
    data = {"first_name": "Ewa", "last_name": "Lis", "pesel": make_pesel(),
            "phone": "600100200", "language": "x" * 30_000}  # fmt: skip
    response = client.post("/backoffice/onboard/", data)
    _page_4xx(response, "language")
    assert b"x" * 100 not in response.content
    assert b'data-field-error="language"' in response.content
