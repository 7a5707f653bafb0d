"""The gestures of the synthetic wrist: each one a drawn style and a pose over time.

A gesture is a pair of functions. ``<name>_params(rng)`` draws one performance's style (tempo,
amplitude, phase, the person's way of doing it, tempo wobble and pauses); ``<name>_pose(p, t)``
gives the forearm's orientation (roll, pitch, yaw in radians) and the wrist's position (metres)
at times ``t``. :data:`GESTURES` maps each name to its pair, and :data:`POSTURE_DEG` to the
typical posture of the forearm. To add a gesture, write the pair and add it to both tables.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "GESTURES",
    "POSTURE_DEG",
    "Params",
    "Pose",
    "cycles",
    "envelope",
    "min_jerk",
    "rhythm",
    "stack",
]

Params = dict[str, float]
Pose = tuple[np.ndarray, np.ndarray]  # angles (n, 3) in rad, position (n, 3) in m


def cycles(p: Params, t: np.ndarray) -> np.ndarray:
    """Return the gesture's phase in cycles at ``t``, with a slow tempo wobble."""
    wobble = p["wobble"] * np.sin(2 * np.pi * p["wobble_hz"] * t + p["wobble_phase"])
    return p["freq"] * (t + wobble / (2 * np.pi * p["wobble_hz"])) + p["phase"]


def envelope(p: Params, t: np.ndarray) -> np.ndarray:
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


def min_jerk(x: np.ndarray) -> np.ndarray:
    """Minimum-jerk ramp from 0 to 1 on [0, 1]: zero velocity and acceleration at both ends."""
    x = np.clip(x, 0.0, 1.0)
    return x**3 * (10 - 15 * x + 6 * x * x)


def stack(*columns: np.ndarray | float, n: int) -> np.ndarray:
    """Stack columns (arrays or constants) into an (n, k) array."""
    return np.stack([np.broadcast_to(np.asarray(c, dtype=float), (n,)) for c in columns], axis=1)


def rhythm(rng: np.random.Generator, hz: tuple[float, float]) -> Params:
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
    angles = stack(*(p["drift_rad"] * s for s in slow), n=n)
    tremor = p["tremor_m"] * np.sin(2 * np.pi * p["tremor_hz"] * t + p["ph3"])
    # now and then a small fidget: the wrist turns a little and back
    fidget = (0.5 + 0.5 * np.sin(2 * np.pi * p["fidget_hz"] * t + p["ph4"])) ** 6
    pos = stack(
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
        **rhythm(rng, (1.8, 3.2)),
        "forearm_m": rng.uniform(0.22, 0.34),
        "roll_rad": np.radians((1.0 - 0.7 * pivot) * rng.uniform(15.0, 60.0)),
        "yaw_rad": np.radians(pivot * rng.uniform(8.0, 35.0)),
        "lag": rng.uniform(-0.6, 0.6),
        "bob_m": rng.uniform(0.0, 0.02),
        "skew": rng.uniform(-0.35, 0.35),
    }


def _wave_pose(p: Params, t: np.ndarray) -> Pose:
    """Side to side at 2-3 Hz: the wrist rolls, the forearm swings about the elbow, or both."""
    env = envelope(p, t)
    u = 2 * np.pi * cycles(p, t)
    u = u + p["skew"] * np.sin(u)  # quicker one way than the other
    swing = p["yaw_rad"] * np.sin(u) * env
    angles = stack(p["roll_rad"] * np.sin(u + p["lag"]) * env, 0.0, swing, n=t.size)
    r = p["forearm_m"]
    pos = stack(
        r * (np.cos(swing) - 1), r * np.sin(swing), p["bob_m"] * np.cos(2 * u) * env, n=t.size
    )
    return angles, pos


def _punch_params(rng: np.random.Generator) -> Params:
    style = rhythm(rng, (0.7, 1.3))
    period = 1.0 / style["freq"]
    extend_s = rng.uniform(0.1, 0.22)
    hold_s = rng.uniform(0.02, 0.12)
    retract_s = rng.uniform(0.2, min(0.45, period - extend_s - hold_s - 0.05))
    return {
        **style,
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
    env = envelope(p, t)
    v = np.mod(cycles(p, t), 1.0)
    out = min_jerk(v / p["extend"])
    back = min_jerk((v - p["extend"] - p["hold"]) / p["retract"])
    reach = (out - back) * env
    angles = stack(p["twist_rad"] * reach, p["dip_rad"] * reach, 0.0, n=t.size)
    pos = stack(p["reach_m"] * reach, 0.0, p["rise_m"] * reach, n=t.size)
    return angles, pos


def _flex_params(rng: np.random.Generator) -> Params:
    return {
        **rhythm(rng, (0.3, 0.75)),
        "curl_rad": np.radians(rng.uniform(50.0, 130.0)),
        "forearm_m": rng.uniform(0.22, 0.34),
        "skew": rng.uniform(-0.5, 0.5),
        "roll_rad": np.radians(rng.uniform(0.0, 25.0)),
    }


def _flex_pose(p: Params, t: np.ndarray) -> Pose:
    """Slow biceps curl: the forearm pitches about the elbow, so gravity turns in the board."""
    env = envelope(p, t)
    u = 2 * np.pi * cycles(p, t)
    u = u + p["skew"] * np.sin(u)  # up faster than down, or the other way round
    lift = 0.5 * (1 - np.cos(u)) * env
    theta = p["curl_rad"] * lift
    r = p["forearm_m"]
    angles = stack(p["roll_rad"] * lift, -theta, 0.0, n=t.size)
    pos = stack(r * (np.cos(theta) - 1), 0.0, r * np.sin(theta), n=t.size)
    return angles, pos


def _circle_params(rng: np.random.Generator) -> Params:
    return {
        **rhythm(rng, (0.6, 1.5)),
        "radius_m": rng.uniform(0.05, 0.3),
        "aspect": rng.uniform(0.6, 1.4),
        "direction": rng.choice([-1.0, 1.0]),
        "plane_tilt": rng.uniform(0, np.pi / 2),  # 0: upright in front, pi/2: flat
        "wobble_rad": np.radians(rng.uniform(3.0, 20.0)),
        "wobble_lag": rng.uniform(0, 2 * np.pi),
    }


def _circle_pose(p: Params, t: np.ndarray) -> Pose:
    """Circles in a plane about once a second: the axes move a quarter turn apart."""
    env = envelope(p, t)
    u = 2 * np.pi * cycles(p, t) * p["direction"]
    a = p["radius_m"] * np.cos(u) * env
    b = p["radius_m"] * p["aspect"] * np.sin(u) * env
    tilt = p["plane_tilt"]
    pos = stack(b * np.sin(tilt), a, b * np.cos(tilt), n=t.size)
    wobble = p["wobble_rad"] * env
    angles = stack(wobble * np.sin(u + p["wobble_lag"]), 0.5 * wobble * np.cos(u), 0.0, n=t.size)
    return angles, pos


GESTURES: dict[
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
POSTURE_DEG = {
    "idle": (0.0, -10.0),
    "wave": (0.0, 35.0),
    "punch": (0.0, 0.0),
    "flex": (0.0, -30.0),
    "circle": (0.0, 10.0),
}
