"""The API's routes, under /api/v1/, with the OpenAPI schema and its docs pages."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from labeler.api import (
    cases,
    exports,
    imports,
    ingest,
    labels,
    synthesis,
    training,
    transactions,
)

urlpatterns = [
    path("v1/datasets/", transactions.DatasetList.as_view(), name="api-datasets"),
    path("v1/datasets/<id:dataset_id>/training/", training.Training.as_view(), name="api-training"),
    path(
        "v1/datasets/<id:dataset_id>/transactions/",
        ingest.IngestTransactions.as_view(),
        name="api-ingest",
    ),
    path(
        "v1/datasets/<id:dataset_id>/score/",
        ingest.ScoreTransactions.as_view(),
        name="api-score",
    ),
    path("v1/imports/", imports.ImportListCreate.as_view(), name="api-imports"),
    path("v1/label-files/", imports.LabelFileCreate.as_view(), name="api-label-files"),
    path("v1/transactions/", transactions.TransactionList.as_view(), name="api-transactions"),
    path(
        "v1/transactions/<id:pk>/",
        transactions.TransactionDetail.as_view(),
        name="api-transaction",
    ),
    path("v1/queue/next/", transactions.QueueNext.as_view(), name="api-queue-next"),
    path("v1/labels/", labels.LabelListCreate.as_view(), name="api-labels"),
    path("v1/cases/", cases.CaseCreate.as_view(), name="api-cases"),
    path("v1/reviews/", labels.ReviewListCreate.as_view(), name="api-reviews"),
    path("v1/model-versions/", training.ModelVersionList.as_view(), name="api-model-versions"),
    path(
        "v1/model-versions/<id:pk>/",
        training.ModelVersionDetail.as_view(),
        name="api-model-version",
    ),
    path(
        "v1/synthesis-runs/", synthesis.SynthesisRunListCreate.as_view(), name="api-synthesis-runs"
    ),
    path(
        "v1/synthesis-runs/<id:pk>/",
        synthesis.SynthesisRunDetail.as_view(),
        name="api-synthesis-run",
    ),
    path(
        "v1/synthesis-runs/<id:pk>/file/",
        synthesis.SynthesisRunFile.as_view(),
        name="api-synthesis-run-file",
    ),
    path("v1/exports/labels/", exports.LabelExport.as_view(), name="api-export-labels"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
