"""Short-lived per-process memory of the policies and label classes."""

import pytest
from django.db import connection

from labeler.models import LabelClass, TrainingPolicy, memory

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(memory.time, "monotonic", lambda: now[0])
    return now


def test_a_change_from_another_process_shows_after_the_cache_time(clock):
    assert TrainingPolicy.current().min_new_labels != 7
    TrainingPolicy.objects.filter(pk=1).update(min_new_labels=7)  # another process's edit
    clock[0] += memory.CACHE_SECONDS - 1
    assert TrainingPolicy.current().min_new_labels != 7
    clock[0] += 2
    assert TrainingPolicy.current().min_new_labels == 7


def test_saving_here_is_seen_at_once_and_each_owner_is_kept_apart(clock):
    names = [c.name for c in LabelClass.ordered()]
    policy = TrainingPolicy.current()
    policy.min_new_labels = 9
    policy.save()
    assert TrainingPolicy.current().min_new_labels == 9
    legit = LabelClass.objects.get(name="legit")
    legit.display_name = "Genuine"
    legit.save()
    assert [c.name for c in LabelClass.ordered()] == names
    assert "Genuine" in [c.display_name for c in LabelClass.ordered()]


def test_a_datasets_queued_run_is_remembered_and_forgotten_on_any_write_here(clock):
    from labeler.models import Dataset, ModelVersion

    dataset = Dataset.objects.create(name="memory")
    assert ModelVersion.queued_for(dataset.pk) is None
    queued = ModelVersion.objects.create(dataset=dataset, status=ModelVersion.Status.QUEUED)
    assert ModelVersion.queued_for(dataset.pk) == queued  # save() forgot the empty answer
    ModelVersion.objects.filter(pk=queued.pk).update(status=ModelVersion.Status.TRAINING)
    assert ModelVersion.queued_for(dataset.pk) is None  # update() forgot too
    assert ModelVersion.active_for(dataset.pk) is None
    with connection.cursor() as cursor:  # another process activates it: no forgetting here
        cursor.execute(
            "UPDATE labeler_modelversion SET status = 'active' WHERE id = %s", [queued.pk]
        )
    assert ModelVersion.active_for(dataset.pk) is None
    clock[0] += memory.CACHE_SECONDS + 1
    assert ModelVersion.active_for(dataset.pk) == queued


def test_forgetting_an_owner_drops_every_key_it_holds(clock):
    loads = []
    for key in ("a", "b"):
        memory.remembered(TrainingPolicy, lambda key=key: loads.append(key), key=key)
        memory.remembered(TrainingPolicy, lambda key=key: loads.append(key), key=key)
    assert loads == ["a", "b"]
    memory.forget(TrainingPolicy)
    memory.remembered(TrainingPolicy, lambda: loads.append("a"), key="a")
    assert loads == ["a", "b", "a"]


def test_datasets_and_versions_by_key_are_remembered_until_saved_here(
    clock, django_assert_num_queries
):
    from labeler.models import Dataset, ModelVersion

    dataset = Dataset.objects.create(name="kept", feature_names=["V1"])
    version = ModelVersion.objects.create(dataset=dataset, metrics={"profiles": {}})
    assert Dataset.remembered(dataset.pk).feature_names == ["V1"]
    assert ModelVersion.remembered(version.pk).metrics == {"profiles": {}}
    with django_assert_num_queries(0):
        Dataset.remembered(dataset.pk)
        ModelVersion.remembered(version.pk)
    dataset.feature_names = ["V1", "V2"]
    dataset.save()
    version.metrics = {}
    version.save()
    assert Dataset.remembered(dataset.pk).feature_names == ["V1", "V2"]
    assert ModelVersion.remembered(version.pk).metrics == {}


def test_a_new_version_reloads_in_the_same_place_and_its_own_time_limit_holds(clock):
    loads = []

    def load():
        loads.append(1)
        return len(loads)

    def held(version, seconds=60.0):
        return memory.remembered(LabelClass, load, key="k", seconds=seconds, version=version)

    assert (held("a"), held("a")) == (1, 1)
    assert (held("b"), held("b")) == (2, 2)  # a new stamp: loaded again, then kept
    assert held("a") == 3  # the old stamp's value was replaced, not kept beside it
    assert sum(1 for owner, key in memory._held if key == "k") == 1
    clock[0] += memory.CACHE_SECONDS + 1
    assert held("a") == 3  # its own time limit, not CACHE_SECONDS
    clock[0] += 60
    assert held("a") == 4
