"""The report's figures on planted cases where the answer is known: a fresh sample of the real
distribution passes fidelity and keeps the utility, noise fails fidelity, a generator that copies
its data fails privacy; and the whole pipeline runs on a tiny table."""

import numpy as np
import pandas as pd
import pytest

from modeling.synthesis.cvae import CVAEConfig
from modeling.synthesis.pipeline import SynthesisRequest, synthesis_run
from modeling.synthesis.privacy import closest_distances, privacy_figures, row_fingerprints
from modeling.synthesis.report import fidelity_figures, utility_figures
from modeling.synthesis.table import TableEncoder


def draw(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Correlated amounts and a score-like column, 10% fraud, a category that follows fraud."""
    rng = np.random.default_rng(seed)
    classes = (rng.random(rows) < 0.1).astype(int)
    base = rng.normal(size=rows)
    table = pd.DataFrame(
        {
            "time": np.sort(rng.uniform(0, 86_400, rows)).round(0),
            "amount": np.round(np.exp(3 + base + 1.5 * classes), 2),
            "risk": np.round(0.7 * base + rng.normal(size=rows) + 1.5 * classes, 4),
            "channel": np.where(
                classes == 1,
                rng.choice(["web", "pos"], rows, p=[0.7, 0.3]),
                rng.choice(["web", "pos"], rows, p=[0.2, 0.8]),
            ),
        }
    )
    return table, classes


@pytest.fixture(scope="module")
def real():
    return draw(3000, seed=1)


@pytest.fixture(scope="module")
def encoder(real):
    return TableEncoder.fit(real[0], categorical=["channel"])


def noise_like(table: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Each column uniform over its real range: right ranges, wrong shape."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "time": rng.uniform(table["time"].min(), table["time"].max(), len(table)).round(0),
            "amount": rng.uniform(table["amount"].min(), table["amount"].max(), len(table)),
            "risk": rng.uniform(table["risk"].min(), table["risk"].max(), len(table)),
            "channel": rng.choice(["web", "pos"], len(table)),
        }
    )


def test_a_fresh_sample_of_the_real_distribution_passes_fidelity(real, encoder):
    fresh, fresh_classes = draw(3000, seed=2)
    figures = fidelity_figures(encoder, *real, fresh, fresh_classes, seed=0)
    assert figures.real_vs_synthetic_auc < 0.6
    assert figures.passed
    assert max(figures.columns.values()) < 0.06
    assert figures.correlation_difference_max < 0.08


def test_noise_fails_fidelity(real, encoder):
    noise = noise_like(real[0], seed=3)
    figures = fidelity_figures(encoder, *real, noise, np.random.default_rng(0).permutation(real[1]))
    assert figures.real_vs_synthetic_auc > 0.9
    assert not figures.passed
    assert figures.columns["amount"] > 0.5  # uniform against log-normal


def test_a_copying_generator_fails_privacy(real, encoder):
    table, _ = real
    copied = table.sample(1000, random_state=0)
    figures = privacy_figures(
        encoder.encode(table),
        encoder.encode(copied),
        copies=int(np.isin(row_fingerprints(copied), row_fingerprints(table)).sum()),
        seed=0,
    )
    assert figures.copies == 1000
    assert figures.share_closer == 1.0
    assert not figures.passed


def test_far_rows_pass_privacy(real, encoder):
    table, _ = real
    matrix = encoder.encode(table)
    far = matrix + 2.0  # everything moved away from every real row
    figures = privacy_figures(matrix, far, copies=0, seed=0)
    assert figures.share_closer == 0.0
    assert figures.median_distance_ratio > 1.0
    assert figures.passed


def test_closest_distances_leave_a_row_out_of_its_own_neighbours():
    reference = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    assert closest_distances(reference, reference).tolist() == [0.0, 0.0, 0.0]
    assert closest_distances(reference, reference, own_rows=np.arange(3)).tolist() == pytest.approx(
        [1.0, np.sqrt(9 + 9), 1.0]
    )


def test_utility_of_a_fresh_sample_is_that_of_real_rows_and_noise_has_none(real, encoder):
    table, classes = real
    test_table, test_classes = draw(2000, seed=4)
    fresh, fresh_classes = draw(3000, seed=5)
    common = {
        "real_train": table,
        "real_train_classes": classes,
        "real_test": test_table,
        "real_test_classes": test_classes,
        "columns": ["amount", "risk", "channel"],
    }
    good = utility_figures(encoder, synthetic=fresh, synthetic_classes=fresh_classes, **common)
    assert good.train_real_ap > 0.5
    assert good.ratio == pytest.approx(1.0, abs=0.1)
    noise = utility_figures(
        encoder, synthetic=noise_like(table, 6), synthetic_classes=classes, **common
    )
    assert noise.ratio < 0.6
    assert not noise.passed


def test_pipeline_writes_the_rows_asked_for_with_a_report(real):
    table, classes = real
    quick = CVAEConfig(
        hidden=32, latent=4, epochs=10, batch_size=128, learning_rate=3e-3, device="cpu"
    )
    result = synthesis_run(
        table,
        classes,
        class_names=["legit", "fraud"],
        categorical=["channel"],
        request=SynthesisRequest(
            rows=1500,
            positive_share=0.2,
            candidates=("cvae",),
            configs={"cvae": quick},
            time_column="time",
            utility_exclude=["time"],
        ),
    )
    assert len(result.table) == 1500
    assert result.report.class_counts == {"legit": 1200, "fraud": 300}
    assert result.report.privacy.copies == 0
    assert result.report.utility.test_rows == 600  # the later 20% by time
    assert result.report.generator == "cvae"
    figures = result.report.as_dict()
    assert set(figures) >= {"fidelity", "privacy", "utility", "thresholds", "notes"}
    assert figures["fidelity"]["real_vs_synthetic_auc"] < 0.9
    assert table["amount"].min() <= result.table["amount"].min()
    assert result.table["amount"].max() <= table["amount"].max()
