"""The staff upload page: one file in, the batch summary or the error that names row and column."""

import tempfile
from pathlib import Path

from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render

from labeler.errors import ImportRejected
from labeler.forms import ImportForm
from labeler.models import ImportBatch
from labeler.services.importing import transactions_import


def _stored_path(upload) -> tuple[Path, tempfile.TemporaryDirectory | None]:
    if hasattr(upload, "temporary_file_path"):
        return Path(upload.temporary_file_path()), None
    folder = tempfile.TemporaryDirectory()
    path = Path(folder.name) / "upload"
    with path.open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return path, folder


@staff_member_required
def import_transactions(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    batch, error, status = None, None, 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            path, folder = _stored_path(upload)
            try:
                batch = transactions_import(
                    path=path,
                    dataset_name=form.cleaned_data["dataset"],
                    label_mode=form.cleaned_data["label_mode"],
                    columns=form.column_choice(),
                    file_name=upload.name,
                    imported_by=request.user,
                )
            except ImportRejected as rejected:
                error, status = str(rejected), 400
            finally:
                if folder is not None:
                    folder.cleanup()
        else:
            status = 400
    context = {
        "form": form,
        "batch": batch,
        "error": error,
        "recent_batches": ImportBatch.objects.select_related("dataset")[:10],
    }
    template = "labeler/partials/import_result.html" if request.htmx else "labeler/import.html"
    return render(request, template, context, status=status)
