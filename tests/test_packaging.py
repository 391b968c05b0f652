"""The wheel's contents, read from the build configuration without building (a few seconds).

setuptools computes what ``build_py`` would put in the wheel (and the sdist: it takes the same
data files) from setup.py and pyproject.toml, in a scratch folder that links to the package and to
the shipped models, with a stand-in large model beside them. ``scripts/check_install.py`` (``make
install-check``) builds and installs the real wheel.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

import pytest

from sentiment.classify import model
from sentiment.classify.model import DEFAULT_NAME, FAST_NAME, LARGE_NAME

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = (DEFAULT_NAME, FAST_NAME)


class Planned(NamedTuple):
    """What a build would make of the configuration."""

    name: str
    console_scripts: list[str]
    modules: set[Path]  # resolved source files
    data: set[str]  # paths inside the wheel


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Planned:
    """setuptools' ``build_py`` plan for a scratch copy of the build configuration."""
    pytest.importorskip("setuptools")
    from distutils.core import run_setup  # setuptools' own copy, once setuptools is imported

    scratch = tmp_path_factory.mktemp("build-config")
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, scratch / name)
    (scratch / "sentiment").symlink_to(ROOT / "sentiment", target_is_directory=True)
    (scratch / "models").mkdir()
    for name in SHIPPED:
        (scratch / "models" / name).symlink_to(ROOT / "models" / name, target_is_directory=True)
    large = scratch / "models" / LARGE_NAME
    (large / "onnx").mkdir(parents=True)
    for name in ("README.md", "config.json", "model.safetensors", "onnx/model.int8.onnx"):
        (large / name).write_text("{}")

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(scratch)
        dist = run_setup("setup.py", stop_after="config")
        command = dist.get_command_obj("build_py")
        command.ensure_finalized()
        return Planned(
            name=dist.get_name(),
            console_scripts=dist.entry_points["console_scripts"],
            modules={Path(filename).resolve() for _pkg, _mod, filename in command.find_all_modules()},
            data={f"{package.replace('.', '/')}/{name}"
                  for package, _src, _build, names in command.data_files for name in names},
        )


def test_distribution_name_and_command(planned: Planned) -> None:
    assert planned.name == "cryptonews-sentiment"
    assert planned.console_scripts == ["sentiment = sentiment.cli:main"]


@pytest.mark.parametrize("name", SHIPPED)
def test_wheel_holds_every_file_of_the_shipped_models(planned: Planned, name: str) -> None:
    expected = {f"sentiment/models/{name}/{f}" for f in _files(ROOT / "models" / name)}
    assert f"sentiment/models/{name}/model.safetensors" in expected
    missing = sorted(expected - planned.data)
    assert not missing, f"the wheel would lack {missing}: see [tool.setuptools.package-data]"


def test_wheel_never_holds_the_large_model(planned: Planned) -> None:
    shipped = sorted(f for f in planned.data if LARGE_NAME in f)
    assert not shipped, f"the large model is built locally, never shipped: {shipped}"


def test_wheel_holds_every_file_of_the_package(planned: Planned) -> None:
    """Modules as code (every folder is found by setup.py), the rest as package data."""
    source = ROOT / "sentiment"
    files = sorted(_files(source))
    missing = [f for f in files if f.endswith(".py") and (source / f).resolve() not in planned.modules]
    assert not missing, f"modules left out of the wheel: {missing}"
    left_out = [f for f in files if not f.endswith(".py") and f"sentiment/{f}" not in planned.data]
    assert not left_out, f"files left out of the wheel (add their pattern to package-data): {left_out}"


def test_installed_package_finds_its_own_models_first(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """In site-packages the models sit in sentiment/models/; in a checkout, in models/."""
    site, checkout = tmp_path / "site-packages", tmp_path / "checkout"
    monkeypatch.setattr(model, "__file__", str(site / "sentiment" / "classify" / "model.py"))
    monkeypatch.setattr(model, "repo_root", lambda: checkout)
    (checkout / "models" / FAST_NAME).mkdir(parents=True)
    (checkout / "models" / FAST_NAME / "config.json").write_text("{}")
    assert model.shipped_model_path(FAST_NAME) == checkout / "models" / FAST_NAME

    (site / "sentiment" / "models" / FAST_NAME).mkdir(parents=True)
    (site / "sentiment" / "models" / FAST_NAME / "config.json").write_text("{}")
    assert model.shipped_model_path(FAST_NAME) == site / "sentiment" / "models" / FAST_NAME
    assert model.shipped_model_path(LARGE_NAME) == checkout / "models" / LARGE_NAME
