"""Importing IMU_Capture and Edge Impulse CSV files, and a class of students' datasets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from tinybench.capture import list_sessions
from tinybench.cli import main
from tinybench.dataset import (
    Dataset,
    import_class,
    import_edge_impulse_csv,
    import_imu_capture,
    prepare,
)
from tinybench.dataset.importers import tinybench_field_names
from tinybench.errors import DatasetError

HEADER = "aX,aY,aZ,gX,gY,gZ"


def gesture(label: str, capture: int, n: int = 119) -> np.ndarray:
    """A recognisable signal per label: a sine for punch, a near-constant for flex."""
    t = np.arange(n)[:, None] + np.arange(6) + capture * 5
    if label == "punch":
        return np.sin(t / 4.0)
    return 0.05 * np.cos(t / 40.0) + 1.0


def write_imu_capture(folder: Path, label: str, captures: int, *, offset: int = 0) -> Path:
    """A file as the IMU_Capture sketch prints it: header, then 119 lines and a blank line."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [HEADER]
    for capture in range(captures):
        values = gesture(label, capture + offset)
        lines += [",".join(f"{v:.3f}" for v in row) for row in values] + [""]
    path = folder / f"{label}.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_edge_impulse(folder: Path, name: str, n: int = 60, step_ms: int = 16) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["timestamp,accX,accY,accZ"]
    lines += [f"{i * step_ms},{i * 0.1:.2f},{-i * 0.2:.2f},9.81" for i in range(n)]
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_field_names_map_to_tinybench_names() -> None:
    assert tinybench_field_names(HEADER.split(",")) == ("ax", "ay", "az", "gx", "gy", "gz")
    assert tinybench_field_names(["accX", "gyrY", "magZ", "Temp"]) == ("ax", "gy", "mz", "temp")
    assert tinybench_field_names(["label", "seq"]) == ("label_0", "seq_1")


def test_imu_capture_files_become_one_session_per_capture(tmp_path: Path) -> None:
    src = tmp_path / "arduino"
    write_imu_capture(src, "punch", 3)
    write_imu_capture(src, "flex", 2)
    sessions = import_imu_capture(src, "gestures", tmp_path / "data")
    assert sorted(s.name for s in sessions) == [
        "flex-0001",
        "flex-0002",
        "punch-0001",
        "punch-0002",
        "punch-0003",
    ]
    meta = sessions[0].meta
    assert meta["ended"] == "imported" and meta["import_format"] == "imu-capture"
    assert meta["fields"] == ["ax", "ay", "az", "gx", "gy", "gz"]
    assert meta["device_fields"] == HEADER.split(",")
    assert meta["units"] == ["g", "g", "g", "dps", "dps", "dps"]
    assert meta["rate_hz"] == 119.0 and meta["rate_source"] == "given"
    assert meta["source"].endswith("flex.csv, lines 2-120")
    assert meta["csv_sha256"] == hashlib.sha256(sessions[0].path.read_bytes()).hexdigest()
    json.loads(sessions[0].meta_path.read_text(), parse_constant=pytest.fail)  # strict JSON
    dataset = Dataset.load("gestures", tmp_path / "data")
    assert dataset.fields == ("ax", "ay", "az", "gx", "gy", "gz")
    assert dataset.rate_hz == 119.0 and list(dataset.sessions["samples"]) == [119] * 5
    first = dataset.samples[dataset.samples["session"] == "punch-0001"]
    assert np.allclose(first[list(dataset.fields)].to_numpy(), np.round(gesture("punch", 0), 3))


def test_importing_again_skips_what_is_there_and_never_overwrites(tmp_path: Path) -> None:
    src = tmp_path / "arduino"
    write_imu_capture(src, "punch", 2)
    first = import_imu_capture(src, "g", tmp_path)
    again = import_imu_capture(src, "g", tmp_path)
    assert [s.meta["csv_sha256"] for s in again] == [s.meta["csv_sha256"] for s in first]
    assert len(list_sessions("g", tmp_path)) == 2
    write_imu_capture(src, "punch", 2, offset=3)  # other samples, same session names
    before = {p: p.read_bytes() for p in (tmp_path / "g").rglob("*.*")}
    with pytest.raises(DatasetError, match=r"already exists.*nothing was overwritten"):
        import_imu_capture(src, "g", tmp_path)
    assert {p: p.read_bytes() for p in (tmp_path / "g").rglob("*.*")} == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", r"punch\.csv is empty"),
        ("1,2,3,4,5,6\n", r"punch\.csv, line 1: .* is not a header.*aX,aY,aZ,gX,gY,gZ"),
        (f"{HEADER}\n", "has a header but no samples"),
        (f"{HEADER}\n1,2,3,4,5,6\n1,2,x,4,5,6\n", r"punch\.csv, line 3: aZ is 'x', not a number"),
        (f"{HEADER}\n1,2,3,4,5,6\n1,2,3\n", r"line 3: 3 values where the header names 6"),
        (f"{HEADER}\n1,2,nan,4,5,6\n", r"line 2: aZ is 'nan', not a finite number within float32"),
    ],
)
def test_a_bad_imu_capture_file_is_named_and_nothing_is_written(
    tmp_path: Path, content: str, message: str
) -> None:
    src = tmp_path / "arduino"
    write_imu_capture(src, "flex", 2)
    (src / "punch.csv").write_text(content)
    import_imu_capture([src / "flex.csv"], "g", tmp_path / "data")
    before = sorted((tmp_path / "data").rglob("*"))
    with pytest.raises(DatasetError, match=message):
        import_imu_capture(src, "g", tmp_path / "data")
    assert sorted((tmp_path / "data").rglob("*")) == before  # flex kept, nothing half-written


def test_a_file_name_that_is_no_label_is_refused(tmp_path: Path) -> None:
    path = write_imu_capture(tmp_path, "punch", 1)
    path.rename(tmp_path / "my punch!.csv")
    with pytest.raises(DatasetError, match=r"my punch!\.csv.*Rename it"):
        import_imu_capture(tmp_path / "my punch!.csv", "g", tmp_path / "data")


def test_edge_impulse_files_take_label_and_rate_from_the_export(tmp_path: Path) -> None:
    src = tmp_path / "ei"
    write_edge_impulse(src, "idle.1a2b.csv")
    write_edge_impulse(src, "wave.3c4d.csv")
    (src / "labelled.csv").write_text(
        "timestamp,accX,accY,accZ,label\n" + "".join(f"{i * 16},1,2,3,wave\n" for i in range(40))
    )
    sessions = {s.name: s for s in import_edge_impulse_csv(src, "ei", tmp_path / "data")}
    assert {n: s.label for n, s in sessions.items()} == {
        "idle.1a2b": "idle",
        "labelled": "wave",
        "wave.3c4d": "wave",
    }
    meta = sessions["idle.1a2b"].meta
    assert meta["rate_hz"] == 62.5 and meta["measured_rate_hz"] == 62.5
    assert meta["rate_source"] == "file" and meta["device_fields"] == ["accX", "accY", "accZ"]
    frame = sessions["idle.1a2b"].to_frame()
    assert list(frame.columns) == ["seq", "t_us", "ax", "ay", "az"]
    assert list(frame["t_us"][:3]) == [0, 16000, 32000]
    assert Dataset.load("ei", tmp_path / "data").rate_hz == 62.5


def test_a_multi_label_edge_impulse_file_becomes_one_session_per_label_run(tmp_path) -> None:
    src = tmp_path / "ei"
    src.mkdir()
    labels = ["idle"] * 5 + ["wave"] * 6 + ["idle"] * 4
    rows = "".join(f"{i * 10},{i},0,1,{label}\n" for i, label in enumerate(labels))
    (src / "walk.csv").write_text("timestamp,accX,accY,accZ,label\n" + rows)
    sessions = import_edge_impulse_csv(src, "ei", tmp_path / "data", groups={"student": "ana"})
    assert [(s.name, s.label, s.samples) for s in sessions] == [
        ("walk-01", "idle", 5),
        ("walk-02", "wave", 6),
        ("walk-03", "idle", 4),
    ]
    wave = sessions[1]
    assert wave.meta["rate_hz"] == 100.0  # from the whole file's timestamps
    assert wave.meta["source"].endswith("walk.csv, lines 7-12")
    assert wave.meta["groups"] == {"recording": "walk", "student": "ana"}
    frame = wave.to_frame()
    assert list(frame["seq"]) == list(range(6)) and list(frame["t_us"][:2]) == [0, 10_000]
    assert list(frame["ax"]) == [5.0, 6.0, 7.0, 8.0, 9.0, 10.0]  # rows 5-10, nothing lost
    dataset = Dataset.load("ei", tmp_path / "data")
    assert dataset.sessions["recording"].to_dict() == {
        "walk-01": "walk",
        "walk-02": "walk",
        "walk-03": "walk",
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("accX,accY\n1,2\n", r"line 1: the columns are .*starts with 'timestamp'"),
        ("timestamp,accX\n0,1\n16,oops\n", r"line 3: accX is 'oops', not a number"),
        ("timestamp,accX\n0,1\n0,2\n", r"line 3: timestamp 0 ms does not increase"),
        ("timestamp,accX\n0,1\n", "holds 1 sample"),
        ("timestamp,accX,label\n0,1,a\n16,1,\n", r"line 3: no label in the 'label' column"),
    ],
)
def test_a_bad_edge_impulse_file_is_named(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "idle.1.csv").write_text(content)
    with pytest.raises(DatasetError, match=message):
        import_edge_impulse_csv(tmp_path, "ei", tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_an_import_that_disagrees_with_the_dataset_is_refused(tmp_path: Path) -> None:
    write_imu_capture(tmp_path / "a", "punch", 1)
    import_imu_capture(tmp_path / "a", "g", tmp_path / "data", rate_hz=119)
    write_imu_capture(tmp_path / "b", "flex", 1)
    with pytest.raises(DatasetError, match="disagree on rate_hz"):
        import_imu_capture(tmp_path / "b", "g", tmp_path / "data", rate_hz=50)
    assert not (tmp_path / "data" / "g" / "flex").exists()


def make_class(tmp_path: Path, students: list[str]) -> Path:
    """Each student imports their own IMU_Capture files into their own dataset."""
    handin = tmp_path / "handin"
    for number, student in enumerate(students):
        src = tmp_path / "arduino" / student
        write_imu_capture(src, "punch", 2, offset=number)
        write_imu_capture(src, "flex", 2, offset=number)
        import_imu_capture(src, student, handin)
    return handin


def test_a_class_split_by_student_never_puts_a_student_in_two_parts(tmp_path: Path) -> None:
    students = ["ana", "ben", "cleo", "dev", "eli", "fay"]
    sessions = import_class(make_class(tmp_path, students), "class", tmp_path / "data")
    assert len(sessions) == 4 * len(students)
    assert sessions[0].meta["groups"] == {"student": "ana"}
    assert sessions[0].name == "ana-flex-0001" and sessions[0].meta["source_ended"] == "imported"
    dataset = Dataset.load("class", tmp_path / "data")
    owner = dataset.sessions["student"]
    for seed in range(5):
        split = dataset.split(val=0.2, test=0.2, seed=seed, group_by="student")
        parts = [{owner[s] for s in split.part(p)} for p in ("train", "val", "test")]
        assert parts[0] and parts[1] and parts[2]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        assert set().union(*parts) == set(students)
    prepared = prepare(dataset, window=40, stride=20, group_by="student")
    assert {owner[s] for s in prepared.split.test}.isdisjoint(
        owner[s] for s in prepared.split.train
    )


def test_group_by_needs_a_column_and_every_session_in_a_group(tmp_path: Path) -> None:
    write_imu_capture(tmp_path / "a", "punch", 3)
    write_imu_capture(tmp_path / "a", "flex", 3)
    import_imu_capture(tmp_path / "a", "g", tmp_path / "data")
    dataset = Dataset.load("g", tmp_path / "data")
    with pytest.raises(DatasetError, match=r"group_by=.student. is not a column.*choose one of"):
        dataset.split(group_by="student")
    write_imu_capture(tmp_path / "b", "punch", 1, offset=9)
    (tmp_path / "b" / "punch.csv").rename(tmp_path / "b" / "kick.csv")
    import_imu_capture(tmp_path / "b", "g", tmp_path / "data", groups={"student": "ana"})
    with pytest.raises(DatasetError, match="have no 'student'"):
        Dataset.load("g", tmp_path / "data").split(group_by="student")


def test_a_class_import_names_the_student_without_sessions(tmp_path: Path) -> None:
    handin = make_class(tmp_path, ["ana"])
    (handin / "ben").mkdir()
    write_imu_capture(handin / "ben", "punch", 1)  # raw files, not imported
    with pytest.raises(DatasetError, match=r"student 'ben'.*import_imu_capture"):
        import_class(handin, "class", tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_the_cli_imports_each_format(tmp_path: Path, capsys) -> None:
    write_imu_capture(tmp_path / "a", "punch", 2)
    write_edge_impulse(tmp_path / "ei", "idle.1.csv")
    data = str(tmp_path / "data")
    argv = ["import", "imu-capture", str(tmp_path / "a"), "--dataset", "g", "--data-dir", data]
    assert main(argv) == 0
    assert "2 sessions" in capsys.readouterr().out
    argv = ["import", "edge-impulse", str(tmp_path / "ei"), "--dataset", "e", "--data-dir", data]
    assert main(argv) == 0
    handin = make_class(tmp_path, ["ana", "ben"])
    assert main(["import", "class", str(handin), "--dataset", "c", "--data-dir", data]) == 0
    assert len(list_sessions("c", data)) == 8
    (tmp_path / "a" / "punch.csv").write_text("1,2\n")
    assert main(["import", "imu-capture", str(tmp_path / "a"), "--data-dir", data]) == 2
    assert "punch.csv, line 1" in capsys.readouterr().err


@pytest.mark.slow
def test_imported_imu_capture_files_train_a_model(tmp_path: Path) -> None:
    from tinybench.train import conv1d_classifier, evaluate, fit

    src = tmp_path / "arduino"
    write_imu_capture(src, "punch", 8)
    write_imu_capture(src, "flex", 8)
    import_imu_capture(src, "gestures", tmp_path / "data")
    prepared = prepare("gestures", window=40, stride=20, data_dir=tmp_path / "data")
    model = conv1d_classifier(
        prepared.input_shape, 2, filters=(8, 8, 8), dense=8, learning_rate=1e-2, dropout=0.0
    )
    fit(model, prepared.train, prepared.val, epochs=30, batch_size=8, progress=False, patience=None)
    assert evaluate(model, prepared.test).accuracy >= 0.9


def test_a_write_failure_keeps_whole_sessions_and_a_rerun_finishes(tmp_path, monkeypatch) -> None:
    import tinybench.capture.partial as partial

    write_imu_capture(tmp_path / "a", "punch", 3)
    real = partial.atomic_write

    def disk_full_on_the_second_sidecar(path, data, **kwargs):
        if Path(path).name == "punch-0002.json":
            raise OSError(28, "No space left on device")
        return real(path, data, **kwargs)

    monkeypatch.setattr(partial, "atomic_write", disk_full_on_the_second_sidecar)
    with pytest.raises(OSError, match="No space"):
        import_imu_capture(tmp_path / "a", "g", tmp_path / "data")
    assert [s.name for s in list_sessions("g", tmp_path / "data")] == ["punch-0001"]
    monkeypatch.setattr(partial, "atomic_write", real)
    sessions = import_imu_capture(tmp_path / "a", "g", tmp_path / "data")
    assert [s.name for s in sessions] == ["punch-0001", "punch-0002", "punch-0003"]
    assert [s.samples for s in sessions] == [119] * 3
    ended = [s.meta["ended"] for s in sessions]  # the cut one was finished by recovery
    assert ended == ["imported", "recovered", "imported"]
    assert not list((tmp_path / "data" / "g" / "punch").glob(".*"))  # no partial files left
