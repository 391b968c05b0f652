"""Batches analysed in worker processes: the parallel half of batch tagging.

The pool knows nothing of how an article is analysed. It is given a factory that runs once in
each new worker and returns the function that analyses a batch there; the
:class:`~sentiment.analyzer.Analyzer` gives one that copies the parent's analyzer with one
thread and its own classifier session. Workers are forked, so they share the already loaded
spaCy pipeline (copy-on-write) and analyse whole batches (extraction, scoring, aggregation);
the parent only reads, deduplicates and writes. Two workers on two cores keep both cores busy
all the time, where splitting each batch into a spaCy stage and a scoring stage left one core
waiting at every hand-over and shipped every parsed ``Doc`` between processes.

Results come back in the order the batches went in, at most ``2 × processes`` batches ahead
of the writer (constant memory). A worker that dies (killed, out of memory) does not lose its
batch: that batch and every later one are analysed in the parent instead.
"""
from __future__ import annotations

import ctypes
import gc
import logging
import multiprocessing
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from sentiment.schema import Article, TaggedArticle

log = logging.getLogger(__name__)

Result = list["TaggedArticle | Exception"]
#: Analyses a batch: one result per article, in order (a failing article may raise for all).
BatchFn = Callable[[list[Article]], Result]

PR_SET_PDEATHSIG = 1  # prctl(2)
_WORKER: BatchFn | None = None  # what analyses a batch in this worker process
_LIMITS: Any = None  # keeps the one-thread BLAS limit of this worker alive


def fork_available() -> bool:
    """Worker processes need ``fork`` (Linux): they inherit the loaded pipeline instead of
    loading it again."""
    return "fork" in multiprocessing.get_all_start_methods()


def analyze_isolated(analyze_batch: BatchFn, batch: list[Article]) -> Result:
    """``analyze_batch(batch)``, and when the batch fails as a whole (the classifier choked on
    one text), the same one article at a time, so only the article at fault fails."""
    try:
        return analyze_batch(batch)
    except Exception:  # noqa: BLE001 - isolated below, reported per article
        results: Result = []
        for article in batch:
            try:
                results.extend(analyze_batch([article]))
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


def _init_worker(make_worker: Callable[[], BatchFn]) -> None:
    """Runs once in each new worker: one BLAS thread, then ``make_worker`` builds what analyses
    batches here. Ctrl-C is the parent's to handle (it stops the workers), and a worker whose
    parent dies (killed) goes with it instead of waiting for work forever."""
    global _WORKER, _LIMITS
    from threadpoolctl import threadpool_limits

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:  # Linux: SIGTERM when the parent dies
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    _LIMITS = threadpool_limits(1)
    _WORKER = make_worker()


def _run_batch(batch: list[Article]) -> Result:
    assert _WORKER is not None, "worker not initialised"
    return analyze_isolated(_WORKER, batch)


class WorkerPool:
    """``processes`` forked workers analysing batches (see the module doc).

    ``make_worker`` runs once in each worker and returns the function that analyses a batch
    there; ``fallback`` analyses a batch in this process when the workers cannot. Load what the
    workers should share before starting the pool: they inherit it instead of loading it."""

    def __init__(self, make_worker: Callable[[], BatchFn], fallback: BatchFn, processes: int) -> None:
        self.fallback = fallback
        self.processes = processes
        self.broken = False
        gc.collect()
        _trim_heap()
        gc.freeze()  # the workers' garbage collector then leaves the inherited objects (and their
        self._frozen = True  # memory pages) alone instead of copying every page it walks
        self._executor = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_init_worker, initargs=(make_worker,))

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
        return batch, analyze_isolated(self.fallback, batch)

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
