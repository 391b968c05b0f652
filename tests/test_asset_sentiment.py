"""An asset's sentiment comes from target-level scores when the model gives them: the Analyzer
shows the model each (sentence, asset) pair with the asset's mention, the record's assets
aggregate those scores and each sentence carries them as ``asset_sentiment``. With a
sentence-only model, records are as before (no ``asset_sentiment``)."""
from __future__ import annotations

import json

from helpers.scorers import SentenceOnly, VerbScorer

from sentiment import Analyzer, TaggedArticle


def test_assets_take_their_target_scores(nlp):
    scorer = VerbScorer()
    analyzer = Analyzer(scorer, nlp=nlp)
    tagged = analyzer.analyze("Bitcoin rose 3% to $98,000 while Ether fell 5% after the Bybit hack.")
    by_symbol = {a.symbol: a.sentiment.label for a in tagged.assets}
    assert by_symbol == {"BTC": "bullish", "ETH": "bearish"}
    # the model saw each asset's own mention (then the cause's words: tests/test_cause_sentiment.py)
    assert sorted(text[a:b] for text, (a, b) in scorer.pairs[:2]) == ["Bitcoin", "Ether"]
    record = tagged.to_dict()
    sentence = record["sentences"][0]
    assert sentence["sentiment"]["label"] == "bullish"  # the sentence's own score is kept
    assert {k: v["label"] for k, v in sentence["asset_sentiment"].items()} == {"BTC": "bullish", "ETH": "bearish"}
    # the record reads back unchanged
    again = TaggedArticle.from_dict(json.loads(json.dumps(record))).to_dict()
    assert again == record


def test_title_targets_count_with_the_title_weight(nlp):
    analyzer = Analyzer(VerbScorer(), nlp=nlp)
    tagged = analyzer.analyze("Traders watched the majors closely.", title="Solana surged while Cardano slid")
    labels = {a.symbol: a.sentiment.label for a in tagged.assets}
    assert labels == {"SOL": "bullish", "ADA": "bearish"}


def test_a_sentence_only_model_keeps_todays_records(nlp):
    tagged = Analyzer(SentenceOnly(), nlp=nlp).analyze(
        "Bitcoin rose 3% to $98,000 while Ether fell 5% after the Bybit hack.")
    assert {a.symbol: a.sentiment.label for a in tagged.assets} == {"BTC": "bullish", "ETH": "bullish"}
    assert "asset_sentiment" not in tagged.to_dict()["sentences"][0]


def test_a_long_sentence_is_scored_for_a_target_around_its_mention(nlp):
    scorer = VerbScorer()
    analyzer = Analyzer(scorer, nlp=nlp, max_sentence_chars=200)
    text = "Markets " + "were busy and " * 60 + "then Ether fell 5% on the news"
    tagged = analyzer.analyze(text)
    assert [a.symbol for a in tagged.assets] == ["ETH"]
    (window, (a, b)), = scorer.pairs
    assert len(window) <= 200 and window[a:b] == "Ether"
    assert tagged.assets[0].sentiment.label == "bearish"
