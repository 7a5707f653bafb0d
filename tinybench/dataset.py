"""Labelled sessions as pandas frames, cut into windows and split by session.

A dataset on disk is ``data/<dataset>/<label>/<session>.csv`` plus a ``.json`` beside each CSV
(the contract is in ``docs/architecture.md``). :meth:`Dataset.load` reads every session into
one samples frame (one row per sample) and one sessions frame (one row per session), and
refuses datasets that cannot train anything: empty folders, mixed sample rates or fields, a
single class.

Splits are made over sessions, never over windows, so overlapping windows of one recording
cannot leak from train into test. Normalization statistics come from the train split only and
travel with the model (:meth:`Normalization.to_dict`).

:meth:`Dataset.from_digits` wraps scikit-learn's bundled 8×8 digits (no download) in the same
interface: each image is a "session" of 64 samples of one field, and its window is the image.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tinybench.errors import DatasetError

__all__ = [
    "SESSION_FORMAT",
    "Dataset",
    "Normalization",
    "Prepared",
    "Split",
    "Windows",
    "prepare",
]

SESSION_FORMAT = "tinybench-session/1"
_META_COLUMNS = ("session", "label", "seq", "t_us")
_DIGITS_SHAPE = (8, 8, 1)
_MIN_STD = 1e-6
_SEQ_MODULUS = 2**32


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
        """Read every session of a dataset folder.

        Args:
            root_or_name: A dataset folder, or the name of one under ``data_dir``.
            data_dir: Folder holding datasets, used when ``root_or_name`` is a name.

        Raises:
            DatasetError: The folder is missing or empty, a session file is malformed, the
                sessions disagree on rate or fields, or there is only one class.
        """
        root = Path(root_or_name)
        if not root.is_dir():
            root = Path(data_dir) / str(root_or_name)
        json_paths = sorted(root.glob("*/*.json")) if root.is_dir() else []
        if not json_paths:
            raise DatasetError(_empty_message(root, Path(data_dir)))
        orphans = [p for p in sorted(root.glob("*/*.csv")) if not p.with_suffix(".json").is_file()]
        if orphans:
            raise DatasetError(
                f"{len(orphans)} session CSV files in {root} have no .json beside them "
                f"(first: {orphans[0]}); an interrupted capture leaves these. Delete them or "
                "re-record the sessions."
            )
        metas = [_read_meta(path) for path in json_paths]
        _check_consistent(metas, "rate_hz", root)
        _check_consistent(metas, "fields", root)
        fields = tuple(metas[0]["fields"])
        duplicates = pd.Series([m["session"] for m in metas]).duplicated(keep=False)
        if duplicates.any():
            names = sorted({m["session"] for m, d in zip(metas, duplicates, strict=True) if d})
            raise DatasetError(
                f"session ids {names} appear more than once in {root}; session ids must be "
                "unique across labels. Rename or delete the duplicate files."
            )
        frames = [_read_samples(meta, fields) for meta in metas]
        samples = pd.concat(frames, ignore_index=True)
        sessions = pd.DataFrame(
            {
                "session": [m["session"] for m in metas],
                "label": [m["label"] for m in metas],
                "rate_hz": [float(m["rate_hz"]) for m in metas],
                "samples": [len(f) for f in frames],
                "lost_samples": [int(m.get("lost_samples", 0)) for m in metas],
                "board": [m.get("board") for m in metas],
                "virtual": [bool(m.get("virtual", False)) for m in metas],
                "path": [str(m["path"]) for m in metas],
            }
        ).set_index("session")
        return cls(root.name, samples, sessions, fields, float(metas[0]["rate_hz"]))

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

    def split(self, val: float = 0.15, test: float = 0.15, seed: int = 0) -> Split:
        """Split sessions into train, validation and test, stratified by label.

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
        for label in self.labels:
            ids = sorted(self.sessions.index[self.sessions["label"] == label])
            ids = [ids[i] for i in rng.permutation(len(ids))]
            n_test, n_val = _part_sizes(len(ids), val, test)
            parts["test"] += ids[:n_test]
            parts["val"] += ids[n_test : n_test + n_val]
            parts["train"] += ids[n_test + n_val :]
        return Split(*(tuple(sorted(parts[p])) for p in ("train", "val", "test")))

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
        window, stride = self._window_and_stride(window, stride)
        xs, ys, owners = [], [], []
        for session in ids:
            values = self._values(session)
            starts = [
                start
                for run_start, run_end in self._runs(session)
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

    def _window_and_stride(self, window: int | None, stride: int | None) -> tuple[int, int]:
        if window is None:
            window = round(self.rate_hz or 0)
        if not isinstance(window, int | np.integer) or window < 1:
            raise DatasetError(f"window must be a positive number of samples, got {window!r}.")
        stride = max(1, window // 2) if stride is None else stride
        if not isinstance(stride, int | np.integer) or stride < 1:
            raise DatasetError(f"stride must be a positive number of samples, got {stride!r}.")
        return int(window), int(stride)

    def _runs(self, session: str) -> list[tuple[int, int]]:
        """Row ranges of ``session`` without lost samples (``seq`` steps by one, mod 2**32)."""
        start, end = self._offsets[session]
        seq = self.samples["seq"].to_numpy()[start:end].astype(np.int64)
        gaps = np.flatnonzero((np.diff(seq) % _SEQ_MODULUS) != 1) + 1
        bounds = [0, *gaps.tolist(), end - start]
        return list(pairwise(bounds))

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

    Returns:
        Train, validation and test windows, normalized with train statistics.
    """
    if not isinstance(dataset, Dataset):
        on_disk = Path(dataset).is_dir() or (Path(data_dir) / str(dataset)).is_dir()
        if str(dataset) == "digits" and not on_disk:
            dataset = Dataset.from_digits()
        else:
            dataset = Dataset.load(dataset, data_dir)
    split = dataset.split(val=val, test=test, seed=seed)
    if dataset.image_shape is None:
        window, stride = dataset._window_and_stride(window, stride)
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


def _empty_message(root: Path, data_dir: Path) -> str:
    available = (
        sorted(p.name for p in data_dir.iterdir() if p.is_dir()) if data_dir.is_dir() else []
    )
    where = "does not exist" if not root.is_dir() else "holds no <label>/<session>.json files"
    return (
        f"dataset folder {root} {where}. Datasets found in {data_dir}: {available or 'none'}. "
        "Record sessions with `tinybench capture`, use the bundled 'gestures' dataset, or "
        "Dataset.from_digits() for a dataset that needs no files."
    )


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(
            f"cannot read session metadata {path}: {exc}. Fix or delete the file."
        ) from exc
    if meta.get("format") != SESSION_FORMAT:
        raise DatasetError(
            f"{path} has format {meta.get('format')!r}; expected {SESSION_FORMAT!r}. "
            "Re-record the session with `tinybench capture`."
        )
    missing = [k for k in ("session", "label", "rate_hz", "fields") if k not in meta]
    if missing:
        raise DatasetError(f"{path} lacks the keys {missing}; re-record the session.")
    if meta["label"] != path.parent.name:
        raise DatasetError(
            f"{path} says label {meta['label']!r} but lives in folder {path.parent.name!r}; "
            "move the session files into the folder of their label."
        )
    meta["fields"] = tuple(meta["fields"])
    meta["rate_hz"] = float(meta["rate_hz"])
    meta["path"] = path.with_suffix(".csv")
    return meta


def _check_consistent(metas: list[dict[str, Any]], key: str, root: Path) -> None:
    counts = Counter(m[key] for m in metas)
    if len(counts) <= 1:
        return
    common = counts.most_common(1)[0][0]
    odd = [f"{m['session']} ({m[key]})" for m in metas if m[key] != common]
    shown = ", ".join(odd[:8]) + (f" and {len(odd) - 8} more" if len(odd) > 8 else "")
    raise DatasetError(
        f"sessions in {root} disagree on {key}: most have {common!r} but {shown} differ. "
        f"A dataset needs one {key}; move the odd sessions to a dataset of their own."
    )


def _read_samples(meta: dict[str, Any], fields: tuple[str, ...]) -> pd.DataFrame:
    path: Path = meta["path"]
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DatasetError(f"cannot read session samples {path}: {exc}.") from exc
    expected = ["seq", "t_us", *fields]
    if list(frame.columns) != expected:
        raise DatasetError(
            f"{path} has columns {list(frame.columns)}; its metadata promises {expected}. "
            "Re-record the session or fix the header line."
        )
    if frame[list(fields)].isna().to_numpy().any() or not all(
        pd.api.types.is_numeric_dtype(frame[f]) for f in fields
    ):
        raise DatasetError(f"{path} has empty or non-numeric sample values; re-record it.")
    if len(frame) == 0:
        raise DatasetError(f"{path} holds no samples; delete it or re-record the session.")
    frame.insert(0, "label", meta["label"])
    frame.insert(0, "session", meta["session"])
    return frame
