"""Text as it comes from the web: invisible characters, compatibility forms and very long text.

What it proves: zero-width characters, bidi controls, soft hyphens, control characters and
compatibility forms (fullwidth letters and digits, ligatures, no-break spaces) hide no asset,
number or cause; the text an article stores is the cleaned text, and every offset of its record
points into it; ordinary ASCII text is left exactly as it was (ids do not move); a 3 MB text
with no sentence boundary, as a body or as a title, is tagged in bounded time with the cut
stated in ``truncated_at``; ``sentiment show`` prints no control or format character and reads
no markup in records.
"""
from __future__ import annotations

import json
import time
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentiment.analyzer import MAX_CHARS, Analyzer
from sentiment.classify.model import default_model_path
from sentiment.schema import Article, article_id, text_fingerprint
from sentiment.tagfiles import read_tags
from sentiment.text import clean_text, printable

# Characters a web page carries that a reader never sees.
INVISIBLE = {
    "zero-width space": "\u200b", "zero-width non-joiner": "\u200c", "zero-width joiner": "\u200d",
    "word joiner": "\u2060", "byte-order mark": "\ufeff", "soft hyphen": "\u00ad",
    "left-to-right mark": "\u200e", "right-to-left mark": "\u200f",
    "left-to-right embedding": "\u202a", "right-to-left embedding": "\u202b", "pop directional": "\u202c",
    "left-to-right override": "\u202d", "right-to-left override": "\u202e",
    "left-to-right isolate": "\u2066", "right-to-left isolate": "\u2067", "first-strong isolate": "\u2068",
    "pop directional isolate": "\u2069", "Mongolian vowel separator": "\u180e", "NUL": "\x00",
    "escape": "\x1b", "delete": "\x7f",
}
SENTENCE = "Bitcoin fell 5% to $90,000 after the exchange hack."


def hide(text: str, ch: str) -> str:
    """``text`` with ``ch`` inside the asset name, the figures and the cause word."""
    return (text.replace("Bitcoin", f"Bit{ch}coin").replace("5%", f"5{ch}%")
            .replace("90,000", f"90,{ch}000").replace("hack", f"ha{ch}ck"))


# ------------------------------------------------------------------ clean_text
@pytest.mark.parametrize("name", INVISIBLE)
def test_an_invisible_character_is_dropped(name):
    assert clean_text(hide(SENTENCE, INVISIBLE[name])) == SENTENCE


def test_compatibility_forms_are_folded():
    assert clean_text("ＢＴＣ fell ５% to ＄９０，０００.") == "BTC fell 5% to $90,000."
    assert clean_text("The ﬁrm's ﬂows") == "The firm's flows"
    assert clean_text("Bitcoin\u00a0fell 5%\u202fto $90\u2009000\u3000today") == "Bitcoin fell 5% to $90 000 today"
    assert clean_text("Ether rose…") == "Ether rose..."


def test_line_breaks_controls_and_windows_1252_bytes():
    assert clean_text("one\u2028two\u2029three\x85four") == "one\ntwo\n\nthree\nfour"
    assert clean_text("tab\there\r\nform\x0cfeed") == "tab\there\r\nform\x0cfeed"
    assert clean_text("don\x92t \x93panic\x94 \x81") == "don\u2019t \u201cpanic\u201d "  # 0x81: nothing in cp1252


def test_emoji_sequences_keep_their_joiner():
    for emoji in ("👩\u200d💻", "👨\u200d👩\u200d👧", "🏳\ufe0f\u200d🌈", "👍🏽\u200d🔥"):
        assert clean_text(f"Traders {emoji} cheer") == f"Traders {emoji} cheer"
    assert clean_text("a\u200db \u200d👍 👍\u200d") == "ab 👍 👍"  # not between pictographs: dropped


def test_plain_ascii_is_returned_as_it_is():
    text = "Bitcoin fell 5% to $90,000.\n\nEther\trose [2%] (ETH)."
    assert clean_text(text) is text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(
    [*INVISIBLE.values(), "a", "B", "5", " ", "\n", "\t", "\r", "ﬁ", "５", "Ａ", "…", "\u00a0", "\u2028", "\u2029",
     "\x85", "\x92", "👩", "💻", "🏽", "\ufe0f", "e", "\u0301", "한", "\u1100", "\u1161", "²"])))
def test_cleaning_is_idempotent_and_leaves_nothing_invisible(text):
    once = clean_text(text)
    assert clean_text(once) == once
    assert unicodedata.is_normalized("NFKC", once)
    assert not any(unicodedata.category(c) == "Cc" and c not in "\t\n\x0b\x0c\r" for c in once)
    assert all(unicodedata.category(c) != "Cf" or c == "\u200d" for c in once)


def test_printable_strips_what_would_drive_a_terminal():
    hostile = "red\x1b[31m alert\x07 \u202eevil\u202c\r\nnext\tline\u2028end\x9b2J"
    assert printable(hostile) == "red[31m alert evil\nnext\tline end2J"
    assert printable("plain [markup] stays") == "plain [markup] stays"


# ------------------------------------------------------------------ Article
def test_an_article_stores_its_text_cleaned():
    article = Article(text=hide(SENTENCE, "\u200b"), title="ＢＴＣ\u00ad falls")
    assert article.text == SENTENCE and article.title == "BTC falls"
    assert article.id == Article(text=SENTENCE, title="BTC falls").id  # the same article, one id
    assert Article.from_dict(article.to_dict()) == article


def test_ascii_ids_and_fingerprints_do_not_move():
    title, text, url = "Bitcoin falls", "Bitcoin fell 5% to $90,000.\r\n\tMore.", "https://news.example/a?utm_source=x"
    article = Article(text=text, title=title)
    assert article.text is text and article.id == article_id(None, title + "\n" + text)
    assert article.fingerprint == text_fingerprint(title + "\n" + text)
    assert Article(text=text, title=title, url=url).id == article_id(url, None)


# ------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    """The default Analyzer (shipped model); the lexicon baseline where the weights are absent
    (what is tested here is extraction and offsets, not the classifier)."""
    if any(default_model_path().glob("*.safetensors")):
        return Analyzer()
    from sentiment.classify.baselines import LexiconScorer

    return Analyzer(LexiconScorer())


def assert_offsets_valid(record: dict, article: Article) -> None:
    for s in record["sentences"]:
        assert article.text[s["start"]:s["end"]] == s["text"], s


@pytest.mark.parametrize("text", [pytest.param(hide(SENTENCE, ch), id=name) for name, ch in INVISIBLE.items()]
                         + [pytest.param("ＢＴＣ fell ５% to ＄９０,０００ after the exchange ｈａｃｋ.", id="fullwidth"),
                            pytest.param("Bit\u200bcoin\u00a0fell 5%\u202fto $90,000 after the ﬁrm's hack.", id="mixed")])
def test_hidden_characters_hide_no_asset_number_or_cause(analyzer, text):
    tagged = analyzer.analyze(text)
    record = tagged.to_dict()
    assert [a["symbol"] for a in record["assets"]] == ["BTC"]
    (move,) = record["moves"]
    assert (move["direction"], move["change_pct"], move["to_price"]) == ("down", -5.0, 90_000.0)
    assert [c["type"] for c in record["causes"]] == ["hack_exploit"]
    assert tagged.article.text == clean_text(text)
    assert_offsets_valid(record, tagged.article)


def test_a_title_with_hidden_characters_is_read_like_a_clean_one(analyzer):
    tagged = analyzer.analyze(Article(text="Ether held steady.", title="\u202aBit\u200bcoin\u202c plunges 8%"))
    record = tagged.to_dict()
    assert record["title"] == "Bitcoin plunges 8%" and "BTC" in [a["symbol"] for a in record["assets"]]
    assert any(m["asset"] == "BTC" and m["change_pct"] == -8.0 for m in record["moves"])


@pytest.mark.parametrize("text", [pytest.param("a" * 3_000_000, id="one 3 MB word"),
                                  pytest.param(("bitcoin rises while ether falls " * 100_000)[:3_000_000],
                                               id="3 MB of words, no period")])
def test_3_mb_without_a_sentence_boundary_is_cut_and_says_so(analyzer, text):
    start = time.monotonic()
    tagged = analyzer.analyze(text)
    took = time.monotonic() - start
    record = tagged.to_dict()
    assert record["truncated_at"] is not None and MAX_CHARS * 0.8 <= record["truncated_at"] <= MAX_CHARS
    assert record["sentences"] and all(s["end"] <= record["truncated_at"] for s in record["sentences"])
    assert_offsets_valid(record, tagged.article)
    assert took < 120, f"{took:.0f} s for one article"  # bounded by the cut, not the 3 MB


def test_a_3_mb_title_is_analysed_on_its_start(analyzer):
    tagged = analyzer.analyze(Article(text="Bitcoin fell 5%.", title="Bitcoin " + "a" * 3_000_000))
    record = tagged.to_dict()
    assert len(record["title"]) == 3_000_008 and [a["symbol"] for a in record["assets"]] == ["BTC"]


def test_spacy_never_reads_more_than_its_limit_without_a_cut(analyzer):
    """With no article limit (``max_chars=None``) a body is still read in chunks and a title on
    its start: spaCy's ``max_length`` is never reached, however long the text."""
    nlp = analyzer.extractor.nlp
    saved = nlp.max_length
    nlp.max_length = 30_000
    try:
        uncut = Analyzer(analyzer.model, nlp=nlp, max_chars=None)
        tagged = uncut.analyze(Article(text="Bitcoin fell 5%. " + "x" * 200_000, title="y" * 200_000))
    finally:
        nlp.max_length = saved
    assert tagged.truncated_at is None and [a.symbol for a in tagged.assets] == ["BTC"]


# ------------------------------------------------------------------ command line
def test_the_command_line_tags_web_text_and_a_3_mb_file(tmp_path, capsys):
    from sentiment.cli import main

    news = tmp_path / "news"
    news.mkdir()
    (news / "huge.txt").write_text("a" * 3_000_000)  # one 3 MB line: no headline, all text
    (news / "web.jsonl").write_text(json.dumps({"title": "Bit\u200bcoin slides", "text": hide(SENTENCE, "\u2060"),
                                                "url": "https://news.example/web"}) + "\n")
    out = tmp_path / "tags.jsonl"
    assert main(["tag", str(news), "-o", str(out), "--processes", "1", "-q"]) == 0
    err = capsys.readouterr().err
    assert "failed 0" in err and "E088" not in err
    records = {r["url"] or "huge": r for r in read_tags(out)}
    huge, web = records["huge"], records["https://news.example/web"]
    assert huge["title"] is None and huge["truncated_at"] <= MAX_CHARS
    assert web["title"] == "Bitcoin slides" and [a["symbol"] for a in web["assets"]] == ["BTC"]
    assert web["moves"][0]["to_price"] == 90_000.0 and web["sentences"][0]["text"] == SENTENCE


def test_show_prints_no_control_or_format_character_and_no_markup(tmp_path, capsys):
    from sentiment.cli import main

    score = {"label": "bearish", "score": -0.5, "probs": {"bearish": 0.6, "neutral": 0.3, "bullish": 0.1}}
    titles = ["\x1b[2J\x1b[31mWiped\x07 screen", "\u202eslaes ETH\u202c", "[bold]not bold[/bold] [/]", "tab\tand\x00nul"]
    tags = tmp_path / "tags.jsonl"
    tags.write_text("".join(json.dumps({"schema": 1, "id": f"id{i}", "title": t, "published": "2025-01-01T00:00:00Z",
                                        "sentiment": score, "assets": [{"symbol": "ETH\u200b", "name": "Ether",
                                                                        "mentions": 1, "sentiment": score}],
                                        "moves": [], "causes": [{"type": "hack\x1b[0m", "evidence": "",
                                                                 "sentiment": score}]}) + "\n"
                        for i, t in enumerate(titles)))
    assert main(["show", str(tags)]) == 0
    shown = capsys.readouterr().out
    assert not [c for c in shown if unicodedata.category(c) in ("Cc", "Cf") and c != "\n"], repr(shown)
    assert "[bold]not bold[/bold] [/]" in shown and "Wiped screen" in shown and "4 articles" in shown
