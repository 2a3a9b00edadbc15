from django.apps import AppConfig


class OtpConfig(AppConfig):
    name = "skarbiec.otp"
    label = "otp"
