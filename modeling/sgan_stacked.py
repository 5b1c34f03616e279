"""The ensemble's networks: E SGAN discriminators and generators as stacked layers.

Each layer is one (E, in, out) weight applied to (E, batch, in) rows by one batched matrix
product (`torch.baddbmm`); batch norm normalises each member's batch on its own. Member e starts
where the one SGAN (modeling/sgan.py) of seed `seed + e * MEMBER_SEED_STEP` would.
"""

from __future__ import annotations

import torch
from torch import nn

from modeling.device import modules_seeded
from modeling.sgan import Discriminator, Generator, SGANConfig, weights_init

MEMBER_SEED_STEP = 7919  # member e starts from seed config.seed + e * this


class StackedLinear(nn.Module):
    """E linear layers at once: (E, B, in) -> (E, B, out)."""

    def __init__(self, members: int, in_features: int, out_features: int):
        super().__init__()
        self.in_features = in_features
        self.weight = nn.Parameter(torch.empty(members, in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(members, 1, out_features))

    @torch.no_grad()
    def copy_members(self, layers: list[nn.Linear]) -> None:
        self.weight.copy_(torch.stack([layer.weight.T for layer in layers]))
        self.bias.copy_(torch.stack([layer.bias for layer in layers]).unsqueeze(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class StackedBatchNorm(nn.Module):
    """Batch normalisation of each member's batch on its own: BatchNorm1d per member."""

    def __init__(self, members: int, features: int, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.weight = nn.Parameter(torch.ones(members, 1, features))
        self.bias = nn.Parameter(torch.zeros(members, 1, features))
        self.register_buffer("running_mean", torch.zeros(members, 1, features))
        self.register_buffer("running_var", torch.ones(members, 1, features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            mean = x.mean(1, keepdim=True)
            var = x.var(1, unbiased=False, keepdim=True)
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(x.var(1, unbiased=True, keepdim=True), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias


class StackedDiscriminator(nn.Module):
    """E discriminators of modeling.sgan's shape: K class logits + 'generated', and features."""

    def __init__(self, members: int, input_size: int, num_classes: int, config: SGANConfig):
        super().__init__()
        self.members = members
        self.feature_size = config.hidden // 2
        self.body = nn.Sequential(
            StackedLinear(members, input_size, config.hidden),
            nn.LeakyReLU(0.2),
            nn.Dropout(config.dropout),
            StackedLinear(members, config.hidden, self.feature_size),
            nn.LeakyReLU(0.2),
        )
        self.head = nn.Sequential(
            nn.Dropout(config.dropout), StackedLinear(members, self.feature_size, num_classes + 1)
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return self.head(features), features


class StackedGenerator(nn.Module):
    def __init__(self, members: int, output_size: int, config: SGANConfig):
        super().__init__()
        self.net = nn.Sequential(
            StackedLinear(members, config.noise_size, config.hidden),
            StackedBatchNorm(members, config.hidden),
            nn.ReLU(),
            StackedLinear(members, config.hidden, config.hidden),
            StackedBatchNorm(members, config.hidden),
            nn.ReLU(),
            StackedLinear(members, config.hidden, output_size),
        )

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.net(noise)


def _linears(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if isinstance(m, nn.Linear | StackedLinear)]


def stacked_from_members(
    input_size: int, num_classes: int, config: SGANConfig
) -> tuple[StackedDiscriminator, StackedGenerator]:
    """The ensemble's networks, member e starting where one SGAN seeded config.seed + e *
    MEMBER_SEED_STEP would (modeling.sgan's layers and initialisation, stacked)."""
    members = config.members
    discriminator = StackedDiscriminator(members, input_size, num_classes, config)
    generator = StackedGenerator(members, input_size, config)
    singles = [
        modules_seeded(
            config.seed + e * MEMBER_SEED_STEP,
            lambda: (
                Discriminator(input_size, num_classes, config).apply(weights_init),
                Generator(input_size, config),
            ),
        )
        for e in range(members)
    ]
    for stacked, part in ((discriminator, 0), (generator, 1)):
        for position, layer in enumerate(_linears(stacked)):
            layer.copy_members([_linears(single[part])[position] for single in singles])
    return discriminator, generator
