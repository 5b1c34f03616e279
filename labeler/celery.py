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
    """The filesystem broker and result backend expect their folders to exist: make them."""
    from django.conf import settings

    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    folders = [
        options[key]
        for key in ("data_folder_in", "data_folder_out", "control_folder")
        if key in options
    ]
    if settings.CELERY_RESULT_BACKEND.startswith("file://"):
        folders.append(settings.CELERY_RESULT_BACKEND.removeprefix("file://"))
    for folder in folders:
        os.makedirs(folder, exist_ok=True)
