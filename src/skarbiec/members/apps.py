from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "skarbiec.members"
    label = "members"
