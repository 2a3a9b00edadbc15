from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("otp", "0007_sms_created_at_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="smsmessage",
            name="sending_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
