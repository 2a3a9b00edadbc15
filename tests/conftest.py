import pytest
from django.utils import translation

from skarbiec.core import clock


@pytest.fixture(autouse=True)
def _reset_clock():
    clock.reset()
    yield
    clock.reset()


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language (Polish, R-X5): a request through the test client
    leaves its language active in the thread, so later tests would otherwise depend on order."""
    translation.deactivate()
    yield
    translation.deactivate()
