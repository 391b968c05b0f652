"""Aggregation of sentence scores into article, asset and cause scores."""
from __future__ import annotations

import pytest

from sentiment.aggregate import AggregationConfig, aggregate, combine
from sentiment.schema import Article, AssetMention, CauseMention, Extraction, Score, SentenceSpan

BEAR = Score.from_probs([0.9, 0.08, 0.02])
BULL = Score.from_probs([0.05, 0.15, 0.8])
NEUTRAL = Score.from_probs([0.05, 0.9, 0.05])


def test_combine_weights_polar_confident_sentences_over_neutral_filler():
    # three neutral report sentences and one clearly bearish one: the article reads bearish
    assert combine([NEUTRAL, NEUTRAL, BEAR]).label == "bearish"
    assert combine([]).label == "neutral"
    s = combine([BEAR, BULL])
    assert abs(sum(s.probs.values()) - 1) < 1e-6 and -1 <= s.score <= 1


def test_title_counts_more():
    cfg = AggregationConfig(title_weight=5.0)
    assert combine([BEAR, BULL], [1.0, cfg.title_weight], cfg).label == "bullish"


def _extraction() -> Extraction:
    return Extraction(
        title=SentenceSpan("Solana rallies as ETF inflows grow", 0, 34, ["SOL"], ["etf_inflow"]),
        sentences=[
            SentenceSpan("Bitcoin fell 3% after the hack.", 0, 31, ["BTC"], ["hack_exploit"]),
            SentenceSpan("Solana rose 12%.", 32, 48, ["SOL"], []),
            SentenceSpan("Markets open at nine.", 49, 70, [], []),
        ],
        assets=[AssetMention("BTC", "Bitcoin", 1), AssetMention("SOL", "Solana", 2), AssetMention("ETH", "Ethereum", 1)],
        causes=[CauseMention("hack_exploit", "Bitcoin fell 3% after the hack.", 0),
                CauseMention("etf_inflow", "Solana rallies as ETF inflows grow", -1)],
    )


def test_assets_and_causes_take_their_own_sentences():
    tagged = aggregate(Article(text="…"), _extraction(), [BEAR, BULL, NEUTRAL], BULL)
    by = {a.symbol: a for a in tagged.assets}
    assert by["BTC"].sentiment.label == "bearish"
    assert by["SOL"].sentiment.label == "bullish"
    # ETH is named by no sentence: it falls back to the article score
    assert by["ETH"].sentiment == tagged.sentiment
    causes = {c.type: c for c in tagged.causes}
    assert causes["hack_exploit"].sentiment.label == "bearish"
    assert causes["etf_inflow"].sentiment.label == "bullish"
    d = tagged.to_dict()
    assert d["schema"] == 1 and len(d["sentences"]) == 3 and d["sentences"][0]["assets"] == ["BTC"]


def test_sentences_can_be_left_out_and_counts_must_match():
    tagged = aggregate(Article(text="…"), _extraction(), [BEAR, BULL, NEUTRAL], BULL, include_sentences=False)
    assert "sentences" not in tagged.to_dict()
    with pytest.raises(ValueError):
        aggregate(Article(text="…"), _extraction(), [BEAR], BULL)


def test_given_cause_scores_replace_the_sentences_score():
    tagged = aggregate(Article(text="…"), _extraction(), [BULL, BULL, NEUTRAL], BULL, cause_scores={"hack_exploit": BEAR})
    causes = {c.type: c for c in tagged.causes}
    assert causes["hack_exploit"].sentiment == BEAR          # given
    assert causes["etf_inflow"].sentiment.label == "bullish"  # none given: its sentences
