from django import forms
from django.utils.translation import gettext_lazy as _

from skarbiec.core.bounds import RecordIdField


class TransferForm(forms.Form):
    from_account = RecordIdField(label=_("From account"))
    # The number of one of the member's own accounts, picked from a list instead of typed.
    to_own = forms.CharField(label=_("To my account"), max_length=26, required=False)
    payee_account = forms.CharField(label=_("Payee account number"), max_length=64, required=False)
    payee_name = forms.CharField(label=_("Payee name"), max_length=200, required=False)
    title = forms.CharField(label=_("Title"), max_length=400)
    amount = forms.CharField(label=_("Amount"), max_length=40)
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)
    save_payee = forms.BooleanField(required=False)


class PayeeForm(forms.Form):
    name = forms.CharField(label=_("Payee name"), max_length=200)
    account = forms.CharField(label=_("Account number"), max_length=64)
    title = forms.CharField(label=_("Default title"), max_length=400, required=False)
    trusted = forms.BooleanField(required=False)


class LimitsForm(forms.Form):
    per_transaction = forms.CharField(label=_("Per transfer"), max_length=40)
    daily = forms.CharField(label=_("Daily"), max_length=40)
    monthly = forms.CharField(label=_("Monthly"), max_length=40)
