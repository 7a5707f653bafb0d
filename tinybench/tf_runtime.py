"""The one place TensorFlow, Keras 2 and tfmot are imported.

tensorflow-model-optimization only accepts ``tf_keras`` (Keras 2) models, so
``TF_USE_LEGACY_KERAS=1`` must be set before the first TensorFlow import. Every module that
needs TensorFlow calls these loaders inside the function that needs it, so ``import tinybench``
stays light.

TensorFlow's native code writes log lines straight to file descriptor 2 (``cuInit`` errors on a
machine without a GPU, oneDNN notices, the converter's ``fully_quantize`` line), which Jupyter
shows in red under the cell and which ``TF_CPP_MIN_LOG_LEVEL`` does not silence, because absl
writes them before its logging is initialised. :func:`~tinybench.native_logs.quiet_native_logs`
redirects fd 2 while TensorFlow starts, and hands what was written to the ``tinybench.native``
logger at DEBUG level instead, so nothing is lost and nothing reaches a notebook.
"""

from __future__ import annotations

import logging
import os
import sys
from types import ModuleType

from tinybench.errors import ConfigError
from tinybench.native_logs import quiet_native_logs

__all__ = ["load_keras", "load_tensorflow", "load_tfmot"]


def load_tensorflow() -> ModuleType:
    """Import TensorFlow with Keras 2 selected and its C++ logs quietened.

    Raises:
        ConfigError: TensorFlow was already imported without ``TF_USE_LEGACY_KERAS=1``.
    """
    if "tensorflow" not in sys.modules:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    elif os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        raise ConfigError(
            "TensorFlow was imported before tinybench could select Keras 2 "
            f"(TF_USE_LEGACY_KERAS={os.environ.get('TF_USE_LEGACY_KERAS')!r}). "
            "Restart the kernel and import tinybench before tensorflow, or set "
            "TF_USE_LEGACY_KERAS=1 in the environment."
        )
    with quiet_native_logs():
        import tensorflow as tf

        tf.config.list_physical_devices()  # CUDA probing (cuInit) happens here, inside the block
    # TensorFlow's Python logger prints INFO lines such as "Assets written to: /tmp/…" under
    # every conversion; warnings and errors still show.
    logging.getLogger("tensorflow").setLevel(logging.WARNING)
    return tf


def load_keras() -> ModuleType:
    """Return ``tf_keras`` (Keras 2), the only Keras that tfmot accepts."""
    load_tensorflow()
    import tf_keras

    return tf_keras


def load_tfmot() -> ModuleType:
    """Return ``tensorflow_model_optimization`` bound to Keras 2."""
    load_keras()
    with quiet_native_logs():
        import tensorflow_model_optimization as tfmot

    return tfmot
