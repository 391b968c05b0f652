"""The matrix-product choice for spaCy's models (sentiment.extract.ops) and the sentence lookup."""
from __future__ import annotations

import pytest

from sentiment.extract import ops
from sentiment.extract.resources import SentenceLookup


@pytest.fixture(autouse=True)
def fresh_choice():
    ops.choose_gemm.cache_clear()
    yield
    ops.choose_gemm.cache_clear()


@pytest.mark.parametrize("name", ["blis", "numpy"])
def test_the_environment_names_the_library(monkeypatch, name):
    monkeypatch.setenv(ops.ENV_VAR, name)
    assert ops.choose_gemm() == name
    assert ops.ops_for(name).use_blis == (name == "blis")


def test_auto_times_both_and_a_typo_is_an_error(monkeypatch):
    monkeypatch.setenv(ops.ENV_VAR, "auto")
    assert ops.choose_gemm() in ("blis", "numpy")
    ops.choose_gemm.cache_clear()
    monkeypatch.setenv(ops.ENV_VAR, "openblas")
    with pytest.raises(ValueError, match="SENTIMENT_SPACY_GEMM"):
        ops.choose_gemm()


def test_both_libraries_give_the_same_annotations(monkeypatch):
    """The choice changes speed, not results: tags, parse and entities agree."""
    import spacy
    from thinc.api import get_current_ops, set_current_ops

    from sentiment.extract.pipeline import MODEL_NAMES

    text = ("Bitcoin fell 5% to $90,000 on Tuesday after Fed chair Jerome Powell said rates would stay "
            "high. Ether slid 7% as ETF outflows reached $500 million, according to CoinShares.")
    seen = []
    for gemm in ("blis", "numpy"):
        previous = get_current_ops()
        set_current_ops(ops.ops_for(gemm))
        try:
            nlp = None
            for name in MODEL_NAMES:
                try:
                    nlp = spacy.load(name)
                    break
                except OSError:
                    continue
        finally:
            set_current_ops(previous)
        if nlp is None:
            pytest.skip("no English spaCy model installed")
        doc = nlp(text)
        seen.append(([t.tag_ for t in doc], [t.dep_ for t in doc], [(e.text, e.label_) for e in doc.ents]))
    assert seen[0] == seen[1]


def test_sentence_lookup_matches_token_sent():
    from sentiment.extract import build_nlp

    doc = build_nlp()("Bitcoin fell 5%. Ether rose 2% on Monday. Solana was flat.\nXRP gained.")
    lookup = SentenceLookup(doc)
    for token in doc:
        assert lookup(token.i) == token.sent
