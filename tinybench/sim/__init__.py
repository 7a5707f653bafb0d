"""The virtual board: a board profile, a seeded synthetic sensor and TFLM, speaking protocol v1.

``synth`` makes the sensor data from the wrist motions in ``gestures``; ``board`` answers the
host's commands, fed by ``sensor_feed`` at the pace of ``pacing``, misbehaving as ``faults``
says; ``model_runner`` runs an exported model inside it, ``pty`` serves it on a pseudo-terminal,
and ``urlhandler`` makes it reachable as the pyserial URL ``sim://nano33ble?seed=1``.
"""

from tinybench.sim.board import VirtualBoard
from tinybench.sim.faults import Faults
from tinybench.sim.model_runner import SimModel, SlidingWindows
from tinybench.sim.pty import PtyServer, run_simulator, serve_pty
from tinybench.sim.synth import GestureSynth

__all__ = [
    "Faults",
    "GestureSynth",
    "PtyServer",
    "SimModel",
    "SlidingWindows",
    "VirtualBoard",
    "run_simulator",
    "serve_pty",
]
