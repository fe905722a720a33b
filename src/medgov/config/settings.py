"""Django settings. Every deployment-specific value comes from the environment through :class:`Env`."""

from __future__ import annotations

from pathlib import Path

from django.utils.csp import CSP

from medgov.config.env import Env

env = Env()

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env.get_path("MEDGOV_DATA_DIR", Path.cwd() / "var")

DEBUG = env.get_bool("MEDGOV_DEBUG", default=False)
SECRET_KEY = env.get_str(
    "MEDGOV_SECRET_KEY",
    # The embedded default only serves local demos and tests; production sets its own.
    default="medgov-local-only-key-change-me-in-production-0123456789abcdef",
)
ALLOWED_HOSTS = env.get_list("MEDGOV_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.get_list("MEDGOV_CSRF_TRUSTED_ORIGINS", [])

MEDGOV_WAREHOUSE = env.get_path("MEDGOV_WAREHOUSE", DATA_DIR / "warehouse.duckdb")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "medgov.governance.core",
    "medgov.governance.accounts",
    "medgov.governance.quality",
    "medgov.governance.emergency",
    "medgov.governance.safety",
    "medgov.governance.staff",
    "medgov.governance.reports",
    "medgov.interfaces.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "medgov.governance.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "medgov.config.urls"
WSGI_APPLICATION = "medgov.config.wsgi.application"
ASGI_APPLICATION = "medgov.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "medgov.interfaces.web.context_processors.navigation",
            ],
        },
    }
]

DATABASES = {"default": env.database("DATABASE_URL", DATA_DIR / "medgov.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
AUTHENTICATION_BACKENDS = ["medgov.governance.accounts.backends.ThrottledModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.get_list(
    "MEDGOV_PASSWORD_HASHERS",
    ["django.contrib.auth.hashers.PBKDF2PasswordHasher"],
)
# Login throttling: this many consecutive failures lock the account for the lock period.
MEDGOV_LOGIN_MAX_FAILURES = env.get_int("MEDGOV_LOGIN_MAX_FAILURES", 10, minimum=1)
MEDGOV_LOGIN_LOCK_MINUTES = env.get_int("MEDGOV_LOGIN_LOCK_MINUTES", 15, minimum=1)

# Pages cache what they compute from stored data in each server process's memory, keyed by the versions of that
# data (interfaces/web/caching.py), so nothing stale is served and workers need no shared cache server. Entries
# also expire after MEDGOV_PAGE_CACHE_SECONDS, which bounds memory and any write made outside the services.
MEDGOV_PAGE_CACHE_SECONDS = env.get_int("MEDGOV_PAGE_CACHE_SECONDS", 600, minimum=1)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "medgov-pages",
        "TIMEOUT": MEDGOV_PAGE_CACHE_SECONDS,
        "OPTIONS": {"MAX_ENTRIES": 1000},
    }
}

SESSION_COOKIE_AGE = env.get_int("MEDGOV_SESSION_SECONDS", 8 * 60 * 60, minimum=60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Sessions end a fixed time after sign-in; not re-saving on every request keeps page views free of writes.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_HTTPS = env.get_bool("MEDGOV_HTTPS", default=False)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = SECURE_HTTPS
SECURE_HSTS_SECONDS = 31536000 if SECURE_HTTPS else 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.get_str("MEDGOV_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "medgov.interfaces.web.finders.PackageAssetFinder",
]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise indexes it at start-up; collectstatic is optional
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": DATA_DIR / "media"}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve files straight from the apps and installed packages, so `medgov serve` needs no collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

TASKS = {
    "default": {
        "BACKEND": env.get_str("MEDGOV_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

MAILERS = {
    "default": {"BACKEND": env.get_str("MEDGOV_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")}
}
DEFAULT_FROM_EMAIL = env.get_str("MEDGOV_FROM_EMAIL", "medgov@localhost")
# Links in notification e-mails point here.
MEDGOV_BASE_URL = env.get_str("MEDGOV_BASE_URL", "http://127.0.0.1:8000")

# Patient safety: triage is due this many business days after submission; attachments up to this size.
MEDGOV_SAFETY_TRIAGE_BUSINESS_DAYS = env.get_int("MEDGOV_SAFETY_TRIAGE_BUSINESS_DAYS", 2, minimum=1)
MEDGOV_SAFETY_MAX_ATTACHMENT_BYTES = env.get_int("MEDGOV_SAFETY_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024, minimum=1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.get_str("MEDGOV_LOG_LEVEL", "WARNING")},
}
