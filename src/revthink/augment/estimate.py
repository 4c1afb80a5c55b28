"""``revthink augment CONFIG --estimate``: what the whole augmentation will cost, before paying.

Runs the real pipeline with the configured teacher on a small seeded sample of the problems,
in a temporary folder (nothing is written under the run), and scales what the sample used to
the whole dataset: teacher calls, prompt and completion tokens, wall time and cost at the
configured prices, and the number of problems kept, with a 95% Wilson interval for the kept
share. Calls, tokens and time grow linearly with the problems (each problem's rounds are
independent), so a sample of a few problems gives their mean per problem; starting the teacher
(loading a local model) is paid once. With a batched local teacher, a sample smaller than
``teacher.batch_size`` fills its batches less than the full run does and overstates the time.
"""

from __future__ import annotations

import math
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from revthink.augment.reporting import Funnel, Ledger
from revthink.augment.stage import AugmentFailed, augment_into, stage_problems
from revthink.config import ExperimentConfig
from revthink.errors import ConfigError

Z95 = 1.959964


@dataclass(frozen=True)
class Estimate:
    """The sample's measurements and their projection to ``problems`` problems."""

    problems: int
    sample: int
    sample_kept: int
    calls: int
    prompt_tokens: int
    completion_tokens: int
    wall_time_s: float  # the sample's, without starting the teacher
    teacher_load_s: float
    cost_usd: float

    @property
    def scale(self) -> float:
        return self.problems / self.sample

    def kept_interval(self) -> tuple[float, float]:
        """95% Wilson interval of the kept count over all problems."""
        n, share = self.sample, self.sample_kept / self.sample
        centre = (share + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
        half = Z95 * math.sqrt(share * (1 - share) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
        return max(0.0, centre - half) * self.problems, min(1.0, centre + half) * self.problems

    def lines(self) -> list[str]:
        low, high = self.kept_interval()
        hours = (self.teacher_load_s + self.wall_time_s * self.scale) / 3600
        return [
            f"estimate from {self.sample} of {self.problems} problems (seeded sample):",
            f"  teacher calls      {self.calls * self.scale:,.0f}",
            f"  prompt tokens      {self.prompt_tokens * self.scale:,.0f}",
            f"  completion tokens  {self.completion_tokens * self.scale:,.0f}",
            f"  wall time          {hours:.2f} h ({self.wall_time_s:.1f} s for the sample, "
            f"{self.teacher_load_s:.1f} s to start the teacher)",
            f"  cost               ${self.cost_usd * self.scale:,.2f} at the configured prices",
            f"  kept               {self.sample_kept / self.sample * self.problems:,.0f} "
            f"[{low:,.0f}, {high:,.0f}] ({self.sample_kept} of {self.sample} in the sample)",
        ]


def estimate(cfg: ExperimentConfig, sample: int) -> Estimate:
    """Augment a seeded sample of ``sample`` problems in a temporary folder and measure it."""
    if sample < 1:
        raise ConfigError(f"--sample {sample}: expected an integer >= 1")
    family, problems = stage_problems(cfg)
    teacher_cfg = cfg.augment.teacher
    chosen = random.Random(f"estimate:{cfg.seed}").sample(problems, min(sample, len(problems)))
    ledger = Ledger(teacher_cfg.prompt_price_per_mtok, teacher_cfg.completion_price_per_mtok)
    funnel = Funnel(problems_in=len(chosen))
    with tempfile.TemporaryDirectory(prefix="revthink-estimate-") as folder:
        try:
            records = augment_into(cfg, Path(folder), chosen, family, funnel, ledger)
        except AugmentFailed:
            if funnel.kept or ledger.errors.counts:  # the teacher failed: nothing to project
                raise
            records = []
    total = ledger.total()
    if total.calls == 0:
        raise AugmentFailed(
            f"--estimate: no teacher call of the {len(chosen)}-problem sample was answered, so "
            "there is nothing to project from; check that the teacher (augment.teacher) is "
            "reachable and answers, then run the estimate again"
        )
    return Estimate(
        problems=len(problems), sample=len(chosen), sample_kept=len(records), calls=total.calls,
        prompt_tokens=total.prompt_tokens, completion_tokens=total.completion_tokens,
        wall_time_s=ledger.wall_time_s - ledger.teacher_load_s,
        teacher_load_s=ledger.teacher_load_s,
        cost_usd=ledger.cost(total.prompt_tokens, total.completion_tokens),
    )
