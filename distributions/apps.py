from django.apps import AppConfig


class DistributionsConfig(AppConfig):
    name = "distributions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from distributions import handlers  # noqa: F401  (registers the event-bus handlers)
