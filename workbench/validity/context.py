"""Settings shared by every validity statistic of one run (cut-offs, resampling, norms)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.validity.resample import generator
from workbench.validity.thresholds import Thresholds


@dataclass(frozen=True)
class Context:
    """What a statistic needs besides its cell: the cut-offs, the resampling settings (one
    seeded generator per cell and statistic) and the human reliability norms."""

    thresholds: Thresholds
    norms: pd.DataFrame
    n_boot: int = 2000
    n_perm: int = 2000
    ci: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.ci < 1:
            raise WorkbenchError(f"ci must be between 0 and 1 (e.g. 0.95), not {self.ci}")
        if self.n_boot < 100:
            raise WorkbenchError(f"n_boot={self.n_boot} is too few for an interval: use at "
                                 "least 100")
        if self.n_perm < 99:
            raise WorkbenchError(f"n_perm={self.n_perm} is too few for a p-value: use at "
                                 "least 99")

    def rng(self, cell_key: dict, statistic: str) -> np.random.Generator:
        return generator(self.seed, sorted((str(k), str(v)) for k, v in cell_key.items()),
                         statistic)
