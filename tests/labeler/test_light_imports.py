"""Commands, the admin and web requests that do not train or score start without torch, the
model code or pandas (STYLE.md rule 13): a fresh interpreter imports them and is checked."""

import json
import os
import subprocess
import sys

from django.conf import settings

HEAVY = ("torch", "pandas", "sklearn", "pyarrow", "modeling.sgan", "modeling.committee")
LIGHT_MODULES = [
    "labeler.urls",  # every view and the API, through the URLconf
    "labeler.admin",
    "labeler.tasks",
    "labeler.pages.home",
    "labeler.templatetags.quality",
    "labeler.management.commands.export_labels",
    "labeler.management.commands.import_transactions",
    "labeler.management.commands.retrain",
]


def test_pages_admin_tasks_and_commands_do_not_import_torch_or_pandas():
    code = (
        "import django, importlib, json, sys; django.setup(); "
        f"[importlib.import_module(name) for name in {LIGHT_MODULES!r}]; "
        "from django.test import Client; "
        "Client().get('/accounts/login/'); "
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "labeler.settings", "DEBUG": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
