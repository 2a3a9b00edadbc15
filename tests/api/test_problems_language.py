"""R-X8, R-X5: a 422's `problems` are in the request's language, like its message."""

import pytest

from skarbiec.client import DeviceClient
from tests.api.steps import ready_device

pytestmark = pytest.mark.django_db


def test_r_x8_422_problems_follow_the_request_language():
    device = DeviceClient.in_process(language="pl")
    try:
        ready_device(device)
        response = device.request(
            "POST", "/transfers", auth=True, json={"from_account_id": "abc", "title": 5}
        )
        assert response.status_code == 422
        body = response.json()
        assert "Input should be" not in " ".join(body["problems"]), body
        assert "Field required" not in " ".join(body["problems"]), body
    finally:
        device.close()
