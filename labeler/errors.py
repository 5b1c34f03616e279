"""Errors a user can cause, with messages a person can act on (shown as 4xx or CLI text)."""


class FraudloopError(Exception):
    """Base class: the message is written for the person who caused it."""


class ImportRejected(FraudloopError):
    """A file could not be imported; nothing was written."""


class HistoryProtected(FraudloopError):
    """A row of history (a label) was about to be deleted; nothing was."""
