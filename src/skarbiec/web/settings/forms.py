from django import forms
from django.utils.translation import gettext_lazy as _


class MobilePasswordForm(forms.Form):
    new_password = forms.CharField(label=_("New mobile-app password"), max_length=128, strip=False)
    repeated = forms.CharField(label=_("Repeat the password"), max_length=128, strip=False)


class WebPasswordForm(forms.Form):
    current_password = forms.CharField(label=_("Current password"), max_length=128, strip=False)
    new_password = forms.CharField(label=_("New password"), max_length=128, strip=False)
    repeated = forms.CharField(label=_("Repeat the new password"), max_length=128, strip=False)
