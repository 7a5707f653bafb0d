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

Params = dict[str, float]
Pose = tuple[np.ndarray, np.ndarray]  # angles (n, 3) in rad, position (n, 3) in m


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


# --- helpers shared by the gestures ------------------------------------------------------


def _cycles(p: Params, t: np.ndarray) -> np.ndarray:
    """Return the gesture's phase in cycles at ``t``, with a slow tempo wobble."""
    wobble = p["wobble"] * np.sin(2 * np.pi * p["wobble_hz"] * t + p["wobble_phase"])
    return p["freq"] * (t + wobble / (2 * np.pi * p["wobble_hz"])) + p["phase"]


def _envelope(p: Params, t: np.ndarray) -> np.ndarray:
    """Return the movement's amplitude.

    It varies from one repetition to the next and falls smoothly to 0 during the session's
    occasional pauses.
    """
    s = 0.5 * (
        np.sin(2 * np.pi * p["pause_hz1"] * t + p["pause_phase1"])
        + np.sin(2 * np.pi * p["pause_hz2"] * t + p["pause_phase2"])
    )
    x = np.clip((s - p["pause_level"]) / 0.1, 0.0, 1.0)
    vigour = 1.0 + p["vigour"] * np.sin(2 * np.pi * p["vigour_hz"] * t + p["vigour_phase"])
    return vigour * (1.0 - x * x * (3 - 2 * x))


def _min_jerk(x: np.ndarray) -> np.ndarray:
    """Minimum-jerk ramp from 0 to 1 on [0, 1]: zero velocity and acceleration at both ends."""
    x = np.clip(x, 0.0, 1.0)
    return x**3 * (10 - 15 * x + 6 * x * x)


def _stack(*columns: np.ndarray | float, n: int) -> np.ndarray:
    return np.stack([np.broadcast_to(np.asarray(c, dtype=float), (n,)) for c in columns], axis=1)


def _rhythm(rng: np.random.Generator, hz: tuple[float, float]) -> Params:
    """Draw what every rhythmic gesture shares: tempo, phase, wobble and pauses."""
    return {
        "freq": rng.uniform(*hz),
        "phase": rng.uniform(0, 1),
        "wobble": rng.uniform(0.0, 0.12),
        "wobble_hz": rng.uniform(0.1, 0.4),
        "wobble_phase": rng.uniform(0, 2 * np.pi),
        "vigour": rng.uniform(0.0, 0.3),
        "vigour_hz": rng.uniform(0.1, 0.5),
        "vigour_phase": rng.uniform(0, 2 * np.pi),
        "pause_hz1": rng.uniform(0.04, 0.12),
        "pause_hz2": rng.uniform(0.04, 0.12),
        "pause_phase1": rng.uniform(0, 2 * np.pi),
        "pause_phase2": rng.uniform(0, 2 * np.pi),
        # above 1 there is never a pause; near 0.7 the hand rests a few percent of the time
        "pause_level": rng.choice([rng.uniform(0.7, 0.9), 2.0]),
    }


# --- the gestures ------------------------------------------------------------------------


def _idle_params(rng: np.random.Generator) -> Params:
    return {
        "tremor_hz": rng.uniform(7.0, 12.0),
        "tremor_m": rng.uniform(0.01e-3, 0.12e-3),
        "sway_m": rng.uniform(0.002, 0.03),
        "drift_rad": np.radians(rng.uniform(0.5, 6.0)),
        **{f"f{k}": rng.uniform(0.03, 0.3) for k in range(3)},
        **{f"ph{k}": rng.uniform(0, 2 * np.pi) for k in range(5)},
        "fidget_hz": rng.uniform(0.08, 0.3),
        "fidget_rad": np.radians(rng.uniform(0.0, 4.0)),
    }


def _idle_pose(p: Params, t: np.ndarray) -> Pose:
    """Hand at rest: physiological tremor, slow sway of the arm and drift of the wrist."""
    n = t.size
    slow = [np.sin(2 * np.pi * p[f"f{k}"] * t + p[f"ph{k}"]) for k in range(3)]
    angles = _stack(*(p["drift_rad"] * s for s in slow), n=n)
    tremor = p["tremor_m"] * np.sin(2 * np.pi * p["tremor_hz"] * t + p["ph3"])
    # now and then a small fidget: the wrist turns a little and back
    fidget = (0.5 + 0.5 * np.sin(2 * np.pi * p["fidget_hz"] * t + p["ph4"])) ** 6
    pos = _stack(
        p["sway_m"] * slow[1] + tremor,
        p["sway_m"] * slow[2] + 0.6 * tremor,
        0.5 * p["sway_m"] * slow[0] + 0.4 * tremor,
        n=n,
    )
    angles[:, 0] += p["fidget_rad"] * fidget
    angles[:, 1] += 0.5 * p["fidget_rad"] * fidget
    return angles, pos


def _wave_params(rng: np.random.Generator) -> Params:
    pivot = rng.uniform(0.0, 1.0)  # 0: a royal wave from the wrist, 1: the forearm swings
    return {
        **_rhythm(rng, (1.8, 3.2)),
        "forearm_m": rng.uniform(0.22, 0.34),
        "roll_rad": np.radians((1.0 - 0.7 * pivot) * rng.uniform(15.0, 60.0)),
        "yaw_rad": np.radians(pivot * rng.uniform(8.0, 35.0)),
        "lag": rng.uniform(-0.6, 0.6),
        "bob_m": rng.uniform(0.0, 0.02),
        "skew": rng.uniform(-0.35, 0.35),
    }


def _wave_pose(p: Params, t: np.ndarray) -> Pose:
    """Side to side at 2-3 Hz: the wrist rolls, the forearm swings about the elbow, or both."""
    env = _envelope(p, t)
    u = 2 * np.pi * _cycles(p, t)
    u = u + p["skew"] * np.sin(u)  # quicker one way than the other
    swing = p["yaw_rad"] * np.sin(u) * env
    angles = _stack(p["roll_rad"] * np.sin(u + p["lag"]) * env, 0.0, swing, n=t.size)
    r = p["forearm_m"]
    pos = _stack(
        r * (np.cos(swing) - 1), r * np.sin(swing), p["bob_m"] * np.cos(2 * u) * env, n=t.size
    )
    return angles, pos


def _punch_params(rng: np.random.Generator) -> Params:
    rhythm = _rhythm(rng, (0.7, 1.3))
    period = 1.0 / rhythm["freq"]
    extend_s = rng.uniform(0.1, 0.22)
    hold_s = rng.uniform(0.02, 0.12)
    retract_s = rng.uniform(0.2, min(0.45, period - extend_s - hold_s - 0.05))
    return {
        **rhythm,
        "reach_m": rng.uniform(0.15, 0.4),
        "extend": extend_s / period,
        "hold": hold_s / period,
        "retract": retract_s / period,
        "twist_rad": np.radians(rng.uniform(0.0, 90.0)),  # corkscrew punch or not
        "dip_rad": np.radians(rng.uniform(-15.0, 15.0)),
        "rise_m": rng.uniform(-0.05, 0.08),
    }


def _punch_pose(p: Params, t: np.ndarray) -> Pose:
    """Fast forward thrust, a short hold and a slower pull back, about once a second."""
    env = _envelope(p, t)
    v = np.mod(_cycles(p, t), 1.0)
    out = _min_jerk(v / p["extend"])
    back = _min_jerk((v - p["extend"] - p["hold"]) / p["retract"])
    reach = (out - back) * env
    angles = _stack(p["twist_rad"] * reach, p["dip_rad"] * reach, 0.0, n=t.size)
    pos = _stack(p["reach_m"] * reach, 0.0, p["rise_m"] * reach, n=t.size)
    return angles, pos


def _flex_params(rng: np.random.Generator) -> Params:
    return {
        **_rhythm(rng, (0.3, 0.75)),
        "curl_rad": np.radians(rng.uniform(50.0, 130.0)),
        "forearm_m": rng.uniform(0.22, 0.34),
        "skew": rng.uniform(-0.5, 0.5),
        "roll_rad": np.radians(rng.uniform(0.0, 25.0)),
    }


def _flex_pose(p: Params, t: np.ndarray) -> Pose:
    """Slow biceps curl: the forearm pitches about the elbow, so gravity turns in the board."""
    env = _envelope(p, t)
    u = 2 * np.pi * _cycles(p, t)
    u = u + p["skew"] * np.sin(u)  # up faster than down, or the other way round
    lift = 0.5 * (1 - np.cos(u)) * env
    theta = p["curl_rad"] * lift
    r = p["forearm_m"]
    angles = _stack(p["roll_rad"] * lift, -theta, 0.0, n=t.size)
    pos = _stack(r * (np.cos(theta) - 1), 0.0, r * np.sin(theta), n=t.size)
    return angles, pos


def _circle_params(rng: np.random.Generator) -> Params:
    return {
        **_rhythm(rng, (0.6, 1.5)),
        "radius_m": rng.uniform(0.05, 0.3),
        "aspect": rng.uniform(0.6, 1.4),
        "direction": rng.choice([-1.0, 1.0]),
        "plane_tilt": rng.uniform(0, np.pi / 2),  # 0: upright in front, pi/2: flat
        "wobble_rad": np.radians(rng.uniform(3.0, 20.0)),
        "wobble_lag": rng.uniform(0, 2 * np.pi),
    }


def _circle_pose(p: Params, t: np.ndarray) -> Pose:
    """Circles in a plane about once a second: the axes move a quarter turn apart."""
    env = _envelope(p, t)
    u = 2 * np.pi * _cycles(p, t) * p["direction"]
    a = p["radius_m"] * np.cos(u) * env
    b = p["radius_m"] * p["aspect"] * np.sin(u) * env
    tilt = p["plane_tilt"]
    pos = _stack(b * np.sin(tilt), a, b * np.cos(tilt), n=t.size)
    wobble = p["wobble_rad"] * env
    angles = _stack(wobble * np.sin(u + p["wobble_lag"]), 0.5 * wobble * np.cos(u), 0.0, n=t.size)
    return angles, pos


_GESTURES: dict[
    str, tuple[Callable[[np.random.Generator], Params], Callable[[Params, np.ndarray], Pose]]
] = {
    "idle": (_idle_params, _idle_pose),
    "wave": (_wave_params, _wave_pose),
    "punch": (_punch_params, _punch_pose),
    "flex": (_flex_params, _flex_pose),
    "circle": (_circle_params, _circle_pose),
}

# Typical forearm posture per gesture (roll, pitch in degrees); each performance adds a wide
# spread: how far the forearm is turned (±60°) and raised (±30°) is up to the person, and no
# two repetitions of the same person are held quite alike (±15°).
_POSTURE_DEG = {
    "idle": (0.0, -10.0),
    "wave": (0.0, 35.0),
    "punch": (0.0, 0.0),
    "flex": (0.0, -30.0),
    "circle": (0.0, 10.0),
}


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
        unknown = [name for name in gestures if name not in _GESTURES]
        if unknown or not gestures:
            raise ConfigError(
                f"Unknown gestures {unknown or list(gestures)!r}. Known gestures: "
                f"{', '.join(_GESTURES)}. Pass a non-empty subset of these."
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
        draw, pose = _GESTURES[label]
        params = draw(rng)
        roll, pitch = _POSTURE_DEG[label]
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
            w = _min_jerk((t - switched_at) / _FADE_S)[:, None]
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
