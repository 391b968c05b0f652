"""The Extractor API: records, offsets, titles, streaming, chunking and bad input."""
from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentiment.extract import Extractor, build_nlp, chunk_text
from sentiment.extract.pipeline import COMPONENTS
from sentiment.schema import Extraction

TEXT = ("Bitcoin fell 4% to $98,000 on Tuesday as ETF outflows mounted.\n"
        "Ether dropped 6%. Binance said withdrawals were normal, and CoinShares reported $500 million of "
        "redemptions from crypto funds.\n\n"
        "Analysts at Glassnode said the $95,000 support level is key.")


@pytest.fixture(scope="module")
def ex() -> Extractor:
    return Extractor()


def test_build_nlp_is_cached_and_has_our_components() -> None:
    nlp = build_nlp()
    assert build_nlp() is nlp
    for name in COMPONENTS:
        assert name in nlp.pipe_names
    assert nlp.pipe_names.index("crypto_sentence_breaks") < nlp.pipe_names.index("parser")
    assert nlp.pipe_names.index("ner") < nlp.pipe_names.index("crypto_assets")


def test_extraction_records_and_offsets(ex: Extractor) -> None:
    e = ex(TEXT, title="Bitcoin slides as ETF outflows mount")
    assert isinstance(e, Extraction)
    assert e.title is not None and e.title.text == "Bitcoin slides as ETF outflows mount"
    assert (e.title.start, e.title.end) == (0, len(e.title.text))
    assert e.title.assets == ["BTC"] and "etf_outflow" in e.title.causes
    assert len(e.sentences) == 4
    for s in e.sentences:
        assert TEXT[s.start:s.end] == s.text and s.text == s.text.strip()
    assert e.sentences[0].assets == ["BTC"]
    assert e.sentences[1].assets == ["ETH"]
    assert [a.symbol for a in e.assets] == ["BTC", "ETH"]
    assert ("BTC", -4.0, 98000.0) in {(m.asset, m.change_pct, m.to_price) for m in e.moves}
    assert ("BTC", 95000.0, "support") in {(lv.asset, lv.price, lv.kind) for lv in e.levels}
    assert ("fund_flow", -5e8) in {(f.kind, f.value) for f in e.figures}
    labels = {(x.text, x.label) for x in e.entities}
    assert ("Binance", "EXCHANGE") in labels and ("CoinShares", "ORG") in labels
    # the title's cause comes first and points at the title
    outflow = next(c for c in e.causes if c.type == "etf_outflow")
    assert outflow.sentence == -1


def test_cause_sentence_index_points_at_the_evidence(ex: Extractor) -> None:
    e = ex(TEXT)
    for c in e.causes:
        assert e.sentences[c.sentence].text == c.evidence
        assert c.type in e.sentences[c.sentence].causes


def test_entities_are_clean_and_unique(ex: Extractor) -> None:
    text = ("Katie Stockton, founder of Fairlead Strategies, said Bitcoin could fall. Stockton added that "
            "Ethereum looks weak. U.S. Bitcoin ETFs saw outflows, the Federal Reserve held rates, and "
            "traders on Binance and Coinbase sold. Visit https://t.me/aicoincn for more.\n"
            "免责声明:本文章仅代表作者个人观点\nBalancer Hacked")
    e = ex(text)
    texts = [x.text for x in e.entities]
    assert len(texts) == len({t.lower() for t in texts})
    assert "Katie Stockton" in texts and "Stockton" not in texts
    assert {"Bitcoin", "Ethereum", "Balancer Hacked"}.isdisjoint(texts)
    assert {"Binance", "Coinbase"} <= {x.text for x in e.entities if x.label == "EXCHANGE"}
    assert all(x.label in {"PERSON", "ORG", "GPE", "LOC", "EXCHANGE"} for x in e.entities)
    assert "Binance" not in {x.text for x in ex("Binance Coin (BNB) rose 3%.").entities}
    assert not any("/" in t or any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in texts)


def test_pipe_streams_in_order(ex: Extractor) -> None:
    items = [(None, "Bitcoin rose 2%."), ("Ether news", "Ether fell 3%."), (None, ""), ("Solana", "SOL +5%.")]
    out = list(ex.pipe(items, batch_size=2))
    assert len(out) == 4
    assert [m.asset for m in out[0].moves] == ["BTC"]
    assert [m.asset for m in out[1].moves] == ["ETH"] and out[1].title.text == "Ether news"
    assert out[2] == Extraction()
    assert [a.symbol for a in out[3].assets] == ["SOL"]


@pytest.mark.timeout(120)
def test_pipe_is_lazy(ex: Extractor) -> None:
    def endless():  # type: ignore[no-untyped-def]
        n = 0
        while True:
            n += 1
            yield (None, f"Bitcoin rose {n}%.")
    first = list(itertools.islice(ex.pipe(endless(), batch_size=2), 3))
    assert [m.change_pct for e in first for m in e.moves] == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("text", [
    "", "   \n\n  ", "🚀🚀🚀💎🙌", "1 2 3 4 5 6 7 8 9 0 % $ , .", "12345678901234567890" * 50,
    "Le bitcoin a chuté de 5 % mardi, selon les analystes.", "比特币周二下跌5%,以太坊下跌9%。",
    "Биткоин упал на 5%.", "\x00\x01\x02 weird \ufffd bytes", "$$$ %%% ---- ////", "BTC" * 3000,
    "<html><body><p>Bitcoin</p></body></html>", "a" * 50_000,
])
def test_bad_input_gives_an_extraction(ex: Extractor, text: str) -> None:
    e = ex(text, title=text[:80] or None)
    assert isinstance(e, Extraction)


def test_non_string_input_is_tolerated(ex: Extractor) -> None:
    out = list(ex.pipe([(None, None), (3, 4), "Bitcoin rose 2%.", None]))  # type: ignore[list-item]
    assert len(out) == 4 and [a.symbol for a in out[2].assets] == ["BTC"]


def test_huge_text_is_chunked_not_rejected(ex: Extractor) -> None:
    huge = "x" * 1_000_000  # 1 MB without a space: cut into chunks, never past max_length
    t = time.perf_counter()
    e = ex(huge)
    assert isinstance(e, Extraction) and time.perf_counter() - t < 60


def test_chunk_text_cuts_at_paragraphs_and_keeps_offsets() -> None:
    paras = [f"Paragraph {i}. " + "word " * 300 for i in range(30)]
    text = "\n\n".join(paras)
    spans = chunk_text(text, max_chars=5000)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a == b for (_, a), (b, _) in itertools.pairwise(spans))
    assert all(e - s <= 5000 for s, e in spans)
    assert all(text[s:e].startswith("Paragraph") or s == 0 for s, e in spans)
    assert chunk_text("") == [(0, 0)]
    assert chunk_text("y" * 12, max_chars=5) == [(0, 5), (5, 10), (10, 12)]


def test_long_article_offsets_across_chunks(ex: Extractor) -> None:
    block = "Bitcoin fell 4% on Tuesday. Analysts said the move was driven by ETF outflows.\n"
    text = block * 400  # ~32 kB: more than one chunk
    e = ex(text)
    assert len(e.sentences) == 800
    assert all(text[s.start:s.end] == s.text for s in e.sentences)
    assert e.assets[0].symbol == "BTC" and e.assets[0].mentions == 400


def test_two_processes_give_the_same_result(ex: Extractor) -> None:
    items = [(None, TEXT)] * 6 + [("Title", "Ether rose 5% while Solana fell 2%.")] * 6
    one = list(ex.pipe(items, n_process=1))
    two = list(ex.pipe(items, n_process=2, batch_size=4))
    assert one == two


def test_a_failing_component_does_not_stop_the_stream(ex: Extractor, monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    from sentiment.extract.moves import MoveTagger

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(MoveTagger, "_percent", boom)
    out = list(ex.pipe([(None, "Bitcoin fell 4% on Tuesday."), (None, "Ether rose 2%.")]))
    assert [e.moves for e in out] == [[], []]
    assert [a.symbol for a in out[0].assets] == ["BTC"]
    assert "simulated bug" in caplog.text


NEWSY = st.lists(st.sampled_from(["Bitcoin", "ETH", "$SOL", "Toncoin (TON)", "memecoins", "the DeFi sector", "rose",
                                   "fell", "was flat", "added", "to", "from", "below", "support", "at", "5%", "-3.2%",
                                   "$100,000", "$1.2B", "30-40%", "€2 billion", "1e308%", "$.5", "10k", ",", ".", "\n",
                                   "liquidations", "outflows", "hack", "Fear & Greed Index", "may"]), max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300) | NEWSY.map(" ".join), title=st.one_of(st.none(), st.text(max_size=60)))
def test_never_raises_on_arbitrary_text(ex: Extractor, caplog: pytest.LogCaptureFixture, text: str,
                                        title: str | None) -> None:
    caplog.clear()
    e = ex(text, title)
    assert not [r for r in caplog.records if r.name.startswith("sentiment.extract")], caplog.text
    for m in e.moves:
        if m.change_pct:
            assert (m.change_pct > 0) == (m.direction == "up")
    for s in e.sentences:
        assert text[s.start:s.end] == s.text
    for c in e.causes:
        assert -1 <= c.sentence < len(e.sentences)


@pytest.mark.slow
def test_large_realistic_article_is_processed_in_chunks(ex: Extractor) -> None:
    para = ("Bitcoin fell 4% to $98,000 as ETF outflows reached $500 million, and Ether slid 6%. "
            "Analysts said the $95,000 support level is key, while Binance reported normal withdrawals.\n")
    text = para * 900  # about 200 kB
    e = ex(text)
    assert e.assets[0].symbol == "BTC" and e.assets[0].mentions == 900
    assert len(e.sentences) == 1800
    assert ("BTC", 95000.0, "support") in {(lv.asset, lv.price, lv.kind) for lv in e.levels}


def test_a_move_restated_in_title_and_body_is_one_move(ex: Extractor) -> None:
    e = ex("Bitcoin fell 5% to $90,000 on Monday. Ether dropped 7%. Bitcoin tumbled. Bitcoin fell 2% on Tuesday.",
           title="Bitcoin falls 5%")
    got = sorted((m.asset, m.change_pct, m.to_price) for m in e.moves)
    assert got == [("BTC", -5.0, 90000.0), ("BTC", -2.0, None), ("ETH", -7.0, None)]
    assert next(m for m in e.moves if m.change_pct == -5.0).text == "Bitcoin fell 5% to $90,000 on Monday."
