"""Settings for the test suite: the production settings with HTTPS redirect off (the test
client speaks plain HTTP) and a fixed SMS gateway."""

import os

os.environ.setdefault("SKARBIEC_TESTING", "1")

from skarbiec.settings import *  # noqa: E402,F403

SECURE_SSL_REDIRECT = False
SMS_GATEWAY = "outbox"
SMS_OUTBOX_PAGE = True
