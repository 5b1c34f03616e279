"""fraudloop settings: every value from the environment, with embedded defaults for a laptop."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # runtime files of the embedded default: broker, results, media
VAR_DIR.mkdir(exist_ok=True)

# The default key is public: it is only acceptable while DEBUG is on (the quick start and the
# tests turn DEBUG on; nothing else does).
INSECURE_DEFAULT_SECRET_KEY = "django-insecure-fraudloop-development-key-do-not-use-in-production"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _env(reader, name, **kwargs):
    """Read one variable; a malformed value stops the start with a message naming it."""
    try:
        return reader(name, **kwargs)
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(f"environment variable {name} is malformed: {error}") from error


DEBUG = _env(env.bool, "DEBUG", default=False)
SECRET_KEY = _env(env.str, "SECRET_KEY", default=INSECURE_DEFAULT_SECRET_KEY)
if not DEBUG and SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is the public development default while DEBUG is off: "
        "set SECRET_KEY to a long random value (e.g. python -c 'import secrets; "
        "print(secrets.token_urlsafe(50))'), or DEBUG=true on a development machine."
    )
ALLOWED_HOSTS = _env(env.list, "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = _env(env.list, "CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "labeler.admin_site.FraudloopAdminConfig",  # django.contrib.admin with our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from here: no CDN
    "django_celery_beat",
    "axes",
    "labeler",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out sign-in into its answer
]

ROOT_URLCONF = "labeler.urls"
WSGI_APPLICATION = "labeler.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": _env(env.db_url, "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that worker processes started by tests see the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    # The web server, the worker and beat share one file: WAL lets readers run beside the
    # writer, IMMEDIATE transactions take the write lock up front instead of failing mid-way,
    # and the backend queues writers for that lock (labeler/sqlite_backend/write_queue.py).
    DATABASES["default"]["ENGINE"] = "labeler.sqlite_backend"
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;"
            ),
        }
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Keep connections between requests (a new PostgreSQL connection per request cost more than the
# annotator page's whole answer); a health check replaces a connection the server dropped.
DATABASES["default"]["CONN_MAX_AGE"] = _env(env.int, "DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Axes first: it refuses a locked-out sign-in before any password is checked. Then the stock
# model backend, with a user's own and group permissions read in one query.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "labeler.auth_backend.ModelBackendOneQuery",
]
# Login throttling (django-axes) on the sign-in page and the admin's: after this many failures
# for one username from one address, that pair is locked out for the cool-off, which each
# further try during the lockout restarts. A success clears the count.
AXES_FAILURE_LIMIT = _env(env.int, "LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=_env(env.int, "LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no banner on every command's start
AXES_LOCKOUT_CALLABLE = "labeler.views.lockout.lockout_response"
# Behind a TLS proxy, X-Forwarded-Proto says the scheme and the last X-Forwarded-For entry (the
# one the proxy appended; a client can write the others) the client's address.
BEHIND_TLS_PROXY = _env(env.bool, "BEHIND_TLS_PROXY", default=False)
AXES_CLIENT_IP_CALLABLE = "labeler.client_address.client_address"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = _env(env.str, "TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = str(_env(env.path, "STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
MEDIA_ROOT = str(_env(env.path, "MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Uploaded transaction files go to a temporary file on disk, never into memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
IMPORT_MAX_UPLOAD_BYTES = _env(env.int, "IMPORT_MAX_UPLOAD_BYTES", default=512 * 1024 * 1024)
# Caps checked while a file unpacks (a 4 MB gzip can unpack to GBs): text size and data rows.
IMPORT_MAX_TEXT_BYTES = _env(env.int, "IMPORT_MAX_TEXT_BYTES", default=2 * 1024**3)
IMPORT_MAX_ROWS = _env(env.int, "IMPORT_MAX_ROWS", default=20_000_000)
# One batch of transactions sent to the ingestion API (past either: 413, split it).
INGEST_MAX_ROWS = _env(env.int, "INGEST_MAX_ROWS", default=10_000)
INGEST_MAX_BYTES = _env(env.int, "INGEST_MAX_BYTES", default=32 * 1024 * 1024)

REST_FRAMEWORK = {
    # Token first: an anonymous request gets 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "labeler.api.pagination.BoundedLimitOffsetPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # `?format=` names an export's file format, not a DRF renderer.
    "URL_FORMAT_OVERRIDE": None,
    # An outage of the database or the broker is a JSON 503, not an HTML 500.
    "EXCEPTION_HANDLER": "labeler.api.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "fraudloop API",
    "DESCRIPTION": "Human-in-the-loop labeling of card-transaction fraud: transactions, the "
    "annotation queue, labels, reviews, model versions, training and exports. Authenticate "
    "with a session or with `Authorization: Token <key>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Celery. The embedded default is kombu's filesystem transport: a folder of message files that
# any process on this machine can read, so `make run` needs no broker server.
CELERY_BROKER_URL = _env(env.str, "CELERY_BROKER_URL", default="filesystem://")
CELERY_RESULT_BACKEND = _env(
    env.str, "CELERY_RESULT_BACKEND", default=f"file://{VAR_DIR / 'celery-results'}"
)
CELERY_BROKER_DIR = _env(env.path, "CELERY_BROKER_DIR", default=str(VAR_DIR / "broker"))
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": CELERY_BROKER_DIR("messages"),
        "data_folder_out": CELERY_BROKER_DIR("messages"),
        "control_folder": CELERY_BROKER_DIR("control"),
        # How often a worker looks for new message files (kombu's default: each second): an
        # arrival batch waits at most this long before a worker scores it.
        "polling_interval": 0.1,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TIMEZONE = TIME_ZONE
# Annotation: how long an item stays reserved for the annotator who was shown it.
ANNOTATION_LEASE_SECONDS = _env(env.int, "ANNOTATION_LEASE_SECONDS", default=300)

# Training. The defaults are the tuned ones (see README, Models); tests and demos shrink them.
TRAINING_DEVICE = _env(env.str, "TRAINING_DEVICE", default="auto")  # auto: CUDA when present
TRAINING_SGAN_STEPS = _env(env.int, "TRAINING_SGAN_STEPS", default=800)
# SGANs trained at once as one batched network, their mean the SGAN member (0: by device, 8 on
# CUDA, where a step of 8 launches what one's does, and 1 on a CPU, where 8 take 6.9 times one's
# time), and the rows of each member's batches.
TRAINING_SGAN_MEMBERS = _env(env.int, "TRAINING_SGAN_MEMBERS", default=0)
TRAINING_SGAN_BATCH = _env(env.int, "TRAINING_SGAN_BATCH", default=256)
if TRAINING_SGAN_MEMBERS < 0 or TRAINING_SGAN_BATCH < 2:
    raise ImproperlyConfigured(
        f"environment variables TRAINING_SGAN_MEMBERS ({TRAINING_SGAN_MEMBERS}) and "
        f"TRAINING_SGAN_BATCH ({TRAINING_SGAN_BATCH}): members must be 0 (by device) or more, "
        "and a batch at least 2 rows"
    )
# Boosted trees as a third classifier of the committee (modeling/trees.py).
TRAINING_TREES = _env(env.bool, "TRAINING_TREES", default=True)
# The cold start's anomaly detectors (modeling/anomaly), the weight of each in the mean of
# their ranks ("name=weight,..."; a detector not named weighs 1), how the ranks combine (mean,
# trimmed_mean, median, max) and, when set, the epochs of every network detector. Named none
# (the default): the measured default for the dataset's inputs, one for files of numbers and
# one for files with categories or cards and merchants (AnomalyConfig.for_inputs).
# (modeling.anomaly.DETECTORS' names, kept here so that settings never import torch; a test
# holds the two lists together.)
ANOMALY_DETECTOR_NAMES = (
    "autoencoder",
    "vae",
    "denoising",
    "ganomaly",
    "alocc",
    "isolation_forest",
    "mahalanobis",
)
ANOMALY_COMBINATIONS = ("mean", "trimmed_mean", "median", "max", "fisher")
TRAINING_ANOMALY_DETECTORS = _env(env.list, "TRAINING_ANOMALY_DETECTORS", default=[])
# ALOCC counts twice in the median where it is named (modeling/anomaly/ensemble.py says why).
TRAINING_ANOMALY_WEIGHTS = _env(
    env.dict,
    "TRAINING_ANOMALY_WEIGHTS",
    default={"alocc": 2.0} if "alocc" in TRAINING_ANOMALY_DETECTORS else {},
    cast={"value": float},
)
TRAINING_ANOMALY_COMBINE = _env(env.str, "TRAINING_ANOMALY_COMBINE", default="median")
TRAINING_ANOMALY_EPOCHS = _env(env.int, "TRAINING_ANOMALY_EPOCHS", default=0)
# Per-card and per-merchant features (datasets whose files name a card or a merchant): their
# windows in days, and how long before a transaction a fraud label must have become known for
# the merchant's risk to count it.
DERIVED_WINDOWS_DAYS = _env(env.list, "DERIVED_WINDOWS_DAYS", cast=float, default=[1.0, 7.0, 30.0])
DERIVED_RISK_DELAY_DAYS = _env(env.float, "DERIVED_RISK_DELAY_DAYS", default=7.0)
_unknown = set(TRAINING_ANOMALY_DETECTORS) - set(ANOMALY_DETECTOR_NAMES)
if _unknown:
    raise ImproperlyConfigured(
        f"environment variable TRAINING_ANOMALY_DETECTORS names {sorted(_unknown)}; "
        f"choose one or more of {', '.join(ANOMALY_DETECTOR_NAMES)}"
    )
if set(TRAINING_ANOMALY_WEIGHTS) - set(TRAINING_ANOMALY_DETECTORS):
    raise ImproperlyConfigured(
        "environment variable TRAINING_ANOMALY_WEIGHTS weighs detectors that "
        "TRAINING_ANOMALY_DETECTORS does not name: "
        f"{', '.join(sorted(set(TRAINING_ANOMALY_WEIGHTS) - set(TRAINING_ANOMALY_DETECTORS)))}"
    )
if TRAINING_ANOMALY_COMBINE not in ANOMALY_COMBINATIONS:
    raise ImproperlyConfigured(
        f"environment variable TRAINING_ANOMALY_COMBINE is '{TRAINING_ANOMALY_COMBINE}'; "
        f"choose one of {', '.join(ANOMALY_COMBINATIONS)}"
    )
TRAINING_SEED = _env(env.int, "TRAINING_SEED", default=0)
# A run fits on every labeled row and at most this many unlabeled ones, drawn at random (0: all),
# so what the models are fitted on stops growing with the dataset. Every row is still scored,
# and the detectors and the SGAN cap their own steps, so at 1M rows the time is the same.
TRAINING_UNLABELED_SAMPLE = _env(env.int, "TRAINING_UNLABELED_SAMPLE", default=500_000)
if TRAINING_UNLABELED_SAMPLE < 0:
    raise ImproperlyConfigured(
        f"environment variable TRAINING_UNLABELED_SAMPLE is {TRAINING_UNLABELED_SAMPLE}: it must "
        "be 0 (every unlabeled row) or a number of rows"
    )
# A run scores its rows in shards of this many ids (each read, scored and written on its own),
# so what scoring holds in memory does not grow with the dataset.
TRAINING_SCORING_SHARD_ROWS = _env(env.int, "TRAINING_SCORING_SHARD_ROWS", default=250_000)
if TRAINING_SCORING_SHARD_ROWS < 1:
    raise ImproperlyConfigured(
        f"environment variable TRAINING_SCORING_SHARD_ROWS is {TRAINING_SCORING_SHARD_ROWS}: it "
        "must be a number of rows, at least 1"
    )
# true: the shards are tasks on the light queue, for as many light workers as run (README);
# false: the training worker scores them itself, one after the other (one machine).
TRAINING_SCORING_ON_WORKERS = _env(env.bool, "TRAINING_SCORING_ON_WORKERS", default=False)
TRAINING_SCORING_TIMEOUT = _env(env.int, "TRAINING_SCORING_TIMEOUT", default=3600)  # seconds
# PyTorch threads of a light worker process scoring a shard (0: one per core). One: a light
# worker runs a process per core (--concurrency), and two processes of two threads each on two
# cores scored 300k rows in 18.9 s against 6.7 s with one thread each (benchmarks/scale.py).
TRAINING_SCORING_THREADS = _env(env.int, "TRAINING_SCORING_THREADS", default=1)
# The audit frame of a new dataset: this share of its rows no model learns from (see README).
AUDIT_FRAME_SHARE = _env(env.float, "AUDIT_FRAME_SHARE", default=0.1)
if not 0.0 <= AUDIT_FRAME_SHARE < 0.5:
    raise ImproperlyConfigured(
        f"environment variable AUDIT_FRAME_SHARE is {AUDIT_FRAME_SHARE}: it must be at least 0 "
        "and below 0.5 (0 turns the audit and its quality figures off for new datasets)"
    )
# Training on its own queue: GPU workers take `-Q training`, light tasks run anywhere.
CELERY_TASK_ROUTES = {
    "labeler.tasks.training_run": {"queue": "training"},
    "labeler.tasks.synthesis_run": {"queue": "training"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
WORKER_HEARTBEAT_SECONDS = _env(env.int, "WORKER_HEARTBEAT_SECONDS", default=30)
# Worker processes run this much nicer than the web server: on a machine they share, a retrain
# takes the CPU the annotators' requests leave (0 keeps the worker's priority).
WORKER_NICENESS = _env(env.int, "WORKER_NICENESS", default=10)
# A worker whose last heartbeat is older than this counts as down on /healthz.
WORKER_HEARTBEAT_MAX_AGE_SECONDS = _env(env.int, "WORKER_HEARTBEAT_MAX_AGE_SECONDS", default=120)
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {
        "task": "labeler.tasks.worker_heartbeat",
        "schedule": timedelta(seconds=WORKER_HEARTBEAT_SECONDS),
        "options": {"expires": WORKER_HEARTBEAT_SECONDS},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": _env(env.str, "LOG_LEVEL", default="INFO")},
}

if not DEBUG:
    # Production defaults: HTTPS only. Behind a proxy that terminates TLS and forwards plain
    # HTTP, BEHIND_TLS_PROXY=true trusts its X-Forwarded-Proto header (the proxy must set it and
    # strip a client's own); without that every request would look insecure and be redirected.
    if BEHIND_TLS_PROXY:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _env(env.bool, "SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe /healthz over plain HTTP from inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = _env(env.int, "SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env(env.bool, "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = _env(env.bool, "SECURE_HSTS_PRELOAD", default=False)
    SESSION_COOKIE_SECURE = _env(env.bool, "SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = _env(env.bool, "CSRF_COOKIE_SECURE", default=True)
    # Joining the browsers' HSTS preload list is a commitment for the whole domain that only its
    # owner can make (SECURE_HSTS_PRELOAD=true); not making it is not a flaw of this deployment.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
