from django import forms
from django.utils.translation import gettext_lazy as _

from skarbiec.web.forms import NEW_PASSWORD_BOUND


class MobilePasswordForm(forms.Form):
    new_password = forms.CharField(
        label=_("New mobile-app password"), max_length=NEW_PASSWORD_BOUND, strip=False
    )
    repeated = forms.CharField(
        label=_("Repeat the password"), max_length=NEW_PASSWORD_BOUND, strip=False
    )


class WebPasswordForm(forms.Form):
    current_password = forms.CharField(label=_("Current password"), max_length=128, strip=False)
    new_password = forms.CharField(
        label=_("New password"), max_length=NEW_PASSWORD_BOUND, strip=False
    )
    repeated = forms.CharField(
        label=_("Repeat the new password"), max_length=NEW_PASSWORD_BOUND, strip=False
    )
