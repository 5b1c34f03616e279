"""Server-rendered pages (htmx where a page updates in place) and small JSON endpoints."""
