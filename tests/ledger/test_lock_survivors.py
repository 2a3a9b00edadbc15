"""Row locks of limits and trusted payees that the mutation audit found untested (R-L4, R-O2,
R-X4), on PostgreSQL: each test makes a second request run while the first holds its lock
(SQLite queues writers, so nothing ever runs inside another's transaction there).

As in test_race_gaps.py, the second request runs for up to a second inside the first one's
transaction: with the lock it waits and then sees the first one's result; without it, it runs
to its end and the first one then writes over what it did."""

import threading

import pytest
from django.db import connection

from skarbiec.core.errors import DomainError
from skarbiec.ledger import limits, payees
from skarbiec.ledger.limits import change_limits, confirm_limit_change, member_limits
from skarbiec.ledger.models import LimitChange, TrustedPayee
from skarbiec.ledger.payee_book import save_payee
from skarbiec.ledger.payees import awaits_code, confirm_trusted_payee, trust_saved_payee
from skarbiec.otp.models import Confirmation
from tests.factories import make_credit_union
from tests.ledger.helpers import WEB, last_code, member_with_account


def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no request runs inside another's")


#: The name of the thread a hook starts: its own call of the hooked function runs the real one.
MEANWHILE = "meanwhile"


def _on_a_thread(work, results: list) -> threading.Thread:
    def run() -> None:
        try:
            results.append(work())
        except DomainError as e:
            results.append(e.code)
        except Exception as e:  # noqa: BLE001 - a crash must fail the test, visibly
            results.append(f"crash:{type(e).__name__}:{e}")
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=MEANWHILE)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_r_l4_a_lowering_while_a_raise_is_confirmed_is_not_undone_by_the_raise(monkeypatch):
    """The member confirms a raise of limits with its code and, in another tab, lowers them
    while the confirmation runs. The lowering voids a raise still pending; one the code
    already applies goes first and the lowering after it. Never both "done" and the raised
    limits in force: the lowering, answered as applied, must hold (R-L4)."""
    _postgresql_only()
    cu = make_credit_union()
    member, _account = member_with_account(cu)
    raise_ = change_limits(member, "web", 30_000_00, 60_000_00, 200_000_00, WEB)
    assert raise_.state == LimitChange.State.PENDING
    code = last_code(member)
    real_maximum = limits.credit_union_limits
    lowered: list = []
    threads: list[threading.Thread] = []

    def maximum_with_a_lowering_meanwhile(*args, **kwargs):
        # the raise read (under its lock) as pending, not yet applied
        # Not from the thread it starts, whose call can come before the append.
        if not threads and threading.current_thread().name != MEANWHILE:
            threads.append(
                _on_a_thread(
                    lambda: (
                        change_limits(member, "web", 10_000_00, 20_000_00, 100_000_00, WEB).state
                    ),
                    lowered,
                )
            )
            threads[0].join(1.0)
        return real_maximum(*args, **kwargs)

    monkeypatch.setattr(limits, "credit_union_limits", maximum_with_a_lowering_meanwhile)
    confirm_limit_change(member, raise_.pk, code, WEB)
    threads[0].join(10)
    monkeypatch.undo()
    assert lowered == [LimitChange.State.APPLIED], lowered
    in_force = member_limits(member, "web")
    assert (
        in_force.per_transaction_minor,
        in_force.daily_minor,
        in_force.monthly_minor,
    ) == (10_000_00, 20_000_00, 100_000_00)
    raise_.refresh_from_db()
    assert raise_.state == LimitChange.State.APPLIED  # applied first, then lowered


@pytest.mark.django_db(transaction=True)
def test_r_o2_a_payee_renamed_while_its_trusting_starts_voids_the_code_that_named_it(
    monkeypatch,
):
    """The member starts trusting a saved payee and, in another tab, renames it while the
    start runs. The SMS names the old name: the rename must void that code (R-O2) and leave the
    payee waiting for none, never a payee called by the new name that awaits the old name's
    code (whose right code then counts as wrong, R-X6)."""
    _postgresql_only()
    cu = make_credit_union()
    member, _source = member_with_account(cu)
    _other, account = member_with_account(cu, first_name="Anna", last_name="Nowak")
    saved = save_payee(member, "Anna Nowak", account.number, "", WEB)
    real_start = payees.start_confirmation
    renamed: list = []
    threads: list[threading.Thread] = []

    def start_with_a_rename_meanwhile(*args, **kwargs):
        # the saved payee read (under its lock), its code not yet started
        # Not from the thread it starts, whose call can come before the append.
        if not threads and threading.current_thread().name != MEANWHILE:
            threads.append(
                _on_a_thread(
                    lambda: save_payee(member, "Jan Kowalski", account.number, "", WEB).name,
                    renamed,
                )
            )
            threads[0].join(1.0)
        return real_start(*args, **kwargs)

    monkeypatch.setattr(payees, "start_confirmation", start_with_a_rename_meanwhile)
    started = trust_saved_payee(member, "web", saved.pk, WEB)
    threads[0].join(10)
    monkeypatch.undo()
    assert renamed == ["Jan Kowalski"], renamed
    payee = TrustedPayee.objects.get(pk=saved.pk)
    confirmation = Confirmation.objects.get(pk=started.otp_id)
    assert confirmation.details["name"] == "Anna Nowak"  # what the SMS named
    assert (payee.name, payee.state) == ("Jan Kowalski", TrustedPayee.State.SAVED)
    assert (awaits_code(payee), confirmation.state) == (False, Confirmation.State.VOIDED), (
        payee.otp_id,
        confirmation.state,
    )
    with pytest.raises(DomainError) as refused:
        confirm_trusted_payee(member, saved.pk, last_code(member), WEB)
    assert refused.value.code == "payee_not_found"
    confirmation.refresh_from_db()
    assert confirmation.failed_codes == 0
