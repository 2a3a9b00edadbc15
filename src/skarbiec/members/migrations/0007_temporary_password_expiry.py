"""A temporary internet-service password expires (R-W1): the column, and an expiry for the
temporary passwords pending at the upgrade, counted from the upgrade (their members were told
of no limit when they got them)."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def expire_pending_temporary_passwords(apps, schema_editor):
    members = apps.get_model("members", "Member")
    expires_at = timezone.now() + timedelta(days=settings.TEMPORARY_PASSWORD_DAYS)
    members.objects.filter(
        must_change_password=True, temporary_password_expires_at__isnull=True
    ).update(temporary_password_expires_at=expires_at)


class Migration(migrations.Migration):
    dependencies = [("members", "0006_staff_session_generation")]

    operations = [
        migrations.AddField(
            model_name="member",
            name="temporary_password_expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(
            expire_pending_temporary_passwords, migrations.RunPython.noop, elidable=True
        ),
    ]
