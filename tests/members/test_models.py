"""R-T1: a credit union carries its sort code, helpline numbers, whether it offers the mobile
app, and a security policy whose defaults are those of SPEC §8 and whose limits are enforced."""

import pytest
from django.core.exceptions import ValidationError

from skarbiec.members.models import CreditUnion


def test_r_t1_security_policy_defaults_are_the_specs():
    cu = CreditUnion(name="SKOK Test", sort_code="95001234")
    assert cu.max_auth_failures == 3
    assert cu.max_otp_failures == 3
    assert cu.max_web_password_failures == 3
    assert cu.idle_timeout_seconds == 300
    assert (cu.otp_digits, cu.otp_ttl_seconds) == (6, 300)
    assert cu.pin_length == 5
    assert (cu.min_android_version, cu.min_ios_version) == ("5.1", "10.0")
    assert cu.refuse_rooted_devices is True
    assert cu.activation_requires_otp is True
    assert cu.offers_mobile_app is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_auth_failures", 6),  # §8: at most 5 PIN/fingerprint attempts
        ("idle_timeout_seconds", 301),  # §8: idle logout at most 5 minutes
        ("sort_code", "1234567"),
        ("sort_code", "1234567a"),
    ],
)
def test_r_t1_policy_limits_are_validated(field, value):
    cu = CreditUnion(name="SKOK Test", sort_code="95001234", helpline_phones=["801 803 800"])
    setattr(cu, field, value)
    with pytest.raises(ValidationError) as e:
        cu.full_clean()
    assert field in e.value.message_dict


@pytest.mark.django_db
def test_r_t1_sort_code_is_unique_per_installation():
    CreditUnion.objects.create(name="A", sort_code="95001234", helpline_phones=["1"])
    with pytest.raises(ValidationError):
        CreditUnion(name="B", sort_code="95001234", helpline_phones=["1"]).full_clean()
