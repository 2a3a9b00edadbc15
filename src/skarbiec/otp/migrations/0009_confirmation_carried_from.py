import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("otp", "0008_sms_sending_until"),
    ]

    operations = [
        migrations.AddField(
            model_name="confirmation",
            name="carried_from",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="otp.confirmation",
            ),
        ),
    ]
