"""Settings for the test suite: the same as production's, against the URLs the test command gives."""

import os

os.environ.setdefault("TESTING", "1")
os.environ.setdefault("REDIS_KEY_PREFIX", f"dmtest{os.getpid()}")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
