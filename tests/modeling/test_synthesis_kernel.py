"""The local kernel generator: its rows follow the real rows' local shape, keep their distance
from the real rows (the privacy floor), move even where rows are duplicates, and a damaged
state is refused; the pipeline never prefers a generator whose rows fail the privacy test."""

import numpy as np
import pandas as pd
import pytest

from modeling.synthesis.base import RowGenerator
from modeling.synthesis.kernel import KernelConfig, LocalKernel
from modeling.synthesis.pipeline import SynthesisRequest, synthesis_run
from modeling.synthesis.privacy import closest_distances, privacy_figures
from modeling.synthesis.synthesizer import GENERATORS, SynthesisError, Synthesizer
from modeling.synthesis.table import TableEncoder


def ring(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Points on a circle of radius 5 (a thin ring), the fraud class on one arc of it."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi, rows)
    radius = 5 + rng.normal(0, 0.05, rows)
    classes = ((angle > 1.0) & (angle < 1.6)).astype(int)
    table = pd.DataFrame(
        {"x": np.round(radius * np.cos(angle), 4), "y": np.round(radius * np.sin(angle), 4)}
    )
    return table, classes


def fit(table, classes, **config) -> Synthesizer:
    return Synthesizer.fit(
        table,
        classes,
        class_names=["legit", "fraud"],
        kind="kernel",
        config=KernelConfig(device="cpu", **config),
    )


@pytest.fixture(scope="module")
def real():
    return ring(3000, seed=1)


@pytest.fixture(scope="module")
def kernel(real):
    return fit(*real)


def test_rows_stay_on_the_surface_the_real_rows_lie_on(real, kernel):
    table, classes = kernel.sample(3000, shares={1: 0.5}, seed=2)
    radius = np.hypot(table["x"], table["y"])
    # the real ring is 0.05 wide: an isotropic kernel as wide as the neighbours are far apart
    # would spread the rows across it, the local scatter keeps them on it
    assert np.median(np.abs(radius - 5)) < 0.1
    fraud_angle = np.arctan2(table["y"][classes == 1], table["x"][classes == 1])
    assert ((fraud_angle > 0.95) & (fraud_angle < 1.65)).mean() > 0.97


def test_rows_keep_the_distance_real_rows_keep_from_each_other(real, kernel):
    encoder = kernel.encoder
    real_encoded = encoder.encode(real[0])
    table, _ = kernel.sample(3000, shares={1: 0.1}, seed=3)
    generated = privacy_figures(real_encoded, encoder.encode(table), copies=0, seed=0)
    # a fresh sample of the same distribution sits as close as real rows do: ~5% closer than
    # their 5th percentile, which fails the privacy test; the kernel's floor keeps them out
    fresh_table, _ = ring(3000, seed=9)
    fresh = privacy_figures(real_encoded, encoder.encode(fresh_table), copies=0, seed=0)
    assert fresh.share_closer > 0.02
    assert generated.share_closer <= 0.01 and generated.passed
    assert 0.7 < generated.median_distance_ratio < 1.6
    # no row closer than the floor to the rows around its parent: none closer than a tenth of
    # it to any real row
    closest = closest_distances(encoder.encode(table), real_encoded)
    assert closest.min() > 0.1 * kernel.model.floor > 0


def test_duplicate_rows_still_give_new_rows():
    # each row has 29 exact duplicates: its 5 nearest neighbours all sit on it
    base = pd.DataFrame({"x": [1.0, 2.0, 3.5, 4.5] * 30, "y": [0.5, 0.25, 4.0, 3.0] * 30})
    classes = np.array([0, 0, 1, 1] * 30)
    synthesizer = fit(base, classes, neighbours=5)
    table, drawn = synthesizer.sample(200, shares={1: 0.3}, seed=0)
    assert len(table) == 200 and np.bincount(drawn).tolist() == [140, 60]
    real_rows = set(map(tuple, base.to_numpy()))
    assert not any(row in real_rows for row in map(tuple, table.to_numpy()))


def test_a_class_with_one_row_is_refused_not_copied():
    table = pd.DataFrame({"x": np.arange(30.0), "y": np.arange(30.0) ** 0.5})
    classes = np.array([0] * 29 + [1])
    synthesizer = fit(table, classes)
    with pytest.raises(SynthesisError, match=r"learned 1 row\(s\) of class 1: .* at least two"):
        synthesizer.sample(20, shares={1: 0.5}, seed=0)
    assert len(synthesizer.sample(20, shares={1: 0.0}, seed=0)[0]) == 20


def test_a_damaged_state_is_refused(kernel):
    state = kernel.model.to_state()
    state["rows"] = state["rows"][:, :1]
    with pytest.raises(SynthesisError, match="does not match its layout"):
        LocalKernel.from_state(state)
    with pytest.raises(SynthesisError, match="at least one neighbour"):
        LocalKernel([("numeric", 1)], 2, KernelConfig(neighbours=0)).fit(
            np.zeros((5, 1), np.float32), np.zeros(5)
        )


class NoisyCopies(RowGenerator):
    """Training rows plus Gaussian noise of `config.spread` (encoded units): with a hair of
    noise, as hard to tell from the real rows as it gets and no privacy at all; with a lot,
    private and easy to tell."""

    name = "noisy_copies"
    config_class = KernelConfig

    def __init__(self, layout, num_classes, config):
        self.config = config

    def fit(self, matrix, classes, *, on_progress=None):
        self.matrix, self.classes = np.asarray(matrix, np.float32), np.asarray(classes)
        return self

    def sample(self, classes, *, seed):
        rng = np.random.default_rng(seed)
        rows = np.empty((len(classes), self.matrix.shape[1]), np.float32)
        for k in np.unique(classes):
            pool = np.flatnonzero(self.classes == k)
            asked = classes == k
            rows[asked] = self.matrix[rng.choice(pool, int(asked.sum()))]
        return rows + rng.normal(0, self.config.spread, rows.shape).astype(np.float32)

    def to_state(self):
        return {}

    @classmethod
    def from_state(cls, state, *, device="cpu"):
        raise NotImplementedError


def test_the_pipeline_keeps_the_best_generator_whose_rows_pass_privacy(real, monkeypatch):
    monkeypatch.setitem(GENERATORS, "near", (NoisyCopies, KernelConfig))
    monkeypatch.setitem(GENERATORS, "far", (NoisyCopies, KernelConfig))
    table, classes = real
    table = table.assign(time=np.arange(len(table)))
    result = synthesis_run(
        table,
        classes,
        class_names=["legit", "fraud"],
        categorical=[],
        request=SynthesisRequest(
            rows=1000,
            positive_share=0.1,
            candidates=["near", "far"],
            configs={"near": KernelConfig(spread=1e-4), "far": KernelConfig(spread=0.5)},
            time_column="time",
            utility_exclude=["time"],
        ),
    )
    notes = "\n".join(result.report.notes)
    near_auc = float(notes.split("near: real-vs-synthetic ROC AUC ")[1].split(" ")[0])
    far_auc = float(notes.split("far: real-vs-synthetic ROC AUC ")[1].split(" ")[0])
    assert near_auc < 0.7 < far_auc  # the near copies look far more real ...
    assert "near: real-vs-synthetic ROC AUC" in notes and "100.0% of its rows closer" in notes
    assert result.report.privacy.passed  # ... but their rows fail privacy: the far ones are kept
    assert "chosen: noisy_copies (the lowest AUC of those that pass the privacy test)" in notes


def test_encoded_rows_keep_categories_of_their_parent():
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {"amount": np.round(rng.gamma(2, 30, 600), 2), "mode": rng.choice(["chip", "web"], 600)}
    )
    encoder = TableEncoder.fit(table, categorical=["mode"])
    model = LocalKernel(encoder.layout(), 1, KernelConfig(device="cpu"))
    model.fit(encoder.encode(table), np.zeros(600, np.int64))
    drawn = model.sample(np.zeros(400, np.int64), seed=1)
    # the category block stays one-hot: the scatter moves the numbers only
    assert set(np.unique(drawn[:, 1:])) == {0.0, 1.0}
    assert np.allclose(drawn[:, 1:].sum(axis=1), 1.0)
