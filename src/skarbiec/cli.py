"""The `skarbiec` command: every operator task is a Django management command under it."""

import os
import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        # Before Django: its own --version would print Django's version (R-D5).
        from skarbiec.operations.version import version

        print(f"skarbiec {version()}")
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skarbiec.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["skarbiec", *sys.argv[1:]])
