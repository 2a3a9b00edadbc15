from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "skarbiec.ledger"
    label = "ledger"
