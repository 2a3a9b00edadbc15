"""Rate-limit counters were named by a plain SHA-256 of their Login or address, which trying
every 10-digit Login (or a PESEL typed in its place) undoes; they are named by a keyed hash of
it now (core/throttling.rate_limit_key). Every row is renamed in place, so no plain hash stays
in the table and an unknown Login's failures go on counting (R-X9, R-T3)."""

from django.db import migrations


def rename_counters(apps, schema_editor):
    from skarbiec.core.throttling import keyed_rate_limit_key

    counters = apps.get_model("core", "RateLimitCounter")
    for pk, key in counters.objects.values_list("pk", "key").iterator(chunk_size=2000):
        scope, _, digest = key.rpartition(":")
        if scope and len(digest) == 40:
            counters.objects.filter(pk=pk).update(key=keyed_rate_limit_key(scope, digest))


class Migration(migrations.Migration):
    dependencies = [("core", "0002_attempts_in_flight")]

    operations = [migrations.RunPython(rename_counters, migrations.RunPython.noop, elidable=True)]
