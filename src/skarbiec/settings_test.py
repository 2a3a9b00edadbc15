"""Settings for the test suite: the production settings with HTTPS redirect off (the test
client speaks plain HTTP) and a fixed SMS gateway."""

import os

os.environ.setdefault("SKARBIEC_TESTING", "1")

from skarbiec.settings import *  # noqa: E402,F403

SECURE_SSL_REDIRECT = False
SMS_GATEWAY = "outbox"
SMS_OUTBOX_PAGE = True
# Whitenoise warns about a missing STATIC_ROOT; tests serve static files through the finders.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
WHITENOISE_USE_FINDERS = True
