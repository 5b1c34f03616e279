"""Pagination with bounds: a page size or offset no database can take is clamped, not a 500."""

from rest_framework.pagination import CursorPagination, LimitOffsetPagination

LARGEST_OFFSET = 2**62  # past any real table, inside a 64-bit integer


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000

    def get_offset(self, request):
        return min(super().get_offset(request), LARGEST_OFFSET)


class IdCursorPagination(CursorPagination):
    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
