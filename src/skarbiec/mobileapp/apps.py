from django.apps import AppConfig


class MobileAppConfig(AppConfig):
    name = "skarbiec.mobileapp"
    label = "mobileapp"
