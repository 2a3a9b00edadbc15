from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "skarbiec.ledger"
    label = "ledger"

    def ready(self) -> None:
        # The ledger's kinds of the confirmed-operation registry are declared on import.
        from skarbiec.ledger import limits, orders, payees  # noqa: F401
