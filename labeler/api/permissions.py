"""The API's role checks: the same permissions the pages check."""

from rest_framework.permissions import BasePermission


class CanAnnotate(BasePermission):
    message = "this needs the annotator or reviewer role"

    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm("labeler.annotate"))


class CanReview(BasePermission):
    message = "this needs the reviewer role"

    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm("labeler.review"))


class IsStaff(BasePermission):
    message = "this needs a staff account"

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_staff)
