"""Training: small Keras 2 (tf_keras) architectures and a reproducible ``fit()``."""

from tinybench.train.fit import Evaluation, TrainResult, evaluate, fit, seed_everything
from tinybench.train.models import conv1d_classifier, dense_autoencoder, digits_cnn, scaled_width

__all__ = [
    "Evaluation",
    "TrainResult",
    "conv1d_classifier",
    "dense_autoencoder",
    "digits_cnn",
    "evaluate",
    "fit",
    "scaled_width",
    "seed_everything",
]
