"""The Django admin: every table, history-bearing rows read-only, labels never deleted, and the
review actions (agree, overrule, send back) for reviewers."""

from labeler.admin import data, labels, training, transactions  # noqa: F401  (registers them)
