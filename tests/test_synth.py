"""GestureSynth: determinism, physics (gravity, rotation, ranges), gestures, streams, and
whether telling the gestures apart takes more than per-axis statistics."""

from __future__ import annotations

import numpy as np
import pytest

from tinybench.errors import ConfigError
from tinybench.sim.synth import (
    ACCEL_RANGE_G,
    DEFAULT_GESTURES,
    GYRO_RANGE_DPS,
    GestureSynth,
    _draw_wearer,
    _measure,
    _Wearer,
)

RATE = 119.0


def dominant_hz(signal: np.ndarray, rate: float = RATE) -> float:
    """Frequency of the strongest spectral peak of the strongest axis (above 0.2 Hz)."""
    signal = signal - signal.mean(axis=0)
    axis = int(np.argmax(signal.std(axis=0)))
    spectrum = np.abs(np.fft.rfft(signal[:, axis] * np.hanning(len(signal))))
    freqs = np.fft.rfftfreq(len(signal), 1 / rate)
    spectrum[freqs < 0.2] = 0
    return float(freqs[np.argmax(spectrum)])


def repetition_hz(signal: np.ndarray, rate: float = RATE) -> float:
    """Repetition rate of the strongest axis: the first autocorrelation peak near the best."""
    x = signal[:, int(np.argmax(signal.std(axis=0)))]
    x = x - x.mean()
    ac = np.correlate(x, x, mode="full")[len(x) - 1 :]
    ac /= ac[0]
    lags = np.arange(int(0.25 * rate), int(4 * rate))
    best = ac[lags].max()
    for lag in lags:
        if ac[lag] >= 0.7 * best and ac[lag] >= ac[lag - 1] and ac[lag] >= ac[lag + 1]:
            return rate / lag
    raise AssertionError("no repetition found")


def test_sessions_are_float32_six_axes_and_deterministic_in_the_seed() -> None:
    a, b = GestureSynth(seed=7), GestureSynth(seed=7)
    first = [a.session(label, 200) for label in a.labels]
    again = [b.session(label, 200) for label in b.labels]
    for x, y in zip(first, again, strict=True):
        assert x.shape == (200, 6) and x.dtype == np.float32
        np.testing.assert_array_equal(x, y)
    # each call is a new session, and another seed gives other sessions
    assert not np.array_equal(a.session("wave", 200), first[1])
    assert not np.array_equal(GestureSynth(seed=8).session("idle", 200), first[0])
    assert a.fields == ("ax", "ay", "az", "gx", "gy", "gz")
    assert a.units == ("g", "g", "g", "dps", "dps", "dps")
    assert a.labels == DEFAULT_GESTURES


def test_idle_reads_one_g_of_gravity_in_a_direction_that_varies_per_session() -> None:
    synth = GestureSynth(seed=1)
    directions = []
    for _ in range(12):
        x = synth.session("idle", 240)
        accel, gyro = x[:, :3], x[:, 3:]
        norm = np.linalg.norm(accel, axis=1)
        assert 0.93 < norm.mean() < 1.07
        assert gyro.std(axis=0).max() < 10.0  # small tremor and drift, in dps
        assert accel.std(axis=0).max() < 0.1  # not a gesture
        directions.append(accel.mean(axis=0) / norm.mean())
    directions = np.array(directions)
    angles = np.degrees(np.arccos(np.clip(directions @ directions.T, -1, 1)))
    assert angles.max() > 40  # the wrist is held differently from session to session


def test_values_stay_in_lsm9ds1_ranges_and_on_its_resolution() -> None:
    synth = GestureSynth(seed=2)
    x = np.concatenate([synth.session(label, 600) for label in synth.labels for _ in range(4)])
    assert np.abs(x[:, :3]).max() <= ACCEL_RANGE_G
    assert np.abs(x[:, 3:]).max() <= GYRO_RANGE_DPS
    assert np.abs(x[:, :3]).max() > 2.0  # vigorous punches and waves do get near the range
    # 16-bit LSM9DS1 readings: multiples of 0.122 mg and 70 mdps (up to float32 rounding)
    np.testing.assert_allclose(x[:, 3:] / 0.07, np.round(x[:, 3:] / 0.07), atol=1e-3)
    np.testing.assert_allclose(x[:, :3] / 0.122e-3, np.round(x[:, :3] / 0.122e-3), atol=2e-2)


def test_gyroscope_agrees_with_how_gravity_turns_in_the_board() -> None:
    """For a pure rotation, d(g_board)/dt = -omega x g_board: accel and gyro are one motion."""
    rng = np.random.default_rng(0)
    wearer = _draw_wearer(rng)
    quiet = _Wearer(wearer.mount, wearer.heading, np.zeros(3), np.zeros(3), 1e-12, 1e-12)

    def turning(t: np.ndarray):
        angles = np.stack([0.8 * np.sin(2.1 * t), 0.5 * np.sin(1.3 * t + 1), 0.3 * t], axis=1)
        return angles, np.zeros((t.size, 3))

    t = np.arange(600) / RATE
    x = _measure(turning, quiet, t, rng)
    g_board, omega = x[:, :3], np.radians(x[:, 3:])
    assert np.allclose(np.linalg.norm(g_board, axis=1), 1.0, atol=1e-3)
    derivative = np.gradient(g_board, 1 / RATE, axis=0)[5:-5]
    predicted = -np.cross(omega, g_board)[5:-5]
    assert np.abs(derivative - predicted).max() < 0.02 * np.abs(predicted).max()


@pytest.mark.parametrize(
    ("label", "low", "high"),
    [("wave", 1.7, 3.3), ("punch", 0.65, 1.4), ("flex", 0.28, 0.8), ("circle", 0.55, 1.55)],
)
def test_each_gesture_repeats_at_its_own_tempo_in_both_sensors(label, low, high) -> None:
    synth = GestureSynth(seed=3)
    for _ in range(5):
        x = synth.session(label, int(12 * RATE)).astype(np.float64)
        gyro_hz = repetition_hz(x[:, 3:])
        assert low <= gyro_hz <= high, (label, gyro_hz)
        if label == "punch":  # a punch's accel spikes spread over many harmonics
            continue
        # the accelerometer moves with the same rhythm: at it, or at twice it (a swing's
        # centripetal pull and the cosine of a rolling gravity vector peak twice per cycle)
        ratio = dominant_hz(x[:, :3]) / dominant_hz(x[:, 3:])
        assert min(abs(ratio - 1), abs(ratio - 2)) < 0.12, (label, ratio)


def test_gestures_have_their_signatures() -> None:
    synth = GestureSynth(seed=4)
    stats = {label: [] for label in synth.labels}
    for label in synth.labels:
        for _ in range(6):
            x = synth.session(label, 480)
            stats[label].append(
                (np.linalg.norm(x[:, 3:].std(axis=0)), np.abs(np.linalg.norm(x[:, :3], axis=1)))
            )
    gyro = {label: np.median([s[0] for s in v]) for label, v in stats.items()}
    peak_g = {label: np.median([s[1].max() for s in v]) for label, v in stats.items()}
    assert gyro["idle"] < 10 < min(gyro[g] for g in ("wave", "punch", "flex", "circle"))
    assert gyro["wave"] > gyro["circle"]  # the wrist rolls back and forth 2-3 times a second
    assert peak_g["punch"] > 2.0  # a sharp spike on the thrust
    assert peak_g["idle"] < 1.1


def test_stream_follows_perform_without_breaks() -> None:
    synth = GestureSynth(seed=5)
    stream = synth.stream(block=64)
    idle = np.concatenate([next(stream) for _ in range(8)])
    synth.perform("wave")
    assert synth.performing == "wave"
    wave = np.concatenate([next(stream) for _ in range(16)])
    assert idle.shape == (512, 6) and wave.dtype == np.float32
    assert idle[:, 3:].std() < 10 < wave[64:, 3:].std()
    # the switch is a movement (0.3 s to the new pose), not a jump: gravity turns no faster
    # than during the wave, and the rotation rate changes no more abruptly than twice as fast
    steps = np.diff(np.concatenate([idle, wave]), axis=0)
    accel_step = np.linalg.norm(steps[:, :3], axis=1)
    gyro_step = np.linalg.norm(steps[:, 3:], axis=1)
    assert accel_step[505:560].max() <= 1.5 * accel_step[600:].max()
    assert gyro_step[505:560].max() <= 2.0 * gyro_step[600:].max()
    # the same seed streams the same data
    again = GestureSynth(seed=5).stream(block=64)
    np.testing.assert_array_equal(next(again), idle[:64])


def test_performing_the_same_gesture_again_is_a_new_performance() -> None:
    synth = GestureSynth(seed=6)
    stream = synth.stream(block=119)
    synth.perform("circle")
    first = np.concatenate([next(stream) for _ in range(6)])[119:]
    synth.perform("circle")
    second = np.concatenate([next(stream) for _ in range(6)])[119:]
    assert synth.performing == "circle"
    # another tempo, size and posture: the rhythm and the gravity direction both change
    assert abs(repetition_hz(first[:, 3:]) / repetition_hz(second[:, 3:]) - 1) > 0.05
    gravity = [
        x[:, :3].mean(axis=0) / np.linalg.norm(x[:, :3].mean(axis=0)) for x in (first, second)
    ]
    assert np.degrees(np.arccos(np.clip(gravity[0] @ gravity[1], -1, 1))) > 5


def test_unknown_gestures_and_bad_arguments_name_the_choices() -> None:
    synth = GestureSynth()
    with pytest.raises(ConfigError, match=r"'jump'.*idle, wave, punch, flex, circle"):
        synth.session("jump", 10)
    with pytest.raises(ConfigError, match="known: idle"):
        synth.perform("jump")
    with pytest.raises(ConfigError, match="Known gestures"):
        GestureSynth(gestures=("wave", "jump"))
    with pytest.raises(ConfigError, match="rate_hz"):
        GestureSynth(rate_hz=0)
    assert GestureSynth(gestures=("flex", "wave")).labels == ("flex", "wave")


# --- does a classifier have to learn something? ------------------------------------------

WINDOW, STRIDE = 119, 30


def windows(seed: int, sessions: int) -> tuple[np.ndarray, np.ndarray]:
    synth = GestureSynth(seed=seed)
    x, y = [], []
    for _ in range(sessions):
        for index, label in enumerate(synth.labels):
            session = synth.session(label, 4 * 119)
            for start in range(0, len(session) - WINDOW + 1, STRIDE):
                x.append(session[start : start + WINDOW])
                y.append(index)
    return np.array(x), np.array(y)


def mean_std(x: np.ndarray) -> np.ndarray:
    return np.concatenate([x.mean(axis=1), x.std(axis=1)], axis=1)


def spectral(x: np.ndarray) -> np.ndarray:
    spectrum = np.abs(np.fft.rfft(x - x.mean(axis=1, keepdims=True), axis=1))
    bands = [(1, 2), (2, 3), (3, 5), (5, 8), (8, 13), (13, 25), (25, 60)]
    power = [spectrum[:, a:b].mean(axis=1) for a, b in bands]
    return np.concatenate([mean_std(x), np.log1p(np.concatenate(power, axis=1))], axis=1)


@pytest.fixture(scope="module")
def held_out() -> tuple[np.ndarray, ...]:
    """Windows of 40 training sessions per gesture and of 30 other sessions to test on."""
    return (*windows(seed=101, sessions=40), *windows(seed=102, sessions=30))


def logistic_accuracy(features, held_out) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train, y_train, x_test, y_test = held_out
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    model.fit(features(x_train), y_train)
    return float(model.score(features(x_test), y_test))


def test_per_axis_statistics_are_not_enough_but_the_signal_shape_is(held_out) -> None:
    trivial = logistic_accuracy(mean_std, held_out)
    shaped = logistic_accuracy(spectral, held_out)
    assert trivial < 0.95  # amplitudes overlap between gestures and people
    assert shaped >= 0.93  # how the signal moves over time tells them apart
    assert shaped - trivial >= 0.03


@pytest.mark.slow
def test_a_small_conv1d_learns_the_gestures_on_held_out_sessions(held_out) -> None:
    from tinybench.train.fit import seed_everything
    from tinybench.train.models import conv1d_classifier

    seed_everything(0)
    x_train, y_train, x_test, y_test = held_out
    mean, std = x_train.mean(axis=(0, 1)), x_train.std(axis=(0, 1))
    model = conv1d_classifier((WINDOW, 6), len(DEFAULT_GESTURES), width=0.25, seed=0)
    model.fit((x_train - mean) / std, y_train, epochs=10, batch_size=32, verbose=0)
    accuracy = model.evaluate((x_test - mean) / std, y_test, verbose=0)[1]
    assert 0.88 <= accuracy <= 0.995
    assert accuracy >= logistic_accuracy(mean_std, held_out) + 0.02


def test_a_clean_start_depends_only_on_the_seed_and_the_perform_count() -> None:
    """A recording's values do not depend on how far the stream ran before it."""

    def performance(blocks_before: int) -> np.ndarray:
        synth = GestureSynth(seed=5)
        stream = synth.stream(block=64)
        for _ in range(blocks_before):
            next(stream)
        synth.perform("wave", fade=False)
        return np.concatenate([next(stream) for _ in range(3)])

    first = performance(0)
    np.testing.assert_array_equal(first, performance(7))
    assert not np.array_equal(first, GestureSynth(seed=6).session("wave", len(first)))
