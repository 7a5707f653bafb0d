"""Datasets: loading recorded sessions, splitting them by session, windowing, normalizing.

``files`` reads and checks a dataset folder, ``loading`` holds :class:`Dataset` and
:func:`prepare`, ``split`` splits by session, ``windows`` cuts model inputs, and
``normalization`` holds the train-split statistics that travel with a model. ``importers``
turns other tools' CSV files and a class of students' datasets into sessions
(``imported_sessions`` writes them).
"""

from tinybench.dataset.files import RATE_TOLERANCE
from tinybench.dataset.importers import (
    import_class,
    import_edge_impulse_csv,
    import_imu_capture,
)
from tinybench.dataset.loading import Dataset, Prepared, prepare
from tinybench.dataset.normalization import Normalization
from tinybench.dataset.split import Split
from tinybench.dataset.windows import Windows

__all__ = [
    "RATE_TOLERANCE",
    "Dataset",
    "Normalization",
    "Prepared",
    "Split",
    "Windows",
    "import_class",
    "import_edge_impulse_csv",
    "import_imu_capture",
    "prepare",
]
