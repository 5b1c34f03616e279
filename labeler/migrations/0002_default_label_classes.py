"""The two default classes, legit and fraud, coded 0 and 1 as in the reference data."""

from django.db import migrations

DEFAULT_CLASSES = [
    # name, display name, code in files, hotkey, colour, position, is_positive
    ("legit", "Legitimate", "0", "l", "#1e8449", 0, False),
    ("fraud", "Fraud", "1", "f", "#c0392b", 1, True),
]


def create_default_classes(apps, schema_editor):
    LabelClass = apps.get_model("labeler", "LabelClass")
    for name, display_name, code, hotkey, colour, position, is_positive in DEFAULT_CLASSES:
        LabelClass.objects.get_or_create(
            name=name,
            defaults={
                "display_name": display_name,
                "code": code,
                "hotkey": hotkey,
                "colour": colour,
                "position": position,
                "is_positive": is_positive,
            },
        )


def remove_default_classes(apps, schema_editor):
    LabelClass = apps.get_model("labeler", "LabelClass")
    LabelClass.objects.filter(name__in=[row[0] for row in DEFAULT_CLASSES]).delete()


class Migration(migrations.Migration):
    dependencies = [("labeler", "0001_initial")]

    operations = [migrations.RunPython(create_default_classes, remove_default_classes)]
