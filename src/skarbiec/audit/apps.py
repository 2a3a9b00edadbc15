from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "skarbiec.audit"
    label = "audit"
