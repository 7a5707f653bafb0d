"""Any byte string given as a model gives a one-line ModelError, never a traceback (issue 8).

Hypothesis flips, truncates and extends the reference models. ``read_model`` takes the bulk of
the examples (milliseconds each); ``profile`` and ``export_model`` take a few, because each one
measures the arena in a TFLM child process.

A damaged model that still parses may be refused for what it now is, a well-formed model TFLM
cannot run: an op it lacks (:class:`UnsupportedOpError`) or a float16/hybrid model (the
"not runnable" :class:`ProfileError`, which export reports as an :class:`ExportError`). Those
are refusals of a model, with one line saying why; anything else must be a ``ModelError``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_models import MODELS

from tinybench.errors import ExportError, ModelError, ProfileError, UnsupportedOpError
from tinybench.measure import read_model

#: Near the start and the end of a flatbuffer sit the root table, the vtables and the offsets;
#: flips there damage structure rather than weights.
STRUCTURE_BYTES = 2048


@st.composite
def damaged(draw: st.DrawFn, models: dict[str, bytes], names: tuple[str, ...]) -> bytes:
    """A reference model with a few bytes flipped, or cut short, or with bytes added."""
    data = bytearray(models[draw(st.sampled_from(names))])
    how = draw(st.sampled_from(["flip", "truncate", "extend"]))
    if how == "truncate":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    if how == "extend":
        return bytes(data + draw(st.binary(min_size=1, max_size=512)))
    head = st.integers(0, min(len(data), STRUCTURE_BYTES) - 1)
    tail = st.integers(max(0, len(data) - STRUCTURE_BYTES), len(data) - 1)
    anywhere = st.integers(0, len(data) - 1)
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.one_of(head, tail, anywhere))
        data[position] ^= draw(st.integers(1, 255))
    return bytes(data)


@pytest.fixture(scope="module")
def models(reference_models_dir: Path) -> dict[str, bytes]:
    return {name: (reference_models_dir / name).read_bytes() for name in MODELS}


def check_refusal(error: Exception, allowed: tuple[type[Exception], ...]) -> None:
    """The error is one of ``allowed`` and says what is wrong in one line."""
    assert isinstance(error, allowed), f"{type(error).__name__}: {error}"
    text = str(error)
    assert text and "\n" not in text, text
    if not isinstance(error, ModelError | UnsupportedOpError):
        assert "not runnable on a microcontroller" in text or "cannot run" in text, text


def test_read_model_raises_only_model_error(models: dict[str, bytes]) -> None:
    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(damaged(models, tuple(MODELS)))
    def check(data: bytes) -> None:
        try:
            read_model(data)
        except ModelError as error:
            check_refusal(error, (ModelError,))

    check()


def test_the_fuzzer_would_catch_an_unchecked_index(
    models: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the index checks, damaged models escape as IndexError: the test above can fail."""
    from tinybench.measure import flatbuffer

    monkeypatch.setattr(flatbuffer, "_check_indices", lambda model_t: None)
    escaped = []

    @settings(max_examples=400, deadline=None, database=None, derandomize=True)
    @given(damaged(models, ("hello_world_int8.tflite", "micro_speech_quantized.tflite")))
    def check(data: bytes) -> None:
        try:
            read_model(data)
        except ModelError:
            pass
        except (IndexError, TypeError) as error:
            escaped.append(error)

    check()
    assert escaped


def test_profile_and_export_raise_only_model_errors(
    models: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tinybench.deploy import export_model
    from tinybench.measure import profile

    @settings(max_examples=6, deadline=None, database=None, derandomize=True)
    @given(damaged(models, ("hello_world_int8.tflite",)))
    def check(data: bytes) -> None:
        for run in (
            lambda: profile(data, "nano33ble"),
            lambda: export_model(data, tmp_path_factory.mktemp("export") / "out"),
        ):
            try:
                run()
            except (ModelError, UnsupportedOpError, ProfileError, ExportError) as error:
                check_refusal(error, (ModelError, UnsupportedOpError, ProfileError, ExportError))

    check()
