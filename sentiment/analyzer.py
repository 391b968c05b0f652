"""The Analyzer: one object that holds the spaCy pipeline and the classifier, loaded once.

``analyze`` tags one text or article, ``analyze_many`` streams any number of them in
constant memory (extraction with ``nlp.pipe`` and sentence scoring in large batches across
articles, which is what makes batch tagging fast; with ``n_process`` > 1 whole batches go to
worker processes, :mod:`sentiment.workers`), ``score`` scores bare sentences.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sentiment.aggregate import AggregationConfig, aggregate
from sentiment.schema import Article, Extraction, Score, SentenceSpan, TaggedArticle
from sentiment.text import cut_point

if TYPE_CHECKING:
    from sentiment.extract import Extractor
    from sentiment.workers import BatchFn, WorkerPool


class Scorer(Protocol):
    """Anything that gives calibrated probabilities (bearish, neutral, bullish) per text."""

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...


TextOrArticle = str | Article

MAX_CHARS = 100_000  # characters of one article that are analysed (≈ 15,000 words)
MAX_SENTENCE_CHARS = 2_000  # characters of one sentence that are scored


def as_article(item: TextOrArticle, title: str | None = None) -> Article:
    """Accept a bare text or an Article (a bare text gets a text-hash id)."""
    if isinstance(item, Article):
        return item
    if isinstance(item, str):
        return Article(text=item, title=title)
    raise TypeError(f"expected a str or an Article, got {type(item).__name__}")


class Analyzer:
    """Extract and score crypto news.

    >>> analyzer = Analyzer()                                        # doctest: +SKIP
    >>> analyzer.analyze("Bitcoin fell 5% to $100,000.").to_dict()   # doctest: +SKIP

    ``model`` is a model folder, a scorer object with ``predict_proba`` or ``None`` for the
    shipped model; ``nlp`` an already built spaCy pipeline (``sentiment.extract.build_nlp``);
    ``batch_size`` how many sentences the classifier scores per call (at least; on a GPU the
    batches are sized by tokens); ``device`` where the classifier runs: ``auto`` (a CUDA GPU
    when torch sees one, else the CPU), ``cpu`` or ``cuda`` (torch on the GPU, float16 where it
    holds parity; see :func:`sentiment.classify.model.resolve_device`); ``threads`` the
    classifier's threads (``None``: one per core); ``n_process`` how many worker processes
    analyse batches in parallel in :meth:`analyze_many` and :meth:`analyze_batches` (Linux;
    each runs the whole analysis with one thread, which on two cores measured fastest). Close
    an analyzer that started workers with :meth:`close` or use it in a ``with`` block.

    Work per article is bounded, so one odd input cannot stall a batch: an article longer than
    ``max_chars`` characters (``None``: no limit) is analysed on its first ``max_chars``
    (cut at a paragraph or word break) and its record says so in ``truncated_at``; a "sentence"
    longer than ``max_sentence_chars`` (a pasted table, a data dump, a page without
    punctuation) is scored on its first ``max_sentence_chars`` characters, its text kept whole.
    News articles and sentences are far below both limits.

    With a target-level model, ``target_gate`` decides which (sentence, asset) pairs get their
    own pass (:attr:`target_gate`): ``"model"`` takes the model's (``sentiment.json``), ``None``
    scores every pair, a probability sets it.
    """

    def __init__(self, model: str | Path | Scorer | None = None, *, nlp: Any = None,
                 backend: str = "auto", device: str = "auto", include_sentences: bool = True,
                 batch_size: int = 64, n_process: int = 1, threads: int | None = None,
                 aggregation: AggregationConfig = AggregationConfig(),
                 max_chars: int | None = MAX_CHARS, max_sentence_chars: int = MAX_SENTENCE_CHARS,
                 target_gate: float | str | None = "model") -> None:
        for name, value in (("max_chars", max_chars), ("max_sentence_chars", max_sentence_chars)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be positive, got {value}")
        from sentiment.classify.model import DEVICES

        if device not in DEVICES:
            raise ValueError(f"unknown device {device!r}; available: {', '.join(DEVICES)}")
        if target_gate != "model" and target_gate is not None and (
                isinstance(target_gate, (str, bool)) or not 0 < target_gate <= 1):
            raise ValueError(f"target_gate must be \"model\", None or a probability in (0, 1], got {target_gate!r}")
        self._target_gate = target_gate
        self.max_chars = max_chars
        self.max_sentence_chars = max_sentence_chars
        self._model_arg = model
        self._nlp = nlp
        self.backend = backend
        self.device = device
        self.include_sentences = include_sentences
        self.batch_size = batch_size
        self.n_process = n_process
        self.threads = threads
        self._pool: WorkerPool | None = None
        self.aggregation = aggregation
        self._model: Scorer | None = None if model is None or isinstance(model, (str, Path)) else model
        self._extractor: Extractor | None = None

    # ------------------------------------------------------------------ lazy components
    @property
    def model(self) -> Scorer:
        """The sentence classifier (loaded on first use)."""
        if self._model is None:
            from sentiment.classify.model import SentimentModel

            self._model = SentimentModel.load(self._model_arg, backend=self.backend,  # type: ignore[arg-type]
                                              threads=self.threads, device=self.device)
        return self._model

    @property
    def on_gpu(self) -> bool:
        """Whether the classifier runs on a CUDA GPU (``device`` resolved; one process then
        feeds the GPU, worker processes are not forked)."""
        if not self.owns_model:
            return False
        from sentiment.classify.model import resolve_device

        return resolve_device(self.device) == "cuda"

    @property
    def owns_model(self) -> bool:
        """Whether the classifier is loaded from a folder by the analyzer (not passed in ready)."""
        return self._model_arg is None or isinstance(self._model_arg, (str, Path))

    @property
    def extractor(self) -> Extractor:
        """The spaCy extractor (loaded on first use)."""
        if self._extractor is None:
            from sentiment.extract import Extractor

            self._extractor = Extractor(self._nlp)
        return self._extractor

    # ------------------------------------------------------------------ scoring
    def score(self, sentences: Sequence[str]) -> list[Score]:
        """Score bare sentences (any length; long ones are windowed by the model)."""
        if isinstance(sentences, str):
            raise TypeError("score takes a list of sentences, not one string: use score([text])")
        sentences = list(sentences)
        if not sentences:
            return []
        probs = self.model.predict_proba(sentences, batch_size=self.batch_size)
        return [Score.from_probs(row.tolist()) for row in np.asarray(probs)]

    # ------------------------------------------------------------------ analysis
    def analyze(self, item: TextOrArticle, *, title: str | None = None) -> TaggedArticle:
        """Tag one article (or bare text)."""
        result = self.analyze_batch([as_article(item, title)])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def analyze_many(self, items: Iterable[TextOrArticle], batch_size: int = 32) -> Iterator[TaggedArticle]:
        """Tag a stream of articles in order, ``batch_size`` articles at a time (constant memory).

        An article that cannot be analysed raises; use :func:`sentiment.tag_files` for batch
        jobs that must account for every input and go on past failures.
        """
        def batches() -> Iterator[list[Article]]:
            it = iter(items)
            while batch := [as_article(x) for x in islice(it, max(1, batch_size))]:
                yield batch

        for _, results in self.analyze_batches(batches()):
            for result in results:
                if isinstance(result, Exception):
                    raise result
                yield result

    def analyze_batches(self, batches: Iterable[list[Article]]
                        ) -> Iterator[tuple[list[Article], list[TaggedArticle | Exception]]]:
        """(batch, results) for each batch, in order; a failing article gives its exception in
        its place. With ``n_process`` > 1 the batches are analysed in worker processes, a few
        at a time (started on first use, kept until :meth:`close`)."""
        from sentiment.workers import WorkerPool, analyze_isolated, fork_available

        if self.n_process > 1 and fork_available() and not self.on_gpu:
            if self._pool is None or self._pool.broken:
                self.close()
                # Both models load here first: a broken model is one clear error, and the
                # workers inherit the spaCy pipeline instead of each loading it. The workers
                # open their own classifier sessions, so the parent's would only take memory
                # (it is reopened if the parent must take over).
                _ = self.model, self.extractor
                if self.owns_model:
                    self._model = None
                self._pool = WorkerPool(self._worker, self.analyze_batch, self.n_process)
            yield from self._pool.map(batches)
            return
        for batch in batches:
            yield batch, analyze_isolated(self.analyze_batch, batch)

    def _worker(self) -> BatchFn:
        """Runs in each new worker process: a copy of this analyzer with one classifier thread
        and its own session (a session's threads do not survive fork), no workers of its own."""
        worker = copy.copy(self)
        worker.n_process = 1
        worker.threads = 1
        worker._pool = None
        if worker.owns_model:
            worker._model = None
        return worker.analyze_batch

    def close(self, *, terminate: bool = False) -> None:
        """Stop the worker processes, if any were started (``terminate``: without finishing
        the batches they are on)."""
        if self._pool is not None:
            self._pool.close(terminate=terminate)
            self._pool = None

    def __enter__(self) -> Analyzer:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.close(terminate=exc_type is not None)

    def analyze_batch(self, articles: list[Article]) -> list[TaggedArticle | Exception]:
        """Tag a batch; a failing article gives its exception in its place, the others go on."""
        cuts = [cut_point(a.text or "", self.max_chars) if self.max_chars else len(a.text or "")
                for a in articles]
        analysed = [a if cut == len(a.text or "") else replace(a, text=a.text[:cut])
                    for a, cut in zip(articles, cuts)]
        extractions = self._extract(analysed)
        texts: list[str] = []
        cap = self.max_sentence_chars
        for ex in extractions:
            if isinstance(ex, Extraction):
                if ex.title is not None:
                    texts.append(ex.title.text[:cap])
                texts.extend(s.text[:cap] for s in ex.sentences)
        scores = iter(self.score(texts))
        done = [ex for ex in extractions if isinstance(ex, Extraction)]
        own = [(next(scores) if ex.title is not None else None, [next(scores) for _ in ex.sentences])
               for ex in done]
        targets = iter(self._score_targets(done, own))
        cause_scores = iter(self._score_causes(done))
        own_scores = iter(own)
        out: list[TaggedArticle | Exception] = []
        for article, cut, ex in zip(articles, cuts, extractions):
            if isinstance(ex, Exception):
                out.append(ex)
                continue
            title_score, sentence_scores = next(own_scores)
            title_targets, target_scores = next(targets)
            tagged = aggregate(article, ex, sentence_scores, title_score,
                               include_sentences=self.include_sentences, config=self.aggregation,
                               target_scores=target_scores, title_targets=title_targets,
                               cause_scores=next(cause_scores))
            if cut < len(article.text or ""):
                tagged.truncated_at = cut
            out.append(tagged)
        return out

    @property
    def scores_targets(self) -> bool:
        """Whether the classifier scores the sentiment toward each asset (a target-level model)."""
        return bool(getattr(self.model, "supports_targets", False))

    @property
    def target_gate(self) -> float | None:
        """The sentence confidence at which a sentence's own score stands for its assets'
        (``None``: every pair gets a target pass). See :meth:`_score_targets`."""
        if self._target_gate != "model":
            return self._target_gate  # type: ignore[return-value]
        return getattr(self.model, "target_gate", None) if self.scores_targets else None

    def _score_targets(self, extractions: list[Extraction],
                       own: list[tuple[Score | None, list[Score]]]
                       ) -> list[tuple[dict[str, Score] | None, list[dict[str, Score]] | None]]:
        """(title, sentences) target scores of each extraction: for every asset a sentence
        names, the model's score toward that asset; ``(None, None)`` each when the model scores
        sentences only. ``own`` holds each extraction's (title, sentences) own scores: with a
        :attr:`target_gate`, a sentence whose own score reaches it and that names one asset,
        or is neutral, gives its assets that score without a target pass (on the model's
        validation parts this lost no accuracy and skipped four pairs in ten)."""
        if not extractions or not self.scores_targets:
            return [(None, None)] * len(extractions)
        gate = self.target_gate

        def stands(span: SentenceSpan, score: Score) -> bool:
            return (gate is not None and score.confidence >= gate
                    and (len(span.assets) == 1 or score.label == "neutral"))

        spans = [(span, score) for ex, (title, sentences) in zip(extractions, own)
                 for span, score in zip(([ex.title] if ex.title is not None else []) + ex.sentences,
                                        ([title] if title is not None else []) + sentences)]
        pairs = [self._target_window(span.text, span.mentions.get(sym, (0, len(span.text))))
                 for span, score in spans if not stands(span, score) for sym in span.assets]
        scored = iter(self.model.score_targets(pairs, batch_size=self.batch_size)  # type: ignore[attr-defined]
                      if pairs else [])
        taken = iter([{sym: score for sym in span.assets} if stands(span, score)
                      else {sym: next(scored) for sym in span.assets} for span, score in spans])
        return [(next(taken) if ex.title is not None else None, [next(taken) for _ in ex.sentences])
                for ex in extractions]

    def _score_causes(self, extractions: list[Extraction]) -> list[dict[str, Score]]:
        """Each extraction's cause scores by type: the way the driver pushes the market, from
        the type's direction table (``sentiment/extract/data/cause_directions.json``), never the
        sentence's own score. The table beat the target-level model on causes read by hand
        (``research/log.md``, "Cause direction with the shipped target-level model")."""
        from sentiment.extract.causes import prior_score

        return [{c.type: prior_score(c.type, c.evidence) for c in ex.causes} for ex in extractions]

    def _target_window(self, text: str, span: tuple[int, int]) -> tuple[str, tuple[int, int]]:
        """A sentence over ``max_sentence_chars`` is scored for a target on a window of that
        size around the target's mention (the mention and its clause matter, not the rest)."""
        cap = self.max_sentence_chars
        if len(text) <= cap:
            return text, span
        start = max(0, min(span[0] - cap // 2, len(text) - cap))
        return text[start:start + cap], (span[0] - start, min(span[1], start + cap) - start)

    def _extract(self, articles: list[Article]) -> list[Extraction | Exception]:
        items = [(a.title, a.text or "") for a in articles]
        try:
            return list(self.extractor.pipe(items, batch_size=max(1, len(items))))
        except Exception:  # noqa: BLE001  (any failure: retry one by one)
            # Isolate the article that broke the batch; the others are still tagged.
            results: list[Extraction | Exception] = []
            for title, text in items:
                try:
                    results.append(self.extractor(text, title=title))
                except Exception as exc:  # noqa: BLE001  (reported per article by the caller)
                    results.append(exc)
            return results
