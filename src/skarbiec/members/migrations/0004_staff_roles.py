"""The roles of the back-office (R-B1) as groups holding permissions; views check permissions."""

from django.db import migrations

ROLE_PERMISSIONS = {
    "helpline": ["find_members", "act_on_channels", "read_audit"],
    "clerk": ["find_members", "onboard_members", "handle_cash"],
    "administrator": [
        "find_members",
        "act_on_channels",
        "onboard_members",
        "handle_cash",
        "configure_credit_union",
        "manage_staff",
        "read_audit",
    ],
}
NAMES = {
    "find_members": "Find members and see their overview",
    "act_on_channels": "Block and unblock members' channels",
    "onboard_members": "Onboard members and open accounts",
    "handle_cash": "Pay cash in and out at the branch",
    "configure_credit_union": "Change the credit union's settings and policy",
    "manage_staff": "Manage staff accounts and roles",
    "read_audit": "Read and export the audit log",
}


def create_roles(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="members", model="staffprofile")
    permissions = {}
    for codename, name in NAMES.items():
        permissions[codename], _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
    for group_name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(*(permissions[c] for c in codenames))


def drop_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0003_staff_login"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_roles, drop_roles)]
