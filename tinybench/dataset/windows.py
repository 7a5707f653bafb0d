"""Model inputs cut from sessions: windows that never cross a session, a gap or a restart."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from tinybench.dataset.normalization import Normalization
from tinybench.errors import DatasetError
from tinybench.wire.protocol import SEQ_MODULUS

__all__ = ["Windows", "runs", "window_and_stride"]


@dataclass(frozen=True, eq=False)
class Windows:
    """Model inputs with their labels: what training, profiling and validation consume.

    Attributes:
        x: Inputs, float32, shape ``(n, *input_shape)``.
        y: Class index of each input (into ``labels``), int64, shape ``(n,)``.
        sessions: Session id each input was cut from, shape ``(n,)``.
        labels: Class names; ``y`` indexes into them.
    """

    x: np.ndarray
    y: np.ndarray
    sessions: np.ndarray
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        if not (len(self.x) == len(self.y) == len(self.sessions)):
            raise DatasetError(
                f"windows have {len(self.x)} inputs, {len(self.y)} labels and "
                f"{len(self.sessions)} session ids; they must match."
            )

    def __len__(self) -> int:
        return len(self.x)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input, without the batch axis."""
        return tuple(int(d) for d in self.x.shape[1:])

    def normalized(self, normalization: Normalization) -> Windows:
        """Return a copy whose inputs went through ``normalization``."""
        return Windows(normalization.apply(self.x), self.y, self.sessions, self.labels)

    def sample(self, n: int, seed: int = 0) -> Windows:
        """Return at most ``n`` windows drawn without replacement (all of them if fewer)."""
        if n >= len(self):
            return self
        index = np.sort(np.random.default_rng(seed).choice(len(self), size=n, replace=False))
        return Windows(self.x[index], self.y[index], self.sessions[index], self.labels)


def window_and_stride(
    window: int | None, stride: int | None, rate_hz: float | None
) -> tuple[int, int]:
    """Check a window and stride in samples; the defaults are one second and half a window.

    Raises:
        DatasetError: Either is not a positive whole number, or there is no rate to default to.
    """
    if window is None:
        if not rate_hz:
            raise DatasetError(
                "the dataset has no sample rate (its sessions did not record one), so there is "
                "no default window: pass window=<samples>."
            )
        window = round(rate_hz)
    if not isinstance(window, int | np.integer) or window < 1:
        raise DatasetError(f"window must be a positive number of samples, got {window!r}.")
    stride = max(1, window // 2) if stride is None else stride
    if not isinstance(stride, int | np.integer) or stride < 1:
        raise DatasetError(f"stride must be a positive number of samples, got {stride!r}.")
    return int(window), int(stride)


def runs(seq: np.ndarray) -> list[tuple[int, int]]:
    """Row ranges without lost samples: ``seq`` steps by one (mod 2**32) inside each.

    A stream without sequence numbers (``seq`` all missing) is one run.
    """
    seq = np.asarray(seq, dtype=np.float64)
    if len(seq) == 0 or np.isnan(seq).any():
        return [(0, len(seq))]
    gaps = np.flatnonzero((np.diff(seq.astype(np.int64)) % SEQ_MODULUS) != 1) + 1
    return list(pairwise([0, *gaps.tolist(), len(seq)]))
