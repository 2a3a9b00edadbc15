from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "skarbiec.operations"
    label = "operations"
    # No ready() hook on purpose: prometheus_client must not be imported before `skarbiec run`
    # has chosen its multiprocess directory (see skarbiec.operations.metrics).
