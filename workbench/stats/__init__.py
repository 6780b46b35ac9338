"""Statistics on probing frames: intervals, reliability, consistency, debiasing, profile
distances, WVS similarity and map placement, comparisons.

Every function takes the tidy ``distributions`` / ``answers`` frames that probing produces
(or the score frames from :mod:`workbench.scoring`) and returns a tidy frame.

>>> from workbench.stats import bootstrap_scores, reliability_by_score
"""

from workbench.stats.comparisons import (
    correct_pvalues,
    mixed_model,
    ordinal_regression,
    permutation_test_scores,
)
from workbench.stats.consistency import (
    acquiescence,
    consistency_across,
    consistency_summary,
    position_bias,
)
from workbench.stats.debias import (
    contextual_calibration,
    debiased,
    full_permutation,
    item_position_priors,
    position_prior,
    pride,
    pride_prior,
)
from workbench.stats.effects import factor_effects
from workbench.stats.intervals import bootstrap_scores
from workbench.stats.profiles import (
    anchor_vsm_constants,
    hofstede_distance,
    mfq_zscores,
    nearest_countries,
)
from workbench.stats.reliability import (
    cronbach_alpha,
    item_total_correlations,
    mcdonald_omega,
    reliability_by_score,
    respondent_table,
)
from workbench.stats.wvs import (
    inglehart_welzel_position,
    map_indicators,
    model_item_distributions,
    wvs_similarity,
)

__all__ = [
    "acquiescence",
    "anchor_vsm_constants",
    "bootstrap_scores",
    "consistency_across",
    "consistency_summary",
    "contextual_calibration",
    "correct_pvalues",
    "cronbach_alpha",
    "debiased",
    "factor_effects",
    "full_permutation",
    "hofstede_distance",
    "inglehart_welzel_position",
    "item_position_priors",
    "item_total_correlations",
    "map_indicators",
    "mcdonald_omega",
    "mfq_zscores",
    "mixed_model",
    "model_item_distributions",
    "nearest_countries",
    "ordinal_regression",
    "permutation_test_scores",
    "position_bias",
    "position_prior",
    "pride",
    "pride_prior",
    "reliability_by_score",
    "respondent_table",
    "wvs_similarity",
]
