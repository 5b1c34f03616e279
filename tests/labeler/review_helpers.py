"""Queued, scored transactions and answers for the review tests."""

from labeler.services.labeling import label_submit
from tests.factories import TransactionFactory, label_class, queue_entry


def queued(version, *, score=0.95, suggested="fraud", reason="likely_fraud"):
    """A queued transaction the active version scored."""
    row = TransactionFactory(
        import_batch__dataset=version.dataset,
        score=score,
        suggested_class=label_class(suggested),
        scored_by=version,
    )
    queue_entry(row, priority=1.0, reason=reason)
    return row


def answer(user, row, name, token="t"):
    return label_submit(
        user=user, transaction_id=row.pk, label_class=label_class(name), request_token=token
    ).label
