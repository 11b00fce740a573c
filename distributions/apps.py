from django.apps import AppConfig


class DistributionsConfig(AppConfig):
    name = "distributions"
    default_auto_field = "django.db.models.BigAutoField"
