"""The target gate: a sentence whose own score is confident and that names one asset, or is
neutral, gives its assets its own score; every other (sentence, asset) pair gets a target pass."""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from sentiment import Analyzer
from sentiment.classify.model import model_target_gate, shipped_model_path
from sentiment.schema import Score

SURE = {"bull": [0.02, 0.03, 0.95], "bear": [0.95, 0.03, 0.02], "flat": [0.03, 0.95, 0.02]}
UNSURE_BULL = [0.2, 0.2, 0.6]


class GatedScorer:
    """Sentence probabilities from marker words; toward a target, always bearish (so a target
    pass is visible in the record); records the pairs it was asked to score."""

    supports_targets = True

    def __init__(self, gate: float | None = 0.9) -> None:
        self.target_gate = gate
        self.pairs: list[str] = []

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        def probs(text: str) -> list[float]:
            m = re.search(r"\b(soared|crashed|listed|edged)\b", text)
            key = {"soared": "bull", "crashed": "bear", "listed": "flat"}.get(m.group(1)) if m else None
            return SURE[key] if key else UNSURE_BULL
        return np.array([probs(t) for t in texts])

    def score_targets(self, pairs: Sequence[tuple[str, tuple[int, int]]], batch_size: int = 64) -> list[Score]:
        self.pairs.extend(text[a:b] for text, (a, b) in pairs)
        return [Score.from_probs(SURE["bear"]) for _ in pairs]


TEXT = ("Bitcoin soared 12% on Monday. Solana soared and Cardano soared too. "
        "Ethereum and XRP were listed on a new venue. Dogecoin edged up 1%.")


def asset_labels(tagged) -> list[dict[str, str]]:
    return [{sym: s.label for sym, s in sentence.asset_sentiment.items()} for sentence in tagged.sentences]


def test_confident_single_asset_and_neutral_sentences_skip_the_target_pass(nlp):
    scorer = GatedScorer(0.9)
    tagged = Analyzer(scorer, nlp=nlp).analyze(TEXT)
    assert asset_labels(tagged) == [
        {"BTC": "bullish"},                    # sure, one asset: its own score
        {"SOL": "bearish", "ADA": "bearish"},  # sure but two assets: target passes
        {"ETH": "neutral", "XRP": "neutral"},  # surely neutral: its own score
        {"DOGE": "bearish"},                   # not sure: a target pass
    ]
    assert sorted(scorer.pairs) == ["Cardano", "Dogecoin", "Solana"]


def test_without_a_gate_every_pair_is_scored(nlp):
    for analyzer in (Analyzer(GatedScorer(None), nlp=nlp), Analyzer(GatedScorer(0.9), nlp=nlp, target_gate=None)):
        tagged = analyzer.analyze(TEXT)
        assert all(label == "bearish" for labels in asset_labels(tagged) for label in labels.values())
        assert len(analyzer.model.pairs) == 6


def test_a_gate_given_to_the_analyzer_overrides_the_models(nlp):
    scorer = GatedScorer(None)
    Analyzer(scorer, nlp=nlp, target_gate=0.5).analyze(TEXT)
    assert sorted(scorer.pairs) == ["Cardano", "Solana"]  # 0.6 reaches 0.5: Dogecoin's own score stands


@pytest.mark.parametrize("gate", [0, 1.5, "high", True])
def test_a_bad_gate_is_a_clear_error(gate):
    with pytest.raises(ValueError, match="target_gate"):
        Analyzer(GatedScorer(), target_gate=gate)


def test_the_gate_is_read_from_the_model_folder(tmp_path: Path):
    (tmp_path / "sentiment.json").write_text(json.dumps({"tasks": ["sentence", "target"], "target_gate": 0.8}))
    assert model_target_gate(tmp_path) == 0.8
    (tmp_path / "sentiment.json").write_text(json.dumps({"tasks": ["sentence", "target"]}))
    assert model_target_gate(tmp_path) is None
    assert model_target_gate(tmp_path / "no-such-folder") is None
    (tmp_path / "sentiment.json").write_text(json.dumps({"tasks": ["sentence", "target"], "target_gate": 2}))
    with pytest.raises(ValueError, match="target_gate"):
        model_target_gate(tmp_path)


def test_the_shipped_model_declares_its_gate():
    assert model_target_gate(shipped_model_path("crypto-minilm-sentiment")) == 0.9
