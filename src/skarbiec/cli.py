"""The `skarbiec` command: every operator task is a Django management command under it."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skarbiec.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["skarbiec", *sys.argv[1:]])
