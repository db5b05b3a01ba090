"""Configuration from the environment.

Everything that differs between a laptop, CI and production comes from environment variables;
nothing secret is committed. The SQLite file and a generated secret key live in the instance folder.
"""
import os
import secrets
from pathlib import Path

from flask_appbuilder.security.manager import AUTH_DB

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance")).resolve()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """The SECRET_KEY variable, or a key generated once into the instance folder.

    A file shared by every worker of one host keeps sessions valid across workers and restarts;
    several hosts must be given the same SECRET_KEY through the environment.
    """
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key_file = INSTANCE_DIR / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        database = INSTANCE_DIR / "orderdesk.db"
        # Readable by the owner only, like the secret key (SQLite would create it with the umask's 0644,
        # and a file from an older version may have that mode); its journal files take the same mode.
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(database, 0o600)
        return f"sqlite:///{database}"
    # Accept the common postgres:// spelling and pick the psycopg 3 driver.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Config:
    APP_NAME = "Order Operations"
    APP_THEME = ""
    INSTANCE_DIR = str(INSTANCE_DIR)
    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # LIFO: the most recently used connection serves the next request, with its prepared statements
    # (app/core/prepared_statements.py) still warm; the others idle.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_use_lifo": True}

    # Schema comes from Alembic migrations only; FAB must not create tables behind our back.
    FAB_CREATE_DB = False
    AUTO_MIGRATE = _env_bool("AUTO_MIGRATE", True)
    LOAD_DEMO_DATA = _env_bool("LOAD_DEMO_DATA", False)

    # Security
    AUTH_TYPE = AUTH_DB
    AUTH_ROLE_ADMIN = "admin"
    AUTH_ROLE_PUBLIC = "public"
    AUTH_USER_REGISTRATION = False
    AUTH_RATE_LIMITED = _env_bool("AUTH_RATE_LIMITED", True)
    AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "10 per 20 second")
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # Failed logins counted over the last 20 seconds at every attempt: a fixed window would let a burst
    # straddling its reset through twice over.
    RATELIMIT_STRATEGY = "moving-window"
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    FAB_ADD_SECURITY_API = False
    # Permission checks read the user's permissions once per request, not once per menu entry.
    FAB_SECURITY_MANAGER_CLASS = "app.core.view_support.RequestCachedSecurityManager"
    # API keys ("sst_…" bearer tokens) for integrators. The keys are 256-bit random tokens, so a slow
    # password KDF adds no protection to them and would cost every API call tens of milliseconds.
    FAB_API_KEY_ENABLED = True
    FAB_API_KEY_HASH_METHOD = "pbkdf2:sha256:1000"
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8080")
    # Networks (comma-separated CIDRs) TMF event callbacks may reach besides the public internet, e.g.
    # "10.20.0.0/16" for listeners on the intranet; none by default (app/core/outbound.py).
    CALLBACK_ALLOWED_NETWORKS = os.environ.get("CALLBACK_ALLOWED_NETWORKS", "")
    FAB_API_SWAGGER_UI = True

    # Mail (notifications); no server configured means messages stay queued in the outbox.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_FROM = os.environ.get("MAIL_FROM", "orderdesk@localhost")
    # Where replies to the desk's e-mails go (the mailbox polled below); MAIL_FROM when empty.
    MAIL_REPLY_TO = os.environ.get("MAIL_REPLY_TO", "")
    # The desk mailbox, read by the periodic job; no server configured means nothing is read.
    IMAP_SERVER = os.environ.get("IMAP_SERVER", "")
    IMAP_PORT = int(os.environ.get("IMAP_PORT", "993"))
    # "tls" (implicit TLS, port 993), "starttls" or "none" (loopback and tests only).
    IMAP_SECURITY = os.environ.get("IMAP_SECURITY", "tls")
    IMAP_USERNAME = os.environ.get("IMAP_USERNAME", "")
    IMAP_PASSWORD = os.environ.get("IMAP_PASSWORD", "")
    IMAP_FOLDER = os.environ.get("IMAP_FOLDER", "INBOX")
    # A larger message is quarantined without being downloaded.
    MAIL_INBOUND_MAX_MB = float(os.environ.get("MAIL_INBOUND_MAX_MB", "40"))

    # Attachments (kept in the database).
    ATTACHMENT_MAX_FILE_MB = float(os.environ.get("ATTACHMENT_MAX_FILE_MB", "25"))
    ATTACHMENT_MAX_RECORD_MB = float(os.environ.get("ATTACHMENT_MAX_RECORD_MB", "100"))
    # Requests larger than this are refused before they are read (413): a record's worth of files and a form.
    MAX_CONTENT_LENGTH = int((ATTACHMENT_MAX_RECORD_MB + 1) * 1024 * 1024)
    AUTO_CLOSE_RESOLVED_DAYS = int(os.environ.get("AUTO_CLOSE_RESOLVED_DAYS", "10"))

    # Service Exchange (app/exchange/): how often the sender looks for due messages, and the longest wait
    # between two attempts to reach an instance that is down.
    EXCHANGE_POLL_SECONDS = float(os.environ.get("EXCHANGE_POLL_SECONDS", "30"))
    EXCHANGE_RETRY_MAX_SECONDS = float(os.environ.get("EXCHANGE_RETRY_MAX_SECONDS", "300"))

    LIST_PAGE_SIZE = 20

    # Operations: the log level (DEBUG, INFO, WARNING, ERROR), and how often ./scripts/run runs the periodic
    # job in-process (seconds, 0 = not at all); production schedules `flask periodic` (cron or a timer).
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    PERIODIC_INTERVAL_SECONDS = int(os.environ.get("PERIODIC_INTERVAL", "60"))
