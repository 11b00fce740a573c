"""`config.wsgi` with the routing prototype applied."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.proto.patches import route_imports_to_own_queue  # noqa: E402
from config.wsgi import application  # noqa: E402

route_imports_to_own_queue()

__all__ = ["application"]
