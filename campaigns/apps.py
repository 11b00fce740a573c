from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the loyalty event handlers and the expiry task in every process (web, worker, beat).
        from campaigns.loyalty import handlers, tasks  # noqa: F401
