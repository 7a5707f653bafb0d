"""Importing files written by other tools, and whole classes, as tinybench sessions.

Three imports write ordinary sessions (``data/<dataset>/<label>/<session>.csv`` + sidecar,
``docs/data-format.md``) through the capture package's session writer, so every session is
finished atomically, carries a ``csv_sha256`` and loads with :meth:`Dataset.load`:

- :func:`import_imu_capture`: the Arduino IMU_Capture tutorial's files, one per gesture;
- :func:`import_edge_impulse_csv`: Edge Impulse's CSV format, one file per sample;
- :func:`import_class`: each student's dataset into one class dataset, the sessions tagged
  ``groups: {"student": <name>}`` so that ``prepare(..., group_by="student")`` keeps every
  student on one side of the split.

Every file is read and checked before anything is written: a bad file raises
:class:`~tinybench.errors.DatasetError` naming the file, the line and the next step, and the
dataset is left as it was. A session already imported with the same samples is skipped, so an
import can be run again; one with other samples is never overwritten. Imported sidecars say
``ended: "imported"``, ``source`` (the original file) and ``import_format``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import statistics
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from itertools import groupby, pairwise
from pathlib import Path
from typing import Any

from tinybench.capture.names import safe_field_names
from tinybench.capture.sessions import Session
from tinybench.dataset.files import check_groups, read_sessions
from tinybench.dataset.imported_sessions import Recording, checked_name, write_recordings
from tinybench.errors import DatasetError
from tinybench.wire.protocol import FLOAT32_MAX, Sample

__all__ = [
    "IMU_CAPTURE_RATE_HZ",
    "import_class",
    "import_edge_impulse_csv",
    "import_imu_capture",
    "tinybench_field_names",
]

IMU_CAPTURE_RATE_HZ = 119.0
"""IMU_Capture's rate: the Nano 33 BLE's IMU at 119 Hz, 119 samples (one second) a capture."""
_AXIS = re.compile(r"^(acc|gyro|gyr|mag|a|g|m)[_ ]?([xyz])$", re.IGNORECASE)
_SENSOR = {"acc": "a", "gyro": "g", "gyr": "g", "mag": "m"}


def tinybench_field_names(names: Iterable[str]) -> tuple[str, ...]:
    """Map other tools' axis names to tinybench's: ``aX``/``accX`` → ``ax``, ``gyrY`` → ``gy``.

    An accelerometer, gyroscope or magnetometer axis (``a``/``acc``, ``g``/``gyr``/``gyro``,
    ``m``/``mag`` then ``x``/``y``/``z``, any case, an optional ``_``) becomes ``a``/``g``/``m``
    plus the axis in lower case; any other name is lower-cased. Then the rule of
    :func:`~tinybench.capture.names.safe_field_names` makes them safe and unique.
    """
    out = []
    for name in names:
        match = _AXIS.match(name.strip())
        if match:
            sensor = match[1].lower()
            out.append(_SENSOR.get(sensor, sensor) + match[2].lower())
        else:
            out.append(name.strip().lower())
    return safe_field_names(out)


def import_imu_capture(
    folder_or_files: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    dataset: str,
    data_dir: str | os.PathLike[str] = "data",
    rate_hz: float = IMU_CAPTURE_RATE_HZ,
    *,
    groups: Mapping[str, str] | None = None,
) -> list[Session]:
    """Import the Arduino IMU_Capture tutorial's files: one CSV per gesture, label = file name.

    Each file holds the header ``aX,aY,aZ,gX,gY,gZ`` then captures of 119 lines separated by
    blank lines (the sketch prints one after each capture); each capture becomes the session
    ``<label>-NNNN`` (numbered in the file). A repeated header line also separates captures.
    Fields are renamed by :func:`tinybench_field_names` (``aX`` → ``ax``); the originals are
    kept in the sidecar's ``device_fields``.

    Args:
        folder_or_files: A folder (its ``*.csv`` files) or a list of files.
        dataset: The dataset to import into (created if needed).
        data_dir: Folder holding datasets.
        rate_hz: The sketch's sample rate (the files carry no time).
        groups: Tags for every session, for example ``{"student": "alice"}``.

    Returns:
        The sessions, including any already imported identically before.

    Raises:
        DatasetError: A file is empty, lacks the header, or has a non-numeric value or a
            line of another width; nothing is written then.
    """
    if not (isinstance(rate_hz, int | float) and math.isfinite(rate_hz) and rate_hz > 0):
        raise DatasetError(f"rate_hz must be a finite number above 0, got {rate_hz!r}.")
    recordings = []
    for path in _csv_files(folder_or_files):
        recordings += _parse_imu_capture(path, float(rate_hz))
    return write_recordings(recordings, dataset, data_dir, groups)


def import_edge_impulse_csv(
    folder: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    dataset: str,
    data_dir: str | os.PathLike[str] = "data",
    *,
    groups: Mapping[str, str] | None = None,
) -> list[Session]:
    """Import Edge Impulse CSV files: ``timestamp`` (milliseconds) then axes, one sample each.

    The label is the file name up to its first dot (Edge Impulse's convention: ``idle.01.csv``
    is ``idle``), or the ``label`` column when the file has one. The session is the file
    name without ``.csv``; the rate comes from the median step of the timestamps, which are
    kept as ``t_us`` (``seq`` is the row number). Axis names are mapped as by
    :func:`tinybench_field_names` (``accX`` → ``ax``), the originals kept in ``device_fields``.

    A multi-label file (its ``label`` column changes along the recording) becomes one session
    per run of rows with one label, ``<file>-01``, ``<file>-02``…, each sidecar's ``source``
    naming its lines. Every session's ``groups`` holds ``recording`` (the file name), so
    ``prepare(..., group_by="recording")`` keeps the parts of one recording in one split.

    Raises:
        DatasetError: A file is empty, does not start with ``timestamp``, has a non-numeric
            value, a timestamp that does not increase, or a row without a label in a file
            with a ``label`` column; nothing is written then.
    """
    recordings = [rec for path in _csv_files(folder) for rec in _parse_edge_impulse(path)]
    return write_recordings(recordings, dataset, data_dir, groups)


def import_class(
    students: Mapping[str, str | os.PathLike[str]] | str | os.PathLike[str],
    dataset: str,
    data_dir: str | os.PathLike[str] = "data",
    *,
    group_by: str = "student",
) -> list[Session]:
    """Combine each student's tinybench dataset into one class dataset, tagged by student.

    Session ``s`` of student ``alice`` becomes ``alice-s``; its sidecar is kept, with
    ``groups: {"student": "alice"}``, ``source`` and ``source_ended`` added. Then
    ``prepare(dataset, group_by="student")`` never puts a student in two parts of the split.

    Args:
        students: Student name → their dataset folder, or one folder whose subfolders are
            the students' datasets (named after the students).
        dataset: The class dataset.
        data_dir: Folder holding datasets.
        group_by: The group key written in the sidecars.

    Raises:
        DatasetError: A student's folder holds no sessions or a damaged one, or the students'
            fields or rates disagree; nothing is written then.
    """
    check_groups({group_by: "x"}, "import_class(group_by=...)")
    if not isinstance(students, Mapping):
        parent = Path(students)
        if not parent.is_dir():
            raise DatasetError(f"{parent} is not a folder of students' datasets.")
        students = {p.name: p for p in sorted(parent.iterdir()) if p.is_dir()}
    recordings = []
    for student, folder in students.items():
        name = checked_name(student, "student", f"student {student!r}")
        recordings += _student_sessions(name, Path(folder), group_by)
    return write_recordings(recordings, dataset, data_dir, None)


# -- reading files ----------------------------------------------------------------------------


def _csv_files(source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[Path]:
    if isinstance(source, str | os.PathLike):
        root = Path(source)
        files = sorted(root.glob("*.csv")) if root.is_dir() else [root]
    else:
        files = [Path(p) for p in source]
    if not files:
        raise DatasetError(f"{source} holds no .csv files; give the folder of the exported files.")
    return files


def _read_rows(path: Path) -> list[tuple[int, list[str]]]:
    """Every line as ``(line number, cells)``; a blank line has no cells."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc}. Check the file name.") from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path} is not a text CSV file ({exc}); export it again.") from exc
    reader = csv.reader(io.StringIO(text))
    rows = [(reader.line_num, [c.strip() for c in cells]) for cells in reader]
    rows = [(n, cells if any(cells) else []) for n, cells in rows]
    if not any(cells for _, cells in rows):
        raise DatasetError(f"{path} is empty; export or copy the recording into it again.")
    return rows


def _header(rows: list[tuple[int, list[str]]], path: Path, expected: str) -> tuple[int, list[str]]:
    line, cells = next((n, c) for n, c in rows if c)
    numeric = any(_is_number(c) for c in cells)
    if numeric or not all(cells) or len(set(cells)) != len(cells):
        raise DatasetError(
            f"{path}, line {line}: {','.join(cells)!r} is not a header of unique column names. "
            f"Add the header line first, for example {expected}."
        )
    return line, cells


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _numbers(cells: list[str], names: list[str], path: Path, line: int) -> tuple[float, ...]:
    if len(cells) != len(names):
        raise DatasetError(
            f"{path}, line {line}: {len(cells)} values where the header names {len(names)} "
            f"({','.join(names)}). Fix or delete that line, then import again."
        )
    values = []
    for name, cell in zip(names, cells, strict=True):
        value = float(cell) if _is_number(cell) else None
        if value is None or not (math.isfinite(value) and abs(value) <= FLOAT32_MAX):
            what = "a number" if value is None else "a finite number within float32"
            raise DatasetError(
                f"{path}, line {line}: {name} is {cell!r}, not {what}. Fix or delete that "
                "line, then import again (nothing was written)."
            )
        values.append(value)
    return tuple(values)


def _parse_imu_capture(path: Path, rate_hz: float) -> list[Recording]:
    label = checked_name(path.stem, "label", f"{path} (the label is the file name)")
    rows = _read_rows(path)
    head, names = _header(rows, path, "aX,aY,aZ,gX,gY,gZ")
    captures: list[list[tuple[int, tuple[float, ...]]]] = [[]]
    for line, cells in rows[head:]:
        if not cells or cells == names:
            captures.append([])
        else:
            captures[-1].append((line, _numbers(cells, names, path, line)))
    captures = [c for c in captures if c]
    if not captures:
        raise DatasetError(f"{path} has a header but no samples; record the gesture again.")
    fields = tinybench_field_names(names)
    return [
        Recording(
            label,
            f"{label}-{number:04d}",
            fields,
            [Sample(None, None, values) for _, values in capture],
            rate_hz,
            _source(path, "imu-capture", names, f"lines {capture[0][0]}-{capture[-1][0]}"),
        )
        for number, capture in enumerate(captures, 1)
    ]


def _parse_edge_impulse(path: Path) -> list[Recording]:
    """One recording per run of rows with the same label (one for a file without labels)."""
    rows = _read_rows(path)
    head, names = _header(rows, path, "timestamp,accX,accY,accZ")
    lowered = [n.lower() for n in names]
    if lowered[0] != "timestamp" or len(names) < 2:
        raise DatasetError(
            f"{path}, line {head}: the columns are {names}; Edge Impulse's CSV format starts "
            "with 'timestamp' (milliseconds) then one column per axis. Export it again."
        )
    label_at = lowered.index("label") if "label" in lowered else len(names)
    value_names = names[:label_at] + names[label_at + 1 :]
    parsed: list[tuple[int, tuple[float, ...], str]] = []
    for line, cells in ((n, c) for n, c in rows[head:] if c):
        values = _numbers(cells[:label_at] + cells[label_at + 1 :], value_names, path, line)
        label = path.name.split(".")[0]
        if label_at < len(names):
            label = cells[label_at].strip() if len(cells) == len(names) else ""
            if not label:
                raise DatasetError(
                    f"{path}, line {line}: no label in the 'label' column; a file with that "
                    "column needs a label on every row (fill it in, or drop the column)."
                )
        parsed.append((line, values, label))
    rate = _rate_from([(line, values[0]) for line, values, _ in parsed], path)
    runs = [list(run) for _, run in groupby(parsed, key=lambda row: row[2])]
    stem = path.name.removesuffix(".csv")
    recordings = []
    for k, run in enumerate(runs, start=1):
        first_line, (start, *_), label = run[0]
        whole = len(runs) == 1
        where = "" if whole else f"lines {first_line}-{run[-1][0]}"
        samples = [
            Sample(i, round((v[0] - start) * 1000), v[1:]) for i, (_, v, _) in enumerate(run)
        ]
        recordings.append(
            Recording(
                checked_name(label, "label", f"{path} (label)"),
                checked_name(stem if whole else f"{stem}-{k:02d}", "session", str(path)),
                tinybench_field_names(value_names[1:]),
                samples,
                rate,
                _source(path, "edge-impulse", value_names[1:], where)
                | {"groups": {"recording": stem}},
            )
        )
    return recordings


def _rate_from(times: list[tuple[int, float]], path: Path) -> float:
    if len(times) < 2:
        raise DatasetError(f"{path} holds {len(times)} sample(s); a rate needs two or more.")
    for (_, before), (line, now) in pairwise(times):
        if now <= before:
            raise DatasetError(
                f"{path}, line {line}: timestamp {now:g} ms does not increase (previous "
                f"{before:g}); fix the timestamps or export the sample again."
            )
    step = statistics.median(b - a for (_, a), (_, b) in pairwise(times))
    return round(1000.0 / step, 3)


def _source(path: Path, fmt: str, device_fields: list[str], where: str) -> dict[str, Any]:
    started = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
    return {
        "source": f"{path}{', ' + where if where else ''}",
        "import_format": fmt,
        "device_fields": list(device_fields),
        "started_at": started,
    }


def _student_sessions(student: str, folder: Path, group_by: str) -> list[Recording]:
    if not any(folder.glob("*/*.json")):
        raise DatasetError(
            f"student {student!r}: {folder} holds no tinybench sessions "
            "(<label>/<session>.csv + .json). For IMU_Capture or Edge Impulse files use "
            f"import_imu_capture(..., groups={{{group_by!r}: {student!r}}}) instead."
        )
    found = read_sessions(folder, folder.parent)
    recordings = []
    for meta in found.metas:
        path: Path = meta["path"]
        base = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        base |= {"source": str(path), "source_ended": base.get("ended")}
        base["groups"] = {**base.get("groups", {}), group_by: student}
        samples = _session_samples(path, list(found.fields))
        name = checked_name(f"{student}-{meta['session']}", "session", str(path))
        recordings.append(
            Recording(meta["label"], name, found.fields, samples, meta["rate_hz"], {}, base)
        )
    return recordings


def _session_samples(path: Path, fields: list[str]) -> list[Sample]:
    """The samples of a tinybench session CSV, values exactly as written."""
    rows = [(n, c) for n, c in _read_rows(path) if c][1:]
    samples = []
    for line, cells in rows:
        head = cells[:2] if len(cells) == len(fields) + 2 else ["", ""]
        values = _numbers(cells[len(cells) - len(fields) :], fields, path, line)
        try:
            seq, t_us = (int(x) if x else None for x in head)
        except ValueError:
            raise DatasetError(f"{path}, line {line}: seq or t_us is not whole.") from None
        samples.append(Sample(seq, t_us, values))
    return samples
