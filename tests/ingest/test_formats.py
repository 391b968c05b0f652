"""Each input format becomes Articles with title, text, URL, source and a UTC publication time."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from helpers.httpserver import LocalServer

from sentiment.ingest import IngestError, IngestOptions, iter_inputs
from sentiment.schema import Article

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def articles(*sources, options: IngestOptions | None = None) -> list[Article]:
    items = list(iter_inputs(list(sources), options))
    errors = [i for i in items if isinstance(i, IngestError)]
    assert not errors, errors
    return items


def test_rss_091_with_netscape_doctype_and_latin1():
    a, b = articles(DATA / "rss091.xml")
    assert a.title == "Bitcoin slips below $60,000 as miners sell"
    assert "Café owners" in a.text  # ISO-8859-1 declared and decoded
    assert a.url == "https://www.example-wire.com/news/bitcoin-slips-below-60000"
    assert a.source == "example-wire.com"
    assert a.published is None  # RSS 0.91 items carry no date
    assert b.title.startswith("Dogecoin jumps 12%")
    assert a.meta["input"] == str(DATA / "rss091.xml") and a.meta["feed_format"] == "rss091n"  # Netscape 0.91


def test_rss_10_rdf_dates_to_utc():
    a, b = articles(DATA / "rss10.rdf")
    assert a.title == "Ethereum upgrade goes live on mainnet"
    assert a.published == utc(2025, 3, 13, 8, 5)  # +02:00 → UTC
    assert b.published == utc(2025, 3, 15, 4, 30)  # -05:00 → next day UTC
    assert a.source == "blocks.example.org" and "ether gained 3%" in a.text


def test_rss_20_full_content_wins_over_summary_and_html_is_stripped():
    a, b = articles(DATA / "rss20.xml")
    assert a.title == "Ether ETFs log $300 million of outflows"
    assert a.text == ("Spot ether exchange-traded funds recorded $300 million of net outflows on Monday, "
                      "the fourth straight day of redemptions.\n\nEther fell 7% to $3,400 while bitcoin "
                      "held near $104,000.")
    assert "track()" not in a.text and "<" not in a.text
    assert a.published == utc(2025, 11, 4, 13, 30)
    assert a.source == "chainmarkets.example.com"
    assert a.meta["text_from"] == "content" and a.meta["categories"] == ["Markets", "ETF"]
    assert a.meta["author"] == "Jane Doe"
    # Only a summary: the summary is the text.
    assert b.text.startswith("The combined supply of dollar stablecoins") and b.meta["text_from"] == "summary"


def test_atom_10():
    a, b = articles(DATA / "atom.xml")
    assert a.title == "XRP rallies 9% after court ruling & exchange relistings"
    assert a.url == "https://ledger-notes.example.net/2025/06/xrp-rallies"
    assert a.published == utc(2025, 6, 2, 0, 15)  # published (+09:00), not updated
    assert a.text.endswith("Traders covered short positions worth $40 million.")
    assert b.published == utc(2025, 6, 1, 18, 0)  # only <updated>


def test_a_feed_entry_with_a_broken_date_has_none_and_leans_on_no_deprecated_feedparser_fallback(tmp_path):
    import warnings

    feed = tmp_path / "undated.xml"
    feed.write_text('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                    "<item><title>Solana jumps 12% on ETF hopes</title><link>https://x.example/sol</link>"
                    "<pubDate>sometime on Tuesday</pubDate><description>SOL rose 12% to $180.</description>"
                    "</item></channel></rss>")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (a,) = articles(feed)
    assert a.published is None and a.title == "Solana jumps 12% on ETF hopes"
    assert not [w for w in caught if issubclass(w.category, DeprecationWarning)], [str(w.message) for w in caught]


def test_html_file_main_text_and_metadata():
    (a,) = articles(DATA / "article.html")
    assert a.title == "Bitcoin drops 5% as ETF outflows mount"
    assert a.text.startswith("Bitcoin dropped 5% on Tuesday to $101,000")
    assert "newsletter" not in a.text.lower() and "Copyright" not in a.text and "Home" not in a.text
    assert a.published == utc(2025, 11, 4, 13, 30)  # article:published_time, full time kept
    assert a.url.startswith("https://www.coinledger.example.com/markets/2025/11/04/bitcoin-drops-5")
    assert a.source == "coinledger.example.com"


def test_txt_first_line_is_title():
    (a,) = articles(DATA / "article.txt")
    assert a.title == "Solana slides 8% after network congestion"
    assert a.text.startswith("Solana fell 8% to $142") and a.text.endswith("later in the day.")
    assert a.source == "file:article.txt" and a.url is None and a.published is None


def test_a_date_in_the_file_name_dates_a_text_article(tmp_path):
    from sentiment.ingest.dates import date_in_name

    assert date_in_name("aicoin-2025-11-04-crash.txt") == utc(2025, 11, 4)
    assert date_in_name("2025-03-10-btc-slide.md") == utc(2025, 3, 10)
    for name in ("notes.txt", "2025-02-30-x.txt", "v12025-01-01.txt", "1850-01-01.txt", "2025-1-4.txt"):
        assert date_in_name(name) is None, name
    (tmp_path / "2025-03-10-btc.txt").write_text("Bitcoin slides\nBitcoin fell 6%.", encoding="utf-8")
    (a,) = articles(tmp_path / "2025-03-10-btc.txt")
    assert a.published == utc(2025, 3, 10) and a.meta["published_from"] == "file name"
    # front matter wins over the file name
    (tmp_path / "2025-03-10-eth.md").write_text("---\ndate: 2025-03-11T09:30:00Z\n---\n# Ether rises\n\nEther rose.",
                                               encoding="utf-8")
    (b,) = articles(tmp_path / "2025-03-10-eth.md")
    assert b.published == utc(2025, 3, 11, 9, 30) and "published_from" not in b.meta


def test_markdown_front_matter_and_markup():
    (a,) = articles(DATA / "article.md")
    assert a.title == "Chainlink climbs as staking expands"
    assert a.text.startswith("LINK rose 11% to $19.80 after the staking pool was enlarged.")
    assert "**" not in a.text and "](" not in a.text and "#" not in a.text
    assert a.published == utc(2025, 2, 11, 13, 0)
    assert a.source == "linkwatch.example.io"


def test_jsonl_rows_and_dates():
    a, b, c = articles(DATA / "news.jsonl")
    assert a.published == utc(2025, 1, 5, 14, 0)  # ISO with -08:00
    assert b.published == datetime.fromtimestamp(1736500000, tz=timezone.utc)  # epoch seconds
    assert c.published == utc(2025, 1, 10, 11, 0)  # RFC 2822 with +0100
    assert a.source == "hashnews.example.com" and c.source == "file:news.jsonl" and c.url is None
    assert [x.meta["row"] for x in (a, b, c)] == ["line 1", "line 3", "line 4"]


def test_csv_custom_columns():
    options = IngestOptions(text_column="body", title_column="headline", url_column="link",
                            published_column="date")
    a, b = articles(DATA / "news_custom.csv", options=options)
    assert a.title == "Tron stablecoin volume climbs" and a.text.startswith("USDT transfers on Tron")
    assert a.url == "https://tronwatch.example.org/usdt-volume" and a.source == "tronwatch.example.org"
    assert a.published == utc(2025, 4, 1, 9, 0)  # naive → UTC
    assert b.published == utc(2025, 4, 2, 7, 30) and b.url is None and b.source == "file:news_custom.csv"


def test_csv_default_columns_missing_is_one_clear_error():
    (item,) = list(iter_inputs([DATA / "news_custom.csv"]))
    assert isinstance(item, IngestError)
    assert "no 'text' or 'title' column" in item.reason and "'body'" in item.reason


def test_folder_walk_is_sorted_and_every_file_accounted(tmp_path):
    inputs = sorted(p.name for p in DATA.iterdir())
    items = list(iter_inputs([DATA]))
    seen = []
    for item in items:
        name = Path(item.meta["input"] if isinstance(item, Article) else item.input.split("#")[0]).name
        if not seen or seen[-1] != name:
            seen.append(name)
    assert seen == inputs


def test_html_over_http_and_feed_over_http():
    page = (DATA / "article.html").read_bytes()
    feed = (DATA / "rss20.xml").read_bytes()
    with LocalServer() as server:
        server.route("/news/btc", page)
        # Served with a misleading type: sniffing finds the feed anyway.
        server.route("/rss", feed, content_type="text/html; charset=utf-8")
        items = articles(server.url("/news/btc"), server.url("/rss"))
    page_article, *feed_articles = items
    assert page_article.title == "Bitcoin drops 5% as ETF outflows mount"
    # The page's canonical URL wins over the address it was fetched from.
    assert page_article.source == "coinledger.example.com"
    assert page_article.meta["input"].endswith("/news/btc")
    assert [a.title for a in feed_articles] == ["Ether ETFs log $300 million of outflows",
                                                "Stablecoin supply hits a record"]


def test_plain_text_over_http_takes_host_as_source():
    with LocalServer() as server:
        server.route("/note.txt", "Bitcoin steady\nBitcoin traded flat near $97,000.\n",
                     content_type="text/plain; charset=utf-8")
        (a,) = articles(server.url("/note.txt"))
        assert a.title == "Bitcoin steady" and a.source == "127.0.0.1" and a.url == server.url("/note.txt")


def test_fetch_linked_replaces_summary_with_page_text():
    page = (DATA / "article.html").read_text()
    with LocalServer() as server:
        link = server.url("/story")
        feed = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
        <item><title>Bitcoin drops 5%</title><link>{link}</link><description>Short teaser.</description></item>
        <item><title>Gone</title><link>{server.url('/missing')}</link><description>Teaser two.</description></item>
        </channel></rss>"""
        server.route("/story", page)
        server.route("/feed", feed, content_type="application/rss+xml")
        options = IngestOptions(fetch_linked=True, retries=0)
        a, b = articles(server.url("/feed"), options=options)
    assert a.meta["text_from"] == "page" and a.text.startswith("Bitcoin dropped 5% on Tuesday")
    assert a.title == "Bitcoin drops 5%" and a.url == link
    # A failed page fetch keeps the summary, and says why.
    assert b.text == "Teaser two." and "404" in b.meta["fetch_error"]


@pytest.mark.parametrize("value, expected", [
    ("2025-11-04T08:30:00-05:00", utc(2025, 11, 4, 13, 30)),
    ("2025-11-04T08:30:00Z", utc(2025, 11, 4, 8, 30)),
    ("Tue, 04 Nov 2025 08:30:00 GMT", utc(2025, 11, 4, 8, 30)),
    (1762245000000, utc(2025, 11, 4, 8, 30)),
    ("1762245000", utc(2025, 11, 4, 8, 30)),
    ("November 4, 2025 8:30 AM", utc(2025, 11, 4, 8, 30)),
    ("not a date", None), ("2025", None), (None, None), ("", None),
])
def test_parse_date_to_utc(value, expected):
    from sentiment.ingest.dates import parse_date
    if value == "2025":
        assert parse_date(value) is None or parse_date(value).year == 2025
    else:
        assert parse_date(value) == expected


def test_semicolon_csv_with_bom_and_tsv(tmp_path):
    csv_path = tmp_path / "export.csv"
    csv_path.write_bytes("\ufefftitle;text;published\nBTC dips;Bitcoin dipped 2%, then recovered.;2025-05-01\n".encode("utf-8"))
    tsv_path = tmp_path / "export.tsv"
    tsv_path.write_text("title\ttext\nETH flat\tEther traded flat, near $2,500.\n")
    a, b = articles(csv_path, tsv_path)
    assert (a.title, a.text, a.published) == ("BTC dips", "Bitcoin dipped 2%, then recovered.", utc(2025, 5, 1))
    assert (b.title, b.text) == ("ETH flat", "Ether traded flat, near $2,500.")


def _page(head: str, body: str) -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


PARAGRAPHS = "".join(f"<p>{s}</p>" for s in (
    "Bitcoin miners sold about 5,000 BTC last week, the most since March, on-chain data showed.",
    "Hash price fell to a record low as transaction fees dried up after the halving.",
    "Analysts said weaker miners may keep selling unless the price recovers above $70,000."))


def test_html_json_ld_date_and_declared_latin1(tmp_path):
    ld = '<script type="application/ld+json">{"@graph": [{"@type": "NewsArticle", "datePublished": "2025-07-01T22:15:00-04:00"}]}</script>'
    page = _page(f'<meta charset="iso-8859-1"><title>Miners sell — Café Crypto</title>{ld}',
                 "<article><h1>Miners sell BTC in Zürich</h1>" + PARAGRAPHS + "</article>")
    path = tmp_path / "page.htm"
    path.write_bytes(page.replace("—", "-").encode("latin-1"))
    (a,) = articles(path)
    assert a.published == utc(2025, 7, 2, 2, 15)
    assert a.title == "Miners sell BTC in Zürich"  # the headline (h1), decoded from latin-1
    assert a.text.startswith("Bitcoin miners sold about 5,000 BTC") and a.source == "file:page.htm"


def test_html_without_article_text_is_one_error(tmp_path):
    path = tmp_path / "empty.html"
    path.write_text(_page("<title>Nothing</title>", "<nav><a href='/'>Home</a></nav>"))
    (item,) = list(iter_inputs([path]))
    assert isinstance(item, IngestError) and item.reason == "no article text found in the HTML page"
