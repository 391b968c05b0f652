"""research/tools/review_sample.py: the seeded sample, the review sheet and the precision tally that the
README's extraction precision figures come from."""
from __future__ import annotations

import importlib.util
import json

import pytest
from helpers import ROOT


def _module():
    path = ROOT / "research" / "tools" / "review_sample.py"
    spec = importlib.util.spec_from_file_location("review_sample", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_draw_is_seeded_distinct_and_strips_the_publisher(tmp_path):
    rs = _module()
    rows = ["title"] + [f"Headline {i} - Publisher" for i in range(30)] + ["Headline 3 - Publisher", ""]
    (tmp_path / "news.csv").write_text("\n".join(rows), encoding="utf-8")
    first = rs.draw(tmp_path / "news.csv", "title", 10, seed=7, strip_suffix=" - ")
    assert first == rs.draw(tmp_path / "news.csv", "title", 10, seed=7, strip_suffix=" - ")
    assert len(set(first)) == 10 and all(t.startswith("Headline ") and " - " not in t for t in first)
    assert first != rs.draw(tmp_path / "news.csv", "title", 10, seed=8, strip_suffix=" - ")
    assert len(rs.draw(tmp_path / "news.csv", "title", 100, seed=7)) == 30   # no more than there are
    later = rs.draw(tmp_path / "news.csv", "title", 10, seed=7, strip_suffix=" - ", exclude=set(first[:4]))
    assert later[:6] == first[4:] and not set(later) & set(first[:4])       # the same order, minus those read
    sheet = "# Extraction review\n\n## 1. Headline 3\n\n(nothing found)\n\n## 2. Headline 12\n"
    assert rs.sheet_texts(sheet) == {"Headline 3", "Headline 12"}


def test_sheet_lists_what_the_extractor_found_and_tally_counts_the_marks(tmp_path, capsys):
    rs = _module()
    text = rs.sheet(["Bitcoin fell 5% to $100,000 after ETF outflows.", "Fitch publishes a dashboard."])
    assert "- [ ] assets: BTC" in text and "- [ ] moves: BTC down -5% to 100000" in text
    assert "- [ ] causes: etf_outflow" in text and "(nothing found)" in text
    marked = (text.replace("- [ ] assets: BTC", "- [x] assets: BTC")
                  .replace("- [ ] moves: BTC", "- [-] moves: BTC")
                  .replace("- [ ] causes: etf_outflow", "- [?] causes: etf_outflow"))
    got = rs.tally(marked)
    assert got["assets"]["correct"] == 1 and got["assets"]["precision"] == 1.0
    assert got["moves"]["wrong"] == 1 and got["moves"]["precision"] == 0.0
    assert got["causes"]["debatable"] == 1 and got["causes"]["precision"] is None
    (tmp_path / "sheet.md").write_text(marked, encoding="utf-8")
    assert rs.main(["tally", str(tmp_path / "sheet.md")]) == 0
    assert json.loads(capsys.readouterr().out)["assets"]["items"] == 1


def test_the_article_split_is_fixed_and_a_fifth_is_test():
    rs = _module()
    parts = rs.article_parts(1000)
    assert len(parts["test"]) == 200 and len(parts["dev"]) == 800
    assert not set(parts["test"]) & set(parts["dev"]) and parts == rs.article_parts(1000)
    drawn = rs.draw_articles(1000, "dev", 30, seed=1)
    assert len(set(drawn)) == 30 and set(drawn) <= set(parts["dev"])
    later = rs.draw_articles(1000, "dev", 30, seed=1, exclude=set(drawn[:10]))
    assert later[:20] == drawn[10:]


def test_reading_sheet_compare_and_recall(tmp_path, capsys):
    rs = _module()
    articles = [{"title": "Bitcoin and Ether rally", "text": "Bitcoin rose 3% and Ether rose 5%.", "url": "u0"},
                {"title": "A quiet day", "text": "Nothing happened.", "url": "u1"}]
    read = rs.reading_sheet(articles, [0, 1])
    assert "## 1. article 0 u0" in read and "Ether rose 5%" in read and "assets:" not in read
    filled = read.replace("\nreader:", "\nreader: BTC, SOL, ?ETH", 1)
    assert rs.reader_lists(filled) == {0: ({"BTC", "SOL"}, {"ETH"}), 1: (set(), set())}
    record = rs.compare(filled, articles)
    assert "Ether rose" not in record and "## 1. article 0 u0" in record
    assert "- [x] assets: BTC" in record and "- [?] assets: ETH" in record and "- [x] missed: SOL" in record
    assert rs.sheet_articles(record) == [0, 1]
    got = rs.tally(record)["assets"]
    assert got["correct"] == 1 and got["missed"] == 1 and got["recall"] == 0.5 and got["precision"] == 1.0
    (tmp_path / "read.md").write_text(read, encoding="utf-8")
    assert rs.draw_articles(10, "dev", 10, seed=3, exclude=set(rs.sheet_articles(read))) == \
        [i for i in rs.draw_articles(10, "dev", 10, seed=3) if i not in (0, 1)]


def test_a_redacted_record_tallies_the_same_and_excludes_the_same(tmp_path):
    rs = _module()
    sheet = "# Extraction review\n\n## 1. Headline 3\n\n- [x] assets: BTC\n\n## 2. Headline 12\n\n- [-] assets: SOL\n"
    record = rs.redact(sheet)
    assert "Headline" not in record and rs.tally(record) == rs.tally(sheet)
    rows = ["title"] + [f"Headline {i}" for i in range(30)]
    (tmp_path / "news.csv").write_text("\n".join(rows), encoding="utf-8")
    assert not {"Headline 3", "Headline 12"} & set(rs.draw(tmp_path / "news.csv", "title", 30, 7,
                                                           exclude=rs.sheet_texts(record)))


class _BearishTargets:
    """A target scorer that finds every target bearish."""

    def __init__(self):
        self.pairs = []

    def score_targets(self, pairs, batch_size=64):
        from sentiment.schema import Score

        self.pairs.extend(pairs)
        return [Score.from_probs([0.9, 0.05, 0.05]) for _ in pairs]


def _gold_row(line, article, causes):
    import hashlib

    out = []
    for ctype, field, needle, stated, direction in causes:
        text = article[field]
        start = text.index(needle)
        out.append({"type": ctype, "field": field, "start": start, "end": start + len(needle),
                    "sha1": hashlib.sha1(needle.encode()).hexdigest()[:12], "stated": stated,
                    "direction": direction, "why": "test"})
    return {"line": line, "url": article["url"], "part": "dev", "read": True, "causes": out}


def test_cause_review_counts_articles_evidence_and_direction(tmp_path, capsys):
    rs = _module()
    articles = [
        {"title": "Bitcoin Rises Again on US Fed Chair's Moderate Remarks", "url": "https://a.example/1",
         "text": "Traders were calm. The exchange halted withdrawals on Monday."},
        {"title": "A quiet day", "url": "https://a.example/2",
         "text": "Bitcoin traded flat. Crypto lender BlockFi filed for Chapter 11 bankruptcy on Monday."},
    ]
    gold = [
        _gold_row(0, articles[0], [("fed_dovish", "title", articles[0]["title"], True, "bullish"),
                                   ("hack_exploit", "text", "Traders were calm.", True, "bearish")]),
        _gold_row(1, articles[1], [("bankruptcy", "text", "Crypto lender BlockFi filed for Chapter 11 bankruptcy on Monday.",
                                    False, "bearish")]),
    ]
    review = rs.cause_review(gold, articles)
    a = review["article_level"]
    # found: fed_dovish (right, from the title), exchange_risk (not in the gold), bankruptcy (gold says not stated)
    assert a["all"] == {"found": 3, "correct": 1, "gold": 2, "precision": 0.3333, "recall": 0.5}
    assert a["fed_dovish"]["precision"] == 1.0 and a["hack_exploit"]["recall"] == 0.0
    assert review["evidence_level"]["fed_dovish"] == {"found": 1, "correct": 1, "gold": 1, "precision": 1.0, "recall": 1.0}
    assert review["direction"]["all"] == {"judged": 1, "right": 1, "accuracy": 1.0}   # the type's direction, not "bullish" text
    assert sorted(review["wrong"]) == ["0 exchange_risk", "1 bankruptcy"] and review["missed"] == ["0 hack_exploit"]
    assert "| fed_dovish | 1 | 1 | 1 | 1.00 | 1.00 |" in rs.cause_table(review)
    # a target-level model scores the cause's words instead
    scorer = _BearishTargets()
    assert rs.cause_review(gold, articles, scorer)["direction"]["all"] == {"judged": 1, "right": 0, "accuracy": 0.0}
    assert any(text[a:b] for text, (a, b) in scorer.pairs)
    # the command: a gold file that points into another articles file is a clear error
    (tmp_path / "gold.jsonl").write_text("".join(json.dumps(r) + "\n" for r in gold), encoding="utf-8")
    (tmp_path / "other.jsonl").write_text(json.dumps({**articles[0], "title": "Changed"}) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        rs.main(["causes", str(tmp_path / "gold.jsonl"), str(tmp_path / "other.jsonl"), "--no-direction"])
    assert "does not have sha1" in capsys.readouterr().err
