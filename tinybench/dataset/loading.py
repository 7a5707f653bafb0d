"""Labelled sessions as pandas frames, and :func:`prepare`: load, split, window, normalize.

A dataset on disk is ``data/<dataset>/<label>/<session>.csv`` plus a ``.json`` beside each CSV
(the contract is ``docs/data-format.md``). :meth:`Dataset.load` reads every session
(:mod:`tinybench.dataset.files`) into one samples frame (one row per sample) and one sessions
frame (one row per session), and refuses datasets that cannot train anything.

Splits are made over sessions (:mod:`tinybench.dataset.split`), never over windows, so
overlapping windows of one recording cannot leak from train into test. Normalization statistics
come from the train split only and travel with the model.

:meth:`Dataset.from_digits` wraps scikit-learn's bundled 8×8 digits (no download) in the same
interface: each image is a "session" of 64 samples of one field, and its window is the image.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from tinybench.dataset.files import read_sessions
from tinybench.dataset.normalization import Normalization
from tinybench.dataset.split import Split, split_groups, split_sessions
from tinybench.dataset.windows import Windows, runs, window_and_stride
from tinybench.errors import DatasetError

__all__ = ["Dataset", "Prepared", "prepare"]

_DIGITS_SHAPE = (8, 8, 1)


@dataclass(frozen=True, eq=False)
class Prepared:
    """Everything a training run needs, from one call to :func:`prepare`.

    Attributes:
        dataset: Name of the dataset.
        train: Normalized train windows.
        val: Normalized validation windows.
        test: Normalized test windows.
        normalization: Statistics of the train split, applied to all three parts.
        labels: Class names, sorted.
        input_shape: Shape of one model input.
        split: The session split the windows came from.
        window: Window length in samples (``None`` for image datasets).
        stride: Stride between windows in samples (``None`` for image datasets).
        rate_hz: Sample rate (``None`` for image datasets).
    """

    dataset: str
    train: Windows
    val: Windows
    test: Windows
    normalization: Normalization
    labels: tuple[str, ...]
    input_shape: tuple[int, ...]
    split: Split
    window: int | None
    stride: int | None
    rate_hz: float | None


@dataclass(frozen=True, eq=False)
class Dataset:
    """Labelled sessions: one samples frame and one sessions frame.

    Build one with :meth:`load` or :meth:`from_digits` rather than directly.

    Attributes:
        name: Dataset name (the folder name for datasets on disk).
        samples: One row per sample; columns ``session, label, seq, t_us`` then the fields.
        sessions: One row per session, indexed by session id; columns include ``label``,
            ``rate_hz``, ``samples``, ``lost_samples``, ``board``, ``virtual`` and ``path``.
        fields: Value columns of ``samples`` (for digits, the single field ``intensity``).
        rate_hz: Nominal sample rate shared by all sessions (``None`` for images).
        image_shape: Shape of one image for image datasets, ``None`` for time series.
    """

    name: str
    samples: pd.DataFrame
    sessions: pd.DataFrame
    fields: tuple[str, ...]
    rate_hz: float | None
    image_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        labels = sorted(set(self.sessions["label"]))
        if len(labels) < 2:
            raise DatasetError(
                f"dataset {self.name!r} has only the class {labels} "
                f"({len(self.sessions)} sessions); a classifier needs at least two. "
                "Record sessions of another label with `tinybench capture`."
            )
        if set(self._offsets) != set(self.sessions.index):
            raise DatasetError(
                f"dataset {self.name!r}: the samples frame must hold each session of the "
                "sessions frame as one contiguous block of rows; build datasets with "
                "Dataset.load() or Dataset.from_digits()."
            )

    @cached_property
    def _offsets(self) -> dict[str, tuple[int, int]]:
        """First and one-past-last sample row of each session."""
        codes = self.samples["session"].to_numpy()
        if len(codes) == 0:
            return {}
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        ends = np.r_[starts[1:], len(codes)]
        offsets = {str(codes[s]): (int(s), int(e)) for s, e in zip(starts, ends, strict=True)}
        if len(offsets) != len(starts):
            return {}
        return offsets

    @cached_property
    def _matrix(self) -> np.ndarray:
        """All field values as one float32 array, rows aligned with ``samples``."""
        return self.samples[list(self.fields)].to_numpy(np.float32)

    @classmethod
    def load(cls, root_or_name: str | Path, data_dir: str | Path = "data") -> Dataset:
        """Read every session of a dataset folder, recovering interrupted recordings first.

        Args:
            root_or_name: A dataset folder, or the name of one under ``data_dir``.
            data_dir: Folder holding datasets, used when ``root_or_name`` is a name.

        Raises:
            DatasetError: The folder is missing or empty, a session file is malformed or
                damaged (its CSV does not match ``csv_sha256``), the sessions disagree on
                fields or on rate (beyond ``RATE_TOLERANCE``), or there is only one class.
        """
        root = Path(root_or_name)
        if not root.is_dir():
            root = Path(data_dir) / str(root_or_name)
        found = read_sessions(root, Path(data_dir))
        metas = found.metas
        sessions = pd.DataFrame(
            {
                "session": [m["session"] for m in metas],
                "label": [m["label"] for m in metas],
                "rate_hz": [m["rate_hz"] if m["rate_hz"] else np.nan for m in metas],
                "samples": [len(f) for f in found.frames],
                "lost_samples": [int(m.get("lost_samples", 0)) for m in metas],
                "board": [m.get("board") for m in metas],
                "virtual": [bool(m.get("virtual", False)) for m in metas],
                "path": [str(m["path"]) for m in metas],
            }
        ).set_index("session")
        for key in sorted({k for m in metas for k in m["groups"]}):  # e.g. "student"
            sessions[key] = [m["groups"].get(key) for m in metas]
        samples = pd.concat(found.frames, ignore_index=True)
        return cls(root.name, samples, sessions, found.fields, found.rate_hz)

    @classmethod
    def from_digits(cls) -> Dataset:
        """Wrap scikit-learn's bundled 8×8 digits (1,797 images, 10 classes, no download).

        Each image becomes a session of 64 samples of the field ``intensity`` (0..16); its
        window is the whole image, shaped ``(8, 8, 1)``.
        """
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = np.asarray(digits.images, dtype=np.float32)
        n, pixels = len(images), int(np.prod(_DIGITS_SHAPE))
        session_ids = np.array([f"digit-{i:04d}" for i in range(n)])
        labels = np.array([str(int(t)) for t in digits.target])
        samples = pd.DataFrame(
            {
                "session": np.repeat(session_ids, pixels),
                "label": np.repeat(labels, pixels),
                "seq": np.tile(np.arange(pixels), n),
                "t_us": np.zeros(n * pixels, dtype=np.int64),
                "intensity": images.reshape(-1),
            }
        )
        sessions = pd.DataFrame(
            {
                "session": session_ids,
                "label": labels,
                "rate_hz": np.nan,
                "samples": pixels,
                "lost_samples": 0,
                "board": None,
                "virtual": False,
                "path": "sklearn.datasets.load_digits",
            }
        ).set_index("session")
        return cls("digits", samples, sessions, ("intensity",), None, _DIGITS_SHAPE)

    @property
    def labels(self) -> tuple[str, ...]:
        """Class names, sorted, so class indices are stable across runs and machines."""
        return tuple(sorted(set(self.sessions["label"])))

    def split(
        self, val: float = 0.15, test: float = 0.15, seed: int = 0, *, group_by: str | None = None
    ) -> Split:
        """Split sessions into train, validation and test, stratified by label.

        See :func:`~tinybench.dataset.split.split_sessions` for the rule. With ``group_by``
        (a column of :attr:`sessions`, such as ``"student"`` from the sidecars' ``groups``),
        whole groups are dealt out instead (:func:`~tinybench.dataset.split.split_groups`).

        Raises:
            DatasetError: The fractions are negative or leave nothing for training, or
                ``group_by`` is not a column or some sessions have no group.
        """
        if group_by is None:
            pairs = list(zip(self.sessions.index, self.sessions["label"], strict=True))
            return split_sessions(pairs, val, test, seed)
        if group_by not in self.sessions.columns or group_by == "label":
            choices = [c for c in self.sessions.columns if c != "label"]
            raise DatasetError(
                f"group_by={group_by!r} is not a column of dataset {self.name!r}'s sessions; "
                f"choose one of {choices} (import a class with import_class to get 'student')."
            )
        groups = self.sessions[group_by]
        if groups.isna().any():
            raise DatasetError(
                f"sessions {list(groups.index[groups.isna()][:5])} of {self.name!r} have no "
                f"{group_by!r}; re-import them with import_class, or split without group_by."
            )
        triples = zip(self.sessions.index, self.sessions["label"], groups.astype(str), strict=True)
        return split_groups(list(triples), val, test, seed)

    def normalization(self, sessions: Iterable[str]) -> Normalization:
        """Per-field statistics over the samples of ``sessions`` (pass the train split)."""
        ids = list(sessions)
        if not ids:
            raise DatasetError("normalization needs at least one session; pass split.train.")
        values = np.concatenate([self._values(s) for s in ids])
        return Normalization.from_values(self.fields, values)

    def windows(
        self,
        window: int | None = None,
        stride: int | None = None,
        sessions: Iterable[str] | None = None,
    ) -> Windows:
        """Cut sessions into windows of ``window`` samples every ``stride`` samples.

        Windows never cross a session boundary nor a gap of lost samples (a jump in ``seq``);
        a session shorter than ``window`` gives none.
        For image datasets each session is one image and ``window``/``stride`` must be None.

        Args:
            window: Window length in samples; defaults to one second (``round(rate_hz)``).
            stride: Step between window starts; defaults to half a window.
            sessions: Session ids to cut (for example ``split.train``); defaults to all.

        Raises:
            DatasetError: Bad window or stride, an unknown session, or no window at all.
        """
        ids = list(self.sessions.index) if sessions is None else list(sessions)
        unknown = [s for s in ids if s not in self._offsets]
        if unknown:
            raise DatasetError(
                f"unknown session ids {unknown[:5]} in dataset {self.name!r}; "
                f"use ids from Dataset.split() or Dataset.sessions.index."
            )
        label_index = {label: i for i, label in enumerate(self.labels)}
        session_labels = self.sessions["label"]
        if self.image_shape is not None:
            return self._image_windows(ids, window, stride, label_index)
        window, stride = window_and_stride(window, stride, self.rate_hz)
        xs, ys, owners = [], [], []
        for session in ids:
            values = self._values(session)
            start_row, end_row = self._offsets[session]
            seq = self.samples["seq"].to_numpy()[start_row:end_row]
            starts = [
                start
                for run_start, run_end in runs(seq)
                for start in range(run_start, run_end - window + 1, stride)
            ]
            xs += [values[start : start + window] for start in starts]
            ys += [label_index[session_labels[session]]] * len(starts)
            owners += [session] * len(starts)
        if not xs and ids:
            lengths = self.sessions.loc[ids, "samples"]
            raise DatasetError(
                f"window={window} samples is longer than every selected session "
                f"(lengths {int(lengths.min())}..{int(lengths.max())}); choose a window of at "
                f"most {int(lengths.max())} samples or record longer sessions."
            )
        x = np.stack(xs) if xs else np.zeros((0, window, len(self.fields)), np.float32)
        return Windows(
            x.astype(np.float32),
            np.asarray(ys, dtype=np.int64),
            np.asarray(owners, dtype=str),
            self.labels,
        )

    def _image_windows(
        self,
        ids: list[str],
        window: int | None,
        stride: int | None,
        label_index: dict[str, int],
    ) -> Windows:
        if window is not None or stride is not None:
            raise DatasetError(
                f"dataset {self.name!r} holds images of shape {self.image_shape}; they are not "
                f"windowed, so pass window=None and stride=None (got {window}, {stride})."
            )
        shape = self.image_shape or ()
        x = np.stack([self._values(s).reshape(shape) for s in ids]) if ids else None
        if x is None:
            x = np.zeros((0, *shape), np.float32)
        y = [label_index[self.sessions.at[s, "label"]] for s in ids]
        return Windows(
            x.astype(np.float32), np.asarray(y, np.int64), np.asarray(ids, str), self.labels
        )

    def _values(self, session: str) -> np.ndarray:
        start, end = self._offsets[session]
        return self._matrix[start:end]


def prepare(
    dataset: Dataset | str | Path,
    window: int | None = None,
    stride: int | None = None,
    seed: int = 0,
    *,
    val: float = 0.15,
    test: float = 0.15,
    data_dir: str | Path = "data",
    group_by: str | None = None,
) -> Prepared:
    """Load (if needed), split by session, window and normalize a dataset in one call.

    Args:
        dataset: A :class:`Dataset`, a dataset name or folder to load, or ``"digits"`` for
            :meth:`Dataset.from_digits` (unless a dataset folder of that name exists).
        window: Window length in samples (see :meth:`Dataset.windows`); ignored for images.
        stride: Step between windows in samples; ignored for images.
        seed: Seed of the session split.
        val: Fraction of each label's sessions used for validation.
        test: Fraction of each label's sessions held out for testing.
        data_dir: Where named datasets live.
        group_by: Split by this group of sessions (``"student"``) instead of by session, so
            no group is in two parts (see :meth:`Dataset.split`).

    Returns:
        Train, validation and test windows, normalized with train statistics.
    """
    if not isinstance(dataset, Dataset):
        on_disk = Path(dataset).is_dir() or (Path(data_dir) / str(dataset)).is_dir()
        if str(dataset) == "digits" and not on_disk:
            dataset = Dataset.from_digits()
        else:
            dataset = Dataset.load(dataset, data_dir)
    split = dataset.split(val=val, test=test, seed=seed, group_by=group_by)
    if dataset.image_shape is None:
        window, stride = window_and_stride(window, stride, dataset.rate_hz)
    else:
        window = stride = None  # an image is its own window
    parts = {p: dataset.windows(window, stride, split.part(p)) for p in ("train", "val", "test")}
    if len(parts["train"]) == 0:
        raise DatasetError(
            f"the train split of {dataset.name!r} has no windows of {window} samples; "
            "choose a shorter window or record longer sessions."
        )
    normalization = dataset.normalization(split.train)
    train, val_w, test_w = (parts[p].normalized(normalization) for p in ("train", "val", "test"))
    return Prepared(
        dataset=dataset.name,
        train=train,
        val=val_w,
        test=test_w,
        normalization=normalization,
        labels=dataset.labels,
        input_shape=train.input_shape,
        split=split,
        window=window,
        stride=stride,
        rate_hz=dataset.rate_hz,
    )
