"""Per-field normalization: statistics from the train split, travelling with the model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinybench.errors import DatasetError

__all__ = ["Normalization"]

_MIN_STD = 1e-6


@dataclass(frozen=True)
class Normalization:
    """Per-field mean and standard deviation, applied as ``(x - mean) / std`` on the last axis.

    Attributes:
        fields: Field names, in the order of the last axis of the model input.
        mean: Mean of each field over the train split.
        std: Standard deviation of each field over the train split (1.0 for constant fields).
    """

    fields: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self) -> None:
        if not (len(self.fields) == len(self.mean) == len(self.std)):
            raise DatasetError(
                f"normalization has {len(self.fields)} fields, {len(self.mean)} means and "
                f"{len(self.std)} stds; they must have one entry per field."
            )
        if any(not s > 0 for s in self.std):
            raise DatasetError(f"normalization std must be positive, got {self.std}.")

    @classmethod
    def from_values(cls, fields: Sequence[str], values: np.ndarray) -> Normalization:
        """Compute the statistics of ``values`` (rows are samples, columns are fields)."""
        values = np.asarray(values, dtype=np.float64).reshape(-1, len(fields))
        if len(values) == 0:
            raise DatasetError("cannot compute normalization from zero samples.")
        std = values.std(axis=0)
        std = np.where(std < _MIN_STD, 1.0, std)
        return cls(
            tuple(fields),
            tuple(float(v) for v in values.mean(axis=0)),
            tuple(float(v) for v in std),
        )

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Return ``(x - mean) / std`` as float32; the last axis of ``x`` holds the fields."""
        x = np.asarray(x, dtype=np.float32)
        if x.shape[-1] != len(self.fields):
            raise DatasetError(
                f"input has {x.shape[-1]} values on its last axis but the normalization has "
                f"{len(self.fields)} fields {self.fields}."
            )
        mean = np.asarray(self.mean, dtype=np.float32)
        std = np.asarray(self.std, dtype=np.float32)
        return (x - mean) / std

    def to_dict(self) -> dict[str, list]:
        """Return a JSON-ready dict, the form stored beside exported models."""
        return {"fields": list(self.fields), "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Normalization:
        """Rebuild a normalization from :meth:`to_dict` output; unknown keys raise."""
        expected = {"fields", "mean", "std"}
        if set(data) != expected:
            raise DatasetError(
                f"normalization dict has keys {sorted(data)}; expected exactly {sorted(expected)}."
            )
        return cls(
            tuple(str(f) for f in data["fields"]),
            tuple(float(v) for v in data["mean"]),
            tuple(float(v) for v in data["std"]),
        )
