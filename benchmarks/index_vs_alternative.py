"""How closely does our Fear & Greed style index track the published alternative.me index?

Prints Spearman and Pearson correlation and the share of days in the same band, for the
prices-only market index over 2018-2022 (the period the few price-side choices were made on),
2023-2026 (out of sample) and all of it; also the per-asset-basket variants and each price
component alone. With ``--tags`` it adds the news-only and combined (prices + news) index on
the days the news covers (tag records from ``sentiment tag``).

``--baseline-news`` does the same with sentiment that is not ours, as a reference until tag
records of the real dated news are available, and to compare against afterwards:
``ds4a-finbert`` (the DS4A headlines 2020-01..2022-04 with the FinBERT labels their authors
published) and ``cryptopanic-votes`` (CryptoPanic "hot" headlines 2024-08..2025-02, sentiment =
(positive - negative votes) / (positive + negative + 1)).

    .venv/bin/python benchmarks/index_vs_alternative.py [--plot out/index_vs_alternative.png]
        [--tags out/cryptopanic_tags.jsonl] [--baseline-news ds4a-finbert] [--prices DIR]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sentiment.market.compare import agreement, load_published_index
from sentiment.market.index import PRICE_COMPONENTS, fear_greed_index, load_config

SHARED = Path(os.environ.get("SENTIMENT_SHARED", ROOT.parent / "shared")) / "data"
# DS4A search keywords → tickers (the eight coins the dataset was collected for).
DS4A_KEYWORDS = {"bitcoin": "BTC", "ethereum": "ETH", "xrp": "XRP", "litecoin": "LTC", "binance": "BNB",
                 "tether": "USDT", "usdcoin": "USDC", "namecoin": "NMC"}
PERIODS = (("2018-2022 (design period)", "2018-01-01", "2022-12-31"),
           ("2023-2026 (out of sample)", "2023-01-01", None),
           ("2018-2026 (all)", "2018-01-01", None))


def _fmt(x: object, pct: bool = False) -> str:
    if x is None:
        return "   –  "
    return f"{100 * float(x):5.1f}%" if pct else f"{float(x):6.3f}"


def report(name: str, index: pd.DataFrame, published: pd.DataFrame, periods=PERIODS) -> None:
    print(f"\n{name}")
    print(f"  {'period':<28} {'days':>5} {'Spearman':>8} {'Pearson':>8} {'band(pub)':>9} {'band(ours)':>10} {'MAD':>6}")
    for label, start, end in periods:
        a = agreement(index, published, start, end)
        print(f"  {label:<28} {a['n']:>5} {_fmt(a['spearman']):>8} {_fmt(a['pearson']):>8} "
              f"{_fmt(a['same_band_published'], True):>9} {_fmt(a['same_band_ours'], True):>10} "
              f"{'' if a['mean_abs_diff'] is None else format(a['mean_abs_diff'], '6.1f'):>6}")


def _score(s: float) -> dict:
    bull, bear = max(0.0, s), max(0.0, -s)
    probs = {"bearish": bear, "neutral": 1.0 - bull - bear, "bullish": bull}
    return {"label": max(probs, key=probs.get), "score": s, "probs": probs}


def baseline_news(name: str) -> list[dict]:
    """Minimal tag records (published, sentiment, assets) from a dated news set's own labels."""
    if name == "ds4a-finbert":
        raw = pd.read_csv(SHARED / "crypto_news_dated" / "ds4a_crypto_news_2020-01_2022-04_finbert.csv")
        raw = raw.drop_duplicates()
        value = raw["description_finbert"].map({"positive": 1.0, "neutral": 0.0, "negative": -1.0})
        when = pd.to_datetime(raw["created_at"], utc=True)
        syms = raw["keyword"].map(DS4A_KEYWORDS)
    elif name == "cryptopanic-votes":
        raw = pd.read_csv(SHARED / "crypto_news_cryptopanic_votes" / "cryptopanic_news_hot_2025-02_parsed.csv")
        raw = raw.drop_duplicates()
        pos, neg = raw["votes_positive"], raw["votes_negative"]
        value = (pos - neg) / (pos + neg + 1)
        when = pd.to_datetime(raw["published_utc"], utc=True)
        syms = pd.Series([None] * len(raw), index=raw.index)
    else:
        raise ValueError(f"unknown baseline news {name!r}")
    out = []
    for i, (v, t, sym) in enumerate(zip(value, when, syms)):
        if pd.isna(v) or pd.isna(t):
            continue
        sc = _score(float(v))
        out.append({"schema": 1, "id": f"{name}-{i}", "published": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "sentiment": sc, "assets": [{"symbol": sym, "sentiment": sc}] if isinstance(sym, str) else [],
                    "causes": [], "figures": [], "moves": []})
    return out


def news_report(label: str, tags, prices: Path, idx: pd.DataFrame,
                published: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Print the news-only and combined indexes against the published one; return both."""
    news = fear_greed_index(None, tags)
    both = fear_greed_index(prices, tags)
    lo, hi = news["date"].min(), news["date"].max()
    span = ((f"news span {lo.date()}..{hi.date()}", str(lo.date()), str(hi.date())),)
    print(f"\n[{label}] {news.attrs['news'].get('articles')} articles, skipped records "
          f"{news.attrs['news'].get('skipped_records') or 'none'}")
    report("News-only market index vs alternative.me", news, published, span)
    report("Prices-only market index on the same days", idx, published, span)
    report("Combined (prices + news) market index vs alternative.me", both, published, span)
    merged = news.merge(published, on="date", suffixes=("", "_pub"))
    alone = [f"{c} {stats.spearmanr(merged[c], merged['value_pub'])[0]:.3f}" if merged[c].nunique() > 1
             else f"{c} constant (nothing to score in these records)" for c in news.attrs["components"]]
    print("  news components alone (Spearman): " + ", ".join(alone))
    return news, both


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prices", type=Path, default=SHARED / "crypto_prices_daily")
    ap.add_argument("--published", type=Path, default=SHARED / "crypto_fear_greed_index" / "fear_greed_index.csv")
    ap.add_argument("--tags", type=Path, default=None, help="tag records to add the news components")
    ap.add_argument("--baseline-news", choices=("ds4a-finbert", "cryptopanic-votes"), action="append",
                    default=[], help="news sentiment from a dataset's own labels (repeatable)")
    ap.add_argument("--plot", type=Path, default=None, help="write a chart of our index vs the published one")
    args = ap.parse_args(argv)
    for p in (args.prices, args.published):
        if not p.exists():
            print(f"missing input: {p} (shared datasets not present beside the checkout?)", file=sys.stderr)
            return 2
    published = load_published_index(args.published)

    idx = fear_greed_index(args.prices)
    print(f"market = {idx.attrs['market']}; components: {', '.join(idx.attrs['components'])}; "
          f"weights {idx.attrs['weights']}")
    report("Prices-only market index (BTC) vs alternative.me", idx, published)

    for basket in ("equal",):
        cfg = load_config()
        cfg["market"] = basket
        report(f"Prices-only, {basket}-weighted basket of all loaded symbols", fear_greed_index(args.prices, config=cfg),
               published)

    print("\nEach price component alone vs alternative.me (Spearman, 2018-2022 | 2023-2026)")
    merged = idx.assign(date=pd.to_datetime(idx["date"])).merge(published, on="date", suffixes=("", "_pub"))
    for c in PRICE_COMPONENTS:
        if c in merged:
            a = merged[merged["date"] <= "2022-12-31"]
            b = merged[merged["date"] >= "2023-01-01"]
            print(f"  {c:<12} {stats.spearmanr(a[c], a['value_pub'])[0]:6.3f} | {stats.spearmanr(b[c], b['value_pub'])[0]:6.3f}")

    with_news = None
    if args.tags is not None:
        with_news = news_report(f"tags {args.tags}", args.tags, args.prices, idx, published)
    for name in args.baseline_news:
        news_report(f"baseline news: {name}", baseline_news(name), args.prices, idx, published)

    if args.plot is not None:
        from sentiment.market.plots import plot_index

        args.plot.parent.mkdir(parents=True, exist_ok=True)
        ref = published.set_index("date")["value"].rename("alternative.me (published)")
        plot_index(idx[idx["date"] >= "2018-01-01"], args.plot, reference=ref,
                   title="Prices-only index (BTC) vs alternative.me Crypto Fear & Greed")
        print(f"\nchart → {args.plot}")
        if with_news is not None:  # the news span: news-only and combined index vs the published one
            for kind, frame in zip(("news-only", "combined"), with_news):
                lo, hi = with_news[0]["date"].min(), with_news[0]["date"].max()
                span = frame[(frame["date"] >= lo) & (frame["date"] <= hi)]
                path = args.plot.with_name(f"{args.plot.stem}.{kind}{args.plot.suffix}")
                plot_index(span, path, reference=ref,
                           title=f"{kind.capitalize()} index from {args.tags.name} vs alternative.me")
                print(f"chart → {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
