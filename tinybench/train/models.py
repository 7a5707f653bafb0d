"""Small Keras 2 (``tf_keras``) architectures that fit a microcontroller.

Every builder returns a compiled ``tf_keras`` model whose initial weights depend only on
``seed``. Only layers that tfmot can prune, cluster *and* quantize-aware train are used, so
every recipe in :mod:`tinybench.optimize` works on every model here.

The gesture classifier convolves over time with ``Conv2D`` kernels of shape ``(k, 1)`` on a
``(window, 1, fields)`` view of the input. That is the same computation as ``Conv1D``, but
tfmot's quantization-aware training and 2:4 pruning support ``Conv2D`` and not ``Conv1D``,
and the converted model is plain ``CONV_2D`` without ``EXPAND_DIMS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any

from tinybench.errors import ConfigError
from tinybench.tf_runtime import load_keras

__all__ = ["conv1d_classifier", "dense_autoencoder", "digits_cnn", "scaled_width"]


def scaled_width(channels: int, width: float) -> int:
    """Scale a layer's channel count by ``width``, rounded to a multiple of 4 (at least 4).

    Multiples of four suit 2:4 structured sparsity and the int8 kernels of CMSIS-NN.
    """
    if not width > 0:
        raise ConfigError(f"width multiplier must be positive, got {width!r}; try 0.25 to 2.0.")
    return max(4, round(channels * width / 4.0) * 4)


def conv1d_classifier(
    input_shape: Sequence[int],
    n_classes: int,
    width: float = 1.0,
    *,
    filters: Sequence[int] = (32, 64, 96),
    kernel_size: int = 9,
    dense: int = 64,
    dropout: float = 0.25,
    learning_rate: float = 2e-3,
    seed: int = 0,
) -> Any:
    """Temporal CNN for windows of multi-axis sensor data (IMU gestures).

    Three convolutions over time, each but the last followed by 2× max pooling, then global
    average pooling, one hidden dense layer and a softmax. At ``width=1.0`` with 6 fields
    and 5 classes it has about 82k parameters (about 2.9M multiply-accumulates per window of
    119 samples), enough that weights rather than flatbuffer overhead dominate the
    ``.tflite``: per-channel quantization parameters and tensor names cost about 10 KB, so
    int8 is 28% of float32 here and would be over 30% at a third of the size.

    Args:
        input_shape: ``(window, fields)``.
        n_classes: Number of classes.
        width: Multiplier applied to every layer's channel count.
        filters: Channels of the three convolutions at ``width=1.0``.
        kernel_size: Length of the temporal kernels, in samples.
        dense: Units of the hidden dense layer at ``width=1.0``.
        dropout: Dropout rate before the output layer.
        learning_rate: Adam learning rate the model is compiled with.
        seed: Seed of every initializer and of dropout.

    Returns:
        A compiled ``tf_keras.Sequential`` with sparse categorical cross-entropy loss.
    """
    keras = load_keras()
    layers = keras.layers
    window, fields = _check_shape(input_shape, 2, "(window, fields)")
    _check_classes(n_classes)
    seeds = iter(range(seed * 100, seed * 100 + 100))
    model = keras.Sequential(name="conv1d_classifier")
    model.add(layers.Input(shape=(window, fields)))
    model.add(layers.Reshape((window, 1, fields)))
    for i, channels in enumerate(filters):
        model.add(
            layers.Conv2D(
                scaled_width(channels, width),
                (kernel_size, 1),
                padding="same",
                activation="relu",
                kernel_initializer=keras.initializers.HeUniform(seed=next(seeds)),
            )
        )
        if i < len(filters) - 1:
            model.add(layers.MaxPooling2D((2, 1)))
    model.add(layers.GlobalAveragePooling2D())
    model.add(
        layers.Dense(
            scaled_width(dense, width),
            activation="relu",
            kernel_initializer=keras.initializers.HeUniform(seed=next(seeds)),
        )
    )
    model.add(layers.Dropout(dropout, seed=next(seeds)))
    model.add(_output(keras, n_classes, next(seeds)))
    _compile_classifier(keras, model, learning_rate)
    return model


def digits_cnn(
    input_shape: Sequence[int] = (8, 8, 1),
    n_classes: int = 10,
    width: float = 1.0,
    *,
    learning_rate: float = 3e-3,
    seed: int = 0,
) -> Any:
    """A tiny image CNN (about 9k parameters at ``width=1.0``) for 8×8 digits.

    Two 3×3 convolutions with 2× max pooling, a 32-unit dense layer and a softmax.

    Args:
        input_shape: ``(height, width, channels)``.
        n_classes: Number of classes.
        width: Multiplier applied to every layer's channel count.
        learning_rate: Adam learning rate the model is compiled with.
        seed: Seed of every initializer.

    Returns:
        A compiled ``tf_keras.Sequential`` with sparse categorical cross-entropy loss.
    """
    keras = load_keras()
    layers = keras.layers
    shape = _check_shape(input_shape, 3, "(height, width, channels)")
    _check_classes(n_classes)
    seeds = iter(range(seed * 100, seed * 100 + 100))
    model = keras.Sequential(name="digits_cnn")
    model.add(layers.Input(shape=shape))
    for channels in (16, 32):
        model.add(
            layers.Conv2D(
                scaled_width(channels, width),
                3,
                padding="same",
                activation="relu",
                kernel_initializer=keras.initializers.HeUniform(seed=next(seeds)),
            )
        )
        model.add(layers.MaxPooling2D(2))
    model.add(layers.Flatten())
    model.add(
        layers.Dense(
            scaled_width(32, width),
            activation="relu",
            kernel_initializer=keras.initializers.HeUniform(seed=next(seeds)),
        )
    )
    model.add(_output(keras, n_classes, next(seeds)))
    _compile_classifier(keras, model, learning_rate)
    return model


def dense_autoencoder(
    input_dim: int,
    *,
    hidden: Sequence[int] = (64, 32),
    bottleneck: int = 8,
    learning_rate: float = 1e-3,
    seed: int = 0,
) -> Any:
    """A fully connected autoencoder for anomaly detection on flat feature vectors.

    The encoder narrows through ``hidden`` to ``bottleneck`` units and the decoder mirrors
    it back to ``input_dim`` linear outputs; the reconstruction error is the anomaly score.

    Args:
        input_dim: Length of one input vector.
        hidden: Units of the encoder's hidden layers (the decoder mirrors them).
        bottleneck: Units of the code layer.
        learning_rate: Adam learning rate the model is compiled with.
        seed: Seed of every initializer.

    Returns:
        A compiled ``tf_keras.Sequential`` with mean squared error loss.
    """
    keras = load_keras()
    layers = keras.layers
    if not isinstance(input_dim, Integral) or input_dim < 1:
        raise ConfigError(f"input_dim must be a positive integer, got {input_dim!r}.")
    seeds = iter(range(seed * 100, seed * 100 + 100))
    model = keras.Sequential(name="dense_autoencoder")
    model.add(layers.Input(shape=(input_dim,)))
    for units in (*hidden, bottleneck, *reversed(hidden)):
        model.add(
            layers.Dense(
                units,
                activation="relu",
                kernel_initializer=keras.initializers.HeUniform(seed=next(seeds)),
            )
        )
    model.add(
        layers.Dense(input_dim, kernel_initializer=keras.initializers.GlorotUniform(next(seeds)))
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    return model


def _output(keras: Any, n_classes: int, seed: int) -> Any:
    return keras.layers.Dense(
        n_classes,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
    )


def _compile_classifier(keras: Any, model: Any, learning_rate: float) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def _check_shape(input_shape: Sequence[int], rank: int, meaning: str) -> tuple[int, ...]:
    shape = tuple(input_shape)
    if len(shape) != rank or not all(isinstance(d, Integral) and d > 0 for d in shape):
        raise ConfigError(
            f"input_shape must be {meaning} with positive integers, got {input_shape!r}; "
            "pass Prepared.input_shape."
        )
    return tuple(int(d) for d in shape)


def _check_classes(n_classes: int) -> None:
    if not isinstance(n_classes, Integral) or n_classes < 2:
        raise ConfigError(
            f"n_classes must be an integer of at least 2, got {n_classes!r}; "
            "pass len(Prepared.labels)."
        )
