"""factory_boy factories for the tables tests build rows in directly."""

import factory
import numpy as np
from django.utils import timezone

from labeler import models


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Dataset
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"dataset-{n}")
    feature_names = ["V1", "V2", "V3"]


class ImportBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ImportBatch

    dataset = factory.SubFactory(DatasetFactory)
    file_name = factory.Sequence(lambda n: f"file-{n}.csv")
    checksum = factory.Sequence(lambda n: f"{n:064x}")
    row_count = 1
    label_mode = models.ImportBatch.LabelMode.IGNORE


class TransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Transaction

    import_batch = factory.SubFactory(ImportBatchFactory)
    dataset = factory.SelfAttribute("import_batch.dataset")
    external_id = factory.Sequence(lambda n: f"tx-{n}")
    time = factory.Sequence(float)
    amount = 12.5
    features = factory.LazyFunction(lambda: np.zeros(3, dtype="<f4").tobytes())
    imported_at = factory.LazyFunction(timezone.now)


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ModelVersion

    kind = models.ModelVersion.Kind.WEAK
    status = models.ModelVersion.Status.READY


def label_class(name: str) -> models.LabelClass:
    return models.LabelClass.objects.get(name=name)


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Label

    transaction = factory.SubFactory(TransactionFactory)
    annotator = None
    label_class = factory.LazyFunction(lambda: label_class("legit"))
    decision = models.Label.Decision.MANUAL


class PseudoLabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.PseudoLabel

    transaction = factory.SubFactory(TransactionFactory)
    label_class = factory.LazyFunction(lambda: label_class("legit"))
    model_version = factory.SubFactory(ModelVersionFactory)
    probability = 0.99


def queue_entry(transaction, **fields) -> models.QueueEntry:
    """Queues `transaction` with its latest scores as the suggestion shown, as a run's plan
    queues a row it scored."""
    return models.QueueEntry.objects.create(
        transaction=transaction, **models.QueueEntry.suggestion_of(transaction), **fields
    )
