"""Django settings. Everything an installation changes comes from the environment (SKARBIEC_*)."""

import fcntl
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from skarbiec.operations.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("SKARBIEC_DATA_DIR", "var")).resolve()
# nginx's own user passes through to the public static files and error pages; it lists
# nothing, and each private file or directory inside has its own owner-only mode (R-X9).
# An existing directory keeps the mode its administrator chose, less write access by others.
if not DATA_DIR.exists():
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATA_DIR.chmod(0o711)
elif (_data_dir_stat := DATA_DIR.stat()).st_uid == os.getuid() and _data_dir_stat.st_mode & 0o022:
    DATA_DIR.chmod(_data_dir_stat.st_mode & 0o7755)  # only others' and group's write go


def checked_secret_key(key: str) -> str:
    """A key given in the environment, refused when it is the shipped env file's placeholder or
    too short or plain to be secret: with a known key a copy of the database would decrypt the
    SMS bodies still queued (codes, temporary passwords) and let code hashes be searched."""
    if key.startswith("CHANGE") or len(key) < 40 or len(set(key)) < 10:
        raise ImproperlyConfigured(
            "SKARBIEC_SECRET_KEY is a placeholder or too weak: set it to the output of "
            "`openssl rand -base64 48` (at least 40 characters)."
        )
    return key


def installation_secret(path: Path) -> str:
    """The key kept at `path`, made once per installation. Processes starting together take
    turns under a lock beside it, so all of them read the one key the first made; the key is
    written and flushed under a name of its own, then renamed into place and the directory
    flushed, so it appears whole or not at all, also after a power cut. An empty file (a
    start of an earlier version killed half-way) was never usable as a key: replaced."""
    if path.exists() and (found := path.stat()).st_size:
        if found.st_uid == os.getuid() and found.st_mode & 0o077:
            # Restored by a copy that did not keep its mode: the owner's only again (R-X9).
            path.chmod(0o600)
        return path.read_text().strip()
    lock_fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        if not (path.exists() and path.stat().st_size):
            tmp = path.with_name(f".{path.name}.new")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(50))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    finally:
        os.close(lock_fd)  # closing the descriptor releases the lock
    return path.read_text().strip()


def _secret_key() -> str:
    if key := os.environ.get("SKARBIEC_SECRET_KEY"):
        return checked_secret_key(key)
    # Generated once per installation and kept in the data directory, never in the repository.
    return installation_secret(DATA_DIR / "secret_key")


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


SECRET_KEY = _secret_key()
DEBUG = _flag("SKARBIEC_DEBUG", False)
TESTING = _flag("SKARBIEC_TESTING", False)

# The address members use; WebAuthn origins and links in SMS follow it (R-X1).
PUBLIC_URL = os.environ.get("SKARBIEC_PUBLIC_URL", "https://localhost:8443").rstrip("/")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("SKARBIEC_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "skarbiec.core",
    "skarbiec.audit",
    "skarbiec.members",
    "skarbiec.channels",
    "skarbiec.otp",
    "skarbiec.ledger",
    "skarbiec.backoffice",
    "skarbiec.web",
    "skarbiec.mobileapp",
    "skarbiec.api",
    "skarbiec.operations",
]

MIDDLEWARE = [
    # First: probes and metrics skip host checks and redirects; every other request is logged.
    "skarbiec.operations.middleware.OperationsEndpointsMiddleware",
    "skarbiec.operations.middleware.RequestLogMiddleware",
    "skarbiec.core.middleware.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "skarbiec.core.edges.EdgeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Pages only (PAGE_MIDDLEWARE): the API uses no cookie, session or error page.
    "skarbiec.core.middleware.PageMiddleware",
]

PAGE_MIDDLEWARE = [
    # Django's, answering a session ended in another window as what it is (web/).
    "skarbiec.web.session_middleware.SessionEndedElsewhereMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "skarbiec.web.middleware.MemberSessionMiddleware",
    # Domain errors that leave a page view become their page (R-X8).
    "skarbiec.web.errors.DomainErrorPages",
    # The staff session of the back-office (R-B1); last, so its own error page wins there.
    "skarbiec.backoffice.middleware.StaffSessionMiddleware",
]

ROOT_URLCONF = "skarbiec.urls"
WSGI_APPLICATION = "skarbiec.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "skarbiec.web.context.member_context",
                "skarbiec.backoffice.context.staff_permissions",
            ],
        },
    },
]

_sqlite_path = DATA_DIR / "skarbiec.sqlite3"
# The longest a statement waits for another transaction's lock before the request is refused
# as unavailable (503): SQLite's busy timeout, PostgreSQL's lock_timeout (core/postgresql).
DATABASE_LOCK_WAIT_SECONDS = 30
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.config(conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend without the health check of a connection used a moment ago.
        DATABASES["default"]["ENGINE"] = "skarbiec.core.postgresql"
        # Values bound by the server, not quoted into the SQL by Python: the same statement
        # text comes back on every request, so psycopg prepares it after its fifth run and
        # PostgreSQL skips parsing and planning it (benchmarks/NOTES.md, step 7).
        # (Django turns psycopg's preparing off unless prepare_threshold is given.)
        # PgBouncer older than 1.21 (Debian 12 ships 1.18) cannot follow a prepared statement
        # to another server connection: SKARBIEC_PREPARED_STATEMENTS=0 leaves them out.
        prepared = _flag("SKARBIEC_PREPARED_STATEMENTS", True)
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": 5 if prepared else None}
        )
        # Behind PgBouncer's transaction pooling a cursor declared in one transaction is gone
        # in the next, which may run on another server connection: SKARBIEC_PGBOUNCER=1 has
        # long reads (history CSV, `ledger check`, `audit verify`) take their rows at once.
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = _flag("SKARBIEC_PGBOUNCER", False)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(_sqlite_path),
            "OPTIONS": {
                # SQLite ignores SELECT ... FOR UPDATE: IMMEDIATE transactions make concurrent
                # writers queue on the database lock instead, WAL lets readers go on.
                "transaction_mode": "IMMEDIATE",
                "timeout": DATABASE_LOCK_WAIT_SECONDS,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Passwords of members are hashed by skarbiec.members.passwords (Argon2id); staff use Django auth
# with the same algorithm.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]

# Argon2id parameters for members' passwords (see README "Security model").
ARGON2_TIME_COST = int(os.environ.get("SKARBIEC_ARGON2_TIME_COST", "2"))
ARGON2_MEMORY_COST_KIB = int(os.environ.get("SKARBIEC_ARGON2_MEMORY_COST_KIB", "19456"))
ARGON2_PARALLELISM = int(os.environ.get("SKARBIEC_ARGON2_PARALLELISM", "1"))

LANGUAGE_CODE = "pl"
LANGUAGES = [("pl", "Polski"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["skarbiec.formats"]
LANGUAGE_COOKIE_NAME = "skarbiec_lang"
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Europe/Warsaw"
USE_I18N = True
USE_TZ = True

# The largest request body accepted (R-X8); larger is refused with 413 before anything reads
# it. A proxy in front should refuse the same: nginx `client_max_body_size` (1 MiB is its "1m").
MAX_REQUEST_BYTES = int(os.environ.get("SKARBIEC_MAX_REQUEST_BYTES", str(1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
# Every page but those that take files (core/edges.takes_uploads) sends a form of text: parsed
# before any session or rate limit, a crafted megabyte of %-escapes cost 100 ms of CPU.
FORM_MAX_REQUEST_BYTES = min(MAX_REQUEST_BYTES, 32 * 1024)
# The API's bodies are small JSON (the largest, an activation with its integrity token, is
# under 30 KB); parsing a crafted megabyte of JSON costs ~0.5 s of CPU before any rate limit
# can refuse it. nginx's /api/ locations refuse the same (`client_max_body_size 64k`).
API_MAX_REQUEST_BYTES = min(MAX_REQUEST_BYTES, 64 * 1024)

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
# Static files are public and served by nginx's own user, whatever the umask of the command
# that collected them (systemd's UMask=0077, an administrator's shell).
FILE_UPLOAD_PERMISSIONS = 0o644
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o755

# Sessions live in the database (R-X3): any number of processes serve the same members.
SESSION_ENGINE = "skarbiec.web.session_store"
SESSION_COOKIE_NAME = "skarbiec_session"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_AGE = 60 * 60
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "skarbiec.web.login.views.csrf_failure"

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Behind a TLS-terminating proxy, trust its X-Forwarded-Proto header (R-X1).
if _flag("SKARBIEC_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
# Plain HTTP is answered by a redirect; the check lives in SecurityMiddleware.
SECURE_SSL_REDIRECT = _flag("SKARBIEC_SSL_REDIRECT", not TESTING)

# SMS gateway (R-O5): "outbox" keeps messages in the database for development.
SMS_GATEWAY = os.environ.get("SKARBIEC_SMS_GATEWAY", "outbox")
SMSAPI_TOKEN = os.environ.get("SKARBIEC_SMSAPI_TOKEN", "")
SMSAPI_SENDER = os.environ.get("SKARBIEC_SMSAPI_SENDER", "")
# The development page that lists SMS messages; never on in production.
SMS_OUTBOX_PAGE = _flag("SKARBIEC_SMS_OUTBOX_PAGE", DEBUG)

# Rate limits for login and code endpoints: (requests, window seconds).
RATE_LIMIT_PER_ADDRESS = (int(os.environ.get("SKARBIEC_RATE_LIMIT_PER_ADDRESS", "30")), 60)
RATE_LIMIT_PER_LOGIN = (int(os.environ.get("SKARBIEC_RATE_LIMIT_PER_LOGIN", "10")), 60)
# SMS codes per member: (codes, window seconds). Sized for the longest documented story (web
# login, channel activation, app activation, a transfer, unblock, activation again, with a
# resend or two) within ten minutes (R-X7).
OTP_SEND_LIMIT = (int(os.environ.get("SKARBIEC_OTP_SEND_LIMIT", "12")), 600)
# And in any 24 hours: what one member's codes may cost the credit union in a day.
OTP_DAILY_SEND_LIMIT = (int(os.environ.get("SKARBIEC_OTP_DAILY_SEND_LIMIT", "100")), 86400)
# Orders booked at once (own account, trusted payee) per member per minute; the others wait
# for an SMS code and are bounded by the code limits above.
ORDER_RATE_LIMIT = (int(os.environ.get("SKARBIEC_ORDER_RATE_LIMIT", "30")), 60)
# Days a temporary internet-service password (onboarding, unblock by staff) stays valid (R-W1).
TEMPORARY_PASSWORD_DAYS = int(os.environ.get("SKARBIEC_TEMPORARY_PASSWORD_DAYS", "7"))
if not 1 <= TEMPORARY_PASSWORD_DAYS <= 90:
    raise ImproperlyConfigured("SKARBIEC_TEMPORARY_PASSWORD_DAYS must be between 1 and 90.")
# Codes per operation, the first and its resends, also across starting it again (R-X7). Raised
# only by the benchmark, whose members begin many web logins a minute.
OTP_CODES_PER_OPERATION = int(os.environ.get("SKARBIEC_OTP_CODES_PER_OPERATION", "4"))

# JSON log lines with request ids (R-D4); SKARBIEC_LOG_FORMAT=text for reading by eye.
LOGGING = logging_config()
# Bearer token of the Prometheus scraper; /metrics is not served without one (R-D4).
METRICS_TOKEN = os.environ.get("SKARBIEC_METRICS_TOKEN", "")
