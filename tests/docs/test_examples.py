"""The bundled example articles (examples/): present, well formed, and fit for the demo.

These checks use only the standard library to read the files, so they say whether the inputs are
sound independently of the ingestion code (whose own end-to-end tests read the same files).
"""
from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

import pytest
from helpers import ROOT, shared_path

from sentiment.schema import canonical_url

EXAMPLES = ROOT / "examples"

PLAIN_ARTICLES = [
    "2025-03-10-btc-slide-tariffs.txt",
    "2025-09-03-regulation.txt",
    "2025-10-20-quiet-day.txt",
]
MARKDOWN = "2025-05-22-eth-rally-etf-inflows.md"
HTML = "2025-07-14-exchange-hack.html"
JSONL = "newswire.jsonl"
CSV = "headlines.csv"
FEED = "feed.xml"
ALL_FILES = [*PLAIN_ARTICLES, MARKDOWN, HTML, JSONL, CSV, FEED, "README.md"]

CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"


def words(text: str) -> list[str]:
    return re.findall(r"[\w$%.,'’-]+", text)


def read(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


def all_text() -> str:
    return "\n".join(read(name) for name in ALL_FILES if name != "README.md")


# --- the folder -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL_FILES)
def test_file_exists_and_is_utf8_text(name: str) -> None:
    path = EXAMPLES / name
    assert path.is_file(), f"missing examples/{name}"
    text = read(name)
    assert len(words(text)) >= 150, f"examples/{name} is too short to be a useful example"
    assert "\x00" not in text


def test_folder_is_small() -> None:
    total = sum(p.stat().st_size for p in EXAMPLES.rglob("*") if p.is_file())
    assert total < 200_000, f"examples/ holds {total} bytes; keep it under 200 KB"


def test_readme_describes_every_file() -> None:
    readme = read("README.md")
    for name in ALL_FILES:
        if name != "README.md":
            assert f"`{name}`" in readme, f"examples/README.md does not describe {name}"


# --- plain text and Markdown ------------------------------------------------------------------

@pytest.mark.parametrize("name", [*PLAIN_ARTICLES, MARKDOWN])
def test_article_has_title_line_and_body(name: str) -> None:
    lines = read(name).splitlines()
    title = lines[0].removeprefix("# ") if name.endswith(".md") else lines[0]
    assert 20 <= len(title) <= 140 and not title.endswith("."), f"first line of {name} is not a title"
    body = "\n".join(lines[1:])
    assert 300 <= len(words(body)) <= 900, f"{name}: body has {len(words(body))} words"
    assert body.count("%") >= 5 and body.count("$") >= 5, f"{name} lacks market numbers"


def test_markdown_title_is_a_level_one_heading() -> None:
    first, *rest = read(MARKDOWN).splitlines()
    assert first.startswith("# ") and not first.startswith("## ")
    assert any(line.startswith("## ") for line in rest)
    assert any(line.startswith("| ") for line in rest), "the sector table is missing"


def test_bearish_wrap_is_600_to_800_words() -> None:
    body = read(PLAIN_ARTICLES[0]).split("\n", 1)[1]
    assert 600 <= len(body.split()) <= 800


# --- HTML -------------------------------------------------------------------------------------

class _PageParser(HTMLParser):
    """Collects what the checks need from a saved article page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self.tags: set[str] = set()
        self.article_text: list[str] = []
        self._in_title = False
        self._in_article = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        if tag == "meta" and "content" in a:
            self.meta[a.get("property") or a.get("name") or ""] = a["content"]
        self._in_title = tag == "title"
        self._in_article = self._in_article or tag == "article"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False
        if tag == "article":
            self._in_article = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._in_article:
            self.article_text.append(data)


@pytest.fixture(scope="module")
def page() -> _PageParser:
    parser = _PageParser()
    parser.feed(read(HTML))
    parser.close()
    return parser


def test_html_page_has_title_and_metadata(page: _PageParser) -> None:
    assert "Kestrel Exchange" in page.title
    published = datetime.fromisoformat(page.meta["article:published_time"])
    assert published.year == 2025 and published.tzinfo is not None
    assert page.meta["og:url"].startswith("https://")
    assert page.meta.get("og:title")


def test_html_page_has_article_and_boilerplate(page: _PageParser) -> None:
    assert {"article", "nav", "footer", "header", "script"} <= page.tags
    body = " ".join(page.article_text)
    assert len(body.split()) >= 400
    assert "$186 million" in body and "withdrawals" in body
    assert "Advertisement" not in body, "ads must sit outside the <article> element"


# --- JSON Lines -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def newswire() -> list[dict[str, str]]:
    return [json.loads(line) for line in read(JSONL).splitlines() if line.strip()]


def test_jsonl_items_are_complete(newswire: list[dict[str, str]]) -> None:
    assert len(newswire) == 6
    for item in newswire:
        assert set(item) == {"title", "text", "url", "published"}
        assert item["title"] and len(item["text"].split()) >= 40
        published = datetime.fromisoformat(item["published"])
        assert published.tzinfo is not None and published.year == 2025
    offsets = {datetime.fromisoformat(i["published"]).utcoffset() for i in newswire}
    assert len(offsets) >= 3, "use several timezone offsets"


def test_jsonl_holds_one_tracking_url_duplicate(newswire: list[dict[str, str]]) -> None:
    canon = [canonical_url(item["url"]) for item in newswire]
    assert len(set(canon)) == 5, "exactly one item should repeat another under a tracking URL"
    dupes = [i for i, item in enumerate(newswire) if "utm_source=" in item["url"]]
    assert len(dupes) == 1
    copy = newswire[dupes[0]]
    original = next(item for item in newswire if item["url"] == copy["url"].split("?")[0])
    assert original["text"] == copy["text"] and original["title"] == copy["title"]


# --- CSV --------------------------------------------------------------------------------------

def test_csv_rows_are_complete() -> None:
    with (EXAMPLES / CSV).open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["title", "text", "url", "published"]
        rows = list(reader)
    assert len(rows) == 8
    assert len({r["url"] for r in rows}) == 8
    for row in rows:
        assert all(row.values()), f"empty field in {row['title']!r}"
        assert len(row["text"].split()) >= 25
        published = datetime.fromisoformat(row["published"].replace("Z", "+00:00"))
        assert published.tzinfo is not None and published.year == 2025
    assert any('"' in r["text"] for r in rows), "one row should exercise quote escaping"


# --- RSS --------------------------------------------------------------------------------------

def test_feed_is_rss2_with_five_items() -> None:
    root = ET.parse(EXAMPLES / FEED).getroot()
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = root.findall("./channel/item")
    assert len(items) == 5
    for item in items:
        for field in ("title", "link", "pubDate", "description", "guid"):
            assert (item.findtext(field) or "").strip(), f"item lacks {field}"
        assert parsedate_to_datetime(item.findtext("pubDate")).year == 2025
        assert "<" in item.findtext("description"), "descriptions carry a little HTML"
    summary_only = [i for i in items if i.find(CONTENT) is None]
    assert len(summary_only) == 1
    assert len(summary_only[0].findtext("description").split()) >= 30


# --- content ----------------------------------------------------------------------------------

def test_tricky_non_ticker_words_appear() -> None:
    text = all_text()
    for phrase in ("one of the largest", "a ton of", "link to the report", "near the close"):
        assert phrase in text, f"no natural use of {phrase!r}"


def test_assets_are_named_with_tickers() -> None:
    text = all_text()
    for pair in ("Bitcoin (BTC)", "Ether (ETH)", "Solana (SOL)", "Dogecoin (DOGE)", "Cardano (ADA)",
                 "Toncoin (TON)", "Avalanche (AVAX)", "Chainlink (LINK)", "Sui (SUI)", "XRP", "BNB"):
        assert pair in text, f"{pair} is never named"


def test_fear_greed_reading_is_named() -> None:
    assert re.search(r"Crypto Fear & Greed Index fell to \d+", read(PLAIN_ARTICLES[1]))


def test_examples_do_not_copy_the_seed_articles() -> None:
    """No run of 8 words from the shared seed articles appears in the examples."""
    seeds = shared_path("seeds")

    def shingles(text: str) -> set[tuple[str, ...]]:
        toks = re.findall(r"\w+", text.lower())
        return {tuple(toks[i:i + 8]) for i in range(len(toks) - 7)}

    seed_shingles: set[tuple[str, ...]] = set()
    for path in sorted(seeds.glob("*.txt")):
        seed_shingles |= shingles(path.read_text(encoding="utf-8"))
    assert seed_shingles, "no seed articles to compare with"
    shared = shingles(all_text()) & seed_shingles
    assert not shared, f"examples repeat seed text: {sorted(shared)[:3]}"
