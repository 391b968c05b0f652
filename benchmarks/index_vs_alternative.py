"""How closely does our Fear & Greed style index track the published alternative.me index?

First one table: the fitted index (the default; fitted on 2018-02..2022-12) and the
hand-weighted one, in sample and out of sample (2023-01-01 on), each value paired with the
published value of the same date: Spearman, Pearson, mean absolute error (MAE) and the share of
days in the same band, with 95% block-bootstrap intervals (30-day blocks). Then the ETH and SOL
indexes from the same recipe against BTC's, and, for the hand-weighted index, the basket variant
and each price component alone. With ``--tags`` it adds the news-only and combined (prices + news) index on
the days the news covers (tag records from ``sentiment tag``).

``--baseline-news`` does the same with sentiment that is not ours, as a reference until tag
records of the real dated news are available, and to compare against afterwards:
``ds4a-finbert`` (the DS4A headlines 2020-01..2022-04 with the FinBERT labels their authors
published) and ``cryptopanic-votes`` (CryptoPanic "hot" headlines 2024-08..2025-02, sentiment =
(positive - negative votes) / (positive + negative + 1)).

    .venv/bin/python benchmarks/index_vs_alternative.py [--plot out/index_vs_alternative.png]
        [--tags out/cryptopanic_tags.jsonl] [--baseline-news ds4a-finbert] [--prices DIR] [--boot N]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sentiment.market.compare import (
    agreement,
    agreement_intervals,
    load_published_index,
    paired_difference,
)
from sentiment.market.fitted import load_recipe
from sentiment.market.index import PRICE_COMPONENTS, fear_greed_index, load_config
from sentiment.market.prices import load_prices, series_for

SHARED = Path(os.environ.get("SENTIMENT_SHARED", ROOT.parent / "shared")) / "data"
# DS4A search keywords → tickers (the eight coins the dataset was collected for).
DS4A_KEYWORDS = {"bitcoin": "BTC", "ethereum": "ETH", "xrp": "XRP", "litecoin": "LTC", "binance": "BNB",
                 "tether": "USDT", "usdcoin": "USDC", "namecoin": "NMC"}
OOS_START = "2023-01-01"
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


def cpu() -> str:
    """The CPU model, family and model number (for the timing beside the table)."""
    info = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    except OSError:
        return platform.processor() or "unknown CPU"
    return f"{info.get('model name', '?')} (family {info.get('cpu family', '?')}, model {info.get('model', '?')})"


def _ci(v: tuple, pct: bool = False, digits: int = 3) -> str:
    x, lo, hi = v
    if x is None or not np.isfinite(x):
        return "–"
    if pct:
        return f"{100 * x:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"
    return f"{x:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def headline_table(rows: list[tuple[str, pd.DataFrame]], published: pd.DataFrame, fit_end: str,
                   n_boot: int) -> None:
    """The one table: each index in and out of sample, 95% block-bootstrap intervals."""
    print("| index | period | days | Spearman | Pearson | MAE | same band (published classes) | same band (our cut-offs) |")
    print("|---|---|---|---|---|---|---|---|")
    oos_from = (pd.Timestamp(fit_end) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    for name, idx in rows:
        for period, lo, hi in ((f"in sample 2018-02..{fit_end[:7]}", "2018-02-01", fit_end),
                               (f"out of sample {oos_from}..", oos_from, None)):
            a = agreement_intervals(idx, published, lo, hi, block=30, n_boot=n_boot)
            print(f"| {name} | {period} | {a['n']:,} | {_ci(a['spearman'])} | {_ci(a['pearson'])} | "
                  f"{_ci(a['mean_abs_diff'], digits=2)} | {_ci(a['same_band_published'], True)} | "
                  f"{_ci(a['same_band_ours'], True)} |")


def per_asset_report(prices: Path, btc: pd.DataFrame, assets: tuple[str, ...] = ("ETH", "SOL")) -> None:
    """Does the same recipe behave sensibly on other assets? Agreement with BTC's index, and
    whether the index follows the asset's own moves where they differ from BTC's."""
    table = load_prices(prices)
    b = btc.set_index("date")["value"].rename("btc")
    btc_close = series_for(table, "BTC")["close"]
    print("\n| asset | days | first day | Spearman with BTC's index | mean |index - BTC's| | "
          "Spearman(index - BTC's, 30-day return - BTC's) | in its 10% deepest 90-day drawdowns | "
          "in its 10% best 90-day returns | Extreme Fear / Extreme Greed days |")
    print("|---|---|---|---|---|---|---|---|---|")
    for sym in assets:
        if sym not in set(table["symbol"]):
            print(f"| {sym} | no prices | | | | | | | |")
            continue
        idx = fear_greed_index(table, asset=sym)
        close = series_for(table, sym)["close"]
        d = idx.set_index("date")["value"].rename("v").to_frame().join(b, how="inner")
        # bars up to D-1 for the value dated D: the same alignment as the index
        r30 = np.log(close / close.shift(30)).shift(1)
        rb30 = np.log(btc_close / btc_close.shift(30)).shift(1)
        d = d.join(r30.rename("r"), how="left").join(rb30.rename("rb"), how="left").dropna()
        dd90 = np.log(close / close.rolling(90).max()).shift(1)
        up90 = np.log(close / close.shift(90)).shift(1)
        v = idx.set_index("date")["value"]
        low = v[v.index.isin(dd90[dd90 <= dd90.quantile(0.1)].index)].mean()
        high = v[v.index.isin(up90[up90 >= up90.quantile(0.9)].index)].mean()
        ef, eg = (idx["label"] == "Extreme Fear").mean(), (idx["label"] == "Extreme Greed").mean()
        print(f"| {sym} | {len(idx):,} | {idx['date'].min().date()} | {stats.spearmanr(d['v'], d['btc'])[0]:.3f} | "
              f"{(d['v'] - d['btc']).abs().mean():.1f} | "
              f"{stats.spearmanr(d['v'] - d['btc'], d['r'] - d['rb'])[0]:.3f} | {low:.1f} | {high:.1f} | "
              f"{100 * ef:.1f}% / {100 * eg:.1f}% |")
    ef, eg = (btc["label"] == "Extreme Fear").mean(), (btc["label"] == "Extreme Greed").mean()
    print(f"(BTC itself: {len(btc):,} days from {btc['date'].min().date()}, Extreme Fear / Extreme Greed "
          f"{100 * ef:.1f}% / {100 * eg:.1f}%)")


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


def news_report(label: str, tags, prices: Path, published: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Print the news-only index and each price index with and without the news components
    against the published one over the days the news covers; return (news-only, fitted + news)."""
    news = fear_greed_index(None, tags)
    lo, hi = news["date"].min(), news["date"].max()
    span = ((f"news span {lo.date()}..{hi.date()}", str(lo.date()), str(hi.date())),)
    print(f"\n[{label}] {news.attrs['news'].get('articles')} articles, skipped records "
          f"{news.attrs['news'].get('skipped_records') or 'none'}")
    report("News-only index (hand-weighted news components) vs alternative.me", news, published, span)
    both = fear_greed_index(prices, tags)
    for name, idx in (("Fitted, prices only", fear_greed_index(prices)), ("Fitted + news", both),
                      ("Hand-weighted, prices only", fear_greed_index(prices, method="weighted")),
                      ("Hand-weighted, prices + news", fear_greed_index(prices, tags, method="weighted"))):
        report(f"{name} on the same days", idx, published, span)
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
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples for the intervals")
    args = ap.parse_args(argv)
    for p in (args.prices, args.published):
        if not p.exists():
            print(f"missing input: {p} (shared datasets not present beside the checkout?)", file=sys.stderr)
            return 2
    published = load_published_index(args.published)

    t0 = time.perf_counter()
    fitted = fear_greed_index(args.prices)
    seconds = time.perf_counter() - t0
    weighted = fear_greed_index(args.prices, method="weighted")
    recipe = load_recipe()
    fit_end = recipe.info["fit_end"]
    print(f"Fitted recipe: {recipe.info['asset']} {recipe.info['fit_start']}..{fit_end}, components "
          f"{', '.join(recipe.components)}, ridge penalty {recipe.info['alpha']:g}; "
          f"{recipe.info['credit']}")
    print(f"Each value dated D uses the bars up to D-1 and is paired with the published value dated D; "
          f"95% intervals: moving-block bootstrap, 30-day blocks, {args.boot} resamples.\n")
    headline_table([("fitted (default)", fitted), ("hand-weighted", weighted)], published, fit_end, args.boot)
    print("\nFitted minus hand-weighted on the same days (95% paired block-bootstrap intervals):")
    for period, lo, hi in (("in sample", "2018-02-01", fit_end),
                           ("out of sample", (pd.Timestamp(fit_end) + pd.Timedelta(days=1)).strftime("%Y-%m-%d"), None)):
        d = paired_difference(fitted, weighted, published, lo, hi, block=30, n_boot=args.boot)
        print(f"  {period:<14} {d['n']:>5} days: Spearman {_ci(d['spearman'])}, MAE {_ci(d['mean_abs_diff'], digits=2)}, "
              f"same band {_ci(d['same_band_published'], True)}")
    print(f"\nThe fitted index of {len(fitted):,} days took {seconds:.1f} s (loading the prices folder "
          f"included) on {cpu()}.")

    per_asset_report(args.prices, fitted)

    idx = weighted
    print(f"\nHand-weighted: market = {idx.attrs['market']}; components: {', '.join(idx.attrs['components'])}; "
          f"weights {idx.attrs['weights']}")
    report("Hand-weighted prices-only market index (BTC) vs alternative.me", idx, published)

    for basket in ("equal",):
        cfg = load_config()
        cfg["market"] = basket
        report(f"Hand-weighted, {basket}-weighted basket of all loaded symbols",
               fear_greed_index(args.prices, config=cfg, method="weighted"), published)

    print("\nEach hand-weighted price component alone vs alternative.me (Spearman, 2018-2022 | 2023-2026)")
    merged = idx.assign(date=pd.to_datetime(idx["date"])).merge(published, on="date", suffixes=("", "_pub"))
    for c in PRICE_COMPONENTS:
        if c in merged:
            a = merged[merged["date"] <= "2022-12-31"]
            b = merged[merged["date"] >= "2023-01-01"]
            print(f"  {c:<12} {stats.spearmanr(a[c], a['value_pub'])[0]:6.3f} | {stats.spearmanr(b[c], b['value_pub'])[0]:6.3f}")

    with_news = None
    if args.tags is not None:
        with_news = news_report(f"tags {args.tags}", args.tags, args.prices, published)
    for name in args.baseline_news:
        news_report(f"baseline news: {name}", baseline_news(name), args.prices, published)

    if args.plot is not None:
        from sentiment.market.plots import plot_index

        args.plot.parent.mkdir(parents=True, exist_ok=True)
        ref = published.set_index("date")["value"].rename("alternative.me (published)")
        plot_index(fitted[fitted["date"] >= "2018-01-01"], args.plot, reference=ref,
                   title="Fitted prices-only index (BTC) vs alternative.me Crypto Fear & Greed "
                         f"(fitted on 2018-02..{fit_end[:7]})")
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
