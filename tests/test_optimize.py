"""Optimization recipes: names, refusals, and real .tflite variants checked in the interpreters."""

from __future__ import annotations

import gzip
import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter, OpResolverType
from test_dataset import make_dataset

from tinybench.dataset import Dataset, Windows, prepare
from tinybench.errors import RecipeError
from tinybench.optimize import (
    KINDS,
    MIN_COMPRESSED_WEIGHTS,
    NOT_ON_MCU_REASON,
    FineTuning,
    Recipe,
    Variant,
    cluster,
    compressed_layers,
    convert_float32,
    convert_int8,
    make_variant,
    prune,
    prune_2_4,
    weight_sparsity,
)
from tinybench.train.fit import fit
from tinybench.train.models import conv1d_classifier, digits_cnn

WEIGHT_OPS = {"CONV_2D": 1, "FULLY_CONNECTED": 1, "DEPTHWISE_CONV_2D": 1}
# conv1d_classifier's weight layers in order: conv (first), conv, conv, dense, classifier (last).
# Pruning and clustering change the middle three and leave the first and the last as trained.
COMPRESSED, KEPT = (1, 2, 3), (0, 4)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory):
    root = make_dataset(tmp_path_factory.mktemp("opt") / "gestures", per_label=8, samples=120)
    return prepare(Dataset.load(root), window=40, stride=10, seed=0)


@pytest.fixture(scope="module")
def model(data):
    net = conv1d_classifier(data.input_shape, len(data.labels), width=0.5, seed=0)
    fit(net, data.train, data.val, epochs=8, seed=0, progress=False)
    return net


def interpreter(tflite: bytes) -> Interpreter:
    it = Interpreter(
        model_content=tflite,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    it.allocate_tensors()
    return it


def run(tflite: bytes, x: np.ndarray) -> np.ndarray:
    """Run every row of x through LiteRT, quantizing int8 inputs; return raw outputs."""
    it = interpreter(tflite)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    rows = []
    for row in x:
        value = row[np.newaxis]
        if inp["dtype"] == np.int8:
            scale, zero = inp["quantization"]
            value = np.clip(np.round(value / scale + zero), -128, 127).astype(np.int8)
        it.set_tensor(inp["index"], value)
        it.invoke()
        rows.append(it.get_tensor(out["index"])[0])
    return np.stack(rows)


def weight_tensors(tflite: bytes) -> list[np.ndarray]:
    """The constant weight tensor of every CONV_2D / FULLY_CONNECTED op."""
    it = interpreter(tflite)
    return [
        it.get_tensor(op["inputs"][WEIGHT_OPS[op["op_name"]]])
        for op in it._get_ops_details()
        if op["op_name"] in WEIGHT_OPS
    ]


def kernels(keras_model) -> list[np.ndarray]:
    return [layer.kernel.numpy() for layer in keras_model.layers if hasattr(layer, "kernel")]


# ---- recipe names and refusals (no TensorFlow needed) ----


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("float32", "float32"),
        ("int8", "int8"),
        ("dynamic", "dynamic"),
        ("qat", "qat"),
        ("QAT+int8", "qat"),
        ("prune80", "prune80+int8"),
        ("prune80+int8", "prune80+int8"),
        ("prune87.5+float32", "prune87.5+float32"),
        ("prune_2_4", "prune_2_4+int8"),
        ("cluster16", "cluster16+int8"),
        ("pqat75", "pqat75"),
        ("prune90@epochs=6,schedule=constant", "prune90+int8@epochs=6,schedule=constant"),
        ("pqat50@epochs=16", "pqat50"),
        ("pqat50@epochs=4", "pqat50@epochs=4"),
    ],
)
def test_recipe_names_round_trip(text: str, canonical: str) -> None:
    recipe = Recipe.parse(text)
    assert recipe.name == canonical
    assert Recipe.parse(recipe.name) == recipe


def test_recipe_fields_from_names() -> None:
    r = Recipe.parse("prune80")
    assert (r.kind, r.sparsity, r.convert, r.epochs, r.schedule) == (
        "prune",
        0.8,
        "int8",
        16,
        "polynomial",
    )
    assert Recipe.parse("cluster8").clusters == 8
    assert Recipe.parse("prune_2_4").sparsity == 0.5
    assert Recipe.parse("int8").epochs is None and not Recipe.parse("int8").fine_tuned
    assert {
        Recipe.parse(k if k not in ("prune", "pqat", "cluster") else k + "4").kind for k in KINDS
    } == set(KINDS)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Recipe("prune", sparsity=1.0), r"\[0, 1\)"),
        (lambda: Recipe("prune", sparsity=-0.1), r"\[0, 1\)"),
        (lambda: Recipe.parse("pqat100"), r"\[0, 1\)"),
        (lambda: Recipe("cluster", clusters=1), "2 to 256"),
        (lambda: Recipe.parse("cluster1"), "2 to 256"),
        (lambda: Recipe.parse("cluster1000"), "2 to 256"),
        (lambda: Recipe.parse("prune80+sparse"), "DENSIFY"),
        (lambda: Recipe.parse("prune80+float16"), "float16 model does not run in TFLM"),
        (lambda: Recipe.parse("cluster8+dynamic"), "hybrid"),
        (lambda: Recipe.parse("qat+float32"), "only makes sense converted to int8"),
        (lambda: Recipe.parse("pqat50+float32"), "only makes sense converted to int8"),
        (lambda: Recipe.parse("prune_2_4@epochs=0"), "positive integer"),
        (lambda: Recipe("prune_2_4", sparsity=0.7), "half"),
        (lambda: Recipe("int8", epochs=3), "takes no epochs"),
        (lambda: Recipe("float16", sparsity=0.5), "takes no sparsity"),
        (lambda: Recipe("qat", schedule="constant"), "takes no schedule"),
        (lambda: Recipe.parse("prune50@schedule=cubic"), "schedule"),
        (lambda: Recipe.parse("prune"), "needs a number"),
        (lambda: Recipe.parse("int8x"), "cannot read recipe"),
        (lambda: Recipe.parse("int16"), "cannot read recipe"),
        (lambda: Recipe("bfloat16"), "unknown recipe kind"),
        (lambda: Recipe.parse("prune50@lr=3"), "unknown option"),
    ],
)
def test_recipes_that_cannot_work_are_refused_with_the_reason(make, match: str) -> None:
    with pytest.raises(RecipeError, match=match):
        make()


# ---- model-dependent refusals ----


def _conv1d_keras_model(n_classes: int = 3):
    from tinybench.tf_runtime import load_keras

    keras = load_keras()
    layers = keras.layers
    net = keras.Sequential(
        [
            layers.Input((40, 6)),
            layers.Conv1D(8, 5, activation="relu"),
            layers.GlobalAveragePooling1D(),
            layers.Dense(n_classes, activation="softmax"),
        ]
    )
    net.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    return net


def test_qat_on_a_layer_tfmot_cannot_quantize_is_refused(data) -> None:
    with pytest.raises(RecipeError, match=r"qat refused.*not support.*conv1d.*\(Conv1D\)"):
        make_variant(_conv1d_keras_model(), "qat@epochs=1", data, progress=False)
    with pytest.raises(RecipeError, match="pqat refused"):
        make_variant(_conv1d_keras_model(), "pqat50@epochs=1", data, progress=False)


def _deeper_conv1d_keras_model(n_classes: int = 3):
    """Conv1D, a Conv1D of 1,280 weights (big enough to compress), pooling, classifier."""
    from tinybench.tf_runtime import load_keras

    keras = load_keras()
    layers = keras.layers
    net = keras.Sequential(
        [
            layers.Input((40, 6)),
            layers.Conv1D(8, 5, activation="relu"),
            layers.Conv1D(32, 5, activation="relu"),
            layers.GlobalAveragePooling1D(),
            layers.Dense(n_classes, activation="softmax"),
        ]
    )
    net.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    return net


def test_2_4_on_rank_3_kernels_is_refused(data) -> None:
    net = _deeper_conv1d_keras_model()
    assert compressed_layers(net) == (net.layers[1].name,)
    with pytest.raises(RecipeError, match=r"rank-2 \(Dense\) and rank-4 \(Conv2D\).*rank 3"):
        prune_2_4(net, data, tuning=FineTuning(epochs=1, progress=False))


@pytest.mark.parametrize(
    "compress",
    [
        lambda net, data: prune(net, data, 0.5, tuning=FineTuning(epochs=1, progress=False)),
        lambda net, data: prune_2_4(net, data, tuning=FineTuning(epochs=1, progress=False)),
        lambda net, data: cluster(net, data, 4, tuning=FineTuning(epochs=1, progress=False)),
    ],
)
def test_a_model_with_nothing_worth_compressing_is_refused(data, compress) -> None:
    net = _conv1d_keras_model()  # a first layer of 240 weights and a classifier: both kept
    assert compressed_layers(net) == ()
    with pytest.raises(RecipeError, match=r"no layer worth compressing.*240 weights.*'int8'"):
        compress(net, data)


def test_compressed_layers_skip_the_first_the_last_and_small_layers() -> None:
    gestures = conv1d_classifier((119, 6), 5)
    weighted = [layer for layer in gestures.layers if hasattr(layer, "kernel")]
    assert [int(np.prod(layer.kernel.shape)) for layer in weighted] == [
        1728,
        18432,
        55296,
        6144,
        320,
    ]
    assert compressed_layers(gestures) == tuple(weighted[i].name for i in COMPRESSED)
    digits = digits_cnn(width=0.5)  # 72, 1,152, 1,024 and 160 weights
    weighted = [layer for layer in digits.layers if hasattr(layer, "kernel")]
    assert compressed_layers(digits) == (weighted[1].name, weighted[2].name)
    assert MIN_COMPRESSED_WEIGHTS == 1024
    assert compressed_layers(digits_cnn(width=0.25)) == ()  # its hidden layers: 288 and 256


def test_subclassed_models_are_refused(data) -> None:
    from tinybench.tf_runtime import load_keras

    keras = load_keras()

    class Custom(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.flat = keras.layers.Flatten()
            self.out = keras.layers.Dense(3)

        def call(self, x):
            return self.out(self.flat(x))

    net = Custom()
    net(np.zeros((1, 40, 6), np.float32))
    net.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(RecipeError, match="subclassed"):
        prune(net, data, 0.5, tuning=FineTuning(epochs=1, progress=False))


# ---- real variants ----


@pytest.fixture(scope="module")
def weights_before(model) -> list[np.ndarray]:
    return [w.copy() for w in model.get_weights()]


@pytest.fixture(scope="module")
def variants(model, data, weights_before) -> dict[str, Variant]:
    names = [
        "float32",
        "float16",
        "dynamic",
        "int8",
        "qat@epochs=1",
        "prune80@epochs=2",
        "prune_2_4@epochs=1",
        "cluster8@epochs=1",
        "pqat80@epochs=1",
    ]
    return {name: make_variant(model, name, data, progress=False) for name in names}


def test_every_recipe_gives_a_runnable_tflite(variants, data, model) -> None:
    reference = model.predict(data.test.x, verbose=0).argmax(axis=1)
    assert np.mean(reference == data.test.y) >= 0.9  # the fixture model did learn
    for name, variant in variants.items():
        assert variant.name == Recipe.parse(name).name
        assert variant.tflite[4:8] == b"TFL3"
        assert variant.labels == data.labels
        assert variant.input_shape == data.input_shape
        assert variant.normalization == data.normalization.to_dict()
        assert variant.window == 40 and variant.rate_hz == 119.0
        out = run(variant.tflite, data.test.x)
        assert out.shape == (len(data.test), len(data.labels)), name
        predicted = out.argmax(axis=1)
        if variant.recipe.fine_tuned:  # a few fine-tuning steps on a tiny model: well above chance
            assert np.mean(predicted == data.test.y) >= 0.6, name
        else:
            assert np.mean(predicted == reference) >= 0.9, name


def test_the_callers_model_is_never_modified(variants, model, weights_before) -> None:
    assert len(variants) == 9  # every recipe, five of them fine-tuned, has run on `model`
    assert not any("prune" in layer.name or "quant" in layer.name for layer in model.layers)
    for old, new in zip(weights_before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


def test_int8_variants_have_int8_input_and_output(variants) -> None:
    for name in (
        "int8",
        "qat@epochs=1",
        "prune80@epochs=2",
        "cluster8@epochs=1",
        "pqat80@epochs=1",
    ):
        it = interpreter(variants[name].tflite)
        assert it.get_input_details()[0]["dtype"] == np.int8, name
        assert it.get_output_details()[0]["dtype"] == np.int8, name
        assert variants[name].runnable_on_mcu and variants[name].reason == ""
    it = interpreter(variants["float32"].tflite)
    assert it.get_input_details()[0]["dtype"] == np.float32


def test_float16_and_dynamic_are_marked_not_for_mcu(variants) -> None:
    for name in ("float16", "dynamic"):
        assert not variants[name].runnable_on_mcu
        assert variants[name].reason == NOT_ON_MCU_REASON
    assert variants["float32"].runnable_on_mcu
    sizes = {n: len(variants[n].tflite) for n in ("float32", "float16", "dynamic", "int8")}
    assert sizes["int8"] < sizes["float16"] < sizes["float32"]
    assert sizes["dynamic"] < sizes["float16"]


def test_int8_runs_bit_exact_in_tflite_micro(variants, data) -> None:
    from tflite_micro import runtime

    for name in ("int8", "prune80@epochs=2", "pqat80@epochs=1"):
        tflite = variants[name].tflite
        micro = runtime.Interpreter.from_bytes(tflite, arena_size=128 * 1024)
        it = interpreter(tflite)
        scale, zero = it.get_input_details()[0]["quantization"]
        for row in data.test.x[:5]:
            value = np.clip(np.round(row[np.newaxis] / scale + zero), -128, 127).astype(np.int8)
            micro.set_input(value, 0)
            micro.invoke()
            it.set_tensor(it.get_input_details()[0]["index"], value)
            it.invoke()
            expected = it.get_tensor(it.get_output_details()[0]["index"])
            np.testing.assert_array_equal(micro.get_output(0), expected)


def _kept_epoch(log: str) -> tuple[float, int, float]:
    """(learning rate, kept epoch, its val_loss) from optimize's fine-tuning log line."""
    found = re.search(r"learning rate (\S+), kept epoch (\d+) \(val_loss (\S+)\)", log)
    assert found is not None, log
    return float(found[1]), int(found[2]), float(found[3])


def test_prune_keeps_the_best_epoch_at_final_sparsity(
    model, data, caplog: pytest.LogCaptureFixture
) -> None:
    # ~6 steps per epoch: the ramp from 50% reaches 90% at step 12, the end of epoch 2. With a
    # learning rate of 0 only the masks change, so epoch 1 (85% zeros) has the lowest
    # validation loss, and it must not be the epoch kept.
    with caplog.at_level(logging.INFO, logger="tinybench.optimize.fine_tune"):
        stripped = prune(
            model, data, 0.9, tuning=FineTuning(epochs=3, progress=False, learning_rate=0.0)
        )
    assert not any("prune" in layer.name for layer in stripped.layers)
    assert _kept_epoch(caplog.text)[1] == 2  # epoch 3 has the same weights, so no better
    before, after = kernels(model), kernels(stripped)
    for i in COMPRESSED:
        assert np.mean(after[i] == 0) == pytest.approx(0.9, abs=0.01)
        kept = after[i] != 0  # magnitude pruning: the largest weights survive, unchanged
        np.testing.assert_array_equal(after[i][kept], before[i][kept])
        assert np.abs(before[i][kept]).min() >= np.abs(before[i][~kept]).max()
    for i in KEPT:
        np.testing.assert_array_equal(after[i], before[i])
    sizes = np.array([k.size for k in after])
    share = sizes[list(COMPRESSED)].sum() / sizes.sum()
    assert weight_sparsity(stripped) == pytest.approx(0.9 * share, abs=0.01)


def test_fine_tuning_uses_a_tenth_of_the_rate_and_restores_the_kept_weights(
    model, data, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="tinybench.optimize.fine_tune"):
        stripped = prune(model, data, 0.5, tuning=FineTuning(epochs=2, progress=False))
    rate, _, logged_loss = _kept_epoch(caplog.text)
    assert rate == pytest.approx(2e-4)  # the fixture model trains at 2e-3
    stripped.compile(loss="sparse_categorical_crossentropy")
    assert stripped.evaluate(data.val.x, data.val.y, verbose=0) == pytest.approx(
        logged_loss, abs=2e-4
    )


def test_pruned_tflite_weights_hold_the_sparsity(variants) -> None:
    for name in ("prune80@epochs=2", "pqat80@epochs=1"):
        tensors = weight_tensors(variants[name].tflite)
        assert len(tensors) == len(COMPRESSED) + len(KEPT)
        for i in COMPRESSED:
            assert 0.78 <= np.mean(tensors[i] == 0) <= 0.9, name
        for i in KEPT:
            assert np.mean(tensors[i] == 0) < 0.2, name
        sizes = np.array([t.size for t in tensors])
        zeros = sum(np.count_nonzero(t == 0) for t in tensors) / sizes.sum()
        share = sizes[list(COMPRESSED)].sum() / sizes.sum()
        assert zeros == pytest.approx(0.8 * share, abs=0.01), name
        assert variants[name].weight_sparsity == pytest.approx(zeros, abs=0.01), name
    int8_zeros = [np.mean(w == 0) for w in weight_tensors(variants["int8"].tflite)]
    assert max(int8_zeros) < 0.2
    assert variants["int8"].weight_sparsity < 0.01


def test_pruned_int8_compresses_better_but_keeps_its_flash_size(variants) -> None:
    dense, sparse = variants["int8"].tflite, variants["prune80@epochs=2"].tflite
    assert abs(len(sparse) - len(dense)) < 0.02 * len(dense)
    assert len(gzip.compress(sparse)) < 0.8 * len(gzip.compress(dense))


def test_2_4_pattern_in_the_tflite_weights(variants) -> None:
    checked = 0
    for i, weights in enumerate(weight_tensors(variants["prune_2_4@epochs=1"].tflite)):
        # TFLite layout is [out, h, w, in] (conv) or [out, in] (dense): blocks of 4 along "in"
        channels_in = weights.shape[-1]
        full = channels_in // 4 * 4
        blocks = weights.reshape(-1, channels_in)[:, :full].reshape(-1, 4)
        two_of_four = bool(np.all((blocks == 0).sum(axis=1) >= 2))
        assert two_of_four == (i in COMPRESSED), i  # the first layer and classifier stay dense
        checked += len(blocks) if two_of_four else 0
    assert checked > 1000


def test_clustered_tflite_weights_have_at_most_n_values_per_channel(variants) -> None:
    for i, weights in enumerate(weight_tensors(variants["cluster8@epochs=1"].tflite)):
        most = max(len(np.unique(c)) for c in weights.reshape(weights.shape[0], -1))
        assert (most <= 8) == (i in COMPRESSED), (i, most)  # first layer, classifier: as trained
    plain = weight_tensors(variants["int8"].tflite)
    assert max(len(np.unique(c)) for w in plain for c in w.reshape(w.shape[0], -1)) > 8


def test_variant_save_and_load(variants, tmp_path: Path) -> None:
    variant = variants["prune80@epochs=2"]
    path = variant.save(tmp_path / "models" / "gesture")
    assert path.name == "gesture.tflite" and path.read_bytes() == variant.tflite
    again = Variant.load(path)
    assert again.tflite == variant.tflite
    assert again.recipe == variant.recipe
    assert (again.name, again.labels, again.input_shape) == (
        variant.name,
        variant.labels,
        variant.input_shape,
    )
    assert again.normalization == variant.normalization
    assert (again.runnable_on_mcu, again.window, again.rate_hz) == (True, 40, 119.0)
    assert again.weight_sparsity == variant.weight_sparsity > 0.7
    # a sidecar missing a key (or with one too many) is refused by name: no shims for old saves
    sidecar = path.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    del meta["weight_sparsity"]
    sidecar.write_text(json.dumps(meta))
    with pytest.raises(RecipeError, match=r"missing keys \['weight_sparsity'\]"):
        Variant.load(path)
    meta["weight_sparsity"] = None
    meta["colour"] = "blue"
    sidecar.write_text(json.dumps(meta))
    with pytest.raises(RecipeError, match=r"unknown keys \['colour'\]"):
        Variant.load(path)
    sidecar.write_text("[1, 2]")
    with pytest.raises(RecipeError, match="not a variant sidecar"):
        Variant.load(path)


def test_a_variant_whose_model_file_was_replaced_is_refused(variants, tmp_path: Path) -> None:
    path = variants["int8"].save(tmp_path / "chosen")
    variants["float32"].save(tmp_path / "other")
    path.write_bytes((tmp_path / "other.tflite").read_bytes())  # a save cut between its files
    with pytest.raises(RecipeError, match="does not match its sidecar"):
        Variant.load(path)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_default_gesture_model_meets_the_size_targets() -> None:
    """At width 1.0 weights dominate: int8 <= 30% of float32; 80% pruned int8 gzip <= 12%.

    Pruning leaves the first layer (1,728 weights) and the classifier (320) dense, so 78% of
    the model's 81,920 weights are zero, and the gzip target still holds.
    """
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 119, 6)).astype(np.float32)
    y = rng.integers(0, 5, size=96)
    windows = Windows(x, y, np.array([f"s{i // 8}" for i in range(96)]), tuple("abcde"))

    class Data:
        train = val = windows
        labels = windows.labels

    net = conv1d_classifier((119, 6), 5)
    float_bytes = convert_float32(net)
    assert len(convert_int8(net, x)) <= 0.30 * len(float_bytes)
    pruned = prune(net, Data, 0.8, "constant", tuning=FineTuning(epochs=1, progress=False))
    assert weight_sparsity(pruned) == pytest.approx(0.8 * (81920 - 1728 - 320) / 81920, abs=0.002)
    sparse_int8 = convert_int8(pruned, x)
    assert len(gzip.compress(sparse_int8)) <= 0.12 * len(gzip.compress(float_bytes))
