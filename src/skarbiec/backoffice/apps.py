from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "skarbiec.backoffice"
    label = "backoffice"
