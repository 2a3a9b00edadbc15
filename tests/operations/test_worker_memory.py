"""SPEC §11 P4: what a web worker loads. The SMS gateway's client libraries (smsapi, requests)
cost each worker 5 MiB; only the SMS worker needs them (review of 8 December: a resend's
take-back of undelivered codes had pulled them into every web worker)."""

import subprocess
import sys

LOAD_THE_WEB_APP = """
import django, sys
django.setup()
from django.core.handlers.wsgi import WSGIHandler
from django.urls import get_resolver
WSGIHandler()
get_resolver().url_patterns
import skarbiec.api.urls, skarbiec.web.urls, skarbiec.backoffice.urls
import skarbiec.otp.operations, skarbiec.otp.send_budget
print(",".join(sorted(m for m in ("smsapi", "requests") if m in sys.modules)))
"""


def test_p4_a_web_worker_does_not_load_the_sms_gateways_libraries():
    loaded = subprocess.run(
        [sys.executable, "-c", LOAD_THE_WEB_APP],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.strip()
    assert loaded == ""
