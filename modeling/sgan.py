"""Semi-supervised GAN: a discriminator with K+1 outputs (K classes + "generated") and a generator.

As in Salimans et al. (2016), "Improved techniques for training GANs": the discriminator's
K class logits, together with the "generated" logit, give both the class (softmax over the K)
and real-vs-generated (the "generated" share of the K+1 softmax), so unlabeled rows teach the
same layers that classify. The generator is trained by feature matching. The method is known to
peak and then collapse; training keeps the checkpoint with the best validation average precision
and stops once it has not improved for a while.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import average_precision_score
from torch import nn

from modeling.device import resolve_device, set_seed


@dataclass
class SGANConfig:
    hidden: int = 128
    noise_size: int = 32
    dropout: float = 0.2
    steps: int = 800
    batch_size: int = 256
    # SGANs trained at once as one batched network (modeling/sgan_ensemble.py), their mean
    # probability the member; 1: the one SGAN below (the CPU's default: see MEMBERS_BY_DEVICE).
    members: int = 1
    discriminator_lr: float = 1e-3
    generator_lr: float = 1e-3
    unsupervised_weight: float = 1.0
    # Positive-unlabeled learning, as in the weak classifier: unlabeled rows also count as the
    # background class (legit) at this weight; 0 turns it off.
    unlabeled_background_weight: float = 0.3
    background_class: int = 0
    evaluate_every: int = 40
    patience: int = 5  # evaluations without improvement before stopping
    validation_share: float = 0.3
    min_validation_positives: int = 3
    # And of the other classes together: with one or two legitimate labels (a cold start that
    # found frauds almost only) every checkpoint ranks the held-out frauds above them, the
    # first one is kept, and the SGAN returned had trained 40 steps. On the reference file's
    # first 50 labels (43-44 frauds) it scored test AP 0.03-0.68 by seed, and the loop's first
    # version 0.075-0.684 (mean 0.423); trained its full steps instead, 0.473-0.679 (0.622).
    min_validation_negatives: int = 3
    positive_class: int = 1
    seed: int = 0
    device: str = "auto"


class Discriminator(nn.Module):
    def __init__(self, input_size: int, num_classes: int, config: SGANConfig):
        super().__init__()
        self.feature_size = config.hidden // 2  # what feature matching and `embed` see
        self.body = nn.Sequential(
            nn.Linear(input_size, config.hidden),
            nn.LeakyReLU(0.2),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, self.feature_size),
            nn.LeakyReLU(0.2),
        )
        self.head = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(self.feature_size, num_classes + 1)
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits over K classes + 'generated', the features feature matching compares)."""
        features = self.body(x)
        return self.head(features), features


class Generator(nn.Module):
    def __init__(self, output_size: int, config: SGANConfig):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(config.noise_size, config.hidden),
            nn.BatchNorm1d(config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, config.hidden),
            nn.BatchNorm1d(config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, output_size),
        )

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.net(noise)


def real_logit(logits: torch.Tensor) -> torch.Tensor:
    """log p(real) - log p(generated), from the same K+1 logits the classes come from."""
    return torch.logsumexp(logits[..., :-1], dim=-1) - logits[..., -1]


def adam(module: nn.Module, lr: float) -> torch.optim.Adam:
    return torch.optim.Adam(module.parameters(), lr=lr, betas=(0.5, 0.999))


def descend(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One optimizer step on `loss`."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def weights_init(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.kaiming_normal_(module.weight, a=0.2, nonlinearity="leaky_relu")
        nn.init.zeros_(module.bias)


@dataclass
class SGAN:
    discriminator: Discriminator
    generator: Generator
    num_classes: int
    config: SGANConfig
    history: list[dict] = field(default_factory=list)  # step, validation AP, losses
    best_step: int = 0
    validation_indices: np.ndarray | None = None  # labeled rows held out to pick the checkpoint

    @property
    def input_size(self) -> int:
        return self.discriminator.body[0].in_features

    def record(self) -> dict:
        """What a version keeps of its training: the checkpoint chosen and the validation AP."""
        return {"members": 1, "best_step": self.best_step, "history": self.history}

    @torch.no_grad()
    def _forward_in_chunks(self, x: np.ndarray, batch_size: int):
        """(logits, features) per chunk of rows, in evaluation mode."""
        self.discriminator.eval()
        device = next(self.discriminator.parameters()).device
        for start in range(0, len(x), batch_size):
            chunk = torch.as_tensor(
                x[start : start + batch_size], dtype=torch.float32, device=device
            )
            yield self.discriminator(chunk)

    def predict_proba(self, x: np.ndarray, *, batch_size: int = 65_536) -> np.ndarray:
        """(n, K) class probabilities of real transactions (the 'generated' output is set aside)."""
        out = [
            torch.softmax(logits[:, :-1], dim=1).cpu().numpy()
            for logits, _ in self._forward_in_chunks(x, batch_size)
        ]
        return np.concatenate(out) if out else np.zeros((0, self.num_classes))

    def embed(self, x: np.ndarray, *, batch_size: int = 65_536) -> np.ndarray:
        """The discriminator's last hidden layer: a learned space for diversity in batches."""
        parts = [features.cpu().numpy() for _, features in self._forward_in_chunks(x, batch_size)]
        if not parts:
            return np.zeros((0, self.discriminator.feature_size), np.float32)
        return np.concatenate(parts)


def may_validate(y: np.ndarray, never_validate: np.ndarray | None) -> np.ndarray:
    """The labeled rows that may be held out to judge a checkpoint (not `never_validate`)."""
    return np.ones(len(y), bool) if never_validate is None else ~never_validate


def too_few_to_validate(
    y: np.ndarray, config: SGANConfig, never_validate: np.ndarray | None = None
) -> bool:
    """Too few positives, or too few rows of the other classes (outside `never_validate`), to
    hold some out and judge a checkpoint."""
    eligible = may_validate(y, never_validate)
    positives = int(np.sum((y == config.positive_class) & eligible))
    negatives = int(np.sum(eligible)) - positives
    return (
        positives * config.validation_share < config.min_validation_positives
        or negatives * config.validation_share < config.min_validation_negatives
    )


def _validation_split(
    y: np.ndarray,
    config: SGANConfig,
    rng: np.random.Generator,
    never_validate: np.ndarray | None = None,
):
    """Stratified split of the labels (never the rows in `never_validate`); None when too few
    of either side to judge a checkpoint."""
    if too_few_to_validate(y, config, never_validate):
        return None
    eligible = may_validate(y, never_validate)
    validation = []
    for label in np.unique(y[eligible]):
        members = rng.permutation(np.flatnonzero((y == label) & eligible))
        validation.extend(members[: max(1, round(len(members) * config.validation_share))])
    mask = np.zeros(len(y), bool)
    mask[validation] = True
    return mask


def _balanced_batch(
    y: np.ndarray, weights: np.ndarray, size: int, rng: np.random.Generator
) -> np.ndarray:
    """Indices where every class is equally likely: the loss sees as many frauds as legit rows."""
    classes = np.unique(y)
    per_class = rng.choice(classes, size)
    picks = np.empty(size, dtype=np.int64)
    for label in classes:
        slots = np.flatnonzero(per_class == label)
        members = np.flatnonzero(y == label)
        probability = weights[members] / weights[members].sum()
        picks[slots] = rng.choice(members, len(slots), p=probability)
    return picks


def sgan_train(
    x_labeled: np.ndarray,
    y_labeled: np.ndarray,
    x_unlabeled: np.ndarray,
    *,
    num_classes: int,
    config: SGANConfig | None = None,
    weights: np.ndarray | None = None,
    never_validate: np.ndarray | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> SGAN:
    """Trains on labeled rows (class-balanced), unlabeled rows and generated rows; returns the
    checkpoint with the best validation AP (or the last one when there are too few labels).
    Rows marked in `never_validate` (generated ones) only train. `on_progress` gets the share
    of the step budget done, at every evaluation."""
    config = config or SGANConfig()
    rng = set_seed(config.seed)
    device = resolve_device(config.device)
    input_size = x_labeled.shape[1]
    y_labeled = np.asarray(y_labeled, np.int64)
    weights = np.ones(len(y_labeled)) if weights is None else np.asarray(weights, np.float64)

    validation = _validation_split(y_labeled, config, rng, never_validate)
    train = ~validation if validation is not None else np.ones(len(y_labeled), bool)
    x_train = torch.as_tensor(x_labeled[train], dtype=torch.float32, device=device)
    y_train_np, w_train = y_labeled[train], weights[train]
    y_train = torch.as_tensor(y_train_np, device=device)
    w_train_t = torch.as_tensor(w_train, dtype=torch.float32, device=device)
    # The real rows the unsupervised terms see: the unlabeled pool, or, when every row is
    # labeled, the labeled rows themselves (there is then nothing to count as background).
    has_unlabeled = len(x_unlabeled) > 0
    real_rows = x_unlabeled if has_unlabeled else x_labeled[train]
    pool = torch.as_tensor(real_rows, dtype=torch.float32, device=device)
    background_weight = config.unlabeled_background_weight if has_unlabeled else 0.0

    discriminator = Discriminator(input_size, num_classes, config).to(device)
    generator = Generator(input_size, config).to(device)
    discriminator.apply(weights_init)
    d_optimizer = adam(discriminator, config.discriminator_lr)
    g_optimizer = adam(generator, config.generator_lr)
    model = SGAN(discriminator, generator, num_classes, config)
    model.validation_indices = np.flatnonzero(validation) if validation is not None else None

    best_ap, best_state, stale = -1.0, None, 0
    for step in range(1, config.steps + 1):
        discriminator.train()
        generator.train()
        labeled_idx = torch.as_tensor(
            _balanced_batch(y_train_np, w_train, config.batch_size, rng), device=device
        )
        unlabeled_idx = torch.randint(len(pool), (config.batch_size,), device=device)
        noise = torch.randn(config.batch_size, config.noise_size, device=device)

        logits_labeled, _ = discriminator(x_train[labeled_idx])
        supervised = F.cross_entropy(logits_labeled[:, :-1], y_train[labeled_idx], reduction="none")
        supervised = (supervised * w_train_t[labeled_idx]).mean()
        logits_unlabeled, _ = discriminator(pool[unlabeled_idx])
        if background_weight:
            background = torch.full_like(unlabeled_idx, config.background_class)
            supervised = supervised + background_weight * F.cross_entropy(
                logits_unlabeled[:, :-1], background
            )
        logits_generated, _ = discriminator(generator(noise).detach())
        unsupervised = (
            F.softplus(-real_logit(logits_unlabeled)).mean()
            + F.softplus(real_logit(logits_generated)).mean()
        )
        d_loss = supervised + config.unsupervised_weight * unsupervised
        descend(d_optimizer, d_loss)

        # Feature matching: the generator matches the mean of the discriminator's features.
        _, real_features = discriminator(pool[unlabeled_idx])
        _, fake_features = discriminator(generator(torch.randn_like(noise)))
        g_loss = F.mse_loss(fake_features.mean(0), real_features.detach().mean(0))
        descend(g_optimizer, g_loss)

        if on_progress is not None and step % config.evaluate_every == 0:
            on_progress(step / config.steps)
        if validation is not None and (step % config.evaluate_every == 0 or step == config.steps):
            scores = model.predict_proba(x_labeled[validation])[:, config.positive_class]
            ap = float(
                average_precision_score(y_labeled[validation] == config.positive_class, scores)
            )
            model.history.append(
                {
                    "step": step,
                    "validation_ap": ap,
                    "supervised_loss": supervised.item(),
                    "unsupervised_loss": unsupervised.item(),
                    "generator_loss": g_loss.item(),
                }
            )
            if ap > best_ap + 1e-6:
                best_ap, stale, model.best_step = ap, 0, step
                best_state = copy.deepcopy((discriminator.state_dict(), generator.state_dict()))
            else:
                stale += 1
                if stale >= config.patience:
                    break
    if best_state is not None:
        discriminator.load_state_dict(best_state[0])
        generator.load_state_dict(best_state[1])
    else:
        model.best_step = step
    discriminator.eval()
    generator.eval()
    return model
