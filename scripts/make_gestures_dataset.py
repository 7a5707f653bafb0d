"""Regenerate the bundled ``data/gestures`` dataset from the virtual board.

The sessions go through the real capture path: the virtual board streams protocol lines over
``sim://nano33ble?seed=<seed>&speed=0`` and :func:`tinybench.capture.record_dataset`
records
them, exactly as it would from a real board. The same seed gives the same dataset.

    .venv/bin/python scripts/make_gestures_dataset.py
    .venv/bin/python scripts/make_gestures_dataset.py --seed 7 --dataset gestures_seed7
"""

from __future__ import annotations

import argparse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LABELS = ("idle", "wave", "punch", "flex", "circle")


def main(argv: list[str] | None = None) -> int:
    """Record the dataset and print where it went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1, help="virtual board seed (default 1)")
    parser.add_argument("--sessions", type=int, default=40, help="sessions per label")
    parser.add_argument("--samples", type=int, default=298, help="samples per session")
    parser.add_argument("--labels", nargs="+", default=list(LABELS), help="gestures to record")
    parser.add_argument("--dataset", default="gestures", help="dataset folder name")
    parser.add_argument("--data-dir", type=Path, default=REPO / "data", help="root of datasets")
    args = parser.parse_args(argv)

    from tinybench.capture import record_dataset
    from tinybench.wire.link import open_link

    with open_link(f"sim://nano33ble?seed={args.seed}&speed=0") as link:
        sessions = record_dataset(
            link,
            args.dataset,
            args.labels,
            args.sessions,
            args.samples,
            args.data_dir,
            replace=True,
        )
    print(f"{len(sessions)} sessions written to {args.data_dir / args.dataset}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
