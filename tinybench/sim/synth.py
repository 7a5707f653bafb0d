"""A seeded, physically plausible 6-axis IMU: the virtual board's sensor.

:class:`GestureSynth` simulates a board strapped to a wrist, like the Arduino Nano 33 BLE Sense
in the classic gesture tutorial, and reads it the way the LSM9DS1 does at 119 Hz: acceleration
in g (gravity included) and rotation rate in degrees per second, with per-session bias, white
noise, clipping to the ±4 g / ±2000 dps ranges and 16-bit quantization.

Each gesture is a kinematic model of the forearm: a position of the wrist (metres) and an
orientation (roll, pitch, yaw) as smooth functions of time. The accelerometer reading is the
specific force ``Rᵀ(a/g + ẑ)`` and the gyroscope reading the body rate ``vee(Rᵀ Ṙ)``, both
derived numerically from the same trajectory, so the two sensors agree with each other as they
do on a real arm. Every session draws a new wearer (how the board sits on the wrist, how the
arm is held, sensor bias and noise) and a new style (tempo, amplitude, phase, the person's way
of doing the gesture, tempo wobble and occasional pauses), so a classifier has to learn the
shape of a movement, not a fixed template.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from tinybench.errors import ConfigError
from tinybench.sim.gestures import GESTURES, POSTURE_DEG, Params, Pose, min_jerk

__all__ = [
    "ACCEL_RANGE_G",
    "DEFAULT_GESTURES",
    "FIELDS",
    "GYRO_RANGE_DPS",
    "UNITS",
    "GestureSynth",
]

DEFAULT_GESTURES = ("idle", "wave", "punch", "flex", "circle")
FIELDS = ("ax", "ay", "az", "gx", "gy", "gz")
UNITS = ("g", "g", "g", "dps", "dps", "dps")
ACCEL_RANGE_G = 4.0
GYRO_RANGE_DPS = 2000.0
ACCEL_LSB_G = 0.122e-3  # LSM9DS1 at ±4 g
GYRO_LSB_DPS = 70e-3  # LSM9DS1 at ±2000 dps
STANDARD_GRAVITY = 9.80665
_DIFF_STEP_S = 1e-3  # finite-difference step for velocities and accelerations
_FADE_S = 0.3  # cross-fade between gestures in a stream


@dataclass(frozen=True)
class _Wearer:
    """The board as worn: its mount on the wrist, where the person faces, its bias and noise."""

    mount: np.ndarray  # (3, 3) board frame relative to the wrist frame
    heading: float  # direction the person faces, rad
    accel_bias: np.ndarray  # (3,) g
    gyro_bias: np.ndarray  # (3,) dps
    accel_noise: float  # g, standard deviation
    gyro_noise: float  # dps, standard deviation


@dataclass(frozen=True)
class _Motion:
    """One performance of a gesture: the gesture's pose function and its drawn style."""

    label: str
    pose: Callable[[Params, np.ndarray], Pose]
    params: Params


# --- kinematics to sensor readings -------------------------------------------------------


def _rotation(angles: np.ndarray) -> np.ndarray:
    """Rotation matrices ``Rz(yaw) @ Ry(pitch) @ Rx(roll)`` for an (n, 3) array of angles."""
    cr, cp, cy = np.cos(angles).T
    sr, sp, sy = np.sin(angles).T
    r = np.empty((angles.shape[0], 3, 3))
    r[:, 0, 0] = cy * cp
    r[:, 0, 1] = cy * sp * sr - sy * cr
    r[:, 0, 2] = cy * sp * cr + sy * sr
    r[:, 1, 0] = sy * cp
    r[:, 1, 1] = sy * sp * sr + cy * cr
    r[:, 1, 2] = sy * sp * cr - cy * sr
    r[:, 2, 0] = -sp
    r[:, 2, 1] = cp * sr
    r[:, 2, 2] = cp * cr
    return r


def _measure(
    pose: Callable[[np.ndarray], Pose],
    wearer: _Wearer,
    t: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Read the simulated LSM9DS1 at times ``t``: (n, 6) accel in g and gyro in dps."""
    n, h = t.size, _DIFF_STEP_S
    angles, pos = pose(np.concatenate([t - h, t, t + h]))
    angles[:, 2] += wearer.heading
    rot = _rotation(angles) @ wearer.mount
    yaw = wearer.heading
    heading = np.array([[np.cos(yaw), -np.sin(yaw), 0], [np.sin(yaw), np.cos(yaw), 0], [0, 0, 1]])
    pos = pos @ heading.T
    before, now, after = rot[:n], rot[n : 2 * n], rot[2 * n :]
    accel_world = (pos[2 * n :] - 2 * pos[n : 2 * n] + pos[:n]) / (h * h * STANDARD_GRAVITY)
    accel_world[:, 2] += 1.0  # the accelerometer feels the support against gravity
    accel = np.einsum("nji,nj->ni", now, accel_world)
    spin = np.einsum("nji,njk->nik", now, (after - before) / (2 * h))
    gyro = np.degrees(
        0.5
        * np.stack(
            [
                spin[:, 2, 1] - spin[:, 1, 2],
                spin[:, 0, 2] - spin[:, 2, 0],
                spin[:, 1, 0] - spin[:, 0, 1],
            ],
            axis=1,
        )
    )
    accel += wearer.accel_bias + rng.normal(0.0, wearer.accel_noise, (n, 3))
    gyro += wearer.gyro_bias + rng.normal(0.0, wearer.gyro_noise, (n, 3))
    return np.concatenate(
        [_adc(accel, ACCEL_RANGE_G, ACCEL_LSB_G), _adc(gyro, GYRO_RANGE_DPS, GYRO_LSB_DPS)], axis=1
    )


def _adc(values: np.ndarray, full_scale: float, lsb: float) -> np.ndarray:
    """Saturate at the full scale and quantize to the sensor's signed 16-bit counts."""
    counts = np.round(np.clip(values, -full_scale, full_scale) / lsb)
    return np.clip(counts, -32768, 32767) * lsb


def _draw_wearer(rng: np.random.Generator) -> _Wearer:
    tilt = np.radians(rng.normal(0.0, [8.0, 8.0, 12.0]))
    return _Wearer(
        mount=_rotation(tilt[None, :])[0],
        heading=rng.uniform(0, 2 * np.pi),
        accel_bias=rng.normal(0.0, 0.02, 3),
        gyro_bias=rng.normal(0.0, 1.5, 3),
        accel_noise=rng.uniform(0.003, 0.012),
        gyro_noise=rng.uniform(0.15, 0.6),
    )


class GestureSynth:
    """Seeded synthetic 6-axis IMU on a wrist performing gestures.

    Args:
        seed: Seed of every random draw; the same seed and the same calls give the same data.
        rate_hz: Sample rate; the Nano 33 BLE Sense's LSM9DS1 runs at 119 Hz.
        gestures: Gesture names to offer, a subset of :data:`DEFAULT_GESTURES` in any order.

    Raises:
        ConfigError: A gesture name is unknown, or the rate is not positive.

    Example:
        >>> synth = GestureSynth(seed=1)
        >>> synth.session("wave", 238).shape
        (238, 6)
    """

    fields: tuple[str, ...] = FIELDS
    units: tuple[str, ...] = UNITS

    def __init__(
        self, seed: int = 0, rate_hz: float = 119.0, gestures: Sequence[str] = DEFAULT_GESTURES
    ) -> None:
        unknown = [name for name in gestures if name not in GESTURES]
        if unknown or not gestures:
            raise ConfigError(
                f"Unknown gestures {unknown or list(gestures)!r}. Known gestures: "
                f"{', '.join(GESTURES)}. Pass a non-empty subset of these."
            )
        if not rate_hz > 0:
            raise ConfigError(f"rate_hz must be positive, got {rate_hz!r}; the LSM9DS1 uses 119.")
        self.seed = seed
        self.rate_hz = float(rate_hz)
        self.labels: tuple[str, ...] = tuple(gestures)
        self._seeds = np.random.SeedSequence(seed)
        self._lock = threading.Lock()
        self._performing = self.labels[0]
        self._performances = 0  # counts perform() calls: each one is a new performance
        self._fade = True  # whether the latest perform() cross-fades from the previous one

    def __repr__(self) -> str:
        return f"GestureSynth(seed={self.seed}, rate_hz={self.rate_hz:g}, labels={self.labels})"

    def _rng(self) -> np.random.Generator:
        with self._lock:
            return np.random.default_rng(self._seeds.spawn(1)[0])

    def _performance_rng(self, performance: int) -> np.random.Generator:
        """The generator of the ``performance``-th clean start, fixed by the seed alone."""
        return np.random.default_rng(
            np.random.SeedSequence(self._seeds.entropy, spawn_key=(0x7B, performance))
        )

    def _check(self, label: str) -> str:
        if label not in self.labels:
            raise ConfigError(
                f"Unknown gesture {label!r}; known: {', '.join(self.labels)}. Pick one of these."
            )
        return label

    def _motion(self, label: str, rng: np.random.Generator) -> _Motion:
        draw, pose = GESTURES[label]
        params = draw(rng)
        roll, pitch = POSTURE_DEG[label]
        params["posture_roll"] = np.radians(roll + rng.uniform(-60, 60) + rng.normal(0, 15))
        params["posture_pitch"] = np.radians(pitch + rng.uniform(-30, 30) + rng.normal(0, 15))
        return _Motion(label, pose, params)

    @staticmethod
    def _pose(motion: _Motion, t: np.ndarray) -> Pose:
        angles, pos = motion.pose(motion.params, t)
        angles[:, 0] += motion.params["posture_roll"]
        angles[:, 1] += motion.params["posture_pitch"]
        return angles, pos

    def session(self, label: str, n_samples: int) -> np.ndarray:
        """Return one new recording session of ``label``: a new wearer and a new style.

        Args:
            label: One of :attr:`labels`.
            n_samples: Number of samples, at :attr:`rate_hz`.

        Returns:
            A float32 array of shape ``(n_samples, 6)``, columns as :attr:`fields`.

        Raises:
            ConfigError: ``label`` is unknown or ``n_samples`` is negative.
        """
        self._check(label)
        if n_samples < 0:
            raise ConfigError(f"n_samples must be >= 0, got {n_samples!r}.")
        rng = self._rng()
        wearer = _draw_wearer(rng)
        motion = self._motion(label, rng)
        t = rng.uniform(0.0, 60.0) + np.arange(n_samples) / self.rate_hz
        return _measure(lambda tt: self._pose(motion, tt), wearer, t, rng).astype(np.float32)

    def perform(self, label: str, *, fade: bool = True) -> None:
        """Make every running :meth:`stream` start a new performance of ``label``.

        A new performance has a new style and posture, even for the same gesture: the person
        stops and does it again. The arm moves to it in 0.3 s.

        Args:
            label: The gesture to perform.
            fade: Cross-fade from the previous performance, as an arm moving on camera would.
                Pass False when nobody is watching the switch (between recordings): the new
                performance then starts clean, so a recording holds only its own gesture.

        Raises:
            ConfigError: ``label`` is unknown; the message lists the known gestures.
        """
        with self._lock:
            self._performing = self._check(label)
            self._performances += 1
            self._fade = fade

    @property
    def performing(self) -> str:
        """The gesture the streams are performing now."""
        return self._performing

    def stream(self, block: int = 256) -> Iterator[np.ndarray]:
        """Yield consecutive (block, 6) float32 arrays forever, following :meth:`perform`.

        Time runs on without gaps. One board and wearer are drawn for the whole stream; each
        :meth:`perform` draws a new style and posture and cross-fades into it over 0.3 s, as
        an arm would.

        Args:
            block: Samples per yielded array.
        """
        if block < 1:
            raise ConfigError(f"block must be >= 1, got {block!r}.")
        rng = self._rng()
        wearer = _draw_wearer(rng)
        motion = self._motion(self._performing, rng)
        previous: _Motion | None = None
        switched_at = 0.0
        start = 0
        offsets = np.arange(block)

        def pose(t: np.ndarray) -> Pose:
            angles, pos = self._pose(motion, t)
            if previous is None:
                return angles, pos
            old_angles, old_pos = self._pose(previous, t)
            w = min_jerk((t - switched_at) / _FADE_S)[:, None]
            return old_angles + w * (angles - old_angles), old_pos + w * (pos - old_pos)

        with self._lock:
            performance, label = self._performances, self._performing
        if performance:  # perform() came before the stream: start with it, cleanly
            rng = self._performance_rng(performance)
            motion = self._motion(label, rng)
        while True:
            t = (start + offsets) / self.rate_hz
            with self._lock:
                label, latest, fade = self._performing, self._performances, self._fade
            if latest != performance:
                performance = latest
                if fade:
                    previous = motion
                else:  # a clean start: the same seed and perform() count give the same data
                    previous, start = None, 0
                    t = offsets / self.rate_hz
                    rng = self._performance_rng(performance)
                motion, switched_at = self._motion(label, rng), t[0]
            elif previous is not None and t[0] - _DIFF_STEP_S > switched_at + _FADE_S:
                previous = None
            yield _measure(pose, wearer, t, rng).astype(np.float32)
            start += block
