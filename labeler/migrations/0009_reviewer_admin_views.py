"""Reviewers read the admin: the reviewer group gains the view permissions of the review tables."""

from django.db import migrations

from labeler.roles import roles_install


def roles_update(apps, schema_editor):
    roles_install(apps)


class Migration(migrations.Migration):
    dependencies = [("labeler", "0008_review_items")]

    operations = [migrations.RunPython(roles_update, migrations.RunPython.noop)]
