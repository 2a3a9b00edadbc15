from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "skarbiec.core"
    label = "core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from skarbiec.core.private_files import make_sqlite_files_private

        connection_created.connect(make_sqlite_files_private, dispatch_uid="skarbiec-private-db")
