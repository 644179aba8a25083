"""hirl.eval.report's statistics: the paired difference of two conditions on the same evaluation chains."""
from __future__ import annotations

import numpy as np
import pytest

from hirl.eval.report import paired_difference


def test_paired_difference_is_the_mean_of_the_per_item_differences_with_a_normal_interval() -> None:
    a, b = [1, 1, 0, 1, 1], [0, 1, 0, 0, 1]
    d = np.array(a, float) - np.array(b, float)
    half = 1.96 * d.std(ddof=1) / np.sqrt(5)
    out = paired_difference(a, b)
    assert out["mean"] == 0.4 and out["n"] == 5
    assert out["ci95"] == [round(0.4 - half, 4), round(0.4 + half, 4)]
    assert paired_difference([3.0], [1.0]) == {"mean": 2.0, "ci95": [2.0, 2.0], "n": 1}


@pytest.mark.parametrize(("a", "b"), [([1, 0], [1]), ([], [])])
def test_paired_difference_refuses_unpaired_inputs(a: list[int], b: list[int]) -> None:
    with pytest.raises(ValueError, match="same number"):
        paired_difference(a, b)
