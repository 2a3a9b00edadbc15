from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "skarbiec.channels"
    label = "channels"

    def ready(self) -> None:
        # The channels' kinds of the confirmed-operation registry are declared on import.
        from skarbiec.channels.mobile import activation, app_password  # noqa: F401
        from skarbiec.channels.web import login, password  # noqa: F401
