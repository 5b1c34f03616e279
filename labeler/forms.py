"""Forms that parse page input into the arguments of a service."""

from django import forms
from django.conf import settings
from django.core.validators import validate_slug

from labeler.models import ImportBatch
from labeler.services.import_options import ColumnChoice


def _optional(value: str) -> str | None:
    value = (value or "").strip()
    return value or None


class ImportForm(forms.Form):
    # An empty file gets the import's own message, which names it.
    file = forms.FileField(
        allow_empty_file=True, help_text="CSV, plain or .gz, UTF-8, with a header row."
    )
    dataset = forms.CharField(
        initial="default",
        max_length=64,
        validators=[validate_slug],
        help_text="Letters, digits, - and _. A new name creates a dataset.",
    )
    label_mode = forms.ChoiceField(
        choices=ImportBatch.LabelMode.choices,
        initial=ImportBatch.LabelMode.IGNORE,
        label="Label column",
    )
    id_column = forms.CharField(
        required=False, help_text="Empty: 'id' if present, else row numbers."
    )
    time_column = forms.CharField(required=False, help_text="Empty: 'Time', 'timestamp'…")
    amount_column = forms.CharField(required=False, help_text="Empty: 'Amount'.")
    label_column = forms.CharField(required=False, help_text="Empty: 'Class', 'label'…")
    feature_columns = forms.CharField(
        required=False, help_text="Comma-separated. Empty: every other numeric column."
    )
    card_column = forms.CharField(
        required=False, help_text="Empty: 'card_id', 'customer_id', 'account_id'… '-': none."
    )
    merchant_column = forms.CharField(
        required=False, help_text="Empty: 'merchant_id', 'terminal_id'… '-': none."
    )
    categorical_columns = forms.CharField(
        required=False,
        help_text="Comma-separated, encoded for the models and shown as text. Empty: 'mcc', "
        "'country', 'currency', 'entry_mode'… and text columns with few values.",
    )
    text_columns = forms.CharField(
        required=False,
        help_text="Comma-separated, shown to people only. Empty: 'description'… and text "
        "columns with many values.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size == 0:
            raise forms.ValidationError(f"{upload.name}: the file is empty.")
        if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1e6:.0f} MB; the limit is "
                f"{settings.IMPORT_MAX_UPLOAD_BYTES / 1e6:.0f} MB (IMPORT_MAX_UPLOAD_BYTES)."
            )
        return upload

    def column_choice(self) -> ColumnChoice:
        return column_choice(self.cleaned_data)


def _names(value: str | None) -> tuple[str, ...] | None:
    value = _optional(value)
    return tuple(n.strip() for n in value.split(",") if n.strip()) if value else None


def _entity(value: str | None) -> str | None:
    """A card or merchant column: empty finds it by its usual names, '-' says there is none."""
    value = _optional(value)
    return "" if value == "-" else value


def column_choice(data: dict) -> ColumnChoice:
    """The column options of an import (page, API or command), empty meaning "find it"."""
    return ColumnChoice(
        id_column=_optional(data.get("id_column")),
        time_column=_optional(data.get("time_column")),
        amount_column=_optional(data.get("amount_column")),
        label_column=_optional(data.get("label_column")),
        feature_columns=_names(data.get("feature_columns")),
        card_column=_entity(data.get("card_column")),
        merchant_column=_entity(data.get("merchant_column")),
        categorical_columns=_names(data.get("categorical_columns")),
        text_columns=_names(data.get("text_columns")),
    )
