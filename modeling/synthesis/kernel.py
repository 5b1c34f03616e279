"""The local kernel generator: a mixture of small Gaussians, one per training row's
neighbourhood. A generated row of class k picks a training row of class k (its parent), takes the
parent with its K nearest neighbours of the same class, and is drawn from the Gaussian with that
group's mean and covariance (the centre plus sum of g_i * (member_i - centre) / sqrt(K), g_i
standard normal). So it lies on the surface the real rows lie on, in the class's own local shape,
and the mixture keeps the columns' spread (a kernel placed on each row would widen it). Its
distance to the closest real row is about the distance between real neighbours: no closer to the
real rows than they are to each other. A row closer than the real rows' `privacy_quantile` of
closest-neighbour distances to its parent, the parent's neighbours or their neighbours is drawn
again, from another parent. That check is local: the report measures against every real row.

Categorical columns keep the parent's category (the Gaussian moves numbers only). The fitted state
holds the encoded rows it learned from: like the data, it stays where the data is kept."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from modeling.device import resolve_device
from modeling.synthesis.base import ProgressCallback, RowGenerator, SynthesisError, column_blocks

DISTANCES_PER_CHUNK = 20_000_000  # query rows x reference rows of one distance block (80 MB)
SAMPLE_CHUNK = 8_192  # rows drawn at once: each measures ~(K + 1) ** 2 real rows around it


@dataclass
class KernelConfig:
    neighbours: int = 10  # K: the parent's same-class neighbours, its neighbourhood
    spread: float = 1.0  # the Gaussian's scale; 1 is the neighbourhood's own covariance
    # Rows closer than this quantile of the real rows' closest-neighbour distances to the
    # parent's neighbourhood are drawn again (the report's privacy test uses the 5th percentile).
    privacy_quantile: float = 0.05
    max_rounds: int = 50  # redraws before the rows still too close are an error
    max_rows: int = 250_000
    seed: int = 0
    device: str = "auto"


class LocalKernel(RowGenerator):
    name = "kernel"
    config_class = KernelConfig

    def __init__(self, layout: list[tuple[str, int]], num_classes: int, config: KernelConfig):
        super().__init__(layout, num_classes, config)
        numeric_positions, _ = column_blocks(self.layout)
        self.numeric_mask = np.zeros(self.width, np.float32)
        self.numeric_mask[numeric_positions] = 1.0
        self.rows = np.zeros((0, self.width), np.float32)
        self.classes = np.zeros(0, np.int64)
        self.neighbours = np.zeros((0, 0), np.int64)
        self.fallback = np.zeros(0, np.float32)  # isotropic scale where the scatter is nil
        self.floor = 0.0

    def fit(
        self, matrix: np.ndarray, classes: np.ndarray, *, on_progress: ProgressCallback = None
    ) -> LocalKernel:
        config = self.config
        if config.neighbours < 1 or config.spread <= 0 or not 0 <= config.privacy_quantile < 1:
            raise SynthesisError(
                "the kernel needs at least one neighbour, a positive spread and a privacy "
                "quantile in [0, 1)"
            )
        classes = np.asarray(classes, np.int64)
        if len(matrix) != len(classes):
            raise ValueError(f"{len(matrix)} rows but {len(classes)} classes")
        rng = np.random.default_rng(config.seed)
        if len(matrix) > config.max_rows:
            keep = np.sort(rng.choice(len(matrix), config.max_rows, replace=False))
            matrix, classes = matrix[keep], classes[keep]
        rows = np.ascontiguousarray(matrix, np.float32)
        device = resolve_device(config.device)
        neighbours = np.repeat(np.arange(len(rows))[:, None], config.neighbours, axis=1)
        distances = np.zeros((len(rows), config.neighbours), np.float32)
        fallback = np.zeros(len(rows), np.float32)
        done, total = 0, max(len(rows), 1)
        for k in np.unique(classes):
            members = np.flatnonzero(classes == k)
            count = min(config.neighbours, len(members) - 1)
            if count > 0:
                progress = _part(on_progress, done / total, len(members) / total)
                found, near = _nearest(rows[members], count, device, progress)
                neighbours[members, :count] = members[found]
                distances[members, :count] = near
                distances[members, count:] = near[:, -1:]
            done += len(members)
            fallback[members] = self._fallback(rows[members], distances[members])
        closest = distances[:, 0]
        self.floor = (
            float(np.quantile(closest, config.privacy_quantile)) if len(closest) > 1 else 0.0
        )
        self.rows, self.classes = rows, classes
        self.neighbours, self.fallback = neighbours, fallback
        self.fitted = True
        if on_progress is not None:
            on_progress(1.0)
        return self

    def _fallback(self, rows: np.ndarray, distances: np.ndarray) -> np.ndarray:
        """A row whose neighbours all sit on it (duplicates) has no scatter: it moves by the
        class's typical neighbour distance in every direction instead (or by the class's own
        spread, where every neighbour of every row is a duplicate)."""
        positive = distances[distances > 0]
        if positive.size:
            typical = float(np.median(positive))
        else:
            typical = float(np.sqrt(((rows - rows.mean(axis=0)) ** 2).sum(axis=1).mean()))
        numeric = max(float(self.numeric_mask.sum()), 1.0)
        return np.where(distances[:, -1] > 0, 0.0, typical / np.sqrt(numeric)).astype(np.float32)

    def sample(self, classes: np.ndarray, *, seed: int) -> np.ndarray:
        if not self.fitted:
            raise RuntimeError("the kernel generator is not fitted")
        classes = np.asarray(classes, np.int64)
        rng = np.random.default_rng(seed)
        members = {k: np.flatnonzero(self.classes == k) for k in np.unique(classes)}
        few = [(int(k), len(rows)) for k, rows in members.items() if len(rows) < 2]
        if few:
            k, count = few[0]
            raise SynthesisError(
                f"the kernel learned {count} row(s) of class {k}: new rows of a class are drawn "
                "between its rows, so it needs at least two"
            )
        result = np.empty((len(classes), self.width), np.float32)
        pending = np.arange(len(classes))
        for _ in range(self.config.max_rounds):
            if not len(pending):
                return result
            parents = np.empty(len(pending), np.int64)
            for k, rows in members.items():
                asked = classes[pending] == k
                parents[asked] = rows[rng.integers(0, len(rows), int(asked.sum()))]
            kept = np.zeros(len(pending), bool)
            for start in range(0, len(pending), SAMPLE_CHUNK):
                part = slice(start, start + SAMPLE_CHUNK)
                drawn, kept[part] = self._around(parents[part], rng)
                result[pending[part][kept[part]]] = drawn[kept[part]]
            pending = pending[~kept]
        if len(pending):
            raise SynthesisError(
                f"{len(pending)} rows still lay within {self.floor:.4g} of a real row after "
                f"{self.config.max_rounds} draws: the rows of this table are too close together "
                "to generate new ones at that distance"
            )
        return result

    def _around(self, parents: np.ndarray, rng: np.random.Generator):
        """A row drawn from each parent's neighbourhood Gaussian, and whether it lies far
        enough from the real rows around it."""
        origin = self.rows[parents]
        group = np.concatenate([origin[:, None, :], self.rows[self.neighbours[parents]]], axis=1)
        centre = group.mean(axis=1)
        offsets = group - centre[:, None, :]  # (rows, K + 1, width)
        weights = rng.standard_normal((*offsets.shape[:2], 1)).astype(np.float32)
        spread = self.config.spread / np.sqrt(offsets.shape[1] - 1)
        drawn = centre + spread * (weights * offsets).sum(axis=1)
        drawn += self.fallback[parents, None] * rng.standard_normal(origin.shape).astype(np.float32)
        drawn = np.where(self.numeric_mask > 0, drawn, origin)  # the parent's categories
        # The closest real row may lie past the parent's neighbours: their neighbours are
        # measured too.
        beyond = self.neighbours[self.neighbours[parents]].reshape(len(parents), -1)
        closest = np.minimum(_closest(drawn, group), _closest(drawn, self.rows[beyond]))
        return drawn, closest >= self.floor if self.floor > 0 else closest > 0

    def to_state(self) -> dict:
        return {
            **self._state_header(),
            "rows": self.rows,
            "classes": self.classes,
            "neighbours": self.neighbours.astype(np.int32),
            "fallback": self.fallback,
            "floor": self.floor,
        }

    @classmethod
    def from_state(cls, state: dict, *, device: str = "cpu") -> LocalKernel:
        model = cls._unfitted(state, device)
        model.rows = np.asarray(state["rows"], np.float32)
        model.classes = np.asarray(state["classes"], np.int64)
        model.neighbours = np.asarray(state["neighbours"], np.int64)
        model.fallback = np.asarray(state["fallback"], np.float32)
        model.floor = float(state["floor"])
        if model.rows.shape[1:] != (model.width,) or len(model.neighbours) != len(model.rows):
            raise SynthesisError("the kernel generator's state does not match its layout")
        model.fitted = True
        return model


def _part(on_progress: ProgressCallback, start: float, share: float):
    """A progress callback for one part of the work, which spans `share` from `start`."""

    def progress(fraction: float) -> None:
        if on_progress is not None:
            on_progress(start + fraction * share)

    return progress


def _closest(rows: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Each row's distance to the closest of its own candidates (rows, candidates, width)."""
    return np.sqrt(((candidates - rows[:, None, :]) ** 2).sum(axis=2)).min(axis=1)


@torch.no_grad()
def _nearest(rows: np.ndarray, count: int, device: torch.device, progress):
    """Each row's `count` nearest other rows (positions and distances), closest first."""
    reference = torch.as_tensor(rows, device=device)
    chunk = max(1, DISTANCES_PER_CHUNK // len(rows))
    positions = np.empty((len(rows), count), np.int64)
    distances = np.empty((len(rows), count), np.float32)
    reported = 0.0
    for start in range(0, len(rows), chunk):
        block = torch.cdist(reference[start : start + chunk], reference)
        own = torch.arange(len(block), device=block.device)
        block[own, own + start] = float("inf")
        near, found = block.topk(count, dim=1, largest=False)
        positions[start : start + len(block)] = found.cpu().numpy()
        distances[start : start + len(block)] = near.cpu().numpy()
        done = min(start + chunk, len(rows)) / len(rows)
        if done - reported >= 0.02 or done == 1.0:  # a report each 2% at most
            progress(done)
            reported = done
    return positions, distances
