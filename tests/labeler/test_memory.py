"""Short-lived per-process memory of the policies and label classes."""

import pytest

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
