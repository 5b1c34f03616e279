"""The staff upload page: one file in, the batch summary or the error that names row and column."""

from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render

from labeler.errors import ImportRejected
from labeler.forms import ImportForm
from labeler.models import ImportBatch
from labeler.services.importing import transactions_import
from labeler.uploads import upload_path


@staff_member_required
def import_transactions(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    batch, error, status = None, None, 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                with upload_path(upload) as path:
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
