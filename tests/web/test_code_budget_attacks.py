"""R-X7, R-O4 in the web, from an outside review: one budget of three wrong codes however often
an operation is started again, and in the web the consequence is a failure toward the web
lockout, never a block of the app."""

import pytest
from tests.factories import make_member
from tests.ledger.helpers import EXTERNAL
from tests.web.login_steps import english_client, last_sms_code, log_in, wrong_code

from skarbiec.channels.models import MobileChannel, WebChannel
from skarbiec.ledger.models import LimitChange, TrustedPayee
from skarbiec.otp.models import Confirmation

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return english_client()


@pytest.fixture(autouse=True)
def _generous_limits(settings):
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)
    settings.OTP_SEND_LIMIT = (10_000, 600)


RAISE = {"channel": "web", "per_transaction": "30000", "daily": "60000", "monthly": "250000"}


def _raise(client, data=RAISE):
    response = client.post("/limits/", data)
    assert response.status_code == 200, response.content.decode()[:400]
    return LimitChange.objects.filter(state="pending").latest("pk")


def test_r_x7_raising_limits_started_again_keeps_its_wrong_codes(client):
    """Two wrong codes, then the same raise posted again: the next wrong code must be the
    third of the budget (operation cancelled, one web failure), not a fresh three."""
    member = make_member()
    log_in(client, member)
    for _round in range(3):
        change = _raise(client)
        for _ in range(2):
            code = wrong_code(last_sms_code(member))
            r = client.post(f"/limits/{change.pk}/code/", {"code": code})
            assert r.status_code in (400, 401, 403, 404), r.status_code
    # Six wrong codes for the same raise of limits, and still nothing counted.
    failed = WebChannel.objects.get(member=member).failed_attempts
    KIND = "raise_limits"
    starts = list(
        Confirmation.objects.filter(member=member, kind=KIND)
        .order_by("pk")
        .values_list("subject", "failed_codes")
    )
    assert failed >= 1, (
        f"6 wrong codes over 3 restarts of the same raise: web failures={failed}, "
        f"(subject, wrong codes) of each start={starts}"
    )


def test_r_x7_trusting_the_same_new_payee_again_keeps_its_wrong_codes(client):
    member = make_member()
    log_in(client, member)
    data = {"name": "Jan Nowak", "account": EXTERNAL, "title": "", "trusted": "on"}
    for _round in range(3):
        r = client.post("/payees/", data)
        assert r.status_code == 200, r.content.decode()[:400]
        payee = TrustedPayee.objects.filter(member=member).latest("pk")
        for _ in range(2):
            code = wrong_code(last_sms_code(member))
            r = client.post(f"/payees/{payee.pk}/code/", {"code": code})
            assert r.status_code in (400, 401, 403, 404), r.status_code
    failed = WebChannel.objects.get(member=member).failed_attempts
    KIND = "trusted_payee"
    starts = list(
        Confirmation.objects.filter(member=member, kind=KIND)
        .order_by("pk")
        .values_list("subject", "failed_codes")
    )
    assert failed >= 1, (
        f"6 wrong codes over 3 restarts of trusting the same payee: web failures={failed}, "
        f"(subject, wrong codes) of each start={starts}, "
        f"payees={TrustedPayee.objects.filter(member=member).count()}"
    )


def test_r_o4_three_wrong_codes_raising_limits_in_the_web_count_toward_the_web_lockout(client):
    """The web's Limits page offers the mobile app's limits too (?channel=mobile). Three wrong
    codes entered in the web must cancel and count toward the web lockout (R-O4), and must not
    block the mobile app (which only R-W5 unblocks)."""
    member = make_member()
    log_in(client, member)
    before = MobileChannel.objects.get(member=member).state
    change = _raise(
        client,
        {"channel": "mobile", "per_transaction": "6000", "daily": "20000", "monthly": "60000"},
    )
    for _ in range(3):
        code = wrong_code(last_sms_code(member))
        client.post(f"/limits/{change.pk}/code/", {"code": code})
    mobile = MobileChannel.objects.get(member=member).state
    web = WebChannel.objects.get(member=member).failed_attempts
    assert (mobile, web) == (before, 1), f"mobile {before} -> {mobile}, web failures {web}"


def test_r_x7_the_same_transfer_sent_again_keeps_its_wrong_codes(client):
    """Two wrong codes on a transfer, cancel, the same transfer again (new form): a fresh three
    each time, so codes can be guessed two at a time for ever without a web failure."""
    import re

    from tests.ledger.helpers import member_with_account

    from skarbiec.ledger.models import Order

    member, current = member_with_account(balance_minor=1_000_00)
    log_in(client, member)
    for _round in range(3):
        page = client.get("/transfers/new/").content.decode()
        key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
        r = client.post(
            "/transfers/new/",
            {
                "from_account": str(current.pk),
                "payee_account": EXTERNAL,
                "payee_name": "Jan Nowak",
                "title": "Rent",
                "amount": "100,00",
                "idempotency_key": key,
            },
        )
        assert r.status_code == 302 and r["Location"].endswith("/code/"), r.status_code
        order = Order.objects.filter(member=member).latest("pk")
        for _ in range(2):
            code = wrong_code(last_sms_code(member))
            client.post(f"/transfers/{order.pk}/code/", {"code": code})
        client.post(f"/transfers/{order.pk}/cancel/")
    failed = WebChannel.objects.get(member=member).failed_attempts
    starts = list(
        Confirmation.objects.filter(member=member, kind="transfer")
        .order_by("pk")
        .values_list("subject", "failed_codes")
    )
    assert failed >= 1, f"6 wrong codes over 3 identical transfers: web failures={failed}, {starts}"


def test_r_o4_a_payee_trust_started_in_the_app_takes_no_code_in_the_web(client):
    """Its codes are entered in the app, where three wrong ones block the app: from the web
    page a code is refused before it is counted, and the app still confirms it."""
    from skarbiec.core.context import RequestContext
    from skarbiec.ledger.payees import add_trusted_payee, confirm_trusted_payee

    member = make_member()
    log_in(client, member)
    app = RequestContext(ip_address="10.1.1.1", channel="mobile")
    payee = add_trusted_payee(member, "mobile", "Jan Nowak", EXTERNAL, app)
    code = last_sms_code(member)
    before = MobileChannel.objects.get(member=member).state
    for guess in (wrong_code(code), code):
        response = client.post(f"/payees/{payee.pk}/code/", {"code": guess})
        assert response.status_code == 409, response.status_code
        assert "other channel" in response.content.decode()
    assert Confirmation.objects.get(pk=payee.otp_id).failed_codes == 0
    assert MobileChannel.objects.get(member=member).state == before
    assert WebChannel.objects.get(member=member).failed_attempts == 0
    assert confirm_trusted_payee(member, payee.pk, code, app).state == TrustedPayee.State.ACTIVE


def test_r_o4_a_transfer_ordered_in_the_app_shows_no_code_form_in_the_web(client):
    """The web lists it as waiting, says where its code goes, and offers no code form that
    would only be refused."""
    from tests.ledger.helpers import member_with_account

    from skarbiec.core.context import RequestContext
    from skarbiec.ledger.orders import create_transfer_order

    member, current = member_with_account(balance_minor=1_000_00)
    app = RequestContext(ip_address="10.1.1.1", channel="mobile")
    order = create_transfer_order(
        member, "mobile", current.pk, EXTERNAL, "Jan Nowak", 50_00, "Rent", "app-1", app
    )
    log_in(client, member)
    code_page = f"/transfers/{order.pk}/code/"
    start = client.get("/start/").content.decode()
    assert "Jan Nowak" in start and code_page not in start
    detail = client.get(f"/transfers/{order.pk}/").content.decode()
    assert "ordered in the mobile app: enter its SMS code there" in detail
    assert code_page not in detail
    assert client.get(code_page)["Location"] == f"/transfers/{order.pk}/"


def _no_code_form(page: str, code_page: str) -> bool:
    # The page's own address is in its language form (next=): look for a form and a link.
    return f'action="{code_page}"' not in page and 'name="code"' not in page


def test_r_o4_a_payee_trust_started_in_the_app_shows_no_code_form_in_the_web(client):
    """The payee book lists it as waiting, says its code goes in the app, and offers no code
    form that would only be refused; trusting started in the web keeps its code form."""
    from skarbiec.core.context import RequestContext
    from skarbiec.core.errors import DomainError
    from skarbiec.ledger.nrb import make_nrb
    from skarbiec.ledger.payee_book import save_payee
    from skarbiec.ledger.payees import add_trusted_payee, confirm_trusted_payee, trust_saved_payee

    member = make_member()
    app = RequestContext(ip_address="10.1.1.1", channel="mobile")
    # Its codes used up in the app: it waits for no code anywhere (and the app is blocked).
    spent = save_payee(member, "Piotr Zych", make_nrb("10901014", "0000000000000004"), "", app)
    trust_saved_payee(member, "mobile", spent.pk, app)
    for _ in range(3):
        with pytest.raises(DomainError):
            confirm_trusted_payee(member, spent.pk, wrong_code(last_sms_code(member)), app)
    new = add_trusted_payee(member, "mobile", "Jan Nowak", EXTERNAL, app)
    saved = save_payee(member, "Ewa Lis", make_nrb("10901014", "0000000000000002"), "", app)
    trust_saved_payee(member, "mobile", saved.pk, app)
    log_in(client, member)
    book = client.get("/payees/").content.decode()
    for payee in (new, saved):
        assert payee.name in book
        assert _no_code_form(book, f"/payees/{payee.pk}/code/")
        assert f'href="/payees/{payee.pk}/code/"' not in book
        code_page = client.get(f"/payees/{payee.pk}/code/")
        assert code_page.status_code == 302 and code_page["Location"] == "/payees/"
    assert book.count("started in the mobile app: enter its SMS code there") == 2
    assert f'data-awaiting-payee="{spent.pk}"' not in book
    # A code posted anyway is refused (409) with no code form to try again.
    refused = client.post(f"/payees/{new.pk}/code/", {"code": last_sms_code(member)})
    assert refused.status_code == 409
    assert _no_code_form(refused.content.decode(), f"/payees/{new.pk}/code/")
    # Trusting started in the web is confirmed in the web: the book links its code form.
    account = make_nrb("10901014", "0000000000000003")
    r = client.post("/payees/", {"name": "Olga Web", "account": account, "trusted": "on"})
    assert r.status_code == 200, r.content.decode()[:400]
    web = TrustedPayee.objects.get(member=member, name="Olga Web")
    assert f'href="/payees/{web.pk}/code/"' in client.get("/payees/").content.decode()
    assert 'name="code"' in client.get(f"/payees/{web.pk}/code/").content.decode()


def test_r_o4_a_raise_of_limits_started_in_the_app_shows_no_code_form_in_the_web(client):
    """The web's Limits page (the app's limits, ?channel=mobile) says the raise waits for its
    code in the app and offers no code form; a raise started in the web keeps its form."""
    from skarbiec.core.context import RequestContext
    from skarbiec.ledger.limits import change_limits

    member = make_member()
    app = RequestContext(ip_address="10.1.1.1", channel="mobile")
    change = change_limits(member, "mobile", 6_000_00, 20_000_00, 60_000_00, app)
    assert change.state == LimitChange.State.PENDING
    log_in(client, member)
    code_page = f"/limits/{change.pk}/code/"
    page = client.get("/limits/?channel=mobile").content.decode()
    assert "started in the mobile app: enter its SMS code there" in page
    assert "6,000.00" in page and f'href="{code_page}"' not in page
    assert client.get(code_page)["Location"] == "/limits/?channel=mobile"
    refused = client.post(code_page, {"code": last_sms_code(member)})
    assert refused.status_code == 409
    assert _no_code_form(refused.content.decode(), code_page)
    # A raise started in the web is confirmed in the web: the page links its code form.
    web = _raise(client)
    page = client.get("/limits/?channel=web").content.decode()
    assert f'href="/limits/{web.pk}/code/"' in page
    assert "started in the mobile app" not in page
    assert 'name="code"' in client.get(f"/limits/{web.pk}/code/").content.decode()
