# Events are appended without locking the chain head and sealed into their chain afterwards:
# the chain is named on each event (chain_key) instead of a foreign key, seq and hashes are
# filled in by the sealer.

from django.db import migrations, models
from django.db.models import Q


def name_each_events_chain(apps, schema_editor):
    AuditChain = apps.get_model("audit", "AuditChain")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    for chain in AuditChain.objects.all():
        AuditEvent.objects.filter(chain_id=chain.pk).update(chain_key=chain.key)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="chain_key",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(name_each_events_chain, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="auditevent", name="audit_chain_seq"),
        migrations.RemoveField(model_name="auditevent", name="chain"),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                fields=("chain_key", "seq"), name="audit_chain_seq"
            ),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=Q(seq__isnull=True), fields=["chain_key", "id"], name="audit_unsealed"
            ),
        ),
    ]
