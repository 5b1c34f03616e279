"""fraudloop's Django side: project configuration and the labeling app."""

from labeler.celery import app as celery_app

__all__ = ["celery_app"]
