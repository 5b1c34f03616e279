"""Training workers on a GPU run a pool that never forks; the shipped commands do."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import pytest
from celery.concurrency import get_implementation

from labeler.services.worker_pool import gpu_present, pool_name, training_pool_refusal
from tests.workers import PROJECT_ROOT


@pytest.mark.parametrize(
    ("queues", "pool", "device", "gpu", "refused"),
    [
        (["celery", "training"], "prefork", "cuda", False, True),
        (["training"], "prefork", "auto", True, True),
        (["training"], "prefork", "cuda:1", True, True),
        (["training"], "solo", "cuda", True, False),
        (["training"], "threads", "auto", True, False),
        (["training"], "prefork", "auto", False, False),  # a CPU host: prefork as before
        (["training"], "prefork", "cpu", True, False),
        (["celery"], "prefork", "cuda", True, False),  # light tasks never train
    ],
)
def test_only_a_forking_pool_that_would_train_on_cuda_is_refused(
    queues, pool, device, gpu, refused
):
    refusal = training_pool_refusal(queues=queues, pool=pool, device=device, gpu=gpu)
    assert (refusal is not None) == refused
    if refused:
        assert "--pool=solo" in refusal and f"'{pool}'" in refusal


def test_the_pool_is_named_whatever_form_the_worker_is_given():
    for alias in ("prefork", "solo", "threads"):
        assert pool_name(get_implementation(alias)) == alias
        assert pool_name(alias) == alias
    assert pool_name("celery.concurrency.thread:TaskPool") == "threads"


def test_a_gpu_is_found_from_the_drivers_files_only(tmp_path):
    driver = tmp_path / "version"
    assert not gpu_present([str(driver)])
    driver.write_text("NVRM version: 550")
    assert gpu_present([str(tmp_path / "absent"), str(driver)])


def _worker_commands(text: str) -> list[list[str]]:
    """The Celery worker command lines in the text (a Procfile line's "name:" left out)."""
    return [
        shlex.split(re.sub(r"^\w+:\s*", "", line))
        for line in text.splitlines()
        if re.search(r"celery\b.*\bworker\b", line)
    ]


def _option(command: list[str], name: str, default: str) -> str:
    found = [part.split("=", 1)[1] for part in command if part.startswith(f"--{name}=")]
    return found[-1] if found else default


def test_the_procfile_and_the_readme_start_training_workers_a_gpu_accepts():
    commands = _worker_commands((PROJECT_ROOT / "Procfile").read_text())
    readme = (PROJECT_ROOT / "README.md").read_text()
    commands += _worker_commands(readme.split("A production deployment runs:", 1)[1][:800])
    training = [c for c in commands if "training" in _option(c, "queues", "celery").split(",")]
    assert len(training) == 2, commands  # the Procfile's and the production one
    for command in commands:
        queues = _option(command, "queues", "celery").split(",")
        pool = _option(command, "pool", "prefork")
        assert training_pool_refusal(queues=queues, pool=pool, device="cuda", gpu=True) is None


def test_a_worker_that_would_train_on_cuda_in_a_prefork_pool_stops_saying_how_to_start_it(
    tmp_path,
):
    env = {
        **os.environ,
        "TRAINING_DEVICE": "cuda",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_BROKER_DIR": str(tmp_path / "broker"),
    }
    command = [sys.executable, "-m", "celery", "-A", "labeler", "worker", "--pool=prefork"]
    finished = subprocess.run(
        [*command, "--queues=training", "--concurrency=1", "--loglevel=WARNING"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode != 0
    output = finished.stdout + finished.stderr
    assert "CUDA cannot be used in forked processes" in output
    assert "--pool=solo" in output
