"""`python -m skarbiec.operations.verify_restored`: the checks every backup must pass (R-D3).

Run by `skarbiec backup` in a child process whose DATABASE_URL points at the scratch database
the backup was just restored into, so the checks are exactly `skarbiec ledger check` and
`skarbiec audit verify`, reading nothing of the live database.
"""

import io
import os
import sys


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skarbiec.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from skarbiec.audit.models import AuditEvent
    from skarbiec.ledger.models import Order

    for command in (("ledger", "check"), ("audit", "verify")):
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command(*command, stdout=out, stderr=err)
        except CommandError as e:
            details = err.getvalue().strip().splitlines()[:5]
            print(f"{' '.join(command)}: {e}", *details, sep="\n", file=sys.stderr)
            return 1
        print(f"{' '.join(command)}: {out.getvalue().strip()}")
    print(f"contents: {Order.objects.count()} orders, {AuditEvent.objects.count()} audit events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
