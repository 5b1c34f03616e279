"""Several SGANs trained at once, as one batched network over a leading member dimension.

Each layer of the E discriminators (and of the E generators) is one stacked weight of shape
(E, in, out), applied to (E, batch, in) rows by one batched matrix product, so a step costs E times
the arithmetic of one SGAN in the same number of kernel launches: on a GPU, where one small SGAN
leaves the device idle between launches, E members should train in about the time of one (the
design's premise; no GPU was lent to measure it: benchmarks/sgan_ensemble.py does). On a CPU a
step of 8 costs 6.9 times one's. The members' losses are summed; each member's gradient is its
own loss's, and Adam's update is elementwise, so the members train as E separate SGANs would:
each from its own seed, on its own class-balanced batches, its own fold of the labels held out
and its own best checkpoint. The ensemble's class probability is the members' mean: in the
label-efficiency loop on the reference file it raised the area under the learning curve from
0.640±0.019 to 0.678±0.006.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import average_precision_score

from modeling.device import resolve_device, set_seed
from modeling.sgan import (
    SGANConfig,
    adam,
    descend,
    may_validate,
    real_logit,
    too_few_to_validate,
)
from modeling.sgan_stacked import MEMBER_SEED_STEP, StackedDiscriminator, stacked_from_members

# Members by device when not set: on CUDA a step of 8 launches the kernels one SGAN's does (the
# layers are small; the GPU's time goes to launches); on a CPU each member costs about its own
# arithmetic, so the CPU default stays one SGAN, as fast as before.
MEMBERS_BY_DEVICE = {"cuda": 8, "cpu": 1}


# Training stops once this share of the members has not improved for `patience` evaluations
# (the others keep their best checkpoint so far). On the reference file (300 and 100 labels, 3
# seeds each, 8 members), waiting for every member took 753 steps on average, half of them 327,
# and the ensemble's test AP was the same (0.668 against 0.669; stopping at the first member
# stalled, 247 steps, 0.670, but then one early member decides for all).
STOP_QUORUM = 0.5


def members_for_device(device_type: str) -> int:
    return MEMBERS_BY_DEVICE.get(device_type, 1)


@dataclass
class SGANEnsemble:
    """Trained members behind the one SGAN's interface (predict_proba, embed)."""

    discriminator: StackedDiscriminator
    num_classes: int
    config: SGANConfig
    history: list[dict] = field(default_factory=list)
    best_steps: list[int] = field(default_factory=list)  # each member's checkpoint
    validation: np.ndarray | None = None  # (E, labeled rows): each member's held-out rows

    @property
    def input_size(self) -> int:
        return self.discriminator.body[0].in_features

    @property
    def best_step(self) -> int:
        return max(self.best_steps, default=0)

    def record(self) -> dict:
        return {
            "members": self.config.members,
            "best_step": self.best_step,
            "best_steps": list(self.best_steps),
            "history": self.history,
        }

    @torch.no_grad()
    def _forward_in_chunks(self, x: np.ndarray, batch_size: int):
        """Every member's (logits, features) per chunk of rows, each (E, chunk, ...)."""
        self.discriminator.eval()
        device = self.discriminator.body[0].weight.device
        members = self.discriminator.members
        rows = max(1, batch_size // members)  # what one chunk holds is about one SGAN's
        for start in range(0, len(x), rows):
            chunk = torch.as_tensor(x[start : start + rows], dtype=torch.float32, device=device)
            yield self.discriminator(chunk.expand(members, -1, -1))

    def member_proba(self, x: np.ndarray, *, batch_size: int = 65_536) -> np.ndarray:
        """(E, n, K): each member's class probabilities."""
        parts = [
            torch.softmax(logits[..., :-1], dim=-1).cpu().numpy()
            for logits, _ in self._forward_in_chunks(x, batch_size)
        ]
        if not parts:
            return np.zeros((self.discriminator.members, 0, self.num_classes), np.float32)
        return np.concatenate(parts, axis=1)

    def predict_proba(self, x: np.ndarray, *, batch_size: int = 65_536) -> np.ndarray:
        """(n, K): the members' mean class probabilities."""
        return self.member_proba(x, batch_size=batch_size).mean(axis=0)

    def embed(self, x: np.ndarray, *, batch_size: int = 65_536) -> np.ndarray:
        """The members' last hidden layers side by side, scaled so that a squared distance is
        the members' mean squared distance."""
        members = self.discriminator.members
        parts = [
            (features.permute(1, 0, 2).reshape(features.shape[1], -1) / members**0.5).cpu().numpy()
            for _, features in self._forward_in_chunks(x, batch_size)
        ]
        if not parts:
            return np.zeros((0, members * self.discriminator.feature_size), np.float32)
        return np.concatenate(parts)


class _BalancedDraws:
    """Each member's class-balanced batch of labeled rows, drawn on the device: a class
    uniformly among those in the member's training rows, then a row of that class by weight."""

    def __init__(self, y: torch.Tensor, weights: torch.Tensor, train: torch.Tensor, classes):
        per_class = [train & (y == c) for c in classes]  # each (E, n)
        self.present = torch.stack([mask.any(1) for mask in per_class], 1).float()  # (E, C)
        self.row_weights = [
            torch.where(mask.any(1, keepdim=True), mask * weights, torch.ones_like(weights))
            for mask in per_class
        ]

    def draw(self, size: int) -> torch.Tensor:
        slot_class = torch.multinomial(self.present, size, replacement=True)  # (E, size)
        picks = torch.zeros_like(slot_class)
        for position, weights in enumerate(self.row_weights):
            rows = torch.multinomial(weights, size, replacement=True)
            picks = torch.where(slot_class == position, rows, picks)
        return picks


def _validation_masks(y, config, never_validate) -> np.ndarray | None:
    """(E, n): the members' held-out rows, as folds. Each class's rows are shuffled and cut
    into round(1 / validation_share) folds; member e holds out fold e of them (a fresh shuffle
    for each further round of members), so between them the members learn from every label.
    None with too few positives to judge a checkpoint, as for one SGAN."""
    if too_few_to_validate(y, config, never_validate):
        return None
    eligible = may_validate(y, never_validate)
    folds = max(2, round(1 / config.validation_share))
    masks = np.zeros((config.members, len(y)), bool)
    for member in range(config.members):
        round_, fold = divmod(member, folds)
        rng = np.random.default_rng(config.seed + round_ * MEMBER_SEED_STEP)
        for label in np.unique(y[eligible]):
            rows = rng.permutation(np.flatnonzero((y == label) & eligible))
            masks[member, np.array_split(rows, folds)[fold]] = True
    return masks


def sgan_ensemble_train(
    x_labeled: np.ndarray,
    y_labeled: np.ndarray,
    x_unlabeled: np.ndarray,
    *,
    num_classes: int,
    config: SGANConfig,
    weights: np.ndarray | None = None,
    never_validate: np.ndarray | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> SGANEnsemble:
    """modeling.sgan.sgan_train for `config.members` SGANs at once (same losses, same
    arguments); each member keeps its best checkpoint on its own validation rows, and training
    stops once STOP_QUORUM of the members have not improved for `config.patience` evaluations."""
    set_seed(config.seed)
    device = resolve_device(config.device)
    members, batch = config.members, config.batch_size
    y_np = np.asarray(y_labeled, np.int64)
    weights = np.ones(len(y_np)) if weights is None else np.asarray(weights, np.float64)
    validation = _validation_masks(y_np, config, never_validate)
    train_np = ~validation if validation is not None else np.ones((members, len(y_np)), bool)

    x_all = torch.as_tensor(x_labeled, dtype=torch.float32, device=device)
    y_all = torch.as_tensor(y_np, device=device)
    w_all = torch.as_tensor(weights, dtype=torch.float32, device=device)
    draws = _BalancedDraws(
        y_all, w_all, torch.as_tensor(train_np, device=device), np.unique(y_np).tolist()
    )
    has_unlabeled = len(x_unlabeled) > 0
    # As in sgan_train: with nothing unlabeled, the labeled rows are the real rows (each
    # member's training rows would differ; all of them serve, none as background).
    pool = torch.as_tensor(
        x_unlabeled if has_unlabeled else x_labeled, dtype=torch.float32, device=device
    )
    background_weight = config.unlabeled_background_weight if has_unlabeled else 0.0

    discriminator, generator = stacked_from_members(x_labeled.shape[1], num_classes, config)
    discriminator, generator = discriminator.to(device), generator.to(device)
    d_optimizer = adam(discriminator, config.discriminator_lr)
    g_optimizer = adam(generator, config.generator_lr)
    model = SGANEnsemble(
        discriminator, num_classes, config, best_steps=[0] * members, validation=validation
    )
    best_ap = np.full(members, -1.0)
    stale = np.zeros(members, np.int64)
    best_state = {k: v.clone() for k, v in discriminator.state_dict().items()}

    def cross_entropy(logits, targets):  # (E, B, K+1), (E, B) -> (E, B)
        flat = logits[..., :-1].reshape(-1, num_classes)
        return F.cross_entropy(flat, targets.reshape(-1), reduction="none").view(members, -1)

    for step in range(1, config.steps + 1):
        discriminator.train()
        generator.train()
        labeled_idx = draws.draw(batch)
        unlabeled_idx = torch.randint(len(pool), (members, batch), device=device)
        noise = torch.randn(members, batch, config.noise_size, device=device)

        logits_labeled, _ = discriminator(x_all[labeled_idx])
        supervised = cross_entropy(logits_labeled, y_all[labeled_idx]) * w_all[labeled_idx]
        supervised = supervised.mean(1)
        logits_unlabeled, _ = discriminator(pool[unlabeled_idx])
        if background_weight:
            background = torch.full_like(unlabeled_idx, config.background_class)
            supervised = supervised + background_weight * cross_entropy(
                logits_unlabeled, background
            ).mean(1)
        logits_generated, _ = discriminator(generator(noise).detach())
        unsupervised = F.softplus(-real_logit(logits_unlabeled)).mean(1) + F.softplus(
            real_logit(logits_generated)
        ).mean(1)
        d_loss = (supervised + config.unsupervised_weight * unsupervised).sum()
        descend(d_optimizer, d_loss)

        _, real_features = discriminator(pool[unlabeled_idx])
        _, fake_features = discriminator(generator(torch.randn_like(noise)))
        g_loss = (fake_features.mean(1) - real_features.detach().mean(1)).pow(2).mean(1).sum()
        descend(g_optimizer, g_loss)

        if on_progress is not None and step % config.evaluate_every == 0:
            on_progress(step / config.steps)
        if validation is not None and (step % config.evaluate_every == 0 or step == config.steps):
            scores = model.member_proba(x_labeled)[..., config.positive_class]
            truth = y_np == config.positive_class
            aps = np.array(
                [
                    average_precision_score(truth[validation[e]], scores[e][validation[e]])
                    for e in range(members)
                ]
            )
            model.history.append(
                {
                    "step": step,
                    "validation_ap": float(aps.mean()),
                    "member_validation_ap": [round(float(ap), 4) for ap in aps],
                    "supervised_loss": supervised.mean().item(),
                    "unsupervised_loss": unsupervised.mean().item(),
                    "generator_loss": g_loss.item() / members,
                }
            )
            improved = aps > best_ap + 1e-6
            stale = np.where(improved, 0, stale + 1)
            best_ap = np.where(improved, aps, best_ap)
            if improved.any():
                chosen = torch.as_tensor(np.flatnonzero(improved), device=device)
                for name, value in discriminator.state_dict().items():
                    best_state[name][chosen] = value[chosen]
                for e in np.flatnonzero(improved):
                    model.best_steps[e] = step
            if (stale >= config.patience).mean() >= STOP_QUORUM:
                break
    if validation is not None:
        discriminator.load_state_dict(best_state)
    else:
        model.best_steps = [step] * members
    discriminator.eval()
    return model
