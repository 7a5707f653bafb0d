"""How far to trust a test accuracy: the Wilson score interval for a proportion.

A test accuracy is a count of correct windows out of a finite number of test windows, so it
carries sampling error: 47 of 50 correct (94%) and 940 of 1,000 correct are the same accuracy
with very different certainty. The Wilson interval stays inside [0, 1] and behaves at 0% and
100% correct, where the textbook normal interval collapses to a width of zero.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from tinybench.errors import ConfigError

__all__ = ["correct_windows", "wilson_interval"]


def wilson_interval(correct: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Return the Wilson score interval for ``correct`` successes out of ``total`` trials.

    Args:
        correct: Test windows classified correctly.
        total: Test windows evaluated.
        confidence: Coverage of the interval, for example 0.95.

    Returns:
        ``(low, high)`` as fractions in [0, 1].

    Raises:
        ConfigError: ``total`` is not positive, ``correct`` is outside ``0..total``, or
            ``confidence`` is outside (0, 1).
    """
    if total <= 0:
        raise ConfigError(
            f"Cannot give a confidence interval over {total} test windows: the accuracy must "
            "rest on at least one window. Check the results' 'samples' column."
        )
    if not 0 <= correct <= total:
        raise ConfigError(
            f"{correct} correct out of {total} test windows is impossible: correct must be "
            f"between 0 and {total}."
        )
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence={confidence!r} must be between 0 and 1, such as 0.95.")
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = correct / total
    denominator = 1.0 + z * z / total
    centre = (p + z * z / (2.0 * total)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / total + z * z / (4.0 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def correct_windows(accuracy: float, total: int) -> int:
    """Return the number of correct windows behind ``accuracy`` measured on ``total`` windows.

    Args:
        accuracy: Test accuracy as a fraction.
        total: Test windows evaluated.

    Raises:
        ConfigError: ``accuracy`` times ``total`` is not (within rounding) a whole number of
            windows between 0 and ``total``: the two figures do not belong together.
    """
    exact = accuracy * total
    correct = round(exact)
    if not 0 <= correct <= total or abs(exact - correct) > 1e-6 * max(total, 1):
        raise ConfigError(
            f"Accuracy {accuracy!r} on {total} test windows is not a whole number of correct "
            f"windows ({exact:.4f}). Pass the accuracy and window count of the same evaluation."
        )
    return correct
