"""PPO's settings, importable without torch (``autoops train --help`` is built from them).

The metadata of each field has the form of ``DQNSettings``'s: ``help``, and for numbers the
range ``lo``/``hi`` (``lo_open``: the low end excluded).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from autoops.optimizer.settings import _num


@dataclass(frozen=True)
class PPOSettings:
    """PPO hyperparameters (stable-baselines3) for the online stream of builds: one rollout is
    ``n_steps`` consecutive builds, then ``n_epochs`` passes of minibatch updates over it. The
    stream never ends, so every step bootstraps from the value of the next state (no episodes)."""

    # BuildPipeline, 20k builds, 3 seeds: 512/128 reached 1.1-1.8% greedy regret; 1024/256 1.5-6.8%,
    # 2048/64 9-17%, 256/64 3-5% (at half the speed)
    n_steps: int = field(default=512, metadata=_num("Builds per rollout (one policy update after each).", 2))
    batch_size: int = field(default=128, metadata=_num("Minibatch size of the updates; divides n_steps best.", 2))
    n_epochs: int = field(default=10, metadata=_num("Passes over each rollout.", 1))
    learning_rate: float = field(default=1e-3, metadata=_num("Adam step size (constant).", 0, lo_open=True))  # 3e-4: 11.6% at 20k
    gamma: float = field(default=0.9, metadata=_num(
        "Discount factor; on these scenarios the gamma-optimal policy is average-reward optimal from 0.8 "
        "(exact check, as for DQN).", 0, 1))
    gae_lambda: float = field(default=0.95, metadata=_num("GAE lambda: bias (0) against variance (1) of the advantages.", 0, 1))
    clip_range: float = field(default=0.2, metadata=_num("PPO's clip of the probability ratio.", 0, lo_open=True))
    ent_coef: float = field(default=0.0, metadata=_num("Entropy bonus in the loss (more: explores longer).", 0))
    vf_coef: float = field(default=0.5, metadata=_num("Weight of the value loss.", 0))
    max_grad_norm: float = field(default=0.5, metadata=_num("Gradient norm clipping.", 0, lo_open=True))
    net_arch: tuple[int, ...] = field(default=(64, 64), metadata={
        "help": "Hidden layer sizes of the policy and of the value network (tanh), a YAML list such as [64, 64]."})
    reward_scale: float = field(default=0.1, metadata=_num(
        "Rewards are multiplied by this for learning (a build's reward is about -1 to -10); the policy is unchanged.",
        0, lo_open=True))
    torch_threads: int = field(default=1, metadata=_num(
        "torch.set_num_threads; 1 is fastest for these small networks and keeps runs reproducible.", 1))
    device: str = field(default="cpu", metadata={"help": "Torch device.", "choices": ("cpu", "cuda", "auto")})

    def as_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}
