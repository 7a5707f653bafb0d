"""The sweep's content cache: keys, atomic result folders, and reading results back.

The cache key of a job is a sha256 over the prepared data arrays, the model config, the recipe,
epochs, seed, board, the library versions and :func:`package_fingerprint`: a hash of every
``.py`` and ``.json`` file (the board profiles) of the installed ``tinybench`` package, found by
walking it. All of them, not a chosen few: a result depends on the modules a job imports, and
those change as the code moves (a hand-kept list of names silently stopped covering moved modules
once). Hashing the whole package costs a few milliseconds once per process; editing a module
that cannot change a result (a widget, the CLI) re-runs a sweep, which is the safe side. Under
the cache folder:

- ``data/<hash>.npz``: the prepared arrays, stored once per content hash for workers to read;
- ``base/<key[:2]>/<key>/``: a float base model's weights and ``base.json``;
- ``jobs/<key[:2]>/<key>/``: a variant's ``result.json`` and its saved ``variant``.

Each folder is written beside its place and renamed into it, so it is complete or absent.
:func:`load_variant` and :func:`load_predictions` read a result row's folder back.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from tinybench.atomic import atomic_directory, atomic_write
from tinybench.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CACHE_FORMAT",
    "PACKAGE_ROOT",
    "Predictions",
    "base_dir",
    "cache_versions",
    "content_key",
    "data_hash",
    "job_dir",
    "load_data",
    "load_predictions",
    "load_variant",
    "package_fingerprint",
    "read_result",
    "write_base",
    "write_data",
    "write_result",
]

CACHE_FORMAT = "tinybench-sweep/2"

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
"""The installed ``tinybench`` package folder, whose files :func:`package_fingerprint` hashes."""
_FINGERPRINTED = (".py", ".json")
"""Suffixes of the package files :func:`package_fingerprint` hashes: code and the board table."""

_LIBRARIES = [
    "tinybench",
    "tensorflow",
    "tf-keras",
    "tensorflow-model-optimization",
    "ai-edge-litert",
    "tflite-micro",
    "numpy",
]


class Predictions(NamedTuple):
    """A variant's test predictions, in the order :func:`~tinybench.sweep.plot_confusion` takes.

    Attributes:
        y_true: True class indices of the test windows.
        y_pred: Class indices the variant predicted for them.
        labels: Class names.
    """

    y_true: np.ndarray
    y_pred: np.ndarray
    labels: tuple[str, ...]


def load_variant(row: Mapping[str, Any] | pd.Series) -> Any:
    """Load the :class:`~tinybench.optimize.Variant` a sweep row was measured on.

    Args:
        row: A row of :func:`run_sweep`'s DataFrame (it holds the cache folder in ``path``).

    Raises:
        ConfigError: The row's cache folder is gone (the cache was cleared); run the sweep
            again.
    """
    from tinybench.optimize import Variant

    folder = _row_folder(row) / "variant"
    return Variant.load(folder)


def load_predictions(row: Mapping[str, Any] | pd.Series) -> Predictions:
    """Return the test labels and the variant's predictions for a sweep row.

    Args:
        row: A row of :func:`run_sweep`'s DataFrame.

    Raises:
        ConfigError: The row's cache folder is gone, or the variant could not be evaluated.
    """
    result = json.loads((_row_folder(row) / "result.json").read_text(encoding="utf-8"))
    if result.get("y_pred") is None:
        raise ConfigError(
            f"Variant {row['recipe']!r} has no predictions: {result['row'].get('error')}. "
            "Choose a row whose error column is empty."
        )
    return Predictions(
        np.asarray(result["y_true"], dtype=np.int64),
        np.asarray(result["y_pred"], dtype=np.int64),
        tuple(result["labels"]),
    )


def data_hash(prepared: Any) -> str:
    """Return a sha256 over the prepared arrays and how they were prepared."""
    digest = hashlib.sha256()
    for part in ("train", "val", "test"):
        windows = getattr(prepared, part)
        for array in (windows.x, windows.y):
            contiguous = np.ascontiguousarray(array)
            digest.update(f"{part}:{contiguous.dtype}:{contiguous.shape}".encode())
            digest.update(contiguous.tobytes())
    digest.update(json.dumps(_prepared_meta(prepared), sort_keys=True).encode())
    return digest.hexdigest()


def _prepared_meta(prepared: Any) -> dict[str, Any]:
    return {
        "dataset": prepared.dataset,
        "labels": list(prepared.labels),
        "normalization": prepared.normalization.to_dict(),
        "split": {p: list(prepared.split.part(p)) for p in ("train", "val", "test")},
        "window": prepared.window,
        "stride": prepared.stride,
        "rate_hz": prepared.rate_hz,
    }


def write_data(prepared: Any, digest: str, cache: Path) -> Path:
    """Store the prepared arrays once per content hash ``digest``, for workers to read."""
    path = cache / "data" / f"{digest}.npz"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for part in ("train", "val", "test"):
        windows = getattr(prepared, part)
        arrays[f"{part}_x"] = windows.x
        arrays[f"{part}_y"] = windows.y
        arrays[f"{part}_sessions"] = np.asarray(windows.sessions, dtype=str)
    arrays["meta"] = np.asarray(json.dumps(_prepared_meta(prepared)))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write(path, buffer.getvalue())
    return path


@functools.lru_cache(maxsize=4)
def load_data(data_file: str) -> Any:
    """Rebuild the :class:`~tinybench.dataset.Prepared` a task's data file holds."""
    from tinybench.dataset import Normalization, Prepared, Split, Windows

    with np.load(data_file) as arrays:
        meta = json.loads(str(arrays["meta"]))
        labels = tuple(meta["labels"])
        parts = {
            part: Windows(
                arrays[f"{part}_x"], arrays[f"{part}_y"], arrays[f"{part}_sessions"], labels
            )
            for part in ("train", "val", "test")
        }
    return Prepared(
        dataset=meta["dataset"],
        train=parts["train"],
        val=parts["val"],
        test=parts["test"],
        normalization=Normalization.from_dict(meta["normalization"]),
        labels=labels,
        input_shape=parts["train"].input_shape,
        split=Split(*(tuple(meta["split"][p]) for p in ("train", "val", "test"))),
        window=meta["window"],
        stride=meta["stride"],
        rate_hz=meta["rate_hz"],
    )


def package_fingerprint(root: Path | None = None) -> str:
    """Return a sha256 over the path and content of every ``.py`` and ``.json`` file in ``root``.

    Adding, removing, moving or editing any module of the package, or its data (the board
    profiles in ``boards.json``), changes it.

    Args:
        root: The package folder; by default :data:`PACKAGE_ROOT`, the installed package.
    """
    root = PACKAGE_ROOT if root is None else root
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or path.suffix not in _FINGERPRINTED:
            continue
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def cache_versions() -> dict[str, str]:
    """Return what besides the job decides a result: library versions and the package's code."""
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    versions["tinybench-code"] = package_fingerprint()
    return versions


def content_key(context: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    """Return the cache key of a job: a sha256 over its ``config`` and the sweep's ``context``."""
    text = json.dumps({**context, "config": dict(config)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def job_dir(cache: Path, key: str) -> Path:
    """Return the folder of a variant's result."""
    return cache / "jobs" / key[:2] / key


def base_dir(cache: Path, key: str) -> Path:
    """Return the folder of a float base model's weights."""
    return cache / "base" / key[:2] / key


def read_result(cache: Path, key: str) -> dict[str, Any] | None:
    """Return a stored result, or ``None`` if there is none (or it is of another format)."""
    path = job_dir(cache, key) / "result.json"
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return result if result.get("format") == CACHE_FORMAT else None


def write_result(cache: Path, key: str, result: dict[str, Any], variant: Any) -> None:
    """Store a job's result (and its variant) as one folder, unless a worker already did."""
    final = job_dir(cache, key)
    if final.is_dir():
        return
    with atomic_directory(final) as tmp:
        if variant is not None:
            variant.save(tmp / "variant")
        atomic_write(tmp / "result.json", json.dumps(result, indent=1))


def write_base(cache: Path, key: str, weights: list[np.ndarray], meta: dict[str, Any]) -> None:
    """Store a trained base model's weights and ``base.json`` as one folder."""
    final = base_dir(cache, key)
    if final.is_dir():
        return
    buffer = io.BytesIO()
    np.savez(buffer, **{f"w{i}": w for i, w in enumerate(weights)})
    with atomic_directory(final) as tmp:
        atomic_write(tmp / "weights.npz", buffer.getvalue())
        atomic_write(tmp / "base.json", json.dumps(meta, indent=1))


def _row_folder(row: Mapping[str, Any] | pd.Series) -> Path:
    folder = Path(str(row["path"]))
    if not (folder / "result.json").is_file():
        raise ConfigError(
            f"The cache folder {folder} of variant {row.get('recipe')!r} is gone (the cache was "
            "cleared or moved). Run the sweep again with the same cache_dir."
        )
    return folder
