from django import forms
from django.utils.translation import gettext_lazy as _


class LoginForm(forms.Form):
    login = forms.CharField(label=_("Login"), max_length=32)
    # Bounded so nobody can make us hash megabytes; real passwords have at most 15 characters.
    password = forms.CharField(label=_("Password"), max_length=128, strip=False)
