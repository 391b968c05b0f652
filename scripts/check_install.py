"""Check the install a user gets: build the sdist and the wheel, install the wheel into a fresh
virtual environment, and tag an example from a folder outside the repository with the default
and the fast model.

Why: an editable checkout finds ``models/`` and the package data in the repository, so the test
suite cannot see a wheel that lacks them. The build starts from a copy of the files a clean
clone would have (tracked, plus new files git does not ignore), so ignored local folders (the
large model, ``runs/``) can neither slip into the wheel nor hide a gap in it. ``python -m build``
makes the sdist and then the wheel from the sdist, so both are checked.

Usage: ``python scripts/check_install.py [--keep]`` (``make install-check``; CI runs it). It needs
``build`` (the dev extra) and the package registry for the dependencies; torch is the CPU wheel
pinned in ``constraints-dev.txt``. Prints the sizes and the times of each step.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

from sentiment.classify.model import DEFAULT_NAME, FAST_NAME, LARGE_NAME
from sentiment.schema import LABELS

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "2025-03-10-btc-slide-tariffs.txt"
SHIPPED = (DEFAULT_NAME, FAST_NAME)
# The sentiment package's installed code must come from here, never from the repository.
PROBE = """
import json, sentiment
from sentiment.classify.model import resolve_model_path
print(json.dumps({"package": sentiment.__file__,
                  "default": str(resolve_model_path("default")),
                  "fast": str(resolve_model_path("fast"))}))
"""


class CheckFailed(Exception):
    """What is wrong with the built or installed package."""


def run(cmd: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> float:
    """Run a command (its output goes to ours); the seconds it took."""
    print("$", " ".join(str(c) for c in cmd), flush=True)
    started = time.perf_counter()
    subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, check=True)
    return time.perf_counter() - started


def copy_clean_tree(dest: Path) -> None:
    """Copy the files a clean clone of the working tree would have into ``dest``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, check=True, capture_output=True).stdout.decode()
    for name in sorted(set(filter(None, listed.split("\0")))):
        src = REPO / name
        if src.is_file():  # a file deleted but not yet committed is skipped
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def model_files(tree: Path) -> list[str]:
    """``<name>/<file>`` of every file of the shipped models in a source tree."""
    return sorted(str(p.relative_to(tree / "models")) for name in SHIPPED
                  for p in (tree / "models" / name).rglob("*") if p.is_file())


def check_archive(kind: str, names: list[str], prefix: str, expected: list[str]) -> None:
    """The archive holds every shipped model file under ``prefix`` and nothing of the large one."""
    missing = [f for f in expected if prefix + f not in names]
    if missing:
        raise CheckFailed(f"the {kind} lacks {len(missing)} model files, e.g. {prefix}{missing[0]}")
    large = [n for n in names if f"/{LARGE_NAME}/" in n]
    if large:
        raise CheckFailed(f"the {kind} holds the large model, which is never shipped: {large[0]}")


def check_records(path: Path) -> str:
    """The tags file has records, each with a sentiment label; the first label and score."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    if not records:
        raise CheckFailed(f"{path.name} has no record")
    for record in records:
        if record.get("sentiment", {}).get("label") not in LABELS:
            raise CheckFailed(f"{path.name}: a record without a sentiment label: {record.get('id')}")
    first = records[0]["sentiment"]
    return f"{len(records)} record(s), first: {first['label']} {first['score']:+.3f}"


def inside(path: str, folder: Path) -> bool:
    """Whether ``path`` (resolved) lies in ``folder``."""
    return Path(path).resolve().is_relative_to(folder.resolve())


def check(tmp: Path) -> dict[str, str]:
    """Build, install and tag in ``tmp``; the summary lines."""
    summary: dict[str, str] = {}
    src, dist, venv, work = tmp / "src", tmp / "dist", tmp / "venv", tmp / "work"
    for folder in (src, dist, work):
        folder.mkdir()
    copy_clean_tree(src)
    expected = model_files(src)
    if not any(f.endswith(".safetensors") for f in expected):
        raise CheckFailed(f"no model weights in models/{{{','.join(SHIPPED)}}} to ship")

    seconds = run([sys.executable, "-m", "build", "--outdir", dist, src], cwd=src)
    summary["build (sdist, then wheel from it)"] = f"{seconds:.0f} s"
    wheel, sdist = next(dist.glob("*.whl")), next(dist.glob("*.tar.gz"))
    with zipfile.ZipFile(wheel) as whl:
        check_archive("wheel", whl.namelist(), "sentiment/models/", expected)
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
        check_archive("sdist", names, names[0].split("/")[0] + "/models/", expected)
    summary["wheel"] = f"{wheel.name}: {wheel.stat().st_size / 1e6:.1f} MB"
    summary["sdist"] = f"{sdist.name}: {sdist.stat().st_size / 1e6:.1f} MB"
    shutil.rmtree(src)  # nothing installed may read the source any more

    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "SENTIMENT_MODEL")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    run([sys.executable, "-m", "venv", venv], cwd=work, env=env)
    python = venv / "bin" / "python"
    seconds = run([python, "-m", "pip", "install", "-q", "--progress-bar", "off",
                   "-c", REPO / "constraints-dev.txt", wheel], cwd=work, env=env)
    summary["install into a fresh venv"] = f"{seconds:.0f} s"

    probe = json.loads(subprocess.run([python, "-c", PROBE], cwd=work, env=env, check=True,
                                      capture_output=True, text=True).stdout)
    outside = {k: v for k, v in probe.items() if not inside(v, venv)}
    if outside:
        raise CheckFailed(f"the installed package reads outside its venv: {outside}")
    summary["package"] = probe["package"].replace(str(tmp), "<tmp>")

    for profile in ("default", "fast"):
        tags = work / f"tags-{profile}.jsonl"
        seconds = run([venv / "bin" / "sentiment", "tag", EXAMPLE, "-o", tags, "--model", profile],
                      cwd=work, env=env)
        summary[f"tag --model {profile}"] = f"{seconds:.1f} s, {check_records(tags)}"
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sentiment-install-check-"))
    try:
        summary = check(tmp)
    except (CheckFailed, subprocess.CalledProcessError) as exc:
        print(f"install check FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("install check passed:")
    for key, value in summary.items():
        print(f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
