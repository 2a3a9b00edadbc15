from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "skarbiec.channels"
    label = "channels"
