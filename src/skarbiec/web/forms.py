"""Form fields several areas of the internet service share."""

from django import forms
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    """The SMS code step of any confirmed operation."""

    code = forms.CharField(label=_("SMS code"), max_length=16)


#: A new password's bound: far above R-P1's 15 characters, so one too long is refused by the
#: password rules with all their reasons (R-P2), not by this field's "at most N characters"
#: once per field; bounded all the same (the rules run before anything is hashed).
NEW_PASSWORD_BOUND = 1024


class NewPasswordForm(forms.Form):
    new_password = forms.CharField(
        label=_("New password"), max_length=NEW_PASSWORD_BOUND, strip=False
    )
    repeated = forms.CharField(
        label=_("Repeat the new password"), max_length=NEW_PASSWORD_BOUND, strip=False
    )
