from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "skarbiec.core"
    label = "core"
