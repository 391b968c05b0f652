"""The Ray engine (``sentiment tag --engine ray``) keeps the local engine's guarantees, on one
local Ray cluster shared by the module (``num_cpus`` one more than the two actors: with as
many CPUs as actors Ray Data can hang, ray-project/ray#44687):

* the same records as the local engine, through ``sentiment tag --engine ray``, on the
  examples and, with ../shared, on 60 real articles;
* an actor SIGKILLed mid-job and one poisoned article in the same run: every article exactly
  once, the poisoned one failed alone with its reason;
* the driver SIGKILLed and run again: no gaps, no duplicates; a third run adds nothing;
* a run resumed over part files that exist takes them as they are (no Ray run at all).

Each Ray run starts its actor pool anew (two analyzers loading), so the tests that run Ray
are marked slow: three to four minutes together on two shared cores.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import signal
import sys
from pathlib import Path

import pytest
from helpers import ROOT, crashes
from helpers.crashes import ChokingScorer, count_lines, finish, kill_once_written, needs_model

from sentiment.analyzer import Analyzer
from sentiment.cluster import RayEngine, batch_key, parts_folder, write_part
from sentiment.schema import Article
from sentiment.store import Store
from sentiment.tagfiles import read_tags
from sentiment.tagging import tag_files

EXAMPLES = ROOT / "examples"
ACTORS = 2
N_KILLED = 12  # articles of the driver-kill test
ACTOR_MARKER = "MapBatches(Tagger)"  # in the process title Ray gives each actor of the pool


@pytest.fixture(scope="module")
def cluster():
    """One local Ray cluster for the module: its address (for a driver in a subprocess)."""
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'cryptonews-sentiment[ray]')")
    pytest.importorskip("ray.data", reason="ray[data] is not installed")
    needs_model()
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=ACTORS + 1, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def local() -> Analyzer:
    """The local engine's analyzer as each of its worker processes runs it (one thread)."""
    return Analyzer(threads=1)


ONE_THREAD = functools.partial(Analyzer, threads=1)


def engine(output: Path, make_analyzer=ONE_THREAD) -> RayEngine:
    return RayEngine(make_analyzer, output, settings="test", actors=ACTORS)


def records(path: Path) -> list[dict]:
    return list(read_tags(path))


def stories(folder: Path, n: int, poison: int | None = None) -> Path:
    folder.mkdir()
    for i in range(n):
        mark = " POISON" if i == poison else ""
        (folder / f"story-{i:02d}.txt").write_text(
            f"Story {i} on coin {i % 5}\n\nBitcoin rose {i + 1}% to ${20000 + 113 * i:,} on day {i}.{mark} "
            f"Ether fell {i % 7 + 1}% as traders sold.\n", encoding="utf-8")
    return folder


@pytest.mark.slow
def test_the_command_gives_the_local_records(cluster, local, tmp_path, capsys):
    """The examples, and 60 real articles when ../shared is there (one Ray run for both)."""
    from helpers import DATA

    from sentiment.cli import main

    inputs = [EXAMPLES]
    articles = DATA / "crypto_news_articles_2022-12" / "articles.jsonl"
    if articles.exists():
        lines = articles.read_text(encoding="utf-8").splitlines()[:60]
        (tmp_path / "sixty.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        inputs.append(tmp_path / "sixty.jsonl")
    reference = tag_files(inputs, tmp_path / "local.jsonl", analyzer=local)
    out = tmp_path / "ray.jsonl"
    code = main(["tag", *map(str, inputs), "-o", str(out), "--engine", "ray", "--actors", str(ACTORS),
                 "--store", str(tmp_path / "s.sqlite"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"{reference.summary()} → {out}" in err and "Traceback" not in err
    assert reference.tagged == 23 + (60 if len(inputs) == 2 else 0)
    assert out.read_bytes() == (tmp_path / "local.jsonl").read_bytes()  # same records, same order
    with Store(tmp_path / "s.sqlite") as db:
        assert sorted(t["id"] for t in db.tags()) == sorted(r["id"] for r in records(out))
    assert not parts_folder(out).exists()


def choking_analyzer() -> Analyzer:
    return Analyzer(ChokingScorer(Analyzer(threads=1).model))


def actor_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if ACTOR_MARKER in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@pytest.mark.slow
def test_an_actor_killed_mid_job_and_a_poisoned_article(cluster, local, tmp_path):
    """Both in one run (each Ray run starts its actor pool anew: slow on two cores)."""
    from ray import cloudpickle

    if not Path("/proc").is_dir():
        pytest.skip("needs /proc to find the actors")
    for module in (sys.modules[__name__], crashes):  # the actors cannot import tests/
        cloudpickle.register_pickle_by_value(module)
    news = stories(tmp_path / "news", 10, poison=5)
    reference = tag_files([news], tmp_path / "local.jsonl", analyzer=Analyzer(ChokingScorer(local.model)),
                          batch_size=2)
    killed: list[int] = []

    def kill_one_actor(report) -> None:
        if not killed and (pids := actor_pids()):
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    out, store = tmp_path / "ray.jsonl", tmp_path / "s.sqlite"
    report = tag_files([news], out, store=store, batch_size=2, on_progress=kill_one_actor,
                       engine=engine(out, choking_analyzer))
    assert killed, "no actor was found to kill"
    assert (report.read, report.tagged, report.failed) == (10, 9, 1)
    (error,) = report.errors
    assert error.input == str(news / "story-05.txt")
    assert error.reason == reference.errors[0].reason and error.reason.startswith("analysis failed: RuntimeError in ")
    assert "choked" not in error.reason
    ids = [r["id"] for r in records(out)]
    assert len(ids) == len(set(ids)) == 9
    assert records(out) == records(tmp_path / "local.jsonl")
    with Store(store) as db:
        assert db.count_tags() == 9 and [e["reason"] for e in db.errors()] == [error.reason]
    assert not parts_folder(out).exists()


@pytest.mark.slow
def test_the_driver_killed_and_run_again_leaves_no_gap_and_no_duplicate(cluster, tmp_path):
    news = stories(tmp_path / "news", N_KILLED)
    out, store = tmp_path / "out" / "tags.jsonl", tmp_path / "s.sqlite"
    command = [sys.executable, "-m", "sentiment", "tag", str(news), "-o", str(out), "--store", str(store),
               "--batch-size", "2", "--engine", "ray", "--address", cluster, "--actors", str(ACTORS), "--quiet"]
    kill_once_written(command, tmp_path, lambda: count_lines(out), at_least=2, within=180, poll=0.05)
    written = count_lines(out)
    assert 2 <= written < N_KILLED
    for run in range(2):
        done = finish(command, tmp_path)
        tagged = N_KILLED - written if run == 0 else 0  # the third run adds nothing
        assert (f"read {N_KILLED}, tagged {tagged}, duplicates 0, already tagged {N_KILLED - tagged}, "
                "failed 0") in done.stderr
        ids = [r["id"] for r in records(out)]
        assert len(ids) == len(set(ids)) == N_KILLED
        with Store(store) as db:
            assert db.count_tags() == db.count_articles() == N_KILLED
    assert sorted(p.name for p in out.parent.iterdir()) == ["tags.jsonl"]  # no part left


def test_parts_that_exist_are_taken_as_they_are(tmp_path):
    """A killed run's part files are reused: a rerun that forms the same batches reads them
    (here every batch has one, so no Ray run starts), merges them in input order and removes them."""
    out = tmp_path / "tags.jsonl"
    ray_engine = engine(out, make_analyzer=lambda: pytest.fail("no actor should start"))
    ray_engine.actors = ACTORS  # sized: start() is not needed
    batches = [[Article(text=f"Bitcoin rose {i}% on day {j}.") for i in range(3)] for j in range(4)]
    parts = parts_folder(out)
    parts.mkdir()

    class Done:  # what a part holds for each article: its record (here a stand-in)
        def __init__(self, article: Article) -> None:
            self.article = article

        def to_dict(self) -> dict:
            return {"id": self.article.id, "from_part": True}

    for batch in reversed(batches):  # written in any order
        write_part(parts / f"{batch_key(batch, 'test')}.jsonl", [Done(a) for a in batch])
    merged = list(ray_engine.analyze_batches(iter(batches)))
    assert [b for b, _ in merged] == batches
    assert [r["id"] for _, results in merged for r in results] == [a.id for b in batches for a in b]
    assert all(r["from_part"] for _, results in merged for r in results)
    assert not parts.exists()
    assert batch_key(batches[0], "test") != batch_key(batches[0], "other settings")
    assert json.dumps(batch_key(batches[0], "test"))  # a plain file name


@pytest.mark.parametrize("args, expected", [
    (["--actors", "2"], "--address, --actors, --cpus-per-actor and --gpus-per-actor need --engine ray"),
    (["--engine", "spark"], "--engine must be local or ray, got 'spark'"),
    (["--engine", "ray", "--device", "cuda"], "--device cuda with --engine ray needs --gpus-per-actor"),
    (["--engine", "ray", "--model", "no-such-model"], "no model at"),
])
def test_ray_options_used_wrongly_are_one_line_usage_errors(tmp_path, capsys, args, expected):
    from sentiment.cli import main

    article = tmp_path / "a.txt"
    article.write_text("Bitcoin up\n\nBitcoin rose 2%.\n")
    assert main(["tag", str(article), "-o", str(tmp_path / "t.jsonl"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err and err.count("\n") == 1, err
    assert not (tmp_path / "t.jsonl").exists()
