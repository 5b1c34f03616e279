"""What each page shows, one presenter per page beside its view (labeler/views/<page>.py): built
from selectors and services, no request handling."""
