"""Stated or not: the model over the cause rules' candidates (sentiment.extract.stated)."""
from __future__ import annotations

import json

import pytest
import spacy

import sentiment.extract  # noqa: F401  (registers the factories)
from sentiment.extract import Extractor, build_nlp
from sentiment.extract.resources import load_json
from sentiment.extract.stated import STATED_FILE, StatedModel

FITTED_FILE = "stated_fitted.json"


@pytest.fixture(scope="module")
def ex() -> Extractor:
    return Extractor()


def test_the_shipped_decision_is_the_vetoes_and_the_fitted_model_is_there_to_choose() -> None:
    shipped = StatedModel.load()
    assert shipped is not None and not shipped.weights
    assert {"in_condition", "condition", "future", "modal"} <= set(shipped.vetoes)
    assert shipped.probability({"bias": 1.0, "type=regulation": 1.0}) == 1.0
    assert shipped.probability({"bias": 1.0, "type=regulation": 1.0, "future": 1.0}) == 0.0
    assert shipped.probability({"bias": 1.0, "type=fed_hawkish": 1.0, "future": 1.0}) == 1.0  # exempt
    fitted = StatedModel.load(FITTED_FILE)
    assert fitted is not None and 0 < fitted.threshold < 1 and len(fitted.weights) > 20
    assert 0 < fitted.probability({"bias": 1.0}) < 1
    assert load_json(FITTED_FILE)["fitted"]["rows"] > 500


def test_a_veto_feature_makes_a_candidate_not_stated() -> None:
    model = StatedModel({"bias": 5.0}, 0.5, {}, ("in_condition",))
    assert model.probability({"bias": 1.0}) > 0.99
    assert model.probability({"bias": 1.0, "in_condition": 1.0}) == 0.0


@pytest.mark.parametrize("text", [
    "Bitcoin fell 6% as spot ETF outflows reached $540 million.",
    "The SEC sued the exchange for offering unregistered securities.",
    "Crypto lender BlockFi filed for Chapter 11 bankruptcy on Monday.",
])
def test_stated_causes_are_kept(ex: Extractor, text: str) -> None:
    assert ex(text).causes


@pytest.mark.parametrize("cause, text", [
    ("regulation", "Regulators will crush the industry next year, he warned."),
    ("regulation", "What is the likeliest regulatory outlook for 2023?"),
    ("fed_hawkish", "If the Fed turns hawkish, prices could drop."),
    ("fed_dovish", "Only if the bulls return as a result of a Fed pivot will prices rise."),
    ("hack_exploit", "In 2021, DeFi hacks cost investors more than $3 billion."),          # history
    ("technical_breakout", "Bitcoin last broke above the $20,000 resistance back in 2017."),
])
def test_causes_named_but_not_stated_are_dropped(ex: Extractor, cause: str, text: str) -> None:
    """The rules find each of these (checked below); the model says they are not stated."""
    nlp = build_nlp()
    pipe = nlp.get_pipe("crypto_causes")
    pipe.record_features = True
    try:
        assert cause in {c["type"] for c in nlp(text)._.causes}
    finally:
        pipe.record_features = False
    assert cause not in {c.type for c in ex(text).causes}


def test_candidates_carry_the_probability_and_the_cause_words() -> None:
    doc = build_nlp()("Bitcoin fell 6% as spot ETF outflows reached $540 million.")
    (cause,) = doc._.causes
    assert cause["type"] == "etf_outflow" and 0.5 < cause["p_stated"] <= 1
    assert doc.text[cause["span"][0]:cause["span"][1]] == "ETF outflows"


def test_the_evidence_span_points_at_the_cause_words(ex: Extractor) -> None:
    e = ex("Prices fell.  Spot ETF outflows reached $540 million on Tuesday.", title="  Bitcoin slides on ETF outflows")
    (c,) = e.causes
    assert c.sentence == -1 and c.span is not None and c.evidence[c.span[0]:c.span[1]] == "ETF outflows"


def test_a_file_without_weights_keeps_every_candidate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = load_json(STATED_FILE)
    path = tmp_path / "stated.json"
    path.write_text(json.dumps({**data, "weights": {}, "vetoes": []}), encoding="utf-8")
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("crypto_causes", config={"stated_file": str(path)})
    causes = nlp("Regulators will crush the industry next year, he warned.")._.causes
    assert [c["type"] for c in causes] == ["regulation"] and causes[0]["p_stated"] is None


def test_the_fitted_model_can_be_chosen_in_the_config() -> None:
    """The fitted weights are a data file a pipeline can name (they do not ship as default: see
    docs/causes.md); named, the component scores every candidate with them."""
    from sentiment.extract.pipeline import load_base_model

    nlp = load_base_model()
    nlp.add_pipe("crypto_causes", config={"stated_file": FITTED_FILE})
    (cause,) = nlp("Bitcoin fell 6% as spot ETF outflows reached $540 million.")._.causes
    assert 0 < cause["p_stated"] < 1 and cause["p_stated"] != 1.0


def test_a_missing_model_file_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    with pytest.raises(FileNotFoundError, match="stated-cause model file not found"):
        nlp.add_pipe("crypto_causes", config={"stated_file": str(tmp_path / "nope.json")})
