"""Pseudo-labels: per-class thresholds and caps, lower weight, never on human-labeled rows."""

import numpy as np

from modeling.pseudo import PseudoLabelConfig, pseudo_labels_select


def test_thresholds_caps_and_human_labels():
    fraud = np.array([0.0001, 0.0002, 0.0005, 0.3, 0.9991, 0.9999, 0.9995, 0.5])
    proba = np.column_stack([1 - fraud, fraud])
    human = np.zeros(len(fraud), bool)
    human[0] = True  # the surest legit row has a human label: it gets no pseudo-label
    config = PseudoLabelConfig(thresholds={0: 0.999, 1: 0.999}, caps={0: 5, 1: 2}, weight=0.25)
    pseudo = pseudo_labels_select(proba, human_labeled=human, config=config)
    assert pseudo.indices.tolist() == [1, 2, 5, 6]
    assert pseudo.classes.tolist() == [0, 0, 1, 1]
    assert np.all(pseudo.probabilities >= 0.999)
    assert pseudo.weight == 0.25


def test_caps_keep_the_most_confident():
    fraud = np.linspace(0, 0.0009, 100)
    proba = np.column_stack([1 - fraud, fraud])
    pseudo = pseudo_labels_select(
        proba,
        human_labeled=np.zeros(100, bool),
        config=PseudoLabelConfig(thresholds={0: 0.999}, caps={0: 10}),
    )
    assert pseudo.indices.tolist() == list(range(10))
