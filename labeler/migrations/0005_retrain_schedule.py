"""The beat entry that retrains every 10 minutes when enough new labels arrived.

Created once here rather than in CELERY_BEAT_SCHEDULE, which beat rewrites at every start:
an interval changed in the admin must stay changed.
"""

from django.db import migrations

TASK_NAME = "retrain when enough new labels"


def schedule_create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "labeler.tasks.training_on_schedule",
            "interval": interval,
            "queue": "celery",
            "description": "Starts a training run when the active version is older than "
            "'min new labels' human labels (see Training policy).",
        },
    )


def schedule_delete(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("labeler", "0004_training_runs"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_create, schedule_delete)]
