"""Configuration: defaults, and the environment read in one place."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _read_dotenv(path: Path) -> dict[str, str]:
    """Parse a minimal KEY=VALUE file (comments and blank lines ignored)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def instance_path(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("QUORUM_INSTANCE") or PROJECT_ROOT / "instance").resolve()


def _secret(path: Path, name: str, nbytes: int = 32) -> str:
    """Read a generated secret from `instance/`, creating it (mode 600) the first time."""
    file = path / name
    if file.is_file():
        return file.read_text().strip()
    path.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


SIGNIN_METHOD_NAMES = ("email", "password", "oidc", "passkey")


def _signin_methods(raw: str) -> tuple[str, ...]:
    """SIGNIN_METHODS: which ways in the web offers (email = the emailed link or code)."""
    methods = tuple(dict.fromkeys(part.strip().lower() for part in raw.split(",") if part.strip()))
    unknown = [m for m in methods if m not in SIGNIN_METHOD_NAMES]
    if unknown or not methods:
        raise ValueError(f"SIGNIN_METHODS={raw!r}: use a comma-separated list of {', '.join(SIGNIN_METHOD_NAMES)}")
    return methods


def _signup(raw: str) -> dict:
    """SIGNUP: open | invite | domain:example.org,example.net (who may create an account by themselves)."""
    raw = raw.strip().lower()
    if raw in ("open", "invite"):
        return {"mode": raw, "domains": ()}
    if raw.startswith("domain:"):
        domains = tuple(d.strip().lstrip("@") for d in raw[len("domain:"):].split(",") if d.strip())
        if domains:
            return {"mode": "domain", "domains": domains}
    raise ValueError(f"SIGNUP={raw!r}: use open, invite, or domain:example.org[,example.net]")


def _oidc_providers(get) -> dict[str, dict]:
    """OIDC_PROVIDERS=name[,name2], then OIDC_<NAME>_ISSUER, _CLIENT_ID, _CLIENT_SECRET, _LABEL."""
    providers: dict[str, dict] = {}
    for name in (part.strip().lower() for part in (get("OIDC_PROVIDERS") or "").split(",")):
        if not name:
            continue
        if not name.replace("_", "").isalnum() or len(name) > 40:
            raise ValueError(f"OIDC_PROVIDERS: {name!r} is not a usable name (letters, digits, _)")
        prefix = f"OIDC_{name.upper()}_"
        issuer, client_id = get(prefix + "ISSUER"), get(prefix + "CLIENT_ID")
        if not issuer or not client_id:
            raise ValueError(f"OIDC provider {name!r}: set {prefix}ISSUER and {prefix}CLIENT_ID")
        providers[name] = {"issuer": issuer.rstrip("/"), "client_id": client_id,
                           "client_secret": get(prefix + "CLIENT_SECRET") or "",
                           "label": get(prefix + "LABEL") or name.title()}
    return providers


def _file_secret(path: str | None) -> str | None:
    """A secret kept in a file (SECRET_KEY_FILE: a mounted secret, the same on every host)."""
    if not path:
        return None
    value = Path(path).read_text().strip()
    if not value:
        raise RuntimeError(f"{path} is empty: it should hold the secret")
    return value


# One gunicorn worker by default: each holds ~100 MB, and a small VPS (one core, 1 GB) gains nothing
# from a second one for pages that are CPU-bound. Set WEB_WORKERS to the number of cores on a bigger one.
DEFAULT_WEB_WORKERS = 1


def load(overrides: dict | None = None) -> dict:
    """Build the app configuration from the environment and `instance/.env`.

    The process environment wins over `instance/.env`; `overrides` (tests) win over both.
    """
    overrides = dict(overrides or {})
    folder = Path(overrides.get("QUORUM_INSTANCE") or instance_path()).resolve()
    env = {**_read_dotenv(folder / ".env"), **os.environ}

    def get(key: str, default: str | None = None) -> str | None:
        value = env.get(key)
        return value if value not in (None, "") else default

    web_listen = get("WEB_LISTEN", "127.0.0.1:5000")
    base_url = get("BASE_URL") or f"http://{web_listen}"
    database_url = get("DATABASE_URL") or f"sqlite:///{folder / 'quorum.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    config = {
        "QUORUM_INSTANCE": str(folder),
        "SECRET_KEY": get("SECRET_KEY") or _file_secret(get("SECRET_KEY_FILE")) or _secret(folder, "secret_key"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": get("REDIS_URL"),
        "SMTP_URL": get("SMTP_URL"),
        "MAIL_DOMAIN": get("MAIL_DOMAIN", "quorum.localhost"),
        "BASE_URL": base_url.rstrip("/"),
        "WEB_LISTEN": web_listen,
        "SMTP_LISTEN": get("SMTP_LISTEN", "127.0.0.1:2525"),
        "QUORUM_DEMO": get("QUORUM_DEMO", "1") != "0",
        "WEB_WORKERS": int(get("WEB_WORKERS", str(DEFAULT_WEB_WORKERS))),
        "MAX_CONTENT_LENGTH": int(get("MAX_UPLOAD_BYTES", str(12 * 1024 * 1024))),
        "ATTACHMENT_MAX_BYTES": int(get("ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024))),
        "SMTP_MAX_MESSAGE_BYTES": int(get("SMTP_MAX_MESSAGE_BYTES", str(25 * 1024 * 1024))),
        "SMTP_TLS_CERT": get("SMTP_TLS_CERT"),
        "SMTP_TLS_KEY": get("SMTP_TLS_KEY"),
        "DKIM_SELECTOR": get("DKIM_SELECTOR"),
        "DKIM_KEY_FILE": get("DKIM_KEY_FILE"),
        "TRUSTED_AUTHSERV_ID": get("TRUSTED_AUTHSERV_ID"),
        "INBOUND_RETENTION_DAYS": int(get("INBOUND_RETENTION_DAYS", "60")),
        # An emailed invitation works this many days after it was (last) sent.
        "INVITATION_DAYS": int(get("INVITATION_DAYS", "14")),
        # How many reverse proxies in front of the web app to trust for the client's address
        # (X-Forwarded-For); 0 means none: the connecting address is the client's.
        "TRUSTED_PROXIES": int(get("TRUSTED_PROXIES", "0")),
        # The sweeper enqueues pending rows older than this (jobs a Redis outage left unqueued).
        "SWEEP_GRACE_SECONDS": float(get("SWEEP_GRACE_SECONDS", "60")),
        # Sender checks (SPF, DKIM, DMARC) ask these DNS servers ("host:port,…"; empty: the system's).
        "MAIL_DNS_SERVERS": get("MAIL_DNS_SERVERS", ""),
        "MAIL_DNS_TIMEOUT": float(get("MAIL_DNS_TIMEOUT", "5")),
        # A sender check DNS could not finish is tried again after this long (4 tries in all).
        "SENDER_CHECK_RETRY_SECONDS": float(get("SENDER_CHECK_RETRY_SECONDS", "300")),
        # Outbound mail the relay refuses for now is retried after this, doubling each time (8 tries).
        "MAIL_RETRY_SECONDS": float(get("MAIL_RETRY_SECONDS", "30")),
        # Outgoing webhooks: addresses on private, loopback or link-local networks are refused unless 1
        # (a webhook must not reach into the server's own network); a failed delivery is retried after
        # WEBHOOK_RETRY_SECONDS, doubling (6 tries); this many failed deliveries in a row disable a webhook.
        "WEBHOOK_ALLOW_PRIVATE": get("WEBHOOK_ALLOW_PRIVATE", "0") == "1",
        "WEBHOOK_RETRY_SECONDS": float(get("WEBHOOK_RETRY_SECONDS", "30")),
        "WEBHOOK_TIMEOUT_SECONDS": float(get("WEBHOOK_TIMEOUT_SECONDS", "10")),
        "WEBHOOK_DISABLE_AFTER": int(get("WEBHOOK_DISABLE_AFTER", "5")),
        # Requests each API token may make (Flask-Limiter notation, counted in the same store as every limit).
        "API_RATE_LIMIT": get("API_RATE_LIMIT", "300 per minute"),
        # How long to wait for the relay to answer before trying again later.
        "SMTP_TIMEOUT_SECONDS": float(get("SMTP_TIMEOUT_SECONDS", "20")),
        # How often the sweeper looks for work a Redis outage or a killed worker left undone.
        "SWEEP_INTERVAL_SECONDS": int(get("SWEEP_INTERVAL_SECONDS", "60")),
        # How often the scheduler looks for members whose digest hour has come.
        "DIGEST_CHECK_SECONDS": int(get("DIGEST_CHECK_SECONDS", "300")),
        "DATA_KEY": get("QUORUM_DATA_KEY"),
        # Or a file holding it (a mounted secret, the same on every host): nothing is generated then.
        "DATA_KEY_FILE": get("QUORUM_DATA_KEY_FILE"),
        # Where attachments, raw inbound mail and exports are kept: file:///path or s3://bucket/prefix
        # (S3_ENDPOINT_URL for MinIO, Garage, Ceph, Backblaze, Wasabi; unset: AWS). Every host of one
        # site names the same store.
        "STORAGE_URL": get("STORAGE_URL"),  # unset: file://<instance>/files
        "S3_ENDPOINT_URL": get("S3_ENDPOINT_URL"),
        "BACKUP_DESTINATIONS": get("BACKUP_DESTINATIONS", ""),
        "BACKUP_RECIPIENT": get("BACKUP_AGE_RECIPIENT"),
        "BACKUP_AGE_IDENTITY_FILE": get("BACKUP_AGE_IDENTITY_FILE"),
        "BACKUP_S3_ENDPOINT_URL": get("BACKUP_S3_ENDPOINT_URL"),
        # S3 credentials; when unset, boto3 looks in its usual places (environment, ~/.aws).
        "AWS_ACCESS_KEY_ID": get("AWS_ACCESS_KEY_ID"),
        "AWS_SECRET_ACCESS_KEY": get("AWS_SECRET_ACCESS_KEY"),
        "AWS_SESSION_TOKEN": get("AWS_SESSION_TOKEN"),
        "AWS_DEFAULT_REGION": get("AWS_DEFAULT_REGION"),
        # Who may create groups: anyone signed in, or only site admins.
        "GROUP_CREATION": (get("GROUP_CREATION", "anyone") or "anyone").strip().lower(),
        # Branding defaults; a site admin's choices on /admin/branding win over these.
        "SITE_NAME": get("SITE_NAME", "Quorum"),
        "SITE_ACCENT_COLOUR": get("SITE_ACCENT_COLOUR", ""),
        "SITE_TERMS_URL": get("SITE_TERMS_URL", ""),
        "SITE_PRIVACY_URL": get("SITE_PRIVACY_URL", ""),
        # A group a site admin deletes is deleted this many days later (its admins can export until then).
        "GROUP_DELETION_GRACE_DAYS": int(get("GROUP_DELETION_GRACE_DAYS", "7")),
        "DEBUG": get("FLASK_DEBUG", "0") == "1",
        # DEBUG, INFO, WARNING or ERROR. At INFO, RQ's and aiosmtpd's per-job and per-command lines
        # are left out (failures and slow jobs still show); DEBUG shows them.
        "LOG_LEVEL": get("LOG_LEVEL", "INFO").upper(),
        # Sessions and forms
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": base_url.startswith("https://"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": base_url.startswith("https://"),
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 24 * 30,
        "WTF_CSRF_TIME_LIMIT": None,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Rate limits stay on in production; `make bench` turns them off for its scratch stack.
        "RATELIMIT_ENABLED": get("RATELIMIT_ENABLED", "1") != "0",
        "RATELIMIT_HEADERS_ENABLED": False,
        # With Redis away, each process counts on its own until it is back (limits still hold).
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "TESTING": False,
        # Signing in (docs/SIGNIN.md): which ways in the web offers, who may create an account by
        # themselves, and the OpenID Connect providers.
        "SIGNIN_METHODS": _signin_methods(get("SIGNIN_METHODS", "email,password,oidc,passkey")),
        "SIGNUP": _signup(get("SIGNUP", "open")),
        "OIDC_PROVIDERS": _oidc_providers(get),
        # How long to wait for an OpenID provider (discovery, keys, the token exchange).
        "OIDC_TIMEOUT_SECONDS": float(get("OIDC_TIMEOUT_SECONDS", "10")),
    }
    config.update(overrides)
    return config
