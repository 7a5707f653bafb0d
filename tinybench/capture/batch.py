"""Recording a whole dataset in one call: sessions per label, optionally replacing old ones."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tinybench.capture.names import validate_name
from tinybench.capture.recorder import Recorder
from tinybench.capture.sessions import Session
from tinybench.errors import ConfigError
from tinybench.wire.link import Link

__all__ = ["record_dataset"]


def record_dataset(
    link: Link,
    dataset: str,
    labels: Sequence[str],
    sessions_per_label: int,
    samples_per_session: int,
    data_dir: str | os.PathLike[str] = "data",
    *,
    replace: bool = False,
    progress: bool = True,
) -> list[Session]:
    """Record ``sessions_per_label`` sessions of ``samples_per_session`` samples per label.

    With the virtual board (``sim://…&speed=0``) each session takes a fraction of a second.

    Args:
        link: An open link.
        dataset: Dataset folder name under ``data_dir``.
        labels: Class labels; for the virtual board, gestures it knows.
        sessions_per_label: Sessions to record for each label.
        samples_per_session: Samples in each session.
        data_dir: Root folder of all datasets.
        replace: Replace the sessions already recorded for these labels (other files in the
            dataset folder, such as a README, stay). The new sessions are recorded into a
            staging folder first, so a failure leaves the old ones untouched.
        progress: Show a tqdm progress bar.

    Raises:
        LabelError: A label or the dataset name is unsafe.
        CaptureError: A session failed; sessions recorded before it are kept.
    """
    labels = [validate_name(label, "label") for label in labels]
    counts = (sessions_per_label, samples_per_session)
    if not labels or any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in counts):
        raise ConfigError(
            f"record_dataset needs labels and positive whole counts, got labels={labels!r}, "
            f"sessions_per_label={sessions_per_label!r}, "
            f"samples_per_session={samples_per_session!r}."
        )
    from tqdm.auto import tqdm

    root = Path(data_dir)
    dataset = validate_name(dataset, "dataset")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{dataset}-")) if replace else None
    recorder = Recorder(link, dataset, staging or root)
    total = len(labels) * sessions_per_label
    try:
        with tqdm(total=total, desc=f"recording {dataset}", disable=not progress) as bar:
            for label in labels:
                for _ in range(sessions_per_label):
                    recorder.record(label, samples=samples_per_session)
                    bar.update(1)
        if staging is None:
            return recorder.sessions
        target = root / dataset
        target.mkdir(parents=True, exist_ok=True)
        for label in labels:
            shutil.rmtree(target / label, ignore_errors=True)
            os.replace(staging / dataset / label, target / label)
        return [Session.load(target / s.label / s.path.name) for s in recorder.sessions]
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
