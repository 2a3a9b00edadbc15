import pytest

from tests.backoffice.staff import make_staff, staff_client
from tests.factories import make_credit_union, make_member


@pytest.fixture
def cu(db):
    return make_credit_union(name="SKOK Własny")


@pytest.fixture
def other_cu(db):
    return make_credit_union(name="SKOK Obcy")


@pytest.fixture
def member(cu):
    return make_member(cu, first_name="Anna", last_name="Nowak", phone="600700800")


@pytest.fixture
def other_member(other_cu):
    return make_member(other_cu, first_name="Obcy", last_name="Członek", phone="600700801")


@pytest.fixture
def helpline(cu):
    return make_staff("helpline", cu, "ola.helpline")


@pytest.fixture
def clerk(cu):
    return make_staff("clerk", cu, "piotr.clerk")


@pytest.fixture
def admin(cu):
    return make_staff("admin", cu, "ewa.admin")


@pytest.fixture
def helpline_client(helpline):
    return staff_client(helpline)


@pytest.fixture
def clerk_client(clerk):
    return staff_client(clerk)


@pytest.fixture
def admin_client(admin):
    return staff_client(admin)


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings):
    settings.RATE_LIMIT_PER_ADDRESS = (1000, 60)
    settings.RATE_LIMIT_PER_LOGIN = (1000, 60)
