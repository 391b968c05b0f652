"""The batch job behind ``sentiment tag``: sources in, one tag record per article out.

Every input is accounted for: each article read is tagged, skipped as a duplicate, skipped
because a previous run already wrote it (resume), or reported as failed with its reason;
each input that yields no article (a broken file, an unreachable URL) is reported as failed.
The output is resumable: killed and run again with the same output, the job finishes
without duplicates or gaps (see :mod:`sentiment.sinks`).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Protocol

from sentiment.analyzer import Analyzer
from sentiment.ingest import Deduplicator, IngestError, IngestOptions, is_url, iter_inputs
from sentiment.ingest.records import Tally
from sentiment.reasons import describe
from sentiment.schema import Article, TaggedArticle
from sentiment.sinks import open_sink
from sentiment.store import Store

log = logging.getLogger(__name__)


@dataclass
class TagReport(Tally):
    """What a tagging run did. Every article read is tagged, a duplicate, already in the output
    (resumed) or failed; inputs that gave no article are failed or skipped (with a reason)."""

    output: Path | None = None
    tagged: int = 0
    resumed: int = 0

    def summary(self) -> str:
        parts = [f"read {self.read}", f"tagged {self.tagged}", f"duplicates {self.duplicates}"]
        if self.resumed:
            parts.append(f"already tagged {self.resumed}")
        parts.append(f"failed {self.failed}")
        if self.skipped:
            parts.append(f"skipped {self.skipped}")
        return ", ".join(parts)


class Engine(Protocol):
    """What analyses a run's batches somewhere else than in ``analyzer`` (e.g. on a Ray
    cluster, :class:`sentiment.cluster.RayEngine`): ``start`` gets it ready (one fatal error
    when it cannot be), ``analyze_batches`` gives (batch, results) for every batch in order,
    each result a tag record (a dict), a :class:`~sentiment.schema.TaggedArticle` or the
    article's exception. ``parts`` is where it keeps its own files (never read as input)."""

    parts: Path

    def start(self) -> None: ...

    def analyze_batches(self, batches: Iterable[list[Article]]
                        ) -> Iterator[tuple[list[Article], Sequence[dict[str, Any] | TaggedArticle | Exception]]]: ...


def tag_files(sources: Iterable[str | Path], output: str | Path, *, fmt: str | None = None,
              store: str | Path | Store | None = None, from_store: bool = False,
              analyzer: Analyzer | None = None, options: IngestOptions | None = None,
              batch_size: int = 16, include_sentences: bool = True, resume: bool = True,
              on_error: Callable[[IngestError], None] | None = None,
              on_progress: Callable[[TagReport], None] | None = None,
              engine: Engine | None = None) -> TagReport:
    """Tag every article of ``sources`` (files, folders, feeds, URLs) into ``output``.

    ``store`` keeps articles, tag records, feed state and errors in SQLite; ``from_store``
    also tags the articles already in it. ``on_error`` is called once per failed input,
    ``on_progress`` after each batch. ``engine`` analyses the batches instead of
    ``analyzer`` (this process still reads, deduplicates, forms the batches and writes).
    """
    analyzer = analyzer or Analyzer(include_sentences=include_sentences)
    own_store = isinstance(store, (str, Path))
    db = Store(store) if isinstance(store, (str, Path)) else store
    if from_store and db is None:
        raise ValueError("--from-store needs a store (--store PATH)")
    report = TagReport(output=Path(output))
    sink = open_sink(output, fmt, resume=resume)
    done = sink.ids() if resume else set()
    dedupe = Deduplicator()

    def fail(error: IngestError) -> None:
        report.add_error(error)
        if db is not None and not error.skipped:  # as in ingest: a skip (a 304, a README) is no error
            db.add_error(error.input, error.reason)
        if on_error:
            on_error(error)

    def write(batch: list[Article], results: Sequence[dict[str, Any] | TaggedArticle | Exception]) -> None:
        records = []
        for article, result in zip(batch, results):
            if isinstance(result, Exception):
                where = str(article.meta.get("input") or article.url or article.id)
                # The reason names the kind of failure; the library's own message (and the
                # traceback) go to the debug log, for whoever looks into it.
                log.debug("analysis of %s failed", where, exc_info=result)
                fail(IngestError(where, f"analysis failed: {describe(result)}"))
                continue
            record = result if isinstance(result, dict) else result.to_dict()
            records.append(record)
            if db is not None:
                db.put_tag(record)
        sink.write(records)
        report.tagged += len(records)
        if on_progress:
            on_progress(report)

    def batches() -> Iterator[list[Article]]:
        """The articles to analyse, ``batch_size`` at a time; every other input is accounted
        for on the way (failed, duplicate, already in the output)."""
        batch: list[Article] = []
        for item in items:
            if isinstance(item, IngestError):
                fail(item)
                continue
            report.read += 1
            if not dedupe.add(item):
                report.duplicates += 1
                continue
            if db is not None:
                db.add_article(item)
            if item.id in done:
                report.resumed += 1
                continue
            batch.append(item)
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    own_files = {os.path.abspath(p) for p in (sink.path, getattr(sink, "final", sink.path))}
    if engine is not None:
        own_files.add(os.path.abspath(engine.parts))
    items: Iterator[Article | IngestError] = _without(own_files, iter_inputs(sources, options, store=db))
    if from_store and db is not None:
        items = chain(db.articles(), items)
    try:
        # Load the classifier and the pipeline up front: a missing or broken model is one fatal
        # error here, not a failure of every article (per-article failures are isolated below).
        if engine is None:
            _ = analyzer.model, analyzer.extractor
            for batch, results in analyzer.analyze_batches(batches()):
                write(batch, results)
        else:
            engine.start()
            for batch, engine_results in engine.analyze_batches(batches()):
                write(batch, engine_results)
    finally:
        sink.close()
        if own_store and db is not None:
            db.close()
    return report


def _without(own_files: set[str], items: Iterator[Article | IngestError]) -> Iterator[Article | IngestError]:
    """``items`` minus those read from this run's own output (``tag news/ -o news/tags.jsonl``
    would otherwise tag its earlier records as new articles); each such file is one skip."""
    reported: set[str] = set()
    for item in items:
        label = item.meta.get("input", "") if isinstance(item, Article) else item.input.split("#")[0]
        path = os.path.abspath(label) if label and not is_url(label) else ""
        if path not in own_files:
            yield item
        elif path not in reported:
            reported.add(path)
            yield IngestError(label, "the output of this run, not an input", skipped=True)
