"""Splitting a dataset by session: no recording is ever in two parts of a split.

Overlapping windows of one recording must not leak from train into test, so splits are made
over sessions, stratified by label, before any window is cut. A class dataset can be split by
a group of sessions instead (:func:`split_groups`, for example by student): then no student
is in two parts, so the test figures are for people the model never saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tinybench.errors import DatasetError

__all__ = ["Split", "split_groups", "split_sessions"]


@dataclass(frozen=True)
class Split:
    """Which sessions go to train, validation and test; no session is in two parts.

    Attributes:
        train: Session ids used for fitting (and for normalization statistics).
        val: Session ids used for early stopping and model selection.
        test: Session ids held out for the final figures.
    """

    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for part in ("train", "val", "test"):
            for session in getattr(self, part):
                if session in seen:
                    raise DatasetError(
                        f"session {session!r} is in both {seen[session]!r} and {part!r}; "
                        "a session must belong to exactly one split part."
                    )
                seen[session] = part

    def part(self, name: str) -> tuple[str, ...]:
        """Return the session ids of ``"train"``, ``"val"`` or ``"test"``."""
        if name not in ("train", "val", "test"):
            raise DatasetError(f"unknown split part {name!r}; choose 'train', 'val' or 'test'.")
        return getattr(self, name)


def split_sessions(
    sessions: Sequence[tuple[str, str]], val: float, test: float, seed: int
) -> Split:
    """Split ``(session id, label)`` pairs into train, validation and test, stratified by label.

    Each label's sessions are shuffled with ``seed`` and dealt out in the given fractions.
    A label with three or more sessions gets at least one session in each non-empty part;
    every label keeps at least one train session.

    Raises:
        DatasetError: The fractions are negative or leave nothing for training.
    """
    if val < 0 or test < 0 or val + test >= 1:
        raise DatasetError(
            f"split fractions val={val}, test={test} must be >= 0 and sum to less than 1."
        )
    rng = np.random.default_rng(seed)
    parts: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for label in sorted({label for _, label in sessions}):
        ids = sorted(s for s, owner in sessions if owner == label)
        ids = [ids[i] for i in rng.permutation(len(ids))]
        n_test, n_val = _part_sizes(len(ids), val, test)
        parts["test"] += ids[:n_test]
        parts["val"] += ids[n_test : n_test + n_val]
        parts["train"] += ids[n_test + n_val :]
    return Split(*(tuple(sorted(parts[p])) for p in ("train", "val", "test")))


def split_groups(
    sessions: Sequence[tuple[str, str, str]], val: float, test: float, seed: int
) -> Split:
    """Split ``(session id, label, group)`` triples so that no group is in two parts.

    The groups (for example students) are shuffled with ``seed`` and dealt out in the given
    fractions of the number of groups, with the rule of :func:`split_sessions` (three or
    more groups give at least one group to each non-empty part); each session follows its
    group.

    Raises:
        DatasetError: The fractions are bad, or a label has no session in train.
    """
    if val < 0 or test < 0 or val + test >= 1:
        raise DatasetError(
            f"split fractions val={val}, test={test} must be >= 0 and sum to less than 1."
        )
    groups = sorted({group for _, _, group in sessions})
    groups = [groups[i] for i in np.random.default_rng(seed).permutation(len(groups))]
    n_test, n_val = _part_sizes(len(groups), val, test)
    part_of = {g: "test" for g in groups[:n_test]}
    part_of |= {g: "val" for g in groups[n_test : n_test + n_val]}
    parts: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for session, _, group in sessions:
        parts[part_of.get(group, "train")].append(session)
    trained = {label for session, label, group in sessions if part_of.get(group) is None}
    missing = sorted({label for _, label, _ in sessions} - trained)
    if missing:
        raise DatasetError(
            f"no group in the train part has sessions of {missing} (groups {groups}, "
            f"seed {seed}); every label needs training sessions. Try another seed, or "
            "collect those labels from more groups."
        )
    return Split(*(tuple(sorted(parts[p])) for p in ("train", "val", "test")))


def _part_sizes(n: int, val: float, test: float) -> tuple[int, int]:
    """Return (test, val) session counts for a label with ``n`` sessions."""
    n_test, n_val = round(n * test), round(n * val)
    if n >= 3:
        n_test = max(n_test, 1 if test > 0 else 0)
        n_val = max(n_val, 1 if val > 0 else 0)
    while n_test + n_val > n - 1 and n_test + n_val > 0:
        if n_val >= n_test and n_val > 0:
            n_val -= 1
        else:
            n_test -= 1
    return n_test, n_val
