"""The installed version (R-D5): `skarbiec --version`, /metrics and the docs' upgrade steps."""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

import skarbiec


def version() -> str:
    try:
        return package_version("skarbiec")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return skarbiec.__version__
