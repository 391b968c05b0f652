"""From sentence scores to article, asset and cause scores.

A news article is mostly neutral reporting around a few sentences that carry its tone, so a
plain mean of sentence probabilities drifts to "neutral". Each sentence's probabilities are
therefore weighted by how confident the model is *and* how polar the sentence is::

    w = confidence * (1 + polarity_boost * (1 - p_neutral))

and the headline counts ``title_weight`` times. An asset's score aggregates, over the sentences
that name it (the headline too when it names it), the target-level scores of that asset when the
model gives them (what each sentence means for that asset), else the sentences' own scores. A
cause's score is the way its driver pushes the market, given by the caller (the analyzer: a
target-level score of the cause's words, or the type's prior direction); a cause without one
aggregates its evidence sentences. Without any sentence naming it, an asset falls back to the
article score.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sentiment.schema import (
    LABELS,
    Article,
    AssetScore,
    CauseScore,
    Extraction,
    Score,
    ScoredSentence,
    TaggedArticle,
)


@dataclass(frozen=True)
class AggregationConfig:
    """Weights of the aggregation (see the module docstring)."""

    title_weight: float = 2.0
    polarity_boost: float = 2.0


def sentence_weight(score: Score, config: AggregationConfig) -> float:
    """How much one sentence counts: confident and polar sentences count most."""
    return score.confidence * (1.0 + config.polarity_boost * (1.0 - score.probs.get("neutral", 0.0)))


def combine(scores: Sequence[Score], weights: Sequence[float] | None = None,
            config: AggregationConfig = AggregationConfig()) -> Score:
    """Weighted mean of probabilities; an empty input is neutral."""
    if not scores:
        return Score.neutral()
    weights = list(weights) if weights is not None else [1.0] * len(scores)
    total = 0.0
    acc = dict.fromkeys(LABELS, 0.0)
    for s, extra in zip(scores, weights):
        w = sentence_weight(s, config) * extra
        total += w
        for k in LABELS:
            acc[k] += w * s.probs.get(k, 0.0)
    if total <= 0:
        return Score.neutral()
    return Score.from_probs({k: v / total for k, v in acc.items()})


TargetScores = Mapping[str, Score]  # symbol → the target-level score of that asset in one sentence


def aggregate(article: Article, extraction: Extraction, sentence_scores: Sequence[Score],
              title_score: Score | None = None, *, include_sentences: bool = True,
              config: AggregationConfig = AggregationConfig(),
              target_scores: Sequence[TargetScores] | None = None,
              title_targets: TargetScores | None = None,
              cause_scores: Mapping[str, Score] | None = None) -> TaggedArticle:
    """Assemble the tagged article from its extraction and the scores of its sentences.

    ``sentence_scores`` align with ``extraction.sentences``; ``title_score`` scores
    ``extraction.title`` when there is one. ``target_scores`` (aligned with the sentences too)
    and ``title_targets`` give the target-level score of each asset a sentence names, when the
    model scores targets; an asset's sentiment then aggregates those. ``cause_scores`` gives
    each cause type's score (the direction its driver pushes).
    """
    if len(sentence_scores) != len(extraction.sentences):
        raise ValueError("one score per extracted sentence is needed")
    if target_scores is not None and len(target_scores) != len(extraction.sentences):
        raise ValueError("one target-score mapping per extracted sentence is needed")
    sents = extraction.sentences
    title = extraction.title if title_score is not None else None

    def pool(scores: list[Score], title_part: Score | None) -> Score:
        weights = [1.0] * len(scores)
        if title_part is not None:
            scores = [*scores, title_part]
            weights.append(config.title_weight)
        return combine(scores, weights, config)

    article_score = pool(list(sentence_scores), title_score)

    def toward(symbol: str, i: int) -> Score:
        """Sentence i's score for one asset it names: target-level when given."""
        return (target_scores[i].get(symbol) if target_scores is not None else None) or sentence_scores[i]

    assets = []
    for mention in extraction.assets:
        sym = mention.symbol
        idx = [i for i, s in enumerate(sents) if sym in s.assets]
        in_title = bool(title and sym in title.assets)
        title_part = ((title_targets or {}).get(sym) or title_score) if in_title else None
        score = pool([toward(sym, i) for i in idx], title_part) if (idx or in_title) else article_score
        assets.append(AssetScore(sym, mention.name, mention.mentions, score))

    causes: list[CauseScore] = []
    for cause_type in dict.fromkeys(c.type for c in extraction.causes):
        mentions = [c for c in extraction.causes if c.type == cause_type]
        idx = sorted({c.sentence for c in mentions if 0 <= c.sentence < len(sents)})
        in_title = any(c.sentence == -1 for c in mentions) and title is not None
        given = (cause_scores or {}).get(cause_type)
        causes.append(CauseScore(cause_type, mentions[0].evidence, given if given is not None else
                                 pool([sentence_scores[i] for i in idx], title_score if in_title else None)))

    scored = [ScoredSentence(s.text, s.start, s.end, sc, list(s.assets), list(s.causes),
                             dict(target_scores[i]) if target_scores is not None else {})
              for i, (s, sc) in enumerate(zip(sents, sentence_scores))] if include_sentences else None
    return TaggedArticle(
        article=article, sentiment=article_score, assets=assets, moves=list(extraction.moves),
        levels=list(extraction.levels), figures=list(extraction.figures), causes=causes,
        sectors=list(extraction.sectors), entities=list(extraction.entities), sentences=scored,
    )
