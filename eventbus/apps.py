from django.apps import AppConfig


class EventbusConfig(AppConfig):
    name = "eventbus"
    default_auto_field = "django.db.models.BigAutoField"
