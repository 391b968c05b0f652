"""The public Python API end to end, with the shipped model: Analyzer, frames, exports, ingest,
tag_files and the market functions; bad input (empty, garbage, non-English, 1 MB) never raises."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from datetime import datetime, timezone
from itertools import count, islice
from pathlib import Path

import pandas as pd
import pytest
from helpers import ROOT, shared_path

import sentiment
from sentiment import (
    Analyzer,
    Article,
    Score,
    Store,
    TaggedArticle,
    export,
    read_tags,
    tag_files,
    to_frame,
    to_frames,
)
from sentiment.analyzer import cut_point
from sentiment.classify.model import default_model_path
from sentiment.cli import main
from sentiment.frames import COLUMNS, KINDS

EXAMPLES = ROOT / "examples"
RECORD_KEYS = {"schema", "id", "url", "title", "source", "published", "sentiment", "assets", "moves",
               "levels", "figures", "causes", "sectors", "entities", "sentences"}
NO_FINDINGS = ("assets", "moves", "levels", "figures", "causes", "sectors")


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    if not (default_model_path() / "config.json").exists():
        pytest.skip(f"the shipped model is not at {default_model_path()} yet (it is made by `sentiment train`)")
    return Analyzer()


@pytest.fixture(scope="module")
def tagged_examples(analyzer, tmp_path_factory) -> tuple[sentiment.TagReport, list[dict]]:
    """The bundled examples tagged once for the module (JSON Lines)."""
    out = tmp_path_factory.mktemp("tags") / "tags.jsonl"
    report = tag_files([EXAMPLES], out, analyzer=analyzer)
    return report, list(read_tags(out))


def check_score(score: Score) -> None:
    assert score.label in ("bearish", "neutral", "bullish")
    assert math.isclose(sum(score.probs.values()), 1.0, abs_tol=1e-4)
    assert math.isclose(score.score, score.probs["bullish"] - score.probs["bearish"], abs_tol=1e-4)
    assert score.label == max(score.probs, key=score.probs.__getitem__)


# --------------------------------------------------------------------------- the package surface
def test_every_public_name_resolves():
    for name in sentiment.__all__:
        assert getattr(sentiment, name) is not None, name
    assert set(dir(sentiment)) == set(sentiment.__all__)
    assert callable(sentiment.ingest) and callable(sentiment.link) and callable(sentiment.fear_greed_index)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sentiment.nope  # noqa: B018


def test_import_is_light():
    """Nothing heavy loads at import: the records and the API names are there without torch,
    spaCy, transformers, pandas or pyarrow (they load on first use)."""
    code = ("import sys, sentiment; from sentiment import Analyzer, TaggedArticle, Score, tag_files; "
            "print(sorted(m for m in ('torch', 'spacy', 'transformers', 'pandas', 'pyarrow') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"


def test_package_is_typed():
    assert (Path(sentiment.__file__).parent / "py.typed").exists()


# --------------------------------------------------------------------------- Analyzer
def test_analyze_text_gives_the_tag_record(analyzer):
    text = ("Bitcoin fell 7% to $92,000 on Tuesday as spot ETF outflows reached $500 million. "
            "Traders said fear is spreading across the market.")
    tagged = analyzer.analyze(text)
    assert isinstance(tagged, TaggedArticle)
    record = tagged.to_dict()
    assert set(record) == RECORD_KEYS and record["schema"] == 1
    json.dumps(record)  # plain JSON types only
    assert [a["symbol"] for a in record["assets"]][:1] == ["BTC"]
    assert record["moves"][0]["asset"] == "BTC" and record["moves"][0]["change_pct"] == -7.0
    assert "etf_outflow" in {c["type"] for c in record["causes"]}
    assert tagged.sentiment.label == "bearish"
    check_score(tagged.sentiment)
    for part in (*tagged.assets, *tagged.causes, *(tagged.sentences or [])):
        check_score(part.sentiment)
    assert [s.text for s in tagged.sentences or []] == [text[s.start:s.end] for s in tagged.sentences or []]
    assert TaggedArticle.from_dict(record).to_dict() == record


def test_analyze_article_keeps_its_metadata(analyzer):
    published = datetime(2025, 5, 22, 14, 30, tzinfo=timezone.utc)
    article = Article(text="Ether broke above the $2,600 resistance as inflows into Ether ETFs rose.",
                      title="Ether rallies", url="https://news.example/eth?utm_source=x",
                      source="news.example", published=published)
    record = analyzer.analyze(article).to_dict()
    assert record["id"] == article.id
    assert (record["title"], record["url"], record["source"]) == ("Ether rallies", article.url, "news.example")
    assert record["published"] == "2025-05-22T14:30:00Z"
    assert "ETH" in {a["symbol"] for a in record["assets"]}
    # a bare text gets a title through the keyword
    assert analyzer.analyze("Solana rose 3%.", title="SOL up").to_dict()["title"] == "SOL up"


@pytest.mark.parametrize("text", ["", "   \n\t  ", "\n\n\n"])
def test_analyze_empty_text_is_neutral(analyzer, text):
    tagged = analyzer.analyze(text)
    assert tagged.sentiment.label == "neutral" and tagged.sentiment.score == 0.0
    assert all(not getattr(tagged, f) for f in NO_FINDINGS) and tagged.sentences == []


@pytest.mark.parametrize("text", [
    "Der Markt war heute ruhig, und die Händler warteten auf neue Zahlen.",
    "今日は市場が静かで、投資家は次の発表を待っている。",
    "El mercado estuvo tranquilo hoy y los operadores esperan nuevos datos.",
    "qwxz vbnm plok jhgf trewq asdfgh zxcvb",
    "%%% ### @@@ ~~~ ^^^ &&& *** ((( )))",
    "\x00\x01\x02 \ufffd\ufffd \u200b\u200b",
])
def test_garbage_and_foreign_text_give_nothing_and_no_strong_opinion(analyzer, text):
    tagged = analyzer.analyze(text)
    assert all(not getattr(tagged, f) for f in NO_FINDINGS), tagged.to_dict()
    check_score(tagged.sentiment)
    assert abs(tagged.sentiment.score) < 0.5, tagged.sentiment


def test_analyze_rejects_what_is_not_text(analyzer):
    with pytest.raises(TypeError, match="expected a str or an Article, got int"):
        analyzer.analyze(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected a str or an Article, got NoneType"):
        list(analyzer.analyze_many(["Bitcoin rose.", None]))  # type: ignore[list-item]
    with pytest.raises(ValueError, match="max_sentence_chars must be positive"):
        Analyzer(max_sentence_chars=0)


@pytest.mark.slow
def test_one_megabyte_article_in_bounded_time(analyzer):
    """A 1 MB body (a news paragraph, then a pasted data dump without sentence breaks) is tagged
    without an exception and in bounded time: the first 100,000 characters are analysed and the
    record says where it stopped; the news part is still found."""
    news = "Bitcoin fell 4% to $98,000 after $300 million of long liquidations. "
    dump = " ".join(f"0x{i:040x}" for i in range((1 << 20) // 43 + 1))
    text = news + dump
    assert len(text.encode()) >= 1 << 20
    start = time.perf_counter()
    tagged = analyzer.analyze(text, title="Bitcoin slides")
    elapsed = time.perf_counter() - start
    assert elapsed < 60, f"1 MB took {elapsed:.0f} s"
    assert tagged.truncated_at is not None and 80_000 < tagged.truncated_at <= 100_000
    assert text[tagged.truncated_at] == " "  # cut at a word break
    assert sum(len(s.text) for s in tagged.sentences or []) > 0.98 * tagged.truncated_at
    record = tagged.to_dict()
    assert record["truncated_at"] == tagged.truncated_at
    assert TaggedArticle.from_dict(record).to_dict() == record
    assert "BTC" in {a.symbol for a in tagged.assets}
    assert any(m.asset == "BTC" and m.change_pct == -4.0 for m in tagged.moves)
    check_score(tagged.sentiment)


def test_where_a_long_text_is_cut():
    assert cut_point("short", 100) == 5
    assert cut_point("a" * 85 + "\n" + "b" * 9 + " " + "c" * 50, 100) == 85  # a paragraph break in the last fifth
    assert cut_point("a" * 70 + "\n" + "b" * 20 + " " + "c" * 50, 100) == 91  # else a word break there
    assert cut_point("a" * 50 + " " + "c" * 80, 100) == 100  # breaks before the last fifth are too early
    assert cut_point("x" * 500, 100) == 100  # else a hard cut


def test_analyze_many_streams_in_order(analyzer):
    texts = ["Bitcoin rose 5% to a record high.", "Ether fell 8% after the exploit.", "", "Solana was flat."]
    many = list(analyzer.analyze_many(texts, batch_size=3))
    one = [analyzer.analyze(t) for t in texts]
    assert [t.id for t in many] == [t.id for t in one]
    for a, b in zip(many, one):
        assert a.sentiment.label == b.sentiment.label
        # int8 ONNX quantises activations per batch, so batchmates move scores in the 3rd decimal
        assert math.isclose(a.sentiment.score, b.sentiment.score, abs_tol=0.02)
        assert [x.symbol for x in a.assets] == [x.symbol for x in b.assets]
    assert list(analyzer.analyze_many([])) == []


def test_analyze_many_is_lazy_on_an_endless_stream(analyzer):
    pulled = count()

    def endless():
        for i in count():
            next(pulled)
            yield f"Bitcoin rose {i % 9 + 1}% today."

    first = list(islice(analyzer.analyze_many(endless(), batch_size=2), 3))
    assert [m.change_pct for t in first for m in t.moves] == [1.0, 2.0, 3.0]
    assert next(pulled) <= 4 + 1, "analyze_many read ahead more than one batch"


def test_score_sentences(analyzer):
    assert analyzer.score([]) == []
    with pytest.raises(TypeError, match="not one string"):
        analyzer.score("Bitcoin rose.")
    scores = analyzer.score([
        "Bitcoin soared to a record high as billions flowed into ETFs.",
        "Ether crashed 25% as the exchange collapsed and halted withdrawals.",
        "The conference will take place in Lisbon in November.",
    ])
    assert [s.label for s in scores] == ["bullish", "bearish", "neutral"]
    for s in scores:
        check_score(s)


# --------------------------------------------------------------------------- frames
def test_frames_of_one_tagged_article(analyzer):
    tagged = analyzer.analyze("Bitcoin fell 5% to $100,000 after a $200 million hack at an exchange. "
                              "Ether dropped 8%.", title="Hack hits crypto")
    frames = tagged.to_frames()
    assert set(frames) == set(KINDS)
    for kind, df in frames.items():
        assert list(df.columns) == COLUMNS[kind]
        assert (df["id"] == tagged.id).all()
    assert len(frames["articles"]) == 1
    assert list(frames["assets"]["symbol"]) == [a.symbol for a in tagged.assets]
    assert len(frames["sentences"]) == len(tagged.sentences or [])
    assert len(frames["moves"]) == len(tagged.moves) >= 2
    assert "hack_exploit" in set(frames["causes"]["type"])
    assert frames["assets"]["score"].dtype == "float64"
    assert tagged.to_frame("moves").equals(frames["moves"])


def test_frames_of_many_records_join_on_id(tagged_examples, tmp_path):
    _, records = tagged_examples
    frames = to_frames(records)
    articles = frames["articles"]
    assert len(articles) == len(records) and articles["id"].is_unique
    assert len(frames["assets"]) == sum(len(r["assets"]) for r in records)
    assert len(frames["sentences"]) == sum(len(r["sentences"]) for r in records)
    assert len(frames["figures"]) == sum(len(r["figures"]) for r in records)
    assert isinstance(articles["published"].dtype, pd.DatetimeTZDtype)
    joined = frames["assets"].merge(articles[["id", "title"]], on="id", how="left")
    assert joined["title"].notna().all()
    # TaggedArticles, records and a file give the same tables
    path = tmp_path / "tags.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    from_file = to_frames(path)
    from_objects = to_frames([TaggedArticle.from_dict(r) for r in records])
    for kind in KINDS:
        pd.testing.assert_frame_equal(from_file[kind], frames[kind])
        pd.testing.assert_frame_equal(from_objects[kind], frames[kind])


def test_frames_of_nothing_and_bad_input(tmp_path):
    empty = to_frames([])
    assert all(df.empty and list(df.columns) == COLUMNS[k] for k, df in empty.items())
    with pytest.raises(ValueError, match="unknown table 'nope'"):
        to_frame([], "nope")
    with pytest.raises(TypeError, match="expected tag records"):
        to_frames(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got int"):
        to_frames([1, 2])  # type: ignore[list-item]
    with pytest.raises(FileNotFoundError, match="no such tags file"):
        to_frames(tmp_path / "missing.jsonl")
    # sparse or hand-edited records still give rows (missing values are NaN/NaT)
    sparse = to_frames([{"id": "a"}, {"id": "b", "assets": None, "sentences": None, "published": "not a date"}])
    assert list(sparse["articles"]["id"]) == ["a", "b"] and sparse["articles"]["published"].isna().all()
    assert sparse["assets"].empty and sparse["sentences"].empty
    lines = tmp_path / "odd.jsonl"
    lines.write_text('{"id": "a"}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="record 2 is a list, not a tag record"):
        to_frames(lines)


# --------------------------------------------------------------------------- batch, exports, store
def test_tag_files_accounts_for_every_example(tagged_examples):
    report, records = tagged_examples
    assert report.ok and report.failed == 0
    assert report.read == report.tagged + report.duplicates + report.resumed
    assert report.duplicates == 1  # newswire.jsonl repeats one story under a tracking URL
    assert len(records) == report.tagged >= 20
    assert len({r["id"] for r in records}) == len(records)
    by_source = {r["source"]: r for r in records}
    hack = by_source["blocktide.example"]
    assert "hack_exploit" in {c["type"] for c in hack["causes"]}
    assert hack["sentiment"]["label"] == "bearish"


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv", "out.parquet", "store.sqlite"])
def test_export_round_trips_real_records(tagged_examples, tmp_path, name):
    _, records = tagged_examples
    source = tmp_path / "source.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    n, written = export(source, tmp_path / name)
    assert n == len(records)
    assert list(read_tags(tmp_path / name)) == records
    if name.endswith(".sqlite"):
        with Store(tmp_path / name) as db:
            assert list(db.tags()) == records
    if name.endswith((".csv", ".parquet")):
        ext = Path(name).suffix
        assert [p.name for p in written] == [name, f"out.assets{ext}", f"out.causes{ext}"]
        read = pd.read_csv if ext == ".csv" else pd.read_parquet
        assert len(read(tmp_path / f"out.assets{ext}")) == sum(len(r["assets"]) for r in records)
        assert len(read(tmp_path / f"out.causes{ext}")) == sum(len(r["causes"]) for r in records)
    # and back again, from the exported copy
    export(tmp_path / name, tmp_path / "again.jsonl")
    assert list(read_tags(tmp_path / "again.jsonl")) == records


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_a_table_that_holds_no_records_is_a_clear_error(tmp_path, ext):
    score = {"label": "bearish", "score": -0.5, "probs": {"bearish": 0.6, "neutral": 0.3, "bullish": 0.1}}
    record = {"schema": 1, "id": "a1", "url": None, "title": "t", "source": None, "published": None,
              "sentiment": score, "assets": [{"symbol": "BTC", "name": "Bitcoin", "mentions": 1, "sentiment": score}],
              "moves": [], "levels": [], "figures": [], "causes": [], "sectors": [], "entities": [], "sentences": []}
    export([record], tmp_path / f"t.{ext}")
    assert list(read_tags(tmp_path / f"t.{ext}")) == [record]
    with pytest.raises(ValueError, match=r"t\.assets\.\w+ is not a tags table: it has no 'record' column \(columns: id, published, symbol"):
        list(read_tags(tmp_path / f"t.assets.{ext}"))
    assert main(["export", str(tmp_path / f"t.assets.{ext}"), "--to", str(tmp_path / "x.jsonl")]) == 2
    assert not (tmp_path / "x.jsonl").exists()


def test_export_command(tagged_examples, tmp_path, capsys):
    _, records = tagged_examples
    tags = tmp_path / "tags.jsonl"
    tags.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    assert main(["export", str(tags), "--to", str(tmp_path / "t.parquet")]) == 0
    assert f"exported {len(records)} records" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "t.parquet"), "--to", str(tmp_path / "db.sqlite")]) == 0
    assert main(["export", str(tmp_path / "db.sqlite"), "--to", str(tmp_path / "t.csv"), "--no-tables"]) == 0
    assert not (tmp_path / "t.assets.csv").exists()
    assert list(read_tags(tmp_path / "t.csv")) == records
    assert main(["export", str(tmp_path / "missing.jsonl"), "--to", str(tmp_path / "x.csv")]) == 2
    assert main(["export", str(tags), "--to", str(tmp_path / "x.xlsx"), "--format", "xlsx"]) == 2
    assert main(["export", str(tags), "--to", str(tags)]) == 2
    (tmp_path / "junk.db").write_text("not a database", encoding="utf-8")
    assert main(["export", str(tmp_path / "junk.db"), "--to", str(tmp_path / "y.csv")]) == 2
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert "no such file" in err and "unknown format" in err and "onto itself" in err and "not a SQLite database" in err


def test_iter_inputs_yields_articles_and_reasons():
    items = list(sentiment.iter_inputs([EXAMPLES / "newswire.jsonl", EXAMPLES / "nope.txt"]))
    articles = [i for i in items if isinstance(i, Article)]
    errors = [i for i in items if not isinstance(i, Article)]
    assert len(articles) == 6 and all(a.published is not None for a in articles)
    assert len({a.id for a in articles}) == 5  # one story twice, under a tracking URL: deduped later
    assert [Path(e.input).name for e in errors] == ["nope.txt"] and errors[0].reason
    walked = [i for i in sentiment.iter_inputs([EXAMPLES]) if not isinstance(i, Article)]
    assert [(Path(e.input).name, e.skipped) for e in walked] == [("README.md", True)]


def test_ingest_then_tag_from_the_store(analyzer, tmp_path):
    store = tmp_path / "news.sqlite"
    report = sentiment.ingest([EXAMPLES], store)
    assert report.ok and report.new >= 20 and report.duplicates == 1
    again = sentiment.ingest([EXAMPLES], store)
    assert again.new == 0 and again.duplicates == again.read
    out = tmp_path / "tags.csv"
    tagged = tag_files([], out, store=store, from_store=True, analyzer=analyzer)
    assert tagged.tagged == report.new and tagged.ok
    with Store(store) as db:
        assert db.count_tags() == report.new
        assert sorted(r["id"] for r in db.tags()) == sorted(r["id"] for r in read_tags(out))


# --------------------------------------------------------------------------- market
def test_market_functions_take_the_tags(tagged_examples):
    prices = shared_path("data", "crypto_prices_daily")
    _, records = tagged_examples
    btc = sentiment.load_prices(prices / "BTC_daily.csv")
    assert {"date", "symbol", "close"} <= set(btc.columns) and set(btc["symbol"]) == {"BTC"}
    index = sentiment.fear_greed_index(btc, records)
    assert {"date", "value", "label"} <= set(index.columns)
    assert index["value"].between(0, 100).all()
    assert "news_sentiment" in index.attrs["components"]
    report = sentiment.link(records, prices)
    assert report.summary["articles"] == sum(1 for r in records if r["published"])
