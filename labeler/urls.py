"""URL routes of fraudloop."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter

from labeler.converters import IdConverter
from labeler.views import (
    annotate,
    favicon,
    health,
    home,
    importing,
    review,
    synthesis,
    training,
)

register_converter(IdConverter, "id")

urlpatterns = [
    path("", home.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", favicon.favicon, name="favicon"),
    path("import/", importing.import_transactions, name="import"),
    path("annotate/", annotate.annotate, name="annotate"),
    path("annotate/answer/", annotate.annotate_answer, name="annotate_answer"),
    path("annotate/skip/", annotate.annotate_skip, name="annotate_skip"),
    path("annotate/undo/", annotate.annotate_undo, name="annotate_undo"),
    path(
        "annotate/unlabeled/<int:dataset_id>/",
        annotate.annotate_unlabeled,
        name="annotate_unlabeled",
    ),
    path("review/", review.review, name="review"),
    path("review/answer/", review.review_answer, name="review_answer"),
    path("review/skip/", review.review_skip, name="review_skip"),
    path("review/undo/", review.review_undo_last, name="review_undo"),
    path("review/quality/", review.review_quality, name="review_quality"),
    path("training/<id:dataset_id>/", training.training_status, name="training_status"),
    path("training/<id:dataset_id>/start/", training.training_start, name="training_start"),
    path("synthesis/<id:dataset_id>/", synthesis.synthesis_status, name="synthesis_status"),
    path("synthesis/<id:dataset_id>/start/", synthesis.synthesis_start, name="synthesis_start"),
    path(
        "synthesis/runs/<id:run_id>/<str:part>/",
        synthesis.synthesis_download,
        name="synthesis_download",
    ),
    path("api/", include("labeler.api.urls")),
    path("admin/", admin.site.urls),
]
