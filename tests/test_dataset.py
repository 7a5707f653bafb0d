"""Dataset loading, windowing, session splits and normalization (no TensorFlow needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinybench.dataset import Dataset, Normalization, Split, Windows, prepare
from tinybench.errors import DatasetError

FIELDS = ("ax", "ay", "az", "gx", "gy", "gz")


def write_session(
    root: Path,
    label: str,
    session: str,
    values: np.ndarray,
    *,
    rate_hz: float = 119.0,
    fields: tuple[str, ...] = FIELDS,
    seq: np.ndarray | None = None,
) -> None:
    folder = root / label
    folder.mkdir(parents=True, exist_ok=True)
    n = len(values)
    seq = np.arange(n) if seq is None else seq
    t_us = (seq * 1e6 / rate_hz).astype(np.int64)
    lines = [",".join(("seq", "t_us", *fields))]
    lines += [
        ",".join([str(int(s)), str(int(t)), *(f"{v:.5f}" for v in row)])
        for s, t, row in zip(seq, t_us, values, strict=True)
    ]
    (folder / f"{session}.csv").write_text("\n".join(lines) + "\n")
    meta = {
        "format": "tinybench-session/1",
        "dataset": root.name,
        "label": label,
        "session": session,
        "board": "nano33ble",
        "virtual": True,
        "sensor": "imu",
        "rate_hz": rate_hz,
        "fields": list(fields),
        "units": ["g"] * len(fields),
        "started_at": "2026-11-23T16:42:05+00:00",
        "samples": n,
        "lost_samples": 0,
        "dropped_lines": {"checksum": 0},
        "measured_rate_hz": rate_hz,
        "tinybench_version": "0.1.0",
    }
    (folder / f"{session}.json").write_text(json.dumps(meta))


def make_dataset(
    root: Path,
    labels: tuple[str, ...] = ("idle", "punch", "wave"),
    per_label: int = 8,
    samples: int = 60,
    seed: int = 0,
) -> Path:
    rng = np.random.default_rng(seed)
    for k, label in enumerate(labels):
        for i in range(per_label):
            offset = np.arange(len(FIELDS)) * (k + 1)
            values = rng.normal(offset, 1.0 + k, size=(samples, len(FIELDS)))
            write_session(root, label, f"{label}-{i:04d}", values)
    return root


@pytest.fixture
def gestures(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "gestures")


def test_load_builds_samples_and_sessions_frames(gestures: Path) -> None:
    ds = Dataset.load(gestures)
    assert ds.name == "gestures"
    assert ds.labels == ("idle", "punch", "wave")
    assert ds.fields == FIELDS
    assert ds.rate_hz == 119.0
    assert list(ds.samples.columns) == ["session", "label", "seq", "t_us", *FIELDS]
    assert len(ds.samples) == 3 * 8 * 60
    assert len(ds.sessions) == 24
    assert set(ds.sessions["label"]) == {"idle", "punch", "wave"}
    assert (ds.sessions["samples"] == 60).all()
    first = ds.samples[ds.samples["session"] == "punch-0003"]
    assert first["seq"].tolist() == list(range(60))


def test_load_by_name_under_data_dir(gestures: Path) -> None:
    ds = Dataset.load("gestures", data_dir=gestures.parent)
    assert len(ds.sessions) == 24


def test_labels_are_sorted_whatever_the_folder_order(tmp_path: Path) -> None:
    ds = Dataset.load(make_dataset(tmp_path / "d", labels=("zeta", "alpha", "mid")))
    assert ds.labels == ("alpha", "mid", "zeta")


def test_empty_folder_names_folder_and_next_step(tmp_path: Path) -> None:
    (tmp_path / "data" / "nothing").mkdir(parents=True)
    (tmp_path / "data" / "other").mkdir()
    with pytest.raises(DatasetError) as err:
        Dataset.load("nothing", data_dir=tmp_path / "data")
    message = str(err.value)
    assert "nothing" in message
    assert "tinybench capture" in message
    assert "other" in message  # lists what does exist


def test_missing_folder_is_a_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        Dataset.load("absent", data_dir=tmp_path)


def test_mixed_rates_name_the_odd_session(gestures: Path) -> None:
    write_session(gestures, "wave", "wave-odd", np.zeros((60, 6)), rate_hz=50.0)
    with pytest.raises(DatasetError, match="rate_hz") as err:
        Dataset.load(gestures)
    assert "wave-odd" in str(err.value)
    assert "idle-0000" not in str(err.value)


def test_mixed_fields_name_the_odd_session(gestures: Path) -> None:
    write_session(gestures, "idle", "idle-3axis", np.zeros((60, 3)), fields=("ax", "ay", "az"))
    with pytest.raises(DatasetError, match="fields") as err:
        Dataset.load(gestures)
    assert "idle-3axis" in str(err.value)


def test_one_class_only_is_refused(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "one", labels=("wave",))
    with pytest.raises(DatasetError, match="at least two"):
        Dataset.load(root)


def test_csv_without_metadata_is_refused(gestures: Path) -> None:
    (gestures / "wave" / "wave-0000.json").unlink()
    with pytest.raises(DatasetError, match=r"no \.json"):
        Dataset.load(gestures)


def test_header_that_contradicts_metadata_is_refused(gestures: Path) -> None:
    path = gestures / "idle" / "idle-0001.csv"
    text = path.read_text().replace("gz", "mz", 1)
    path.write_text(text)
    with pytest.raises(DatasetError, match=r"idle-0001\.csv"):
        Dataset.load(gestures)


def test_label_folder_must_match_metadata(gestures: Path) -> None:
    meta_path = gestures / "idle" / "idle-0002.json"
    meta = json.loads(meta_path.read_text())
    meta["label"] = "wave"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match="folder"):
        Dataset.load(gestures)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_split_puts_each_session_in_exactly_one_part(gestures: Path, seed: int) -> None:
    ds = Dataset.load(gestures)
    split = ds.split(val=0.25, test=0.25, seed=seed)
    train, val, test = set(split.train), set(split.val), set(split.test)
    assert not train & val and not train & test and not val & test
    assert train | val | test == set(ds.sessions.index)
    for part in (split.train, split.val, split.test):  # stratified: every label in every part
        assert set(ds.sessions.loc[list(part), "label"]) == set(ds.labels)
    assert len(split.test) == len(split.val) == 6


def test_split_depends_on_seed_only(gestures: Path) -> None:
    ds = Dataset.load(gestures)
    assert ds.split(seed=3) == ds.split(seed=3)
    assert ds.split(seed=3) != ds.split(seed=4)


def test_split_keeps_a_train_session_for_tiny_labels(tmp_path: Path) -> None:
    ds = Dataset.load(make_dataset(tmp_path / "tiny", per_label=2))
    split = ds.split(val=0.3, test=0.3)
    assert set(ds.sessions.loc[list(split.train), "label"]) == set(ds.labels)


@pytest.mark.parametrize(("val", "test"), [(-0.1, 0.2), (0.5, 0.5), (0.9, 0.2)])
def test_split_rejects_bad_fractions(gestures: Path, val: float, test: float) -> None:
    with pytest.raises(DatasetError, match="fractions"):
        Dataset.load(gestures).split(val=val, test=test)


def test_split_object_refuses_overlap() -> None:
    with pytest.raises(DatasetError, match="both"):
        Split(train=("a", "b"), val=("b",), test=())


def test_windows_shapes_labels_and_sessions(gestures: Path) -> None:
    ds = Dataset.load(gestures)
    split = ds.split(seed=0)
    w = ds.windows(window=20, stride=10, sessions=split.train)
    per_session = (60 - 20) // 10 + 1
    assert isinstance(w, Windows)
    assert w.x.shape == (len(split.train) * per_session, 20, 6)
    assert w.x.dtype == np.float32
    assert set(np.unique(w.sessions)) == set(split.train)
    # a window's label is its session's label, and its values are the session's samples
    row = 3 * per_session + 2
    session = w.sessions[row]
    assert w.labels[w.y[row]] == ds.sessions.at[session, "label"]
    raw = ds.samples[ds.samples["session"] == session][list(FIELDS)].to_numpy(np.float32)
    np.testing.assert_array_equal(w.x[row], raw[20:40])


def test_windows_never_cross_sessions_of_different_split_parts(gestures: Path) -> None:
    ds = Dataset.load(gestures)
    split = ds.split(seed=2)
    train = ds.windows(20, 5, split.train)
    test = ds.windows(20, 5, split.test)
    assert not set(train.sessions) & set(test.sessions)


def test_windows_skip_gaps_of_lost_samples(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "g", per_label=1)
    seq = np.r_[np.arange(30), np.arange(40, 70)]  # ten samples lost after seq 29
    values = np.arange(60 * 6, dtype=float).reshape(60, 6)
    write_session(root, "idle", "idle-gap", values, seq=seq)
    ds = Dataset.load(root)
    w = ds.windows(window=20, stride=10, sessions=["idle-gap"])
    # rows [0:20], [10:30] before the gap and [30:50], [40:60] after it; none spans rows 29-30
    assert len(w) == 4
    for expected, window in zip((0, 10, 30, 40), w.x, strict=True):
        np.testing.assert_array_equal(window, values[expected : expected + 20])


def test_default_window_is_one_second_and_stride_half(tmp_path: Path) -> None:
    ds = Dataset.load(make_dataset(tmp_path / "long", per_label=1, samples=238))
    w = ds.windows()
    assert w.input_shape == (119, 6)
    assert len(w) == 3 * 3  # starts 0, 59 and 118 in each 238-sample session


def test_window_longer_than_sessions_is_explained(gestures: Path) -> None:
    ds = Dataset.load(gestures)
    with pytest.raises(DatasetError, match="longer than every"):
        ds.windows(window=500)


@pytest.mark.parametrize(("window", "stride"), [(0, 5), (10, 0), (-3, None)])
def test_bad_window_or_stride(gestures: Path, window: int, stride: int | None) -> None:
    with pytest.raises(DatasetError, match="positive"):
        Dataset.load(gestures).windows(window, stride)


def test_unknown_session_ids_are_refused(gestures: Path) -> None:
    with pytest.raises(DatasetError, match="nope"):
        Dataset.load(gestures).windows(20, 10, ["nope"])


def test_normalization_uses_train_sessions_only(gestures: Path) -> None:
    ds = Dataset.load(gestures)
    split = ds.split(seed=0)
    norm = ds.normalization(split.train)
    train_rows = ds.samples[ds.samples["session"].isin(split.train)][list(FIELDS)]
    np.testing.assert_allclose(norm.mean, train_rows.mean().to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(norm.std, train_rows.std(ddof=0).to_numpy(), rtol=1e-6)
    all_rows = ds.samples[list(FIELDS)]
    assert not np.allclose(norm.mean, all_rows.mean().to_numpy(), rtol=1e-6)


def test_normalization_apply_and_round_trip() -> None:
    norm = Normalization(("a", "b"), (1.0, -2.0), (2.0, 0.5))
    x = np.array([[[3.0, -2.0], [1.0, -1.5]]])
    np.testing.assert_allclose(norm.apply(x), [[[1.0, 0.0], [0.0, 1.0]]])
    assert norm.apply(x).dtype == np.float32
    again = Normalization.from_dict(json.loads(json.dumps(norm.to_dict())))
    assert again == norm
    with pytest.raises(DatasetError, match="keys"):
        Normalization.from_dict({**norm.to_dict(), "scale": 1})
    with pytest.raises(DatasetError, match="fields"):
        norm.apply(np.zeros((2, 3)))


def test_constant_field_gets_unit_std() -> None:
    norm = Normalization.from_values(("a", "b"), np.array([[1.0, 5.0], [3.0, 5.0]]))
    assert norm.std == (1.0, 1.0)
    assert norm.mean == (2.0, 5.0)


def test_prepare_gives_normalized_parts(gestures: Path) -> None:
    p = prepare(gestures, window=20, stride=10, seed=1)
    assert p.labels == ("idle", "punch", "wave")
    assert p.input_shape == (20, 6)
    assert (p.window, p.stride, p.rate_hz) == (20, 10, 119.0)
    train_sessions = set(p.train.sessions)
    assert train_sessions == set(p.split.train)
    assert not train_sessions & set(p.test.sessions)
    assert not train_sessions & set(p.val.sessions)
    # normalized with train statistics: train windows are close to zero mean, unit std
    flat = p.train.x.reshape(-1, 6)
    np.testing.assert_allclose(flat.mean(axis=0), 0.0, atol=0.15)
    np.testing.assert_allclose(flat.std(axis=0), 1.0, atol=0.15)
    raw = Dataset.load(gestures).windows(20, 10, p.split.test)
    np.testing.assert_allclose(p.test.x, p.normalization.apply(raw.x), rtol=1e-6)


def test_digits_adapter_shares_the_interface() -> None:
    ds = Dataset.from_digits()
    assert ds.labels == tuple(str(d) for d in range(10))
    assert len(ds.sessions) == 1797
    split = ds.split(seed=0)
    w = ds.windows(sessions=split.test)
    assert w.x.shape[1:] == (8, 8, 1)
    assert w.x.min() >= 0 and w.x.max() <= 16
    assert len(set(w.y.tolist())) == 10
    with pytest.raises(DatasetError, match="not windowed"):
        ds.windows(window=4)


def test_digits_images_match_sklearn() -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    w = Dataset.from_digits().windows(sessions=["digit-0005", "digit-1000"])
    np.testing.assert_array_equal(w.x[..., 0], digits.images[[5, 1000]])
    assert [int(w.labels[y]) for y in w.y] == digits.target[[5, 1000]].tolist()


def test_prepare_digits_by_name() -> None:
    p = prepare("digits", window=119, stride=59, seed=0)  # images are not windowed: ignored
    assert p.input_shape == (8, 8, 1)
    assert p.window is None and p.rate_hz is None
    assert len(p.train) + len(p.val) + len(p.test) == 1797
    assert abs(float(p.train.x.mean())) < 0.05
    assert p.normalization.fields == ("intensity",)


def test_windows_sample_is_a_seeded_subset(gestures: Path) -> None:
    w = Dataset.load(gestures).windows(20, 10)
    part = w.sample(7, seed=1)
    assert len(part) == 7
    assert part.x.shape[1:] == w.x.shape[1:]
    np.testing.assert_array_equal(part.x, w.sample(7, seed=1).x)
    assert w.sample(10_000) is w


def in_memory(sessions_per_label: list[int]) -> Dataset:
    rows, metas = [], []
    for k, count in enumerate(sessions_per_label):
        for i in range(count):
            session = f"c{k}-{i}"
            rows.append(
                pd.DataFrame(
                    {"session": session, "label": f"c{k}", "seq": range(3), "t_us": 0, "v": 1.0}
                )
            )
            metas.append({"session": session, "label": f"c{k}", "samples": 3})
    samples = pd.concat(rows, ignore_index=True)
    return Dataset("mem", samples, pd.DataFrame(metas).set_index("session"), ("v",), 50.0)


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(1, 12), min_size=2, max_size=5),
    val=st.floats(0, 0.45),
    test=st.floats(0, 0.45),
    seed=st.integers(0, 2**16),
)
def test_split_invariants(counts: list[int], val: float, test: float, seed: int) -> None:
    ds = in_memory(counts)
    split = ds.split(val=val, test=test, seed=seed)
    parts = [set(split.train), set(split.val), set(split.test)]
    assert sum(len(p) for p in parts) == len(ds.sessions)  # every session, once
    assert set.union(*parts) == set(ds.sessions.index)
    labels = ds.sessions["label"]
    assert set(labels[list(split.train)]) == set(ds.labels)  # every label keeps training data
    for label, count in zip(ds.labels, counts, strict=True):
        for part, fraction in ((split.test, test), (split.val, val)):
            n = sum(labels[s] == label for s in part)
            assert n <= max(1, round(count * fraction))  # never more than asked (or one)
            if count >= 3 and fraction > 0:
                assert n >= 1  # a label with 3+ sessions appears in every non-empty part


def test_dataset_rejects_scattered_session_rows() -> None:
    ds = in_memory([2, 2])
    shuffled = ds.samples.sample(frac=1.0, random_state=0).reset_index(drop=True)
    with pytest.raises(DatasetError, match="contiguous"):
        Dataset("mem", shuffled, ds.sessions, ("v",), 50.0)
