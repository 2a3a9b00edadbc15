"""Form fields several areas of the internet service share."""

from django import forms
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    """The SMS code step of any confirmed operation."""

    code = forms.CharField(label=_("SMS code"), max_length=16)


class NewPasswordForm(forms.Form):
    # Bounded so nobody can make us hash megabytes; real passwords have at most 15 characters.
    new_password = forms.CharField(label=_("New password"), max_length=128, strip=False)
    repeated = forms.CharField(label=_("Repeat the new password"), max_length=128, strip=False)
