from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "skarbiec.api"
    label = "api"
