"""Whole-article analysis in worker processes: the parallel half of batch tagging.

Each worker is a forked copy of the parent's :class:`~sentiment.analyzer.Analyzer`: it shares
the already loaded spaCy pipeline (copy-on-write) and opens its own classifier session with
one thread, then analyses whole batches (extraction, scoring, aggregation). The parent only
reads, deduplicates and writes. Two workers on two cores keep both cores busy all the time,
where splitting each batch into a spaCy stage and a scoring stage left one core waiting at
every hand-over and shipped every parsed ``Doc`` between processes.

Results come back in the order the batches went in, at most ``2 × processes`` batches ahead
of the writer (constant memory). A worker that dies (killed, out of memory) does not lose its
batch: that batch and every later one are analysed in the parent instead.
"""
from __future__ import annotations

import copy
import ctypes
import gc
import logging
import multiprocessing
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from sentiment.schema import Article, TaggedArticle

if TYPE_CHECKING:
    from sentiment.analyzer import Analyzer

log = logging.getLogger(__name__)

Result = list["TaggedArticle | Exception"]

PR_SET_PDEATHSIG = 1  # prctl(2)
_WORKER: Analyzer | None = None  # the analyzer of this worker process
_LIMITS: Any = None  # keeps the one-thread BLAS limit of this worker alive


def fork_available() -> bool:
    """Worker processes need ``fork`` (Linux): they inherit the loaded pipeline instead of
    loading it again."""
    return "fork" in multiprocessing.get_all_start_methods()


def analyze_isolated(analyzer: Analyzer, batch: list[Article]) -> Result:
    """``analyze_batch``, and when the batch fails as a whole (the classifier choked on one
    text), the same one article at a time, so only the article at fault fails."""
    try:
        return analyzer.analyze_batch(batch)
    except Exception:  # noqa: BLE001 - isolated below, reported per article
        results: Result = []
        for article in batch:
            try:
                results.extend(analyzer.analyze_batch([article]))
            except Exception as exc:  # noqa: BLE001 - reported as this article's failure
                results.append(exc)
        return results


def _trim_heap() -> None:
    """Give freed heap memory back to the system (glibc keeps it otherwise), so the workers do
    not inherit it. A no-op where there is no glibc."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _init_worker(parent: Analyzer) -> None:
    """Runs once in each new worker: one BLAS thread, one classifier thread, own session.
    Ctrl-C is the parent's to handle (it stops the workers), and a worker whose parent dies
    (killed) goes with it instead of waiting for work forever."""
    global _WORKER, _LIMITS
    from threadpoolctl import threadpool_limits

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:  # Linux: SIGTERM when the parent dies
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    _LIMITS = threadpool_limits(1)
    worker = copy.copy(parent)
    worker.n_process = 1
    worker.threads = 1
    worker._pool = None
    if worker.owns_model:
        worker._model = None  # reopened here: a session's threads do not survive fork
    _WORKER = worker


def _run_batch(batch: list[Article]) -> Result:
    assert _WORKER is not None, "worker not initialised"
    return analyze_isolated(_WORKER, batch)


class WorkerPool:
    """``processes`` forked workers analysing batches for ``analyzer`` (see the module doc)."""

    def __init__(self, analyzer: Analyzer, processes: int) -> None:
        self.analyzer = analyzer
        self.processes = processes
        self.broken = False
        # The parent loads both models first: a broken model is one clear error here, and the
        # workers inherit the spaCy pipeline instead of each loading it.
        _ = analyzer.model, analyzer.extractor
        if analyzer.owns_model:  # the workers open their own sessions: the parent's would only
            analyzer._model = None  # take memory (it is reopened if the parent must take over)
        gc.collect()
        _trim_heap()
        gc.freeze()  # the workers' garbage collector then leaves the inherited objects (and their
        self._frozen = True  # memory pages) alone instead of copying every page it walks
        self._executor = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_init_worker, initargs=(analyzer,))

    def map(self, batches: Iterable[list[Article]]) -> Iterator[tuple[list[Article], Result]]:
        """(batch, results) for every batch, in order, analysed ``processes`` at a time."""
        pending: deque[tuple[list[Article], Future[Result] | None]] = deque()
        ahead = 2 * self.processes
        for batch in batches:
            pending.append((batch, self._submit(batch)))
            while len(pending) > ahead:
                yield self._collect(*pending.popleft())
        while pending:
            yield self._collect(*pending.popleft())

    def _submit(self, batch: list[Article]) -> Future[Result] | None:
        if self.broken:
            return None
        try:
            future = self._executor.submit(_run_batch, batch)
        except (BrokenProcessPool, RuntimeError):
            self._mark_broken()
            return None
        if self._frozen:  # with fork, the first submit has started every worker: the parent
            gc.unfreeze()  # collects its own garbage again
            self._frozen = False
        return future

    def _collect(self, batch: list[Article], future: Future[Result] | None) -> tuple[list[Article], Result]:
        if future is not None:
            try:
                return batch, future.result()
            except BrokenProcessPool:
                self._mark_broken()
            except Exception as exc:  # noqa: BLE001 - e.g. a result that could not be pickled
                log.warning("a worker could not return its batch (%s: %s); analysing it here",
                            type(exc).__name__, exc)
        return batch, analyze_isolated(self.analyzer, batch)

    def _mark_broken(self) -> None:
        if not self.broken:
            log.warning("a worker process died; the remaining articles are analysed in this process")
            self.broken = True

    def close(self, *, terminate: bool = False) -> None:
        """Stop the workers: pending work is cancelled; with ``terminate`` (Ctrl-C, an error)
        the batches being analysed are abandoned too instead of finished."""
        if terminate:
            for process in list((getattr(self._executor, "_processes", None) or {}).values()):
                process.terminate()
        self._executor.shutdown(wait=True, cancel_futures=True)
