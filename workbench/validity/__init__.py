"""Validity first: is each model answering each instrument by content or by option position?

>>> from workbench.validity import validity_table, verdicts, summary_sentences, status
>>> table = validity_table(store.distributions(), n_boot=2000, seed=0)  # doctest: +SKIP
>>> frame = verdicts(table)  # doctest: +SKIP
>>> summary_sentences(frame, table)  # doctest: +SKIP
>>> status(frame, "smollm2-135m", "mfq30")  # doctest: +SKIP

The statistics are in :mod:`.order` and :mod:`.content`, the cut-offs in
``data/validity/thresholds.yaml`` (:mod:`.thresholds`), the verdict rule in :mod:`.verdict`.
"""

from workbench.validity.cells import cell_breakdowns, prepare_cells, sort_orders
from workbench.validity.norms import reliability_norms
from workbench.validity.reasons import Reason
from workbench.validity.sentences import summary_sentences
from workbench.validity.thresholds import Thresholds, load_thresholds
from workbench.validity.verdict import (
    STATISTICS,
    Validity,
    assess,
    interpretable,
    status,
    validity_table,
    verdicts,
)

__all__ = [
    "STATISTICS",
    "Reason",
    "Thresholds",
    "Validity",
    "assess",
    "cell_breakdowns",
    "interpretable",
    "load_thresholds",
    "prepare_cells",
    "reliability_norms",
    "sort_orders",
    "status",
    "summary_sentences",
    "validity_table",
    "verdicts",
]
