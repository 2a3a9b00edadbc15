"""The `skarbiec` command: every operator task is a Django management command under it."""

import os
import sys


def _nothing_writable_by_others() -> None:
    """Whatever the caller's umask (000 in some containers and shells), no file or directory a
    Skarbiec process creates is writable by group or others (R-X9); stricter umasks stay."""
    os.umask(os.umask(0o022) | 0o022)


def main() -> None:
    _nothing_writable_by_others()
    if sys.argv[1:] in (["--version"], ["version"]):
        # Before Django: its own --version would print Django's version (R-D5).
        from skarbiec.operations.version import version

        print(f"skarbiec {version()}")
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skarbiec.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["skarbiec", *sys.argv[1:]])
