"""App configuration for the labeling app."""

from django.apps import AppConfig


class LabelerConfig(AppConfig):
    name = "labeler"
    verbose_name = "fraudloop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from labeler import signals  # noqa: F401  (connects the worker start-up hooks)
