"""Model builders and fit(): sizes, seeds, early stopping, progress, reproducibility."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tinybench.dataset import Windows, prepare
from tinybench.errors import ConfigError
from tinybench.train.fit import TrainResult, fit
from tinybench.train.models import conv1d_classifier, dense_autoencoder, digits_cnn, scaled_width


@pytest.fixture(scope="module")
def digits():
    return prepare("digits", seed=0)


def small(w: Windows, n: int) -> Windows:
    return w.sample(n, seed=0)


def weights_equal(a, b) -> bool:
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb, strict=True))


def test_light_imports_do_not_load_tensorflow() -> None:
    code = (
        "import sys; import tinybench.dataset.loading, tinybench.train.models, "
        "tinybench.train.fit, "
        "tinybench.optimize; print('tensorflow' in sys.modules, 'tf_keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_conv1d_classifier_size_and_shape() -> None:
    model = conv1d_classifier((119, 6), 5)
    assert 30_000 <= model.count_params() <= 100_000  # weights must dominate the flatbuffer
    assert model.input_shape == (None, 119, 6)
    assert model.output_shape == (None, 5)
    half = conv1d_classifier((119, 6), 5, width=0.5)
    assert half.count_params() < 0.4 * model.count_params()
    out = model(np.zeros((2, 119, 6), np.float32)).numpy()
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_builders_are_deterministic_under_a_seed() -> None:
    assert weights_equal(
        conv1d_classifier((40, 3), 4, seed=3), conv1d_classifier((40, 3), 4, seed=3)
    )
    assert not weights_equal(
        conv1d_classifier((40, 3), 4, seed=3), conv1d_classifier((40, 3), 4, seed=4)
    )
    assert weights_equal(digits_cnn(seed=1), digits_cnn(seed=1))
    assert weights_equal(dense_autoencoder(20, seed=2), dense_autoencoder(20, seed=2))


def test_digits_cnn_and_autoencoder_shapes() -> None:
    cnn = digits_cnn()
    assert cnn.input_shape == (None, 8, 8, 1) and cnn.output_shape == (None, 10)
    assert 5_000 <= cnn.count_params() <= 15_000
    ae = dense_autoencoder(32, hidden=(16,), bottleneck=4)
    assert ae.output_shape == (None, 32)
    assert [layer.units for layer in ae.layers] == [16, 4, 16, 32]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: conv1d_classifier((119,), 5), "input_shape"),
        (lambda: conv1d_classifier((119, 6), 1), "n_classes"),
        (lambda: digits_cnn((8, 8)), "input_shape"),
        (lambda: dense_autoencoder(0), "input_dim"),
        (lambda: scaled_width(16, 0.0), "width"),
    ],
)
def test_builders_reject_bad_arguments(call, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        call()


def test_scaled_width_rounds_to_multiples_of_four() -> None:
    assert scaled_width(32, 1.0) == 32
    assert scaled_width(32, 0.5) == 16
    assert scaled_width(96, 0.3) == 28
    assert scaled_width(8, 0.1) == 4


def test_digits_cnn_learns(digits) -> None:
    model = digits_cnn(seed=0)
    result = fit(model, digits.train, digits.val, epochs=3, seed=0, progress=False)
    assert isinstance(result, TrainResult)
    assert result.val_accuracy is not None and result.val_accuracy > 0.85
    assert list(result.history.columns) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert result.history.index.tolist() == list(range(1, result.epochs_run + 1))
    assert result.wall_time_s > 0
    test_acc = model.evaluate(digits.test.x, digits.test.y, verbose=0)[1]
    assert test_acc > 0.85


def test_fit_is_reproducible_under_a_seed(digits) -> None:
    train, val = small(digits.train, 300), small(digits.val, 100)
    runs = []
    for _ in range(2):
        model = digits_cnn(seed=5)
        result = fit(model, train, val, epochs=2, batch_size=16, seed=11, progress=False)
        runs.append((model, result))
    assert weights_equal(runs[0][0], runs[1][0])
    assert runs[0][1].history.equals(runs[1][1].history)
    other = digits_cnn(seed=5)
    fit(other, train, val, epochs=2, batch_size=16, seed=12, progress=False)
    assert not weights_equal(runs[0][0], other)  # the seed also drives the shuffling


def test_early_stopping_restores_the_best_epoch(digits) -> None:
    train, val = small(digits.train, 200), small(digits.val, 100)
    model = digits_cnn(seed=0, learning_rate=0.3)  # far too high: validation loss bounces
    result = fit(model, train, val, epochs=12, batch_size=16, patience=1, seed=0, progress=False)
    history = result.history
    assert result.best_epoch == int(history["val_loss"].idxmin())
    assert result.stopped_early and result.epochs_run < 12
    assert result.epochs_run == result.best_epoch + 1  # patience 1: one epoch past the best
    loss = model.evaluate(val.x, val.y, verbose=0)[0]
    assert loss == pytest.approx(result.val_loss, rel=1e-4)


def test_patience_none_keeps_the_last_epoch(digits) -> None:
    model = digits_cnn(seed=0)
    result = fit(
        model, small(digits.train, 100), None, epochs=2, patience=None, seed=0, progress=False
    )
    assert result.best_epoch == 2 and not result.stopped_early
    assert result.val_accuracy is None
    assert "val_loss" not in result.history.columns


def test_progress_bar_reports_epochs(digits, capfd: pytest.CaptureFixture[str]) -> None:
    """The bar reaches the real stderr (file descriptor 2), where TensorFlow's logs do not."""
    model = digits_cnn(seed=0)
    fit(model, small(digits.train, 64), small(digits.val, 32), epochs=2, seed=0, progress=True)
    err = capfd.readouterr().err
    assert "digits_cnn" in err and "2/2" in err and "val_accuracy" in err
    assert "use_unbounded_threadpool" not in err
    fit(model, small(digits.train, 64), None, epochs=1, seed=0, progress=False)
    assert capfd.readouterr().err == ""


def test_autoencoder_fits_its_inputs() -> None:
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(3, 24))
    x = (rng.normal(size=(256, 3)) @ basis).astype(np.float32)
    data = Windows(x, np.zeros(256, np.int64), np.array(["s"] * 256), ("normal", "anomaly"))
    model = dense_autoencoder(24, hidden=(32,), bottleneck=4, learning_rate=3e-3, seed=0)
    before = model.evaluate(x, x, verbose=0)
    result = fit(model, data, data, epochs=15, target="inputs", seed=0, progress=False)
    assert result.val_loss < 0.5 * before
    assert result.val_accuracy is None


def test_fit_refuses_uncompiled_models_and_bad_arguments(digits) -> None:
    from tinybench.tf_runtime import load_keras

    keras = load_keras()
    raw = keras.Sequential([keras.layers.Input((8, 8, 1)), keras.layers.Flatten()])
    with pytest.raises(ConfigError, match="not compiled"):
        fit(raw, digits.train, digits.val, epochs=1, progress=False)
    with pytest.raises(ConfigError, match="epochs"):
        fit(digits_cnn(), digits.train, digits.val, epochs=0, progress=False)
    with pytest.raises(ConfigError, match="target"):
        fit(digits_cnn(), digits.train, digits.val, target="x", progress=False)  # type: ignore[arg-type]


def test_evaluate_reports_accuracy_and_predictions() -> None:
    from types import SimpleNamespace

    import numpy as np

    from tinybench.errors import ConfigError
    from tinybench.train.fit import evaluate

    class Fixed:
        def predict(self, x, batch_size=None, verbose=0):
            return np.eye(3)[[0, 1, 2, 2]]

    result = evaluate(Fixed(), SimpleNamespace(x=np.zeros((4, 2)), y=np.array([0, 1, 1, 2])))
    assert result.accuracy == 0.75
    assert result.y_pred.tolist() == [0, 1, 2, 2]
    with pytest.raises(ConfigError, match="0 inputs"):
        evaluate(Fixed(), SimpleNamespace(x=np.zeros((0, 2)), y=np.array([])))


def test_an_early_stopped_bar_ends_green_and_says_why() -> None:
    from tqdm.notebook import tqdm as notebook_tqdm

    from tinybench.train.fit import finish_bar

    bar = notebook_tqdm(total=30, desc="fit", display=False)
    bar.update(9)
    finish_bar(bar, epochs_run=9, best_epoch=6)
    bar.close()
    assert bar.total == 9
    assert "stopped early at epoch 9 (best 6)" in bar.desc
    assert bar.container.children[1].bar_style == "success"


def test_a_bar_that_ran_every_epoch_is_left_as_it_is() -> None:
    from tqdm.notebook import tqdm as notebook_tqdm

    from tinybench.train.fit import finish_bar

    bar = notebook_tqdm(total=5, desc="fit", display=False)
    bar.update(5)
    finish_bar(bar, epochs_run=5, best_epoch=5)
    bar.close()
    assert bar.total == 5 and bar.desc == "fit"
    assert bar.container.children[1].bar_style == "success"


def test_finishing_a_disabled_bar_does_nothing() -> None:
    from tqdm.auto import tqdm

    from tinybench.train.fit import finish_bar

    bar = tqdm(total=30, disable=True)
    finish_bar(bar, epochs_run=9, best_epoch=6)
    bar.close()
