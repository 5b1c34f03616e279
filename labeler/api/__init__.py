"""The REST API (Django REST Framework): thin views over the same services and role checks as
the pages, documented by an OpenAPI schema (drf-spectacular)."""
