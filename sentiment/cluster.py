"""The Ray engine of batch tagging: the same job, its analysis spread over a Ray cluster.

Only the analysis moves. The driver (the process that runs ``sentiment tag``) still reads,
deduplicates, skips what the output already holds and forms the batches
(:func:`sentiment.tagging.tag_files`); it forms them as the local engine does, so every batch,
and so every record, is the same (int8 activations are scaled per batch: batches that Ray
formed would shift the scores).

Ray Data analyses the batches in an actor pool (``map_batches`` with a callable class, one
dataset row per batch): each actor loads its :class:`~sentiment.analyzer.Analyzer` once and
writes each batch's records to a part file named by the batch's content and the analysis
settings, by atomic rename. A task retried after an actor died rewrites the same file; a run
that was killed skips, on the next run, the batches whose part file exists. The driver merges
the parts in input order into the output and the store (it is their one writer) and deletes
each part once it is written; a finished run leaves no part behind.

The batches go to Ray a window at a time (one Ray Data run each, the driver's memory bounded by
one window); each run starts its actor pool anew, so a window holds at least ``WINDOW`` batches
and ``BATCHES_PER_ACTOR`` per actor, which keeps the pool's start-up a small share of its time.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import shutil
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from sentiment.analyzer import Analyzer
from sentiment.atomic import atomic_write
from sentiment.reasons import Failed, describe
from sentiment.schema import Article
from sentiment.workers import analyze_isolated

log = logging.getLogger(__name__)

#: Batches per Ray Data run: at least WINDOW (16,384 articles at the default batch size), and
#: BATCHES_PER_ACTOR for each actor of the pool.
WINDOW = 1024
BATCHES_PER_ACTOR = 64
Result = dict[str, Any] | Exception


class ClusterError(RuntimeError):
    """The Ray cluster could not be reached or the Ray run failed as a whole."""


def parts_folder(output: str | Path) -> Path:
    """Where the part files of a run into ``output`` live: a hidden folder beside it."""
    output = Path(output)
    return output.with_name(f".{output.name}.parts")


def batch_key(batch: list[Article], settings: str) -> str:
    """The part-file name of a batch: a hash of the analysis settings and of each article's
    id and text, so a rerun that forms the same batch finds its part, and nothing else does."""
    digest = hashlib.sha256(settings.encode())
    for article in batch:
        digest.update(f"\n{article.id}:{article.fingerprint}".encode())
    return digest.hexdigest()[:32]


def write_part(path: Path, results: list[Any]) -> None:
    """One line per article, in batch order: ``{"record": …}`` or ``{"failed": reason}``."""
    lines = []
    for result in results:
        entry = {"failed": describe(result)} if isinstance(result, Exception) else {"record": result.to_dict()}
        lines.append(json.dumps(entry, ensure_ascii=False) + "\n")
    with atomic_write(path) as tmp:
        tmp.write_text("".join(lines), encoding="utf-8")


def read_part(path: Path) -> list[Result]:
    """A part file's results: the records, and each failure as :class:`~sentiment.reasons.Failed`."""
    results: list[Result] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        results.append(Failed(entry["failed"]) if "failed" in entry else entry["record"])
    return results


def _quiet_ray() -> None:
    """Ray's own log lines (start-up notes, per-run timings, progress bars) stay off the
    terminal: progress and the summary are the driver's. ``SENTIMENT_DEBUG=1`` keeps them."""
    if os.environ.get("SENTIMENT_DEBUG"):
        return
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)


class Tagger:
    """The callable class of the actor pool: one analyzer per actor, loaded when the actor
    starts; each call analyses the batches of its rows and writes their part files."""

    def __init__(self, make_analyzer: Callable[[], Analyzer], parts: str) -> None:
        self.analyzer = make_analyzer()
        _ = self.analyzer.model, self.analyzer.extractor
        self.parts = Path(parts)

    def __call__(self, rows: dict[str, Any]) -> dict[str, Any]:
        for key, blob in zip(rows["key"], rows["batch"]):
            articles: list[Article] = pickle.loads(blob)  # written by this run's driver
            write_part(self.parts / f"{key}.jsonl", analyze_isolated(self.analyzer.analyze_batch, articles))
        return {"key": rows["key"]}


class RayEngine:
    """Analyses a tagging run's batches on a Ray cluster (see the module doc).

    ``make_analyzer`` builds the analyzer in each actor (it travels to the actors by pickle);
    ``output`` is the run's output, beside which the parts live; ``settings`` names everything
    besides the articles that decides a record (model, backend, device, options), so a part
    of other settings is never reused. ``address``: the cluster to join (``auto``, or
    ``HOST:PORT``); ``None`` joins the one this process already has, else starts a local one.
    ``actors``: the pool size (``None``: every CPU, or GPU, the cluster has, less one CPU for
    Ray Data when the actors use them all); ``num_cpus``/``num_gpus``: what each actor asks for;
    ``window``: batches per Ray Data run (``None``: see the module doc).
    """

    def __init__(self, make_analyzer: Callable[[], Analyzer], output: str | Path, *, settings: str,
                 address: str | None = None, actors: int | None = None, num_cpus: float = 1.0,
                 num_gpus: float = 0.0, window: int | None = None) -> None:
        if actors is not None and actors < 1:
            raise ValueError(f"actors must be positive, got {actors}")
        if num_cpus <= 0 or num_gpus < 0 or (window is not None and window < 1):
            raise ValueError("num_cpus and window must be positive, num_gpus not negative")
        self.make_analyzer = make_analyzer
        self.parts = parts_folder(output)
        self.settings = settings
        self.address = address
        self.actors = actors
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.window = window

    # ------------------------------------------------------------------ the cluster
    def start(self) -> None:
        """Join (or start) the cluster and size the actor pool; a cluster that cannot be
        reached is one :class:`ClusterError`."""
        import ray
        from ray.data import DataContext

        _quiet_ray()  # after the import: Ray sets its loggers up when it is imported
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.ERROR,
                                      "log_to_driver": False}
            if self.address is None:  # a local cluster: one CPU more than the actors use (ray#44687)
                from sentiment.classify.onnx import available_cores

                actors = self.actors or max(1, int(available_cores() // self.num_cpus))
                kwargs["num_cpus"] = actors * self.num_cpus + 1
            try:
                ray.init(address=self.address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.address or "a local cluster"
                raise ClusterError(f"cannot start or join the Ray cluster at {where}: {describe(exc)}") from None
        context = DataContext.get_current()
        context.enable_progress_bars = False  # progress is the driver's own line
        context.print_on_execution_start = False
        if self.actors is None:
            resources = ray.cluster_resources()
            if self.num_gpus:
                self.actors = max(1, int(resources.get("GPU", 0) // self.num_gpus))
            else:
                cpus = resources.get("CPU", 1)
                self.actors = max(1, int(cpus // self.num_cpus) - (1 if cpus % self.num_cpus < 1 else 0))
        self.parts.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ the job
    def analyze_batches(self, batches: Iterable[list[Article]]) -> Iterator[tuple[list[Article], list[Result]]]:
        """(batch, results) for every batch, in order; each result a tag record or a
        :class:`~sentiment.reasons.Failed` with its reason. A part is deleted once the caller
        asks for the next batch (it has written this one)."""
        if self.actors is None:
            self.start()
        size = self.window or max(WINDOW, BATCHES_PER_ACTOR * (self.actors or 1))
        it = iter(batches)
        while window := list(islice(it, size)):
            keyed = [(batch_key(batch, self.settings), batch) for batch in window]
            for key, batch in self._analysed(keyed):
                part = self.parts / f"{key}.jsonl"
                yield batch, read_part(part)
                part.unlink(missing_ok=True)
        shutil.rmtree(self.parts, ignore_errors=True)  # orphans of a kill between write and delete

    def _analysed(self, keyed: list[tuple[str, list[Article]]]) -> Iterator[tuple[str, list[Article]]]:
        """``keyed`` in order, each once its part file exists: the missing ones are analysed
        by one Ray Data run, and handed on as soon as every earlier one is there."""
        ready = {key for key, _ in keyed if (self.parts / f"{key}.jsonl").exists()}
        todo = {key: batch for key, batch in keyed if key not in ready}
        position = 0

        def flush() -> Iterator[tuple[str, list[Article]]]:
            nonlocal position
            while position < len(keyed) and keyed[position][0] in ready:
                yield keyed[position]
                position += 1

        yield from flush()
        if todo:
            for done in self._run(todo):
                ready.add(done)
                yield from flush()
        if position < len(keyed):
            raise ClusterError(f"the Ray run ended without the part file of batch {keyed[position][0]}")

    def _run(self, todo: dict[str, list[Article]]) -> Iterator[str]:
        """One Ray Data run over the batches ``todo``: the keys of their parts as they are written."""
        import ray
        from ray.data import ActorPoolStrategy

        rows = [{"key": key, "batch": pickle.dumps(batch)} for key, batch in todo.items()]
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
        tagged = dataset.map_batches(
            Tagger, fn_constructor_args=(self.make_analyzer, str(self.parts)), batch_size=1,
            compute=ActorPoolStrategy(size=min(self.actors or 1, len(rows))),
            num_cpus=self.num_cpus, num_gpus=self.num_gpus or None)
        try:
            for row in tagged.select_columns(["key"]).iter_rows():
                yield str(row["key"])
        except Exception as exc:  # Ray's errors carry whole remote tracebacks
            cause = getattr(exc, "cause", None) or exc
            log.debug("the Ray run failed", exc_info=exc)
            raise ClusterError(f"the Ray run failed: {describe(cause)}") from None
