"""Link news sentiment to prices: what happened to prices around the news, and who leads whom.

:func:`link` takes tag records and daily prices and returns a :class:`LinkReport`:

* ``daily``: per asset and UTC day, news volume, mean sentiment and the day's return
  (``MARKET`` = every article, with the benchmark's return);
* ``articles``: each (article, asset) with the close-to-close return of its publication day
  (``ret_0d``) and forward returns from that day's close (``ret_1d``, ``ret_3d``, ``ret_7d``);
* ``event_study`` / ``event_summary``: mean abnormal return and CAR per day offset over
  ``window`` (default [-2, +3]) by cause type and by sentiment label, with t-statistics;
* ``correlations`` and ``granger``: same-day and lead-lag correlation, and Granger tests in
  both directions (sentiment → returns, returns → sentiment) with statsmodels;
* ``moves``: price moves stated in articles checked against the prices of the publication day
  and the day before.

Abnormal returns: ``"market"`` (default) = the asset's return minus the benchmark's (BTC); the
benchmark itself and market-level events use ``"mean"``, the return minus the asset's own mean
over the estimation window (default days -30..-3 before the event). An article is an event for
each priced asset it names (articles naming none are events of the market, i.e. the benchmark);
events are de-duplicated to one per (asset, day, group), so ten articles about one hack count once.
"""
from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..reasons import describe
from .news import MARKET, TagsLike, daily_news, iter_tags, news_table, to_float
from .prices import PricesLike, close_panel, load_prices

LABEL_ORDER = ("bearish", "neutral", "bullish")


@dataclass
class LinkReport:
    """Everything :func:`link` measured, as DataFrames plus a summary dict."""

    daily: pd.DataFrame
    articles: pd.DataFrame
    event_study: pd.DataFrame
    event_summary: pd.DataFrame
    correlations: pd.DataFrame
    granger: pd.DataFrame
    moves: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report (tables as lists of records; NaN → null)."""
        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            out = df.copy()
            for c in out.columns:
                if pd.api.types.is_datetime64_any_dtype(out[c]):
                    out[c] = out[c].dt.strftime("%Y-%m-%d")
            return json.loads(out.to_json(orient="records", default_handler=str))

        return {
            "summary": self.summary,
            "event_summary": records(self.event_summary),
            "event_study": records(self.event_study),
            "correlations": records(self.correlations),
            "granger": records(self.granger),
            "moves_summary": self.summary.get("moves", {}),
            "moves": records(self.moves),
            "forward_returns": records(self.forward_return_table()),
        }

    def forward_return_table(self) -> pd.DataFrame:
        """Mean forward return by sentiment label, for assets named (pooled) and for the market.

        One observation per (asset, day, label), so a day with many alike articles counts once
        and the t-statistics are not inflated by duplicates."""
        rows = []
        hcols = [c for c in self.articles.columns if c.startswith("ret_") and c != "ret_0d"]
        for scope in ("assets", "market"):
            a = self.articles
            if len(a):
                a = a[(a["target"] == MARKET) == (scope == "market")]
                a = a.drop_duplicates(["price_symbol", "date", "label"])
            for label in LABEL_ORDER:
                sub = a[a["label"] == label] if len(a) else a
                for h in hcols:
                    x = sub[h].dropna() if len(sub) else pd.Series(dtype=float)
                    rows.append({"scope": scope, "label": label, "horizon": h, "n": len(x),
                                 "mean": float(x.mean()) if len(x) else None, "t": _tstat(x)})
        return pd.DataFrame(rows, columns=["scope", "label", "horizon", "n", "mean", "t"])

    def to_markdown(self) -> str:
        """A short human summary of the report."""
        s = self.summary
        lines = ["# News ↔ price link report", "",
                 f"- articles used: {s.get('articles', 0)} (skipped: {s.get('skipped_records', {}) or 'none'})",
                 f"- dates: {s.get('first_day')} → {s.get('last_day')}",
                 (f"- assets with prices: {', '.join(s.get('assets_with_prices', [])) or 'none'}"
                  f"; named without prices: {', '.join(s.get('assets_without_prices', [])) or 'none'}"),
                 (f"- abnormal returns: {s.get('abnormal')} (benchmark {s.get('benchmark')}), "
                  f"window {s.get('window')}"), ""]
        lines += ["## Forward returns by sentiment label", "",
                  ("One observation per (asset, day, label); market = every article, with benchmark "
                   "returns. Raw (not abnormal) returns; t ignores the overlap of multi-day horizons."), "",
                  "| scope | label | horizon | n | mean % | t |", "|---|---|---|---|---|---|"]
        for r in self.forward_return_table().itertuples():
            lines.append(f"| {r.scope} | {r.label} | {r.horizon} | {r.n} | {_pct(r.mean)} | {_num(r.t)} |")
        lines += ["", "## Event study: CAR over the window", "",
                  "| kind | group | events | CAR % | t | p |", "|---|---|---|---|---|---|"]
        for r in self.event_summary.itertuples():
            lines.append(f"| {r.kind} | {r.group} | {r.n} | {_pct(r.car)} | {_num(r.t)} | {_num(r.p)} |")
        lines += ["", "## Sentiment and returns: correlation and lead-lag", "",
                  "| asset | days | news days | corr same day | corr sent→next ret | corr ret→next sent |",
                  "|---|---|---|---|---|---|"]
        for r in self.correlations.itertuples():
            lines.append(f"| {r.asset} | {r.n_days} | {r.news_days} | {_num(r.corr_same_day)} | "
                         f"{_num(r.corr_sentiment_leads)} | {_num(r.corr_returns_lead)} |")
        lines += ["", "## Granger causality (F test, best lag)", "",
                  "Daily series; a day without news counts as neutral sentiment (0).", "",
                  "| asset | direction | lag | F | p | n | note |", "|---|---|---|---|---|---|---|"]
        for r in self.granger.itertuples():
            lines.append(f"| {r.asset} | {r.direction} | {_num(r.lag)} | {_num(r.f)} | {_num(r.p)} | "
                         f"{_num(r.n)} | {r.reason or ''} |")
        m = s.get("moves", {})
        lines += ["", "## Stated moves vs prices", ""]
        if m.get("n"):
            lines += [f"- moves checked: {m['n']} (of {m.get('stated', m['n'])} stated with a % change)",
                      (f"- direction agrees with the publication day: {_pct(m.get('direction_agree_day'), 1)} %; "
                       f"with the previous day: {_pct(m.get('direction_agree_prev'), 1)} %; "
                       f"with either: {_pct(m.get('direction_agree_either'), 1)} %"),
                      ("- median absolute error (percentage points), best of the two days: "
                       f"{_num(m.get('median_abs_error_best'))}")]
        else:
            lines.append(f"- no stated moves could be checked ({m.get('reason', 'none in the tags')})")
        return "\n".join(lines) + "\n"

    def write(self, out_dir: str | Path, charts: bool = True) -> list[Path]:
        """Write ``link_report.json``, ``link_report.md``, the tables as CSV and PNG charts."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        p = out / "link_report.json"
        p.write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False, default=str), encoding="utf-8")
        written.append(p)
        p = out / "link_report.md"
        p.write_text(self.to_markdown(), encoding="utf-8")
        written.append(p)
        for name in ("daily", "articles", "event_study", "moves"):
            p = out / f"{name}.csv"
            getattr(self, name).to_csv(p, index=False)
            written.append(p)
        if charts:
            from . import plots

            written += plots.link_charts(self.event_study, self.daily, out)
        return written


def _tstat(x: pd.Series) -> float | None:
    x = pd.Series(x).dropna()
    if len(x) < 2:
        return None
    sd = float(x.std(ddof=1))
    if not math.isfinite(sd) or sd == 0:
        return None
    return float(x.mean() / (sd / math.sqrt(len(x))))


def _pct(v: Any, digits: int = 2) -> str:
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{100 * float(v):.{digits}f}"


def _num(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _clean(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v


# --------------------------------------------------------------------------- pieces
def forward_returns(rows: pd.DataFrame, close: pd.DataFrame, horizons: Sequence[int],
                    benchmark: str) -> pd.DataFrame:
    """Add ``ret_0d`` (publication day, close-to-close) and ``ret_<h>d`` = close[d+h]/close[d] - 1."""
    out = rows.copy()
    series = out["target"].where(out["target"] != MARKET, benchmark)
    out["price_symbol"] = series
    ret1 = close / close.shift(1) - 1
    ri = close.index.get_indexer(pd.DatetimeIndex(out["date"]))
    ci = close.columns.get_indexer(series)
    ok = (ri >= 0) & (ci >= 0)
    for h in [0, *horizons]:
        table = ret1 if h == 0 else close.shift(-h) / close - 1
        values = np.full(len(out), np.nan)
        values[ok] = table.to_numpy()[ri[ok], ci[ok]]
        out[f"ret_{h}d"] = values
    return out


def event_study(rows: pd.DataFrame, close: pd.DataFrame, *, window: tuple[int, int] = (-2, 3),
                abnormal: str = "market", benchmark: str = "BTC",
                estimation: tuple[int, int] = (-30, -3)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean abnormal return and CAR per day offset, by cause type and by sentiment label.

    Returns (per-offset table, per-group summary of the CAR over the whole window)."""
    if abnormal not in ("market", "mean"):
        raise ValueError(f"abnormal must be 'market' or 'mean', not {abnormal!r}")
    rets = close / close.shift(1) - 1
    lo, hi = window
    offsets = list(range(lo, hi + 1))
    events = []
    priced = rows.assign(sym=rows["target"].where(rows["target"] != MARKET, benchmark))
    priced = priced[priced["sym"].isin(close.columns)]
    # An article is an event for each priced asset it names; only articles naming none are
    # market events (on the benchmark), so one article does not count twice.
    with_asset = set(priced.loc[priced["target"] != MARKET, "id"])
    priced = priced[(priced["target"] != MARKET) | ~priced["id"].isin(with_asset)]
    for r in priced.itertuples():
        events.append((r.sym, r.date, "label", r.label))
        for c in r.causes:
            events.append((r.sym, r.date, "cause", c))
    ev = pd.DataFrame(events, columns=["sym", "date", "kind", "group"]).drop_duplicates()
    idx = rets.index
    ar_rows = []
    for e in ev.itertuples():
        if e.date not in idx:
            continue
        pos = idx.get_loc(e.date)
        if pos + lo < 0 or pos + hi >= len(idx):
            continue
        r = rets[e.sym].iloc[pos + lo: pos + hi + 1].to_numpy()
        if abnormal == "market" and e.sym != benchmark and benchmark in rets.columns:
            ar = r - rets[benchmark].iloc[pos + lo: pos + hi + 1].to_numpy()
        else:
            a, b = max(0, pos + estimation[0]), max(0, pos + estimation[1] + 1)
            est = rets[e.sym].iloc[a:b].dropna()
            if len(est) < 5:
                continue
            ar = r - est.mean()
        if np.isnan(ar).any():
            continue
        ar_rows.append((e.kind, e.group, *ar))
    cols = [f"ar_{o}" for o in offsets]
    ars = pd.DataFrame(ar_rows, columns=["kind", "group", *cols])
    study, summary = [], []
    for (kind, group), g in ars.groupby(["kind", "group"], sort=True):
        car = g[cols].cumsum(axis=1)
        for o, c in zip(offsets, cols):
            study.append({"kind": kind, "group": group, "offset": o, "n": len(g),
                          "mean_ar": float(g[c].mean()), "t_ar": _tstat(g[c]),
                          "car": float(car[c].mean()), "t_car": _tstat(car[c])})
        total = car[cols[-1]]
        t = _tstat(total)
        p = float(2 * stats.t.sf(abs(t), len(total) - 1)) if t is not None else None
        summary.append({"kind": kind, "group": group, "n": len(g), "car": float(total.mean()),
                        "t": t, "p": p})
    study_df = pd.DataFrame(study, columns=["kind", "group", "offset", "n", "mean_ar", "t_ar", "car", "t_car"])
    summary_df = pd.DataFrame(summary, columns=["kind", "group", "n", "car", "t", "p"])
    return study_df, summary_df


def granger(sentiment: pd.Series, returns: pd.Series, max_lag: int = 3, min_obs: int = 30) -> list[dict[str, Any]]:
    """Granger F tests both ways (sentiment → returns, returns → sentiment), best lag of 1..max_lag.

    Short, constant or gappy series give a row with ``reason`` instead of raising."""
    directions = (("sentiment → returns", "ret", "sent"), ("returns → sentiment", "sent", "ret"))
    df = pd.concat({"sent": sentiment, "ret": returns}, axis=1).dropna()
    n = len(df)
    reason = None
    if n < max(min_obs, 3 * max_lag + 5):
        reason = f"too short: {n} overlapping days (needs {max(min_obs, 3 * max_lag + 5)})"
    elif df["sent"].nunique() < 3 or df["ret"].nunique() < 3:
        reason = "a series is (nearly) constant"
    if reason:
        return [{"direction": d, "lag": None, "f": None, "p": None, "n": n, "reason": reason}
                for d, _, _ in directions]
    from statsmodels.tools.sm_exceptions import InfeasibleTestError
    from statsmodels.tsa.stattools import grangercausalitytests

    out = []
    for name, effect, cause in directions:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = grangercausalitytests(df[[effect, cause]].to_numpy(), maxlag=max_lag)
            best = min(res, key=lambda k: res[k][0]["ssr_ftest"][1])
            f, p = res[best][0]["ssr_ftest"][:2]
            out.append({"direction": name, "lag": int(best), "f": float(f), "p": float(p), "n": n,
                        "p_by_lag": {int(k): float(v[0]["ssr_ftest"][1]) for k, v in res.items()},
                        "reason": None})
        except (ValueError, ArithmeticError, np.linalg.LinAlgError, InfeasibleTestError) as exc:  # singular…: say why
            out.append({"direction": name, "lag": None, "f": None, "p": None, "n": n,
                        "reason": f"test failed: {describe(exc)}"})
    return out


def check_moves(records: Iterable[dict[str, Any]], close: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Stated moves (``change_pct``) vs the close-to-close return of the publication day and
    of the day before; direction agreement and absolute error in percentage points."""
    ret = (close / close.shift(1) - 1) * 100
    rows, stated = [], 0
    for rec in records:
        day = pd.to_datetime(str(rec.get("published") or "")[:10], errors="coerce")
        for m in rec.get("moves") or []:
            if not isinstance(m, dict):
                continue
            pct = to_float(m.get("change_pct"))
            if pct is None or pd.isna(day):
                continue
            stated += 1
            sym = str(m.get("asset") or "").upper()
            if sym not in ret.columns or day not in ret.index:
                continue
            d0 = ret.at[day, sym]
            prev = day - pd.Timedelta(days=1)
            d1 = ret.at[prev, sym] if prev in ret.index else np.nan
            rows.append({"id": rec.get("id"), "date": day, "asset": sym, "change_pct": pct,
                         "ret_day_pct": d0, "ret_prev_pct": d1,
                         "direction_agree_day": bool(np.sign(d0) == np.sign(pct)) if pd.notna(d0) else None,
                         "direction_agree_prev": bool(np.sign(d1) == np.sign(pct)) if pd.notna(d1) else None,
                         "abs_error_day": abs(d0 - pct) if pd.notna(d0) else np.nan,
                         "abs_error_prev": abs(d1 - pct) if pd.notna(d1) else np.nan,
                         "text": m.get("text", "")})
    df = pd.DataFrame(rows, columns=["id", "date", "asset", "change_pct", "ret_day_pct", "ret_prev_pct",
                                     "direction_agree_day", "direction_agree_prev", "abs_error_day",
                                     "abs_error_prev", "text"])
    if df.empty:
        why = "no stated moves with change_pct" if stated == 0 else "no prices for the moves' assets/days"
        return df, {"n": 0, "stated": stated, "reason": why}
    day_ok = df["direction_agree_day"].dropna().astype(bool)
    prev_ok = df["direction_agree_prev"].dropna().astype(bool)
    either = (df["direction_agree_day"].fillna(False).astype(bool) | df["direction_agree_prev"].fillna(False).astype(bool))
    best = df[["abs_error_day", "abs_error_prev"]].min(axis=1)
    summary = {"n": len(df), "stated": stated,
               "direction_agree_day": float(day_ok.mean()) if len(day_ok) else None,
               "direction_agree_prev": float(prev_ok.mean()) if len(prev_ok) else None,
               "direction_agree_either": float(either.mean()),
               "median_abs_error_day": _clean(float(df["abs_error_day"].median())),
               "median_abs_error_prev": _clean(float(df["abs_error_prev"].median())),
               "median_abs_error_best": _clean(float(best.median()))}
    return df, summary


# --------------------------------------------------------------------------- the whole link
def link(tags: TagsLike, prices: PricesLike, *, horizons: Sequence[int] = (1, 3, 7),
         window: tuple[int, int] = (-2, 3), abnormal: str = "market", benchmark: str = "BTC",
         estimation: tuple[int, int] = (-30, -3), max_lag: int = 3, min_obs: int = 30) -> LinkReport:
    """Link tag records to prices; see the module docstring for what is measured."""
    if window[0] > 0 or window[1] < 0:
        raise ValueError(f"window must contain day 0, got {window}")
    records = [r for r in iter_tags(tags) if isinstance(r, dict)]
    nt = news_table(records)
    rows = nt.rows
    table = load_prices(prices)
    close = close_panel(table, "close")
    benchmark = benchmark.upper()
    if benchmark not in close.columns:
        raise ValueError(f"benchmark {benchmark} has no prices (loaded: {', '.join(close.columns)})")
    summary: dict[str, Any] = {"articles": nt.n_articles, "skipped_records": nt.skipped,
                               "abnormal": abnormal, "benchmark": benchmark, "window": list(window),
                               "horizons": list(horizons), "estimation_window": list(estimation)}
    if rows.empty:
        raise ValueError("no usable tag records (each needs a published date and a sentiment): "
                         f"skipped {nt.skipped or 'none'}")
    summary["first_day"] = str(rows["date"].min().date())
    summary["last_day"] = str(rows["date"].max().date())
    named = sorted(set(rows["target"]) - {MARKET})
    summary["assets_with_prices"] = [a for a in named if a in close.columns]
    summary["assets_without_prices"] = [a for a in named if a not in close.columns]

    arts = forward_returns(rows, close, horizons, benchmark)
    rets = close / close.shift(1) - 1

    # daily news per target, with the day's return
    daily_frames, corr_rows, granger_rows = [], [], []
    targets = [MARKET] + summary["assets_with_prices"]
    for t in targets:
        sym = benchmark if t == MARKET else t
        d = daily_news(rows, t)
        d["return"] = rets[sym].reindex(d.index) if sym in rets.columns else np.nan
        d = d.drop(columns=["score_sum"])
        daily_frames.append(d.reset_index().assign(asset=t))
        s = d["mean_score"].fillna(0.0)  # no news that day: neutral
        r = d["return"]
        both = pd.concat({"s": s, "r": r}, axis=1).dropna()
        corr = lambda a, b: _clean(float(a.corr(b))) if len(a.dropna()) > 2 else None
        corr_rows.append({"asset": t, "n_days": len(both), "news_days": int((d["count"] > 0).sum()),
                          "corr_same_day": corr(both["s"], both["r"]),
                          "spearman_same_day": _clean(float(both["s"].corr(both["r"], method="spearman")))
                          if len(both) > 2 else None,
                          "corr_sentiment_leads": corr(s, r.shift(-1)),
                          "corr_returns_lead": corr(r, s.shift(-1))})
        for g in granger(s.where(r.notna()), r, max_lag=max_lag, min_obs=min_obs):
            granger_rows.append({"asset": t, **g})
    daily = pd.concat(daily_frames, ignore_index=True)[["date", "asset", "count", "mean_score", "bullish",
                                                        "bearish", "stress", "return"]]
    study, ev_summary = event_study(rows, close, window=window, abnormal=abnormal,
                                    benchmark=benchmark, estimation=estimation)
    moves, msum = check_moves(records, close)
    summary["moves"] = msum
    summary["events"] = int(ev_summary["n"].sum()) if len(ev_summary) else 0
    arts = arts.assign(causes=arts["causes"].map(lambda c: ",".join(c)))
    granger_df = pd.DataFrame(granger_rows, columns=["asset", "direction", "lag", "f", "p", "n", "p_by_lag", "reason"])
    return LinkReport(daily=daily, articles=arts, event_study=study, event_summary=ev_summary,
                      correlations=pd.DataFrame(corr_rows), granger=granger_df, moves=moves, summary=summary)
