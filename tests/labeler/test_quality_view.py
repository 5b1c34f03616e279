"""How the audit estimate reads: a number with its interval and basis, or what is missing."""

from labeler.models import ModelVersion
from labeler.quality_view import quality_view
from tests.labeler.test_dashboard import READY_QUALITY


def version(quality, share=0.1) -> ModelVersion:
    return ModelVersion(
        pk=7, metrics={"quality": quality}, hyperparameters={"audit": {"share": share}}
    )


def test_a_ready_estimate_shows_each_figure_with_its_interval_and_basis():
    view = quality_view(version(READY_QUALITY))
    assert view.ready and view.short == "0.400 (0.250\N{EN DASH}0.600)"
    names = [figure.name for figure in view.figures]
    assert names == [
        "Average precision",
        "Precision in the top 0.1%",
        "Recall at a 1% review budget",
        "Frauds still unlabeled",
    ]
    assert view.figures[3].value == "about 18" and view.figures[3].interval == "8\N{EN DASH}43"
    assert view.basis.startswith("40 audit labels (9 frauds)") and "90% intervals" in view.basis


def test_what_is_missing_is_said_instead_of_a_number():
    none_yet = quality_view(
        version(
            {"labels": 4, "frauds": 0, "frame_rows": 500, "needed_labels": 16, "needed_frauds": 3}
        )
    )
    assert not none_yet.ready and not none_yet.figures
    assert none_yet.missing == (
        "Too few audit labels for an estimate: it needs about 16 more audit labels (about 160 "
        "labels at the 10% audit share) and 3 more audit frauds."
    )
    cold = quality_view(
        version({"labels": 0, "frauds": 0, "frame_rows": 500, "waiting_for": "a committee"})
    )
    assert cold.short == "after cold start" and "first version trained on a fraud" in cold.missing
    no_frame = quality_view(
        version({"labels": 0, "frauds": 0, "frame_rows": 0, "waiting_for": "an audit frame"})
    )
    assert no_frame.short == "no audit frame" and "AUDIT_FRAME_SHARE" in no_frame.missing
    assert quality_view(ModelVersion(metrics={})) is None  # a version from before the audit
