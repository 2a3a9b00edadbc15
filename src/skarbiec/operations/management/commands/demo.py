from typing import Any

from django.core.management.base import BaseCommand

from skarbiec.operations.demo import load_demo_data


class Command(BaseCommand):
    help = "Load demo data: a credit union, two members and staff users; safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        data = load_demo_data()
        cu = data.credit_union
        if data.created:
            self.stdout.write("Created: " + ", ".join(data.created))
        else:
            self.stdout.write("Demo data already present; nothing created.")
        self.stdout.write(f"\n{cu.name} (sort code {cu.sort_code})")
        self.stdout.write("Helpline: " + ", ".join(cu.helpline_phones))
        self.stdout.write("\nMembers (internet service):")
        for member, password in data.members:
            self.stdout.write(f"  {member.full_name:<20} Login {member.login}  password {password}")
        self.stdout.write(
            "\nStaff (back-office at /backoffice/; an authenticator app is set up at the first "
            "login):"
        )
        for user, role, password in data.staff:
            self.stdout.write(f"  {user.username:<20} {role:<10} password {password}")
        self.stdout.write(
            "\nPasswords are the demo's; a password changed since is not shown. "
            "The SMS codes are in the outbox (skarbiec sms outbox)."
        )
