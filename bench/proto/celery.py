"""`config.celery`'s app with the prototypes applied.

celery -A bench.proto.celery worker -Q bulk,events
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from bench.proto.patches import batch_complete_handlerless_events, route_imports_to_own_queue  # noqa: E402
from config.celery import app  # noqa: E402

route_imports_to_own_queue()
app.loader.import_default_modules()
batch_complete_handlerless_events()

__all__ = ["app"]
