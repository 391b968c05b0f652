"""Property and fuzz tests (hypothesis): no exception on any input, and invariants that must
hold for every input, on the number parser, the move/level extractor, the feed reader, the
Score built from any probability vector, and the shipped model on random text.

Component failures inside the spaCy pipeline are caught and logged by design (one odd
document must not stop a batch), so the extractor fuzz also asserts that nothing was logged.
"""
from __future__ import annotations

import logging
import math
from datetime import datetime, timezone
from decimal import Decimal
from email.utils import format_datetime
from xml.sax.saxutils import escape

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentiment.classify.model import default_model_path
from sentiment.extract.numbers import find_quantities, parse_money
from sentiment.ingest import IngestError, InputError
from sentiment.ingest.feeds import read_feed
from sentiment.schema import LABELS, Article, Score

SCALE_WORDS = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
CURRENCY_SIGNS = ["$", "€", "£", "US$"]


# ------------------------------------------------------------------ number parser
@st.composite
def money_text(draw) -> tuple[str, float, float]:
    """(text as news writes it, the exact value of that text, how far it may be from the
    drawn value because of the digits printed)."""
    cur = draw(st.sampled_from(CURRENCY_SIGNS))
    sign = draw(st.sampled_from(["", "-"]))
    style = draw(st.sampled_from(["scaled", "commas", "cents"]))
    if style == "scaled":  # "$1.279 billion"
        word = draw(st.sampled_from(sorted(SCALE_WORDS)))
        places = draw(st.integers(0, 4))
        mantissa = draw(st.floats(min_value=1, max_value=999.9999, allow_nan=False))
        digits = f"{mantissa:.{places}f}"
        exact = float(Decimal(digits) * SCALE_WORDS[word])
        body, slack = f"{digits} {word}", 0.5 * 10**-places * SCALE_WORDS[word]
    elif style == "commas":  # "$33,958,700"
        n = draw(st.integers(0, 10**13))
        body, exact, slack = f"{n:,}", float(n), 0.0
    else:  # "$0.42", "$1,234.56"
        cents = draw(st.integers(0, 10**9))
        body = f"{cents // 100:,}.{cents % 100:02d}"
        exact, slack = float(Decimal(cents) / 100), 0.0
    value = -exact if sign else exact
    return f"{sign}{cur}{body}", value, slack


@settings(max_examples=300, deadline=None)
@given(money=money_text(), context=st.sampled_from(["{}", "Inflows hit {} on Monday.", "a {} loss",
                                                     "Bitcoin ETFs drew {}, the most since March."]))
def test_money_round_trips_in_news_forms(money, context):
    text, value, slack = money
    sentence = context.format(text)
    got = parse_money(sentence)
    assert got is not None and math.isclose(got, value, rel_tol=1e-12, abs_tol=1e-9), (sentence, got, value)
    assert abs(got - value) <= slack + 1e-9 * max(1.0, abs(value))
    (q,) = [q for q in find_quantities(sentence) if q.kind == "money"]
    assert q.text == text and sentence[q.start:q.end] == text and q.currency in ("USD", "EUR", "GBP")


def test_a_negative_us_dollar_amount_keeps_its_sign():  # found by the property above
    assert parse_money("-US$5 million") == -5e6


NUMBERISH = "0123456789$€£¥.,%-−+ kKmMbBtTnilouUSDEReurpct\n\t–"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=NUMBERISH, max_size=80) | st.text(max_size=80))
def test_number_parser_never_raises_and_spans_are_consistent(text):
    previous_end = 0
    for q in find_quantities(text):
        assert 0 <= q.start < q.end <= len(text) and text[q.start:q.end] == q.text
        assert q.start >= previous_end  # in order, never overlapping
        previous_end = q.end
        assert math.isfinite(q.value)
        assert q.kind in ("money", "percent", "number")
        assert (q.currency is not None) == (q.kind == "money") or q.kind == "percent"


# ------------------------------------------------------------------ move / level extractor
class Failures(logging.Handler):
    """Collects the warnings the guarded spaCy components log when they fail on a document."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())


@pytest.fixture(scope="module")
def extractor():
    from sentiment.extract import Extractor

    handler = Failures()
    logger = logging.getLogger("sentiment.extract")
    logger.addHandler(handler)
    try:
        yield Extractor(), handler
    finally:
        logger.removeHandler(handler)


ASSET_WORDS = ["Bitcoin", "BTC", "Ether", "ETH", "Solana", "XRP", "Dogecoin", "memecoins", "stablecoins", "it"]
MOVE_WORDS = ["rose", "fell", "jumped", "slid", "was flat", "added", "lost", "hit", "broke above", "held support at",
              "traded near", "fell below", "to", "from", "up", "down", "by", "its 200-day moving average of"]
AMOUNTS = ["5%", "-3.2%", "+12 %", "$100,000", "$1.2B", "30-40%", "0.5 percent", "$0.42", "€2 billion",
           "99,999,999,999,999,999%", "1e308%", "$.5", "10k", "0%", "-0%"]
LEVEL_KINDS = {"support", "resistance", "moving_average", "high", "low", "target", "price"}


TEMPLATES = ["{a} {m} {n} to {n}.", "{a} {m} {n}, {a} {m} {n}.", "{a} held support at {n} after it {m} {n}.",
             "{a} faces resistance near {n} and its 200-day moving average at {n}.",
             "Analysts see {a} reaching {n} by year end.", "{a} hit a record high of {n} before it {m} {n}."]


def sentence_strategy():
    """Word salad from the move/level vocabulary, or move/level templates with random parts."""
    word = st.sampled_from(ASSET_WORDS + MOVE_WORDS + AMOUNTS + [",", ".", "and", "after", "on Monday", "\n"])
    noise = st.text(max_size=6)
    salad = st.lists(word | noise, max_size=25).map(" ".join)
    part = {"a": st.sampled_from(ASSET_WORDS) | noise, "m": st.sampled_from(MOVE_WORDS) | noise,
            "n": st.sampled_from(AMOUNTS) | noise}

    @st.composite
    def templated(draw) -> str:
        template = draw(st.sampled_from(TEMPLATES))
        out = template
        while "{" in out:
            key = out[out.index("{") + 1]
            out = out.replace("{" + key + "}", draw(part[key]).replace("{", "(").replace("}", ")"), 1)
        return out

    return salad | st.lists(templated(), min_size=1, max_size=3).map(" ".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=sentence_strategy(), title=st.none() | sentence_strategy())
def test_extractor_never_fails_and_moves_and_levels_are_sane(extractor, text, title):
    ex, failures = extractor
    before = len(failures.records)
    result = ex(text, title=title)
    assert failures.records[before:] == [], failures.records[before:]
    for move in result.moves:
        assert move.direction in ("up", "down", "flat")
        for number in (move.change_pct, move.from_price, move.to_price, move.change_abs):
            assert number is None or math.isfinite(number)
        if move.change_pct is not None and move.change_pct != 0:
            assert (move.change_pct > 0) == (move.direction == "up"), move
    for level in result.levels:
        assert math.isfinite(level.price) and level.price >= 0 and level.kind in LEVEL_KINDS
    for span in result.sentences:
        assert 0 <= span.start <= span.end <= len(text) and len(span.text) == span.end - span.start
        # the span is the text at its offsets (control characters are blanked, offsets kept)
        assert all(a == b or not b.isprintable() for a, b in zip(span.text, text[span.start:span.end]))


# ------------------------------------------------------------------ feed reader
# An RSS item's title and description are HTML to feedparser, so "<" there starts markup ("a<b"
# reads as "a"): the oracle below counts plain text, and markup has its own tests (test_ingest_formats).
XML_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="<"), max_size=60)
DATES = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: d.replace(microsecond=0, tzinfo=timezone.utc))


@st.composite
def rss_feed(draw) -> tuple[bytes, list[dict]]:
    entries = draw(st.lists(st.fixed_dictionaries({"title": XML_TEXT, "text": XML_TEXT, "date": DATES,
                                                   "path": st.text("abcxyz0189-_/", min_size=1, max_size=12)}),
                            max_size=6))
    items = "".join(
        f"<item><title>{escape(e['title'])}</title><link>https://feed.example/{e['path']}</link>"
        f"<description>{escape(e['text'])}</description><pubDate>{format_datetime(e['date'])}</pubDate></item>"
        for e in entries)
    doc = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Fuzz</title>'
           f"<link>https://feed.example/</link>{items}</channel></rss>")
    return doc.encode("utf-8"), entries


@settings(max_examples=150, deadline=None)
@given(feed=rss_feed(), cut=st.none() | st.integers(0, 4000), junk=st.binary(max_size=20))
def test_feed_reader_never_raises_and_keeps_every_entry(feed, cut, junk):
    data, entries = feed
    if cut is not None:  # damaged documents: cut anywhere, with junk spliced in
        data = data[:cut] + junk + data[cut:cut + 200]
    try:
        items = list(read_feed(data, input="fuzz.xml"))
    except InputError as exc:  # the one documented error (any other exception fails the test)
        assert str(exc) and "\n" not in str(exc) and cut is not None, repr(exc)
        return
    for item in items:
        assert isinstance(item, (Article, IngestError))
        if isinstance(item, IngestError):
            assert item.reason and "\n" not in item.reason
    if cut is None:
        articles = [i for i in items if isinstance(i, Article)]
        kept = [e for e in entries if e["title"].strip() or e["text"].strip()]
        assert len(articles) == len(kept), (items, entries)
        for article, entry in zip(articles, kept):
            assert article.published == entry["date"]
            assert (article.url or "").startswith("https://feed.example/")


@settings(max_examples=150, deadline=None)
@given(code=st.integers(0, 2**64) | st.integers(0xD800, 0xDFFF) | st.integers(0x10FFF0, 0x110010),
       form=st.sampled_from(["&#{};", "&#x{:x};", "&#X{:X};", "&#000{};"]), where=st.sampled_from(["title", "text"]))
def test_feed_character_references_never_break_the_feed(code, form, where):
    """Any numeric character reference, surrogates and values past U+10FFFF included: the feed
    is read (a reference to no character becomes U+FFFD) and every string can be written as UTF-8."""
    ref = form.format(code)
    title, text = (f"Bitcoin {ref} rallies", "Bitcoin rose 4%.") if where == "title" else \
        ("Bitcoin rallies", f"Bitcoin rose {ref} 4%.")
    doc = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Refs</title><item><title>{title}</title>'
           f"<link>https://refs.example/a</link><description>{text}</description></item></channel></rss>").encode()
    (article,) = list(read_feed(doc, input="refs.xml"))
    assert isinstance(article, Article) and "Bitcoin" in (article.title or "") + article.text
    for value in (article.title or "", article.text):
        value.encode("utf-8")


# ------------------------------------------------------------------ scores
probability_vectors = st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_subnormal=True),
                               min_size=3, max_size=3).filter(lambda v: sum(v) > 0)


@settings(max_examples=300, deadline=None)
@given(weights=probability_vectors, as_dict=st.booleans(), normalise=st.booleans())
def test_score_from_any_probability_vector(weights, as_dict, normalise):
    if normalise:
        total = sum(weights)
        weights = [w / total for w in weights]
    probs = dict(zip(LABELS, weights)) if as_dict else weights
    score = Score.from_probs(probs)
    assert set(score.probs) == set(LABELS)
    assert all(0 <= p <= 1 for p in score.probs.values())
    assert math.isclose(sum(score.probs.values()), 1, abs_tol=2e-6)
    assert -1 <= score.score <= 1
    assert math.isclose(score.score, score.probs["bullish"] - score.probs["bearish"], abs_tol=2e-6)
    assert score.probs[score.label] == max(score.probs.values())
    assert Score.from_dict(score.to_dict()) == score


@pytest.mark.parametrize("weights", [[0.0, 0.0, 0.0], [math.inf, 1.0, 0.0], [1e308, 1e308, 1e308]])
def test_score_from_a_degenerate_vector_is_valid_or_refused(weights):
    try:
        score = Score.from_probs(weights)
    except ValueError:
        return
    assert math.isclose(sum(score.probs.values()), 1, abs_tol=2e-6) and math.isfinite(score.score)


@pytest.fixture(scope="module")
def model():
    if not any(default_model_path().glob("*.safetensors")):
        pytest.skip(f"needs the shipped model at {default_model_path()}")
    from sentiment.classify.model import SentimentModel

    return SentimentModel.load()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.text(max_size=300) | sentence_strategy(), min_size=1, max_size=6))
def test_model_probabilities_on_random_text(model, texts):
    probs = model.predict_proba(texts)
    assert probs.shape == (len(texts), 3) and np.isfinite(probs).all()
    assert ((probs >= 0) & (probs <= 1)).all()
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-6)
    for text, row, score in zip(texts, probs, model.score(texts)):
        assert -1 <= score.score <= 1 and math.isclose(sum(score.probs.values()), 1, abs_tol=2e-6)
        if not text.strip():
            assert row.tolist() == [0.0, 1.0, 0.0]


def test_feed_entries_whose_text_is_only_markup_are_reported_not_lost():
    """The case the fuzzer once drew: an entry whose only text is markup is reported with its reason."""
    doc = ('<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>'
           "<item><title></title><link>https://feed.example/a</link><description>&lt;&gt;</description></item>"
           "<item><title>Ether rises</title><link>https://feed.example/b</link></item></channel></rss>")
    items = list(read_feed(doc.encode(), input="fuzz.xml"))
    assert [type(i).__name__ for i in items] == ["IngestError", "Article"]
    assert items[0].reason == "entry has neither title nor text" and items[1].title == "Ether rises"
