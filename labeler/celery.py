"""The Celery application: configuration from Django settings, tasks found in the app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeler.settings")

app = Celery("fraudloop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _on_after_configure(sender, **kwargs):
    _create_embedded_broker_folders()


def _create_embedded_broker_folders():
    """kombu's filesystem transport expects its folders to exist; make them on first use."""
    from django.conf import settings

    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if key in options:
            os.makedirs(options[key], exist_ok=True)
