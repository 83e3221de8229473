"""scikit-learn's own estimator checks on DialedSearchCV, a classifier and a regressor inside.

scikit-learn expects two checks to fail for its own RandomizedSearchCV and GridSearchCV
(``sklearn/utils/_test_common/instance_generator.py``, PER_ESTIMATOR_XFAIL_CHECKS):

* ``check_supervised_y_2d`` ("DataConversionWarning not caught"): the check wants the warning
  an estimator gives for a column-vector ``y``; Ridge accepts 2-D targets and gives none, so
  a search over Ridge fails it as RandomizedSearchCV(Ridge()) does (expected to fail here for
  the regressor only; the search over LogisticRegression passes it);
* ``check_requires_y_none`` ("Doesn't fail gracefully"): passes here for both, so it is not
  marked.

No other check is marked or skipped (the array-API checks skip themselves where the
array-API libraries are not installed, for every estimator).
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("sklearn")

from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks

from dialed.integrations.sklearn import DialedSearchCV

#: What scikit-learn marks as an expected failure for its own search estimators, and fails
#: here as there.
RIDGE_XFAIL = {
    "check_supervised_y_2d": "Ridge takes a 2-D y without the DataConversionWarning the check "
                             "wants (also expected to fail for RandomizedSearchCV)",
}

ESTIMATORS = [
    DialedSearchCV(LogisticRegression(), {"C": {"type": "float", "low": 0.1, "high": 10,
                                                "log": True}},
                   n_trials=3, cv=2, seed=0, error_score="raise"),
    DialedSearchCV(Ridge(), {"alpha": {"type": "float", "low": 0.1, "high": 10, "log": True}},
                   n_trials=3, cv=2, seed=0, error_score="raise"),
]


def _expected(estimator: Any) -> dict[str, str]:
    return RIDGE_XFAIL if isinstance(estimator.estimator, Ridge) else {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected)
def test_sklearn_estimator_checks(estimator: Any, check: Any) -> None:
    check(estimator)
