"""Settings refuse to start on unsafe or malformed environment values."""

import os
import subprocess
import sys

from django.conf import settings

# DJANGO_ALLOW_ASYNC_UNSAFE: the browser tests set it in this process; no deployment has it.
UNSET = {"DEBUG", "SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def start_django(code: str = "print('started')", **environment) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in UNSET}
    env.update(environment, DJANGO_SETTINGS_MODULE="labeler.settings")
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_debug_off_refuses_the_default_secret_key():
    result = start_django(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is the public development default while DEBUG is off" in result.stderr


def test_debug_off_starts_with_a_real_secret_key():
    result = start_django(DEBUG="false", SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"


def test_malformed_value_names_the_variable():
    result = start_django(DEBUG="true", WORKER_HEARTBEAT_SECONDS="often")
    assert result.returncode != 0
    assert "environment variable WORKER_HEARTBEAT_SECONDS is malformed" in result.stderr


def test_embedded_defaults_need_no_server():
    result = start_django(
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.CELERY_RESULT_BACKEND)",
        DEBUG="true",
    )
    assert result.returncode == 0, result.stderr
    engine, broker, results = result.stdout.split()
    assert (engine, broker) == ("labeler.sqlite_backend", "filesystem://")  # writers queued
    assert results.startswith("file://")


def test_debug_is_off_unless_set():
    result = start_django(
        "from django.conf import settings as s; print(s.DEBUG, s.SECURE_SSL_REDIRECT)",
        SECRET_KEY="x" * 50,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


# The production environment the README gives (its "Production settings" example).
PRODUCTION = {
    "SECRET_KEY": "a-long-random-production-key-" + "k3y" * 20,
    "ALLOWED_HOSTS": "fraudloop.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://fraudloop.example.com",
    "BEHIND_TLS_PROXY": "true",
}


def test_check_deploy_passes_with_the_production_settings():
    env = {key: value for key, value in os.environ.items() if key not in UNSET}
    env.update(PRODUCTION, DJANGO_SETTINGS_MODULE="labeler.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_behind_a_tls_proxy_the_forwarded_scheme_counts():
    result = start_django(
        "from django.conf import settings as s; print(s.SECURE_PROXY_SSL_HEADER)", **PRODUCTION
    )
    assert result.returncode == 0, result.stderr
    assert "HTTP_X_FORWARDED_PROTO" in result.stdout


def test_anomaly_detector_settings_are_checked_at_start():
    unknown = start_django(DEBUG="true", TRAINING_ANOMALY_DETECTORS="autoencoder,crystal_ball")
    assert unknown.returncode != 0
    assert "TRAINING_ANOMALY_DETECTORS names ['crystal_ball']" in unknown.stderr
    stray = start_django(DEBUG="true", TRAINING_ANOMALY_WEIGHTS="vae=2")
    assert stray.returncode != 0
    assert "TRAINING_ANOMALY_WEIGHTS weighs detectors" in stray.stderr
    chosen = start_django(
        "from labeler.services.training.options import TrainingOptions as T; "
        "c = T.from_settings().anomaly_for(numeric=True); "
        "print(c.detectors, c.weights, c.combine, c.vae.epochs)",
        DEBUG="true",
        TRAINING_ANOMALY_DETECTORS="vae,isolation_forest",
        TRAINING_ANOMALY_WEIGHTS="vae=2",
        TRAINING_ANOMALY_COMBINE="median",
        TRAINING_ANOMALY_EPOCHS="3",
    )
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.strip() == "('vae', 'isolation_forest') {'vae': 2.0} median 3"


def test_sgan_ensemble_settings_are_checked_and_reach_the_training_options():
    refused = start_django(DEBUG="true", TRAINING_SGAN_MEMBERS="-1")
    assert refused.returncode != 0
    assert "TRAINING_SGAN_MEMBERS (-1)" in refused.stderr
    chosen = start_django(
        "from labeler.services.training.options import TrainingOptions as T; "
        "o = T.from_settings(); print(o.sgan_members, o.committee.sgan.batch_size)",
        DEBUG="true",
        TRAINING_SGAN_MEMBERS="8",
        TRAINING_SGAN_BATCH="1024",
    )
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.strip() == "8 1024"
    by_device = start_django(
        "from labeler.services.training.options import TrainingOptions as T; "
        "from modeling.sgan_ensemble import members_for_device as m; "
        "print(T.from_settings().sgan_members, m('cuda'), m('cpu'))",
        DEBUG="true",
    )
    assert by_device.stdout.strip() == "0 8 1", by_device.stderr


def test_the_settings_know_every_detector_by_name():
    from modeling.anomaly import DETECTORS
    from modeling.anomaly.ensemble import COMBINATIONS

    assert tuple(settings.ANOMALY_DETECTOR_NAMES) == tuple(DETECTORS)
    assert tuple(settings.ANOMALY_COMBINATIONS) == COMBINATIONS


def test_with_no_detectors_named_the_default_follows_the_datasets_inputs():
    """The settings cannot import the models (torch): they name no detectors, and the run
    takes the modeling default for its dataset's inputs."""
    from labeler.services.training.options import TrainingOptions
    from modeling.anomaly.ensemble import AnomalyConfig

    assert settings.TRAINING_ANOMALY_DETECTORS == [] and settings.TRAINING_ANOMALY_WEIGHTS == {}
    options = TrainingOptions.from_settings()
    assert options.anomaly is None
    for numeric in (True, False):
        expected = AnomalyConfig.for_inputs(numeric=numeric)
        assert options.anomaly_for(numeric=numeric) == expected
        assert expected.combine == settings.TRAINING_ANOMALY_COMBINE
    assert AnomalyConfig.for_inputs(numeric=False) == AnomalyConfig()
    assert "mahalanobis" in AnomalyConfig.for_inputs(numeric=True).detectors
