"""From a real table to a synthetic one with its report: split by time (the generator learns
from the earlier 80%, the utility test runs on the later 20%), fit each candidate generator,
keep the one a classifier finds hardest to tell from the real rows among those whose rows pass
the privacy test, draw the rows asked for and measure them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from modeling.synthesis.base import ProgressCallback
from modeling.synthesis.privacy import privacy_figures, row_fingerprints
from modeling.synthesis.report import SynthesisReport, fidelity_figures, utility_figures
from modeling.synthesis.synthesizer import SynthesisError, Synthesizer

CHOICE_ROWS = 20_000  # generated per candidate to compare them


@dataclass
class SynthesisRequest:
    rows: int
    positive_share: float  # the share of `positive_class` among the rows written
    positive_class: int = 1
    candidates: Sequence[str] = ("kernel", "cvae", "cgan")
    configs: dict[str, object] = field(default_factory=dict)  # by kind (generator_config)
    time_column: str | None = None  # splits train from test; row order when None
    utility_exclude: Sequence[str] = ()  # columns the utility models leave out (ids, times)
    test_share: float = 0.2
    seed: int = 0


@dataclass
class SynthesisResult:
    synthesizer: Synthesizer
    table: pd.DataFrame
    classes: np.ndarray
    report: SynthesisReport


def synthesis_run(
    table: pd.DataFrame,
    classes: np.ndarray,
    *,
    class_names: Sequence[str],
    categorical: Sequence[str],
    request: SynthesisRequest,
    synthesizer: Synthesizer | None = None,
    on_progress: ProgressCallback = None,
) -> SynthesisResult:
    """`synthesizer`: one fitted before on the same rows (reused: no candidate is fitted)."""
    classes = np.asarray(classes, np.int64)
    if len(table) < 10:
        raise SynthesisError(f"{len(table)} rows are too few to learn from")
    order = (
        np.argsort(table[request.time_column].to_numpy(), kind="stable")
        if request.time_column
        else np.arange(len(table))
    )
    cut = round(len(table) * (1.0 - request.test_share))
    train, test = order[:cut], order[cut:]
    real_train, train_classes = table.iloc[train].reset_index(drop=True), classes[train]
    real_test, test_classes = table.iloc[test].reset_index(drop=True), classes[test]

    shares = {request.positive_class: request.positive_share}
    if request.positive_share > 0 and not np.any(train_classes == request.positive_class):
        name = class_names[request.positive_class]
        raise SynthesisError(
            f"no {name!r} row is known among the {len(real_train):,} rows it would learn from "
            f"(labels by people, trusted labels or pseudo-labels): rows of that class cannot "
            "be generated before some are labeled"
        )
    if synthesizer is None:
        synthesizer, notes = _choose(
            real_train, train_classes, class_names, categorical, request, on_progress
        )
    else:
        notes = [f"reused: the {synthesizer.kind} fitted before on the same rows"]

    synthetic, synthetic_classes = synthesizer.sample(
        request.rows, shares=shares, seed=request.seed
    )
    encoder = synthesizer.encoder
    measurable = all(
        np.any(part == request.positive_class) and not np.all(part == request.positive_class)
        for part in (test_classes, synthetic_classes)
    )
    if not measurable:
        notes.append(
            "utility not measured: the later rows or the generated ones hold no "
            f"{class_names[request.positive_class]!r} row (or nothing else)"
        )
    utility_columns = [name for name in encoder.names if name not in request.utility_exclude]
    report = SynthesisReport(
        generator=synthesizer.kind,
        rows=len(synthetic),
        class_counts={
            name: int(np.sum(synthetic_classes == k)) for k, name in enumerate(class_names)
        },
        fidelity=fidelity_figures(
            encoder, real_train, train_classes, synthetic, synthetic_classes, seed=request.seed
        ),
        privacy=privacy_figures(
            encoder.encode(real_train),
            encoder.encode(synthetic),
            copies=int(np.isin(row_fingerprints(synthetic), row_fingerprints(table)).sum()),
            seed=request.seed,
        ),
        utility=utility_figures(
            encoder,
            real_train=real_train,
            real_train_classes=train_classes,
            synthetic=synthetic,
            synthetic_classes=synthetic_classes,
            real_test=real_test,
            real_test_classes=test_classes,
            columns=utility_columns,
            positive_class=request.positive_class,
            seed=request.seed,
        )
        if measurable
        else None,
        notes=notes,
    )
    if on_progress is not None:
        on_progress(1.0)
    return SynthesisResult(synthesizer, synthetic, synthetic_classes, report)


def _choose(
    real_train: pd.DataFrame,
    train_classes: np.ndarray,
    class_names: Sequence[str],
    categorical: Sequence[str],
    request: SynthesisRequest,
    on_progress: ProgressCallback,
) -> tuple[Synthesizer, list[str]]:
    """Fits each candidate; keeps the one a classifier finds hardest to tell from real rows,
    among those that pass the privacy test if any does."""
    notes: list[str] = []
    best: tuple[tuple[bool, float], Synthesizer] | None = None
    for position, kind in enumerate(request.candidates):

        def progress(fraction, position=position):
            if on_progress is not None:
                on_progress((position + fraction) / (len(request.candidates) + 1))

        candidate = Synthesizer.fit(
            real_train,
            train_classes,
            class_names=class_names,
            categorical=categorical,
            kind=kind,
            config=request.configs.get(kind),
            on_progress=progress,
        )
        # Compared at the real class mix, so the classifier judges the rows, not the mix.
        prior = {k: float(np.mean(train_classes == k)) for k in range(len(class_names))}
        drawn, drawn_classes = candidate.sample(
            min(CHOICE_ROWS, len(real_train)), shares=prior, seed=request.seed + 1
        )
        auc = fidelity_figures(
            candidate.encoder,
            real_train,
            train_classes,
            drawn,
            drawn_classes,
            seed=request.seed,
        ).real_vs_synthetic_auc
        privacy = privacy_figures(
            candidate.encoder.encode(real_train),
            candidate.encoder.encode(drawn),
            copies=0,
            sample=2_000,
            seed=request.seed,
        )
        notes.append(
            f"{kind}: real-vs-synthetic ROC AUC {auc:.3f} at the real class mix; "
            f"{privacy.share_closer:.1%} of its rows closer to a real row than the real 5th "
            "percentile"
        )
        rank = (not privacy.passed, auc)
        if best is None or rank < best[0]:
            best = (rank, candidate)
    if best is None:
        raise SynthesisError("no generator was asked for")
    notes.append(
        f"chosen: {best[1].kind} (the lowest AUC"
        + (" of those that pass the privacy test)" if not best[0][0] else "; none passed privacy)")
    )
    if on_progress is not None:
        on_progress(len(request.candidates) / (len(request.candidates) + 1))
    return best[1], notes
