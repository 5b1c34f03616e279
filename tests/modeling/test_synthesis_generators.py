"""The generators (kernel, conditional VAE, conditional GAN) and the synthesizer around them:
shapes, the class asked for is the class the rows look like, seeded determinism, a state round
trip, and the refusal to hand out rows that copy the training data."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modeling.synthesis.base import ConditionalGenerator
from modeling.synthesis.synthesizer import (
    GENERATORS,
    SynthesisError,
    Synthesizer,
    generator_config,
)

QUICK = {"hidden": 32, "latent": 4, "batch_size": 128, "learning_rate": 3e-3, "device": "cpu"}


def quick_config(kind: str, **changes):
    return generator_config(kind, **{**QUICK, **changes})


def one_epoch(table, classes, kind: str) -> Synthesizer:
    return Synthesizer.fit(
        table,
        classes,
        class_names=["legit", "fraud"],
        categorical=["mode"],
        kind=kind,
        config=quick_config(kind, epochs=1),
    )


@pytest.fixture(scope="module")
def planted():
    """Two well-separated classes (20% fraud) and a category that follows the class."""
    rng = np.random.default_rng(5)
    rows = 2000
    classes = (rng.random(rows) < 0.2).astype(int)
    centre = np.where(classes == 1, 2.0, -2.0)
    table = pd.DataFrame(
        {
            "x": np.round(rng.normal(centre, 1.0), 3),
            "y": np.round(rng.normal(-centre, 1.0), 3),
            "mode": np.where(
                classes == 1, rng.choice(["online", "chip"], rows, p=[0.9, 0.1]), "chip"
            ),
        }
    )
    return table, classes


@pytest.fixture(scope="module")
def fitted(planted):
    table, classes = planted
    return {
        kind: Synthesizer.fit(
            table,
            classes,
            class_names=["legit", "fraud"],
            categorical=["mode"],
            kind=kind,
            config=quick_config(kind, epochs=30)
            if kind == "cvae"
            else quick_config(kind, epochs=30, learning_rate=1e-3),
        )
        for kind in GENERATORS
    }


@pytest.mark.parametrize("kind", list(GENERATORS))
def test_shapes_and_class_counts(fitted, kind):
    table, classes = fitted[kind].sample(1000, shares={1: 0.25}, seed=3)
    assert list(table.columns) == ["x", "y", "mode"]
    assert len(table) == len(classes) == 1000
    assert np.bincount(classes, minlength=2).tolist() == [750, 250]
    assert set(table["mode"]) <= {"online", "chip"}


@pytest.mark.parametrize("kind", list(GENERATORS))
def test_rows_look_like_the_class_asked_for(planted, fitted, kind):
    real, real_classes = planted
    judge = LogisticRegression().fit(real[["x", "y"]], real_classes)
    table, classes = fitted[kind].sample(4000, shares={1: 0.3}, seed=4)
    judged_fraud = judge.predict(table[["x", "y"]])
    # the share a model trained on real rows calls fraud is the share asked for
    assert judged_fraud.mean() == pytest.approx(0.3, abs=0.01)
    assert (judged_fraud == classes).mean() > 0.95


@pytest.mark.parametrize("kind", ["cvae", "kernel"])
def test_the_category_follows_its_class(fitted, kind):
    table, classes = fitted[kind].sample(4000, shares={1: 0.5}, seed=6)
    assert (table["mode"][classes == 0] == "chip").mean() > 0.97
    assert (table["mode"][classes == 1] == "online").mean() == pytest.approx(0.9, abs=0.06)


@pytest.mark.parametrize("kind", list(GENERATORS))
def test_seeded_determinism(planted, fitted, kind):
    table, classes = planted
    first = fitted[kind].sample(500, shares={1: 0.1}, seed=9)
    again = fitted[kind].sample(500, shares={1: 0.1}, seed=9)
    other = fitted[kind].sample(500, shares={1: 0.1}, seed=10)
    pd.testing.assert_frame_equal(first[0], again[0])
    assert not first[0].equals(other[0])
    refitted, refitted_again = (one_epoch(table, classes, kind) for _ in range(2))
    pd.testing.assert_frame_equal(
        refitted.sample(200, shares={1: 0.5}, seed=1)[0],
        refitted_again.sample(200, shares={1: 0.5}, seed=1)[0],
    )


@pytest.mark.parametrize("kind", list(GENERATORS))
def test_state_round_trip(fitted, kind):
    synthesizer = fitted[kind]
    loaded = Synthesizer.from_state(synthesizer.to_state())
    assert loaded.kind == kind
    pd.testing.assert_frame_equal(
        loaded.sample(300, shares={1: 0.2}, seed=2)[0],
        synthesizer.sample(300, shares={1: 0.2}, seed=2)[0],
    )


class CopyingGenerator(ConditionalGenerator):
    """Hands back its training rows: what a generator that memorised its data does."""

    name = "copy"

    def _build(self):
        import torch

        return {"anchor": torch.nn.Linear(1, 1)}

    def _optimizers(self):
        return []

    def _step(self, rows, condition, optimizers, generator):
        self.rows = rows

    def _generate(self, condition, generator):
        return self.rows[: len(condition)].repeat(1 + len(condition) // len(self.rows), 1)[
            : len(condition)
        ]


def test_a_generator_that_copies_its_data_is_refused(planted, fitted):
    table, classes = planted
    copying = one_epoch(table, classes, "cvae")
    model = CopyingGenerator(copying.encoder.layout(), 2, quick_config("cvae", epochs=1))
    model.fit(copying.encoder.encode(table), classes)
    copying.model = model
    with pytest.raises(SynthesisError, match="copied a training row"):
        copying.sample(100, shares={1: 0.2}, seed=0, max_rounds=3)


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ({1: 1.5}, "must lie in 0..1"),
        ({3: 0.1}, "unknown class 3"),
    ],
)
def test_impossible_shares_are_refused(fitted, shares, message):
    with pytest.raises(SynthesisError, match=message):
        fitted["cvae"].sample(10, shares=shares, seed=0)


def test_unknown_generator_and_bad_classes_are_refused(planted):
    table, classes = planted
    with pytest.raises(SynthesisError, match="unknown generator 'vqgan'"):
        Synthesizer.fit(table, classes, class_names=["legit", "fraud"], kind="vqgan")
    with pytest.raises(SynthesisError, match="unknown generator 'vqgan'"):
        generator_config("vqgan", epochs=3)
    with pytest.raises(SynthesisError, match=r"classes must lie in 0\.\.1"):
        Synthesizer.fit(table, classes + 1, class_names=["legit", "fraud"], kind="cvae")


def test_classes_not_named_share_the_rest_in_their_real_proportions(planted):
    table, classes = planted
    three = np.where(classes == 1, 2, np.where(np.arange(len(classes)) % 4 == 0, 1, 0))
    synthesizer = Synthesizer.fit(
        table,
        three,
        class_names=["legit", "dispute", "fraud"],
        categorical=["mode"],
        kind="cvae",
        config=quick_config("cvae", epochs=1),
    )
    counts = synthesizer.class_counts(1000, {2: 0.1})
    legit, dispute = np.bincount(three, minlength=3)[:2]
    assert counts.sum() == 1000 and counts[2] == 100
    assert counts[1] == pytest.approx(900 * dispute / (legit + dispute), abs=1)
    with pytest.raises(SynthesisError, match="add up to more than 1"):
        synthesizer.class_counts(10, {1: 0.6, 2: 0.6})
