"""1.2d over training: G on one fixed noise draw at chosen steps, and D judged on both of G's modes.

The handout's history mixes two generators. D's accuracy is measured on fakes from
`G.predict` (G in inference mode: BatchNorm with its moving averages), while G's
"accuracy" (how often it fools D) is measured on fakes from G in training mode (batch
statistics). A probe here shows the same D both kinds of fakes from the same z, so the two
numbers can be read side by side: D may reject the one and be fooled by the other.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments.gan.models import GAN, sample_noise

# Steps of the handout's 5000 at which we keep G's samples: 0, 100, 500, 1000, 2500, 5000;
# a profile with fewer steps keeps the same fractions of its own.
SNAPSHOT_FRACTIONS = (0.0, 0.02, 0.1, 0.2, 0.5, 1.0)
SNAPSHOT_SAMPLES = 10     # one fixed z per column of the figure
PROBES = 25               # probes of D against both modes of G, evenly over training
PROBE_N = 256             # real images and z per probe: a rate to about ±3 points
PROBE_COLUMNS = ("step", "d_on_real", "fooled_by_inference", "fooled_by_training")


def snapshot_steps(steps: int) -> list[int]:
    return sorted({int(round(f * steps)) for f in SNAPSHOT_FRACTIONS})


def probe_steps(steps: int) -> list[int]:
    """PROBES evenly spaced probes (fewer on a short run: one per 4 steps at most, a probe costs ~ a step)."""
    n = min(PROBES, max(2, steps // 4))
    return sorted({int(round(steps * i / n)) for i in range(n + 1)})


def share_called_real(p_real: Any) -> float:
    """Keras 2's accuracy at 0.5: the share D calls real."""
    return float(np.mean(np.asarray(p_real) > 0.5))


def stateless(model: Any, x: Any, training: bool) -> Any:
    """model(x) without moving any of its state: a training-mode call would otherwise update
    BatchNorm's moving averages and the dropout seeds, and so change the training it watches."""
    out, _ = model.stateless_call(model.trainable_variables, model.non_trainable_variables, x, training=training)
    return out


@dataclass
class TrainingWatch:
    """What 1.2d looks at while G trains: samples on fixed z, and probes of D against G's two modes."""

    gan: GAN
    total_steps: int
    z_fixed: np.ndarray               # SNAPSHOT_SAMPLES z, the same at every snapshot
    real: np.ndarray                  # PROBE_N real images
    z_probe: np.ndarray               # PROBE_N z, the same at every probe
    grids: dict[int, np.ndarray] = field(default_factory=dict)
    probes: list[tuple[int, float, float, float]] = field(default_factory=list)

    @classmethod
    def of(cls, gan: GAN, x_train: np.ndarray, steps: int, noise: str, noise_std: float, seed: int) -> "TrainingWatch":
        rng = np.random.default_rng(seed)
        real = x_train[rng.choice(len(x_train), size=min(PROBE_N, len(x_train)), replace=False)]
        return cls(gan, steps, sample_noise(noise, SNAPSHOT_SAMPLES, gan.noise_dim, seed, noise_std), real,
                   sample_noise(noise, len(real), gan.noise_dim, seed + 1, noise_std))

    def steps(self) -> set[int]:
        return set(snapshot_steps(self.total_steps)) | set(probe_steps(self.total_steps))

    def __call__(self, step: int) -> None:
        g, d = self.gan.generator, self.gan.discriminator
        if step in snapshot_steps(self.total_steps) or step == self.total_steps:
            self.grids[step] = np.asarray(g(self.z_fixed, training=False))
        # D in training mode (dropout on), as both of the handout's train_on_batch calls run it.
        fake_inference = g(self.z_probe, training=False)                # what D trains on: G.predict
        fake_training = stateless(g, self.z_probe, training=True)       # what G optimises
        self.probes.append((step, share_called_real(stateless(d, self.real, True)),
                            share_called_real(stateless(d, fake_inference, True)),
                            share_called_real(stateless(d, fake_training, True))))

    def probe_array(self) -> np.ndarray:
        return np.asarray(self.probes, dtype=np.float64).reshape(-1, len(PROBE_COLUMNS))

    def grid_steps(self) -> list[int]:
        return sorted(self.grids)


def mode_gap(probes: np.ndarray, fraction: float = 0.2) -> dict[str, float]:
    """How often D is fooled by each mode of G: means over the last `fraction` of the probes,
    and over the opening (the probes after step 0 within the first `fraction` of the steps)."""
    k = max(1, int(round(len(probes) * fraction)))
    tail = probes[-k:]
    last_step = probes[-1, 0] if len(probes) else 0
    head = probes[(probes[:, 0] > 0) & (probes[:, 0] <= fraction * last_step)]
    head = head if len(head) else probes[:1]
    return {"probe_d_on_real": float(tail[:, 1].mean()),
            "probe_fooled_by_inference": float(tail[:, 2].mean()),
            "probe_fooled_by_training": float(tail[:, 3].mean()),
            "probe_early_fooled_by_inference": float(head[:, 2].mean()),
            "probe_early_fooled_by_training": float(head[:, 3].mean())}


def early_phase(d_loss: np.ndarray, d_acc: np.ndarray, fraction: float = 0.2) -> dict[str, float]:
    """The opening of the game: how low D's loss went and how long D was perfect."""
    k = max(1, int(round(len(d_loss) * fraction)))
    head_loss, head_acc = d_loss[:k], d_acc[:k]
    return {"early_d_loss_min": float(head_loss.min()), "early_d_loss_min_step": int(head_loss.argmin()) + 1,
            "early_d_perfect_frac": float(np.mean(head_acc >= 1.0)), "early_steps": k}
