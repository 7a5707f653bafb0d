"""The sweep's content cache: keys, atomic result folders, and reading results back.

The cache key of a job is a sha256 over the prepared data arrays, the model config, the recipe,
epochs, seed, board, the tinybench and library versions and the source of the modules that
compute the result (the ``sweep*`` modules, ``models``, ``train``, ``optimize``, ``profile``,
``tflm`` and ``tflite_model``). Under the cache folder:

- ``data/<hash>.npz``: the prepared arrays, stored once per content hash for workers to read;
- ``base/<key[:2]>/<key>/``: a float base model's weights and ``base.json``;
- ``jobs/<key[:2]>/<key>/``: a variant's ``result.json`` and its saved ``variant``.

Each folder is written beside its place and renamed into it, so it is complete or absent.
:func:`load_variant` and :func:`load_predictions` read a result row's folder back.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from tinybench.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CACHE_FORMAT", "Predictions", "load_predictions", "load_variant"]

CACHE_FORMAT = "tinybench-sweep/1"

# Modules whose source decides a job's result; editing one invalidates the cache.
_PIPELINE_MODULES = tuple(
    f"tinybench.{name}"
    for name in (
        "sweep",
        "sweep_grid",
        "sweep_cache",
        "sweep_jobs",
        "models",
        "train",
        "optimize",
        "profile",
        "tflm",
        "tflite_model",
        "budget",
        "boards",
    )
)

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
    """A variant's test predictions, in the order :func:`tinybench.plots.plot_confusion` takes.

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


def _data_hash(prepared: Any) -> str:
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


def _write_data(prepared: Any, data_hash: str, cache: Path) -> Path:
    """Store the prepared arrays once per content hash, for workers to read."""
    path = cache / "data" / f"{data_hash}.npz"
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
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as handle:
        np.savez(handle, **arrays)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, path)
    return path


@functools.lru_cache(maxsize=4)
def _load_data(data_file: str) -> Any:
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


@functools.lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    for module in _PIPELINE_MODULES:
        spec = importlib.util.find_spec(module)
        origin = spec.origin if spec is not None else None
        source = Path(origin).read_bytes() if origin and Path(origin).is_file() else b""
        versions[module] = hashlib.sha256(source).hexdigest()[:16]
    return versions


def _content_key(context: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    text = json.dumps({**context, "config": dict(config)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _job_dir(cache: Path, key: str) -> Path:
    return cache / "jobs" / key[:2] / key


def _base_dir(cache: Path, key: str) -> Path:
    return cache / "base" / key[:2] / key


def _read_result(cache: Path, key: str) -> dict[str, Any] | None:
    path = _job_dir(cache, key) / "result.json"
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return result if result.get("format") == CACHE_FORMAT else None


@contextlib.contextmanager
def _staged(final: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``final``; rename it into place only on success.

    The folder is complete or absent. If another worker published ``final`` first, its copy
    wins and this one is dropped.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name[:12]}-", dir=final.parent))
    try:
        yield tmp
        os.replace(tmp, final)
    except OSError:
        if not final.is_dir():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_result(cache: Path, key: str, result: dict[str, Any], variant: Any) -> None:
    with _staged(_job_dir(cache, key)) as tmp:
        if variant is not None:
            variant.save(tmp / "variant")
        (tmp / "result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")


def _row_folder(row: Mapping[str, Any] | pd.Series) -> Path:
    folder = Path(str(row["path"]))
    if not (folder / "result.json").is_file():
        raise ConfigError(
            f"The cache folder {folder} of variant {row.get('recipe')!r} is gone (the cache was "
            "cleared or moved). Run the sweep again with the same cache_dir."
        )
    return folder
