from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "skarbiec.web"
    label = "web"
