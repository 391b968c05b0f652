"""The records and identity helpers of sentiment.schema."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sentiment.schema import (
    Article,
    AssetScore,
    CauseScore,
    Entity,
    Figure,
    Level,
    Move,
    Score,
    ScoredSentence,
    Sector,
    TaggedArticle,
    article_id,
    canonical_url,
    iso_utc,
)


def test_canonical_url_ignores_tracking_fragment_case_and_slash():
    a = canonical_url("HTTPS://www.CoinDesk.com/markets/btc-falls/?utm_source=x&utm_medium=rss#top")
    b = canonical_url("http://coindesk.com/markets/btc-falls")
    assert a == b == "https://coindesk.com/markets/btc-falls"
    assert canonical_url("https://x.com/a?b=2&a=1") == canonical_url("https://x.com/a?a=1&b=2")
    assert canonical_url("file:///etc/passwd") is None and canonical_url("") is None
    # A port that is not a number (a colon in the host, found by the feed fuzz test) is no URL.
    assert canonical_url("https://f:eed.example/0") is None
    assert canonical_url("https://x.com:8080/a") == "https://x.com:8080/a"
    assert article_id("https://f:eed.example/0", "text") == article_id(None, "text")


def test_article_id_prefers_url_then_text():
    assert article_id("https://x.com/a", "one") == article_id("https://x.com/a/?utm_source=y", "two")
    assert article_id(None, "Bitcoin  FELL!") == article_id(None, "bitcoin fell")
    assert len(article_id(None, "x")) == 16


def test_published_is_utc():
    local = datetime(2025, 11, 4, 16, 0, tzinfo=timezone(timedelta(hours=8)))
    a = Article(text="t", published=local)
    assert iso_utc(a.published) == "2025-11-04T08:00:00Z"
    assert Article.from_dict(a.to_dict()) == a


def test_score_from_probs_normalises_and_labels():
    s = Score.from_probs([2.0, 1.0, 1.0])
    assert s.label == "bearish" and abs(sum(s.probs.values()) - 1) < 1e-6
    assert s.score == round(s.probs["bullish"] - s.probs["bearish"], 6)
    assert Score.neutral().label == "neutral" and Score.neutral().score == 0


def test_tagged_article_round_trips_through_its_dict():
    s = Score.from_probs([0.7, 0.2, 0.1])
    t = TaggedArticle(
        article=Article(text="", title="T", url="https://x.com/a", source="x.com"), sentiment=s,
        assets=[AssetScore("BTC", "Bitcoin", 2, s)], moves=[Move("BTC", "down", -5.0, 110000, 105000, None, "…")],
        levels=[Level("ETH", 3600, "support", "…")], figures=[Figure("hack_loss", 1.2e8, "USD", None, "…")],
        causes=[CauseScore("hack_exploit", "…", s)], sectors=[Sector("DeFi", -7.66, "…")],
        entities=[Entity("CoinShares", "ORG")], sentences=[ScoredSentence("…", 0, 1, s, ["BTC"], [])],
    )
    d = t.to_dict()
    assert TaggedArticle.from_dict(d).to_dict() == d
