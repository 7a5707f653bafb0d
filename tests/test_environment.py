"""The environment check lists tinybench's declared dependencies and checks their versions.

The expected list is read from ``pyproject.toml`` here, independently of the installed
metadata the check reads, so a dependency added to one and not the other fails a test.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tinybench.lab import environment
from tinybench.lab.environment import check_environment

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(text).name) for text in requirements}


def test_every_base_dependency_is_checked_as_required_and_lab_extras_as_optional() -> None:
    project = _pyproject()
    report = check_environment()
    for name in _names(project["dependencies"]):
        assert report[name].required, name
    for extra in ("lab", "cluster"):
        for name in _names(project["optional-dependencies"][extra]):
            assert not report[name].required, name
    dev_only = _names(project["optional-dependencies"]["dev"])
    assert not dev_only & {check.name for check in report.checks}


def test_every_dependency_says_what_tinybench_uses_it_for() -> None:
    project = _pyproject()
    declared = _names(project["dependencies"])
    for extra in ("lab", "cluster"):
        declared |= _names(project["optional-dependencies"][extra])
    assert declared == set(environment._PURPOSES)


def test_environment_yml_lists_the_same_pins_as_pyproject() -> None:
    project = _pyproject()
    pins = set(project["dependencies"])
    for group in project["optional-dependencies"].values():
        pins |= set(group)
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r"^ {6}- ([A-Za-z][^\s#]*)$", text, re.MULTILINE))
    assert {str(Requirement(p)) for p in listed} == {str(Requirement(p)) for p in pins}


def _installed_as(monkeypatch: pytest.MonkeyPatch, name: str, version: str | None) -> None:
    real = metadata.version

    def version_of(dist: str) -> str:
        if canonicalize_name(dist) == name:
            if version is None:
                raise metadata.PackageNotFoundError(dist)
            return version
        return real(dist)

    monkeypatch.setattr(environment.metadata, "version", version_of)


def test_a_version_outside_the_pin_is_wrong_and_the_hint_gives_the_pin(monkeypatch) -> None:
    _installed_as(monkeypatch, "tensorflow", "2.15.0")
    report = check_environment()
    check = report["tensorflow"]
    assert check.status == "WRONG" and check.version == "2.15.0"
    assert "tensorflow==2.21.0" in check.hint
    assert not report.ok and report.missing == ["tensorflow"]
    text = repr(report)
    assert "WRONG" in text and "pip install 'tensorflow==2.21.0'" in text


def test_a_missing_required_package_is_named_with_its_install_command(monkeypatch) -> None:
    _installed_as(monkeypatch, "pyserial", None)
    report = check_environment()
    assert report["pyserial"].status == "MISSING"
    assert report["pyserial"].hint == "pip install 'pyserial==3.5'"
    assert "Missing: pyserial" in repr(report)


def test_a_missing_optional_package_leaves_the_report_ok(monkeypatch) -> None:
    _installed_as(monkeypatch, "jupyterlab", None)
    report = check_environment()
    assert report["jupyterlab"].status == "absent"
    assert report.ok


def test_without_tinybench_installed_the_report_says_how_to_install_it(monkeypatch) -> None:
    _installed_as(monkeypatch, "tinybench", None)

    def no_metadata(dist: str) -> list[str]:
        raise metadata.PackageNotFoundError(dist)

    monkeypatch.setattr(environment.metadata, "requires", no_metadata)
    report = check_environment()
    assert report["tinybench"].status == "MISSING"
    assert "make install" in report["tinybench"].hint
    assert report.missing == ["tinybench"]
