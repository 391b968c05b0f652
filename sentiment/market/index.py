"""A daily 0-100 Fear & Greed style index from prices, news, or both.

Two recipes. The default, ``method="fitted"``, is the fitted price index of
:mod:`sentiment.market.fitted` (a ridge regression fitted to the published alternative.me index
over 2018-02..2022-12), each value explained by its components' contributions in index points;
news components, when tags are given, are blended in with their configured weights.
``method="weighted"`` is the hand-weighted index described below.

Alignment: the value dated D uses only what was known at 00:00 UTC of D, the bars up to D-1 and
the news published up to the end of D-1, as alternative.me dates its value D.

The hand-weighted index has seven components, each scored 0-100 from a raw input and explained (see
``market/data/index.toml`` for the formulas, windows and weights):

* prices: ``momentum`` (close vs its 90-day average), ``drawdown`` (below the 90-day high),
  ``volatility`` (downside vs upside volatility), ``volume`` (volume surge signed by direction);
* news: ``news_sentiment`` (against its own 20-day baseline), ``news_attention`` (news volume
  surge, signed by the day's sentiment), ``news_stress`` (liquidations, hacks and other stress
  causes named in the news).

The index is the weighted mean of the components available on a day, weights re-normalised over
them, so it works with prices only, news only, or both. Every rolling window ends on the day
before the date it scores.

The market index uses BTC prices by default (as alternative.me does) and all articles' sentiment;
``market = "equal"`` or ``"cap"`` in the config builds a basket of every loaded symbol instead.
Per-asset indices (``asset="ETH"``) use that asset's prices and its own sentiment in articles.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .fitted import COMPONENT_DESCRIPTION, Recipe, apply, load_recipe
from .news import MARKET, TagsLike, daily_news, news_table
from .prices import PriceDataError, PricesLike, basket, load_prices, series_for

CONFIG_PATH = Path(__file__).with_name("data") / "index.toml"
PRICE_COMPONENTS = ("momentum", "drawdown", "volatility", "volume")
NEWS_COMPONENTS = ("news_sentiment", "news_attention", "news_stress")
COMPONENTS = PRICE_COMPONENTS + NEWS_COMPONENTS
METHODS = ("fitted", "weighted")
ONE_DAY = pd.Timedelta(days=1)
# What each component's raw input is, for --explain.
RAW_DESCRIPTION = {
    "momentum": "volatility-scaled gap of the close to its moving average (z)",
    "drawdown": "volatility-scaled distance below the window's high (z, <= 0)",
    "volatility": "ln(upside / downside semi-deviation)",
    "volume": "volume z-score signed by the 7-day price change",
    "news_sentiment": "mean article sentiment over the smoothing window (shrunk), P(bull) - P(bear)",
    "news_attention": "articles that day",
    "news_stress": "stress points per article (liquidations, hacks, stress causes)",
}


# --------------------------------------------------------------------------- config & bands
def load_config(config: str | Path | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The index configuration: the packaged ``index.toml``, a path to another TOML file, or a
    mapping whose keys override the packaged defaults (component tables are merged)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    with open(CONFIG_PATH, "rb") as fh:
        base = tomllib.load(fh)
    if config is None:
        return base
    if isinstance(config, (str, Path)):
        with open(config, "rb") as fh:
            override: Mapping[str, Any] = tomllib.load(fh)
    else:
        override = config
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if key == "components" and isinstance(value, Mapping):
            for name, spec in value.items():
                if name not in merged["components"]:
                    raise ValueError(f"unknown index component {name!r} (known: {', '.join(COMPONENTS)})")
                merged["components"][name].update(spec)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def label_for(value: float, bands: list[Mapping[str, Any]] | None = None) -> str | None:
    """Band label of a 0-100 value (rounded to an integer first): Extreme Fear 0-24, Fear 25-44,
    Neutral 45-55, Greed 56-75, Extreme Greed 76-100 by default."""
    if value is None or not math.isfinite(float(value)):
        return None
    bands = bands or load_config()["bands"]
    v = int(np.clip(np.floor(float(value) + 0.5), 0, 100))
    for b in bands:
        if b["low"] <= v <= b["high"]:
            return str(b["label"])
    return None


# --------------------------------------------------------------------------- helpers
def _logistic(z: pd.Series, slope: float) -> pd.Series:
    return 100.0 / (1.0 + np.exp(-slope * z.astype(float)))


def _past_baseline(x: pd.Series, window: int, min_periods: int, floor: float) -> tuple[pd.Series, pd.Series]:
    """Mean and (floored) standard deviation of the previous ``window`` days, excluding today."""
    past = x.shift(1).rolling(window, min_periods=min_periods)
    return past.mean(), past.std().clip(lower=floor)


# --------------------------------------------------------------------------- price components
def price_components(px: pd.DataFrame, cfg: Mapping[str, Any]) -> tuple[dict[str, pd.Series], dict[str, pd.Series], dict[str, str]]:
    """(scores, raw inputs, skipped reasons) of the price components for one daily OHLCV frame."""
    comp = cfg["components"]
    close = px["close"].astype(float)
    r = np.log(close).diff()
    scores: dict[str, pd.Series] = {}
    raws: dict[str, pd.Series] = {}
    skipped: dict[str, str] = {}

    def sigma(window: int) -> pd.Series:
        return r.rolling(window, min_periods=max(10, window // 3)).std()

    c = comp["momentum"]
    w = int(c["window"])
    z = np.log(close / close.rolling(w, min_periods=w).mean()) / (sigma(int(c["vol_window"])) * math.sqrt(w))
    raws["momentum"], scores["momentum"] = z, _logistic(z, float(c["slope"]))

    c = comp["drawdown"]
    w = int(c["window"])
    dd = close / close.rolling(w, min_periods=w).max() - 1.0
    z = dd / (sigma(int(c["vol_window"])) * math.sqrt(w))
    raws["drawdown"], scores["drawdown"] = z, (2 * _logistic(z, float(c["slope"]))).clip(0, 100)

    c = comp["volatility"]
    w = int(c["window"])
    up = np.sqrt((r.clip(lower=0) ** 2).rolling(w, min_periods=w).mean())
    down = np.sqrt((r.clip(upper=0) ** 2).rolling(w, min_periods=w).mean())
    z = np.log((up + 1e-4) / (down + 1e-4))
    raws["volatility"], scores["volatility"] = z, _logistic(z, float(c["slope"]))

    c = comp["volume"]
    vol = px["volume"].astype(float)
    if vol.notna().sum() == 0 or (vol.dropna() <= 0).all():
        skipped["volume"] = "no volume in the prices"
    else:
        sw, bw = int(c["short_window"]), int(c["baseline"])
        lv = np.log(vol.where(vol > 0)).rolling(sw, min_periods=max(1, sw // 2)).mean()
        mu, sd = lv.rolling(bw, min_periods=bw // 2).mean(), lv.rolling(bw, min_periods=bw // 2).std()
        direction = np.sign(np.log(close / close.shift(sw)))
        z = (lv - mu) / sd.replace(0, np.nan) * direction
        raws["volume"], scores["volume"] = z, _logistic(z, float(c["slope"]))
    return scores, raws, skipped


# --------------------------------------------------------------------------- news components
def news_components(day: pd.DataFrame, cfg: Mapping[str, Any]) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    """Scores and raw inputs of the news components from a :func:`daily_news` table."""
    comp = cfg["components"]
    n = day["count"].astype(float)
    scores: dict[str, pd.Series] = {}
    raws: dict[str, pd.Series] = {}

    c = comp["news_sentiment"]
    w = int(c.get("smooth_days", 1))
    n_w = n.rolling(w, min_periods=1).sum()
    s = day["score_sum"].rolling(w, min_periods=1).sum() / (n_w + float(c["prior_articles"]))
    s = s.where(n_w > 0)
    mu, sd = _past_baseline(s.ffill(), int(c["baseline"]), int(c["min_periods"]), float(c["std_floor"]))
    lw = float(c["level_weight"])
    level = s / float(c["level_scale"])
    dev = ((s - mu) / sd).fillna(level)  # no baseline yet: the level alone
    z = lw * level + (1 - lw) * dev
    raws["news_sentiment"], scores["news_sentiment"] = s, _logistic(z, float(c["slope"]))

    c = comp["news_attention"]
    ln = np.log1p(n)
    mu, sd = _past_baseline(ln, int(c["baseline"]), int(c["min_periods"]), float(c["std_floor"]))
    z = ((ln - mu) / sd).fillna(0.0)
    direction = np.tanh(s.fillna(0.0) / float(c["direction_scale"]))
    scores["news_attention"] = 50 + 50 * np.tanh(float(c["slope"]) * z.clip(lower=0)) * direction
    raws["news_attention"] = n

    c = comp["news_stress"]
    st = day["stress"] / (n + float(c["prior_articles"]))
    st = st.where(n > 0)
    mu, sd = _past_baseline(st.ffill(), int(c["baseline"]), int(c["min_periods"]), float(c["std_floor"]))
    z = ((st - mu) / sd).fillna(st / float(c["std_floor"]))
    raws["news_stress"], scores["news_stress"] = st, 100 - _logistic(z, float(c["slope"]))
    return scores, raws


# --------------------------------------------------------------------------- the index
def _market_prices(prices: pd.DataFrame, market: str) -> tuple[pd.DataFrame, str]:
    m = str(market).strip()
    if m.lower() in ("equal", "cap"):
        return basket(prices, m.lower()), f"{m.lower()}-weighted basket of {prices['symbol'].nunique()} symbols"
    try:
        return series_for(prices, m), f"{m.upper()} prices"
    except PriceDataError as exc:
        raise PriceDataError(f"{exc}; the market series is {m.upper()} (set market = \"equal\" or "
                             f"\"cap\" in the config, or --market, to use a basket instead)") from None


def _price_series(prices: PricesLike, asset: str | None, cfg: Mapping[str, Any]) -> tuple[pd.DataFrame, str, str]:
    """(daily bars, description, asset column value) of the series the index is computed on."""
    table = load_prices(prices)
    if asset:
        target = asset.upper().strip()
        return series_for(table, target), f"{target} prices", target
    px, desc = _market_prices(table, cfg.get("market", "BTC"))
    name = str(cfg.get("market", "BTC")).strip().upper()
    return px, desc, (MARKET if name.lower() in ("equal", "cap") else name)


def _news_scores(tags: TagsLike, target: str, cfg: Mapping[str, Any]) -> tuple[
        dict[str, pd.Series], dict[str, pd.Series], dict[str, str], dict[str, Any]]:
    """(scores, raw inputs, skipped reasons, news info) of the news components, dated by the
    day after the news (the value dated D reads the news up to the end of D-1)."""
    nt = news_table(tags, cfg["components"]["news_stress"])
    info = {"articles": nt.n_articles, "skipped_records": nt.skipped}
    rows = nt.rows
    if len(rows) == 0 or (rows["target"] == target).sum() == 0:
        why = "no usable tag records" if len(rows) == 0 else f"no articles about {target}"
        return {}, {}, {c: why for c in NEWS_COMPONENTS}, info
    s, r = news_components(daily_news(rows, target), cfg)
    return _next_day(s), _next_day(r), {}, info


def _next_day(series: dict[str, pd.Series]) -> dict[str, pd.Series]:
    out = {}
    for k, v in series.items():
        v = v.copy()
        v.index = pd.DatetimeIndex(v.index).normalize() + ONE_DAY
        out[k] = v
    return out


def fear_greed_index(prices: PricesLike | None = None, tags: TagsLike | None = None, *,
                     asset: str | None = None,
                     config: str | Path | Mapping[str, Any] | None = None,
                     method: str = "fitted", recipe: str | Path | Recipe | None = None) -> pd.DataFrame:
    """Daily Fear & Greed style index: columns ``date, asset, value, label``, then the components.

    ``prices``: a CSV file, a folder of ``<SYMBOL>_daily.csv`` or a tidy price table; ``tags``: a
    tag-record file or iterable of records. Either may be ``None`` (prices-only / news-only).
    ``asset``: the index of one asset (its prices, its sentiment) instead of the market
    (BTC's prices and all articles). The value dated D uses what was known at 00:00 UTC of D.

    ``method="fitted"`` (default): ``baseline`` then ``contrib_<component>`` columns, each
    component's contribution in index points (``value`` is their sum plus ``baseline``, before
    rounding); ``recipe``: another recipe file from ``sentiment index fit``. Without prices
    there is nothing to fit: the news components of the weighted index are used.
    ``method="weighted"``: the hand-weighted index, one 0-100 score column per component.

    ``df.attrs`` says how it was built: ``method``, ``components`` (used), ``weights``,
    ``skipped`` ({component: reason}), ``raw`` ({"YYYY-MM-DD": {component: raw input}}),
    ``target``, ``market``, ``news`` (articles used, records skipped) and, fitted, ``recipe``.
    """
    if prices is None and tags is None:
        raise ValueError("fear_greed_index needs prices, tags, or both")
    if method not in METHODS:
        raise ValueError(f"unknown index method {method!r} (use {' or '.join(METHODS)})")
    cfg = load_config(config)
    if method == "fitted" and prices is not None:
        rec = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
        return _fitted_index(prices, tags, asset, cfg, rec)
    return _weighted_index(prices, tags, asset, cfg)


def _fitted_index(prices: PricesLike, tags: TagsLike | None, asset: str | None,
                  cfg: Mapping[str, Any], recipe: Recipe) -> pd.DataFrame:
    px, market_desc, name = _price_series(prices, asset, cfg)
    fit = apply(recipe, px["close"])
    if fit.empty:
        raise ValueError(f"no day of {market_desc} has the {len(recipe.names)} features of the fitted "
                         f"index (they need {recipe.history_days} days of closes)")
    used = recipe.components
    skipped: dict[str, str] = {}
    news_info: dict[str, Any] = {}
    news: dict[str, pd.Series] = {}
    if tags is not None:
        news, _, sk, news_info = _news_scores(tags, asset.upper().strip() if asset else MARKET, cfg)
        skipped.update(sk)
    else:
        skipped.update({c: "no tags given" for c in NEWS_COMPONENTS})
    news_used = [c for c in NEWS_COMPONENTS if c in news and news[c].notna().any()]
    # Prices weigh what the configured price components weigh together; news keeps its weights.
    w_price = sum(float(cfg["components"][c]["weight"]) for c in PRICE_COMPONENTS)
    w_news = {c: float(cfg["components"][c]["weight"]) for c in news_used}
    total = pd.Series(w_price, index=fit.index)
    value = fit["value"] * w_price
    baseline = fit["baseline"] * w_price
    news_cols: dict[str, pd.Series] = {}
    for c in news_used:
        sc = news[c].reindex(fit.index)
        avail = sc.notna()
        total = total + avail * w_news[c]
        value = value + sc.fillna(0.0) * w_news[c]
        baseline = baseline + avail * 50.0 * w_news[c]
        news_cols[c] = (sc - 50.0) * w_news[c]
    share = w_price / total
    out = pd.DataFrame({"date": fit.index, "asset": name})
    exact = (value / total).to_numpy()
    out["value"] = np.clip(np.floor(exact + 0.5), 0, 100).astype(int)
    out["label"] = [label_for(v, cfg["bands"]) for v in exact]
    out["baseline"] = (baseline / total).round(2).to_numpy()
    for c in used:
        out[f"contrib_{c}"] = (fit[c] * share).round(2).to_numpy()
    for c in news_used:
        out[f"contrib_{c}"] = (news_cols[c].fillna(0.0) / total).round(2).to_numpy()
    out = out.reset_index(drop=True)
    out.attrs.update({
        "method": "fitted",
        "components": used + news_used,
        "weights": {"prices": w_price, **w_news},
        "skipped": skipped,
        "raw": {d.strftime("%Y-%m-%d"): {"value": round(float(v), 4)} for d, v in zip(fit.index, exact)},
        "target": name,
        "market": market_desc,
        "news": news_info,
        "recipe": {k: recipe.info.get(k) for k in ("asset", "fit_start", "fit_end", "alpha", "credit")},
    })
    return out


def _weighted_index(prices: PricesLike | None, tags: TagsLike | None, asset: str | None,
                    cfg: Mapping[str, Any]) -> pd.DataFrame:
    """The hand-weighted index (see the module docstring)."""
    target = asset.upper().strip() if asset else MARKET
    scores: dict[str, pd.Series] = {}
    raws: dict[str, pd.Series] = {}
    skipped: dict[str, str] = {}
    market_desc = None

    if prices is not None:
        px, market_desc, _ = _price_series(prices, asset, cfg)
        s, r, sk = price_components(px, cfg)
        scores.update(_next_day(s))
        raws.update(_next_day(r))
        skipped.update(sk)
    else:
        skipped.update({c: "no prices given" for c in PRICE_COMPONENTS})

    news_info: dict[str, Any] = {}
    if tags is not None:
        s, r, sk, news_info = _news_scores(tags, target, cfg)
        scores.update(s)
        raws.update(r)
        skipped.update(sk)
    else:
        skipped.update({c: "no tags given" for c in NEWS_COMPONENTS})

    used = [c for c in COMPONENTS if c in scores and scores[c].notna().any()]
    for c in COMPONENTS:
        if c in scores and c not in used:
            spec = cfg["components"][c]
            need = max(int(spec.get(k, 0)) for k in ("window", "vol_window", "baseline", "min_periods"))
            skipped[c] = f"not enough history to score (needs about {need} days)"
    if not used:
        raise ValueError("no component could be scored: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    comp = pd.DataFrame({c: scores[c] for c in used})
    comp.index = pd.DatetimeIndex(comp.index).normalize()
    comp = comp.sort_index()
    weights = pd.Series({c: float(cfg["components"][c]["weight"]) for c in used})
    w_avail = comp.notna().mul(weights, axis=1)
    value = (comp.fillna(0.0) * weights).sum(axis=1) / w_avail.sum(axis=1).replace(0, np.nan)
    # A day is scored only when at least half of the configured weight is available (warm-up).
    value = value.where(w_avail.sum(axis=1) >= 0.5 * weights.sum())
    keep = value.notna()
    comp, value = comp[keep], value[keep]
    bands = cfg["bands"]
    out = pd.DataFrame({"date": comp.index, "asset": target, "value": value.round().astype(int).values,
                        "label": [label_for(v, bands) for v in value.values]})
    for c in used:
        out[c] = comp[c].round(2).values
    raw = pd.DataFrame({c: raws[c] for c in used})
    raw.index = pd.DatetimeIndex(raw.index).normalize()
    raw = raw.reindex(comp.index).astype(float).round(6)
    # plain Python values only: pandas compares attrs when frames are merged or concatenated
    raw_by_day = {d.strftime("%Y-%m-%d"): {c: (None if pd.isna(v) else float(v)) for c, v in row.items()}
                  for d, row in zip(raw.index, raw.to_dict("records"))}
    out.attrs.update({
        "method": "weighted",
        "components": used,
        "weights": (weights / weights.sum()).round(4).to_dict(),
        "skipped": skipped,
        "raw": raw_by_day,
        "target": target,
        "market": market_desc,
        "news": news_info,
    })
    return out


def explain(index: pd.DataFrame, date: Any) -> str:
    """Why the index has its value on ``date``. Fitted: the baseline and each component's
    contribution in index points (they add up to the value). Weighted: each component's score,
    raw input, weight (re-normalised over the components available that day) and contribution."""
    day = pd.Timestamp(date).normalize()
    rows = index[pd.to_datetime(index["date"]) == day]
    if rows.empty:
        lo, hi = pd.to_datetime(index["date"]).min(), pd.to_datetime(index["date"]).max()
        raise ValueError(f"no index value on {day.date()} (the index covers {lo.date()} to {hi.date()})")
    row = rows.iloc[0]
    if index.attrs.get("method") == "fitted":
        return _explain_fitted(index, row, day)
    used = [c for c in index.attrs.get("components", COMPONENTS) if c in index.columns]
    weights = index.attrs.get("weights", {})
    raw = index.attrs.get("raw")
    avail = [c for c in used if pd.notna(row[c])]
    wsum = sum(weights.get(c, 0) for c in avail) or 1.0
    who = index.attrs.get("target", MARKET)
    lines = [f"{who} Fear & Greed on {day.date()}: {int(row['value'])} ({row['label']})",
             f"{'component':<15} {'score':>6} {'weight':>7} {'contrib':>8}  raw input"]
    for c in used:
        if c not in avail:
            lines.append(f"{c:<15} {'-':>6} {'-':>7} {'-':>8}  not available this day")
            continue
        w = weights.get(c, 0) / wsum
        rv = (raw or {}).get(day.strftime("%Y-%m-%d"), {}).get(c)
        rv = float("nan") if rv is None else rv
        lines.append(f"{c:<15} {row[c]:6.1f} {w:7.3f} {row[c] * w:8.2f}  "
                     f"{rv:.4g} = {RAW_DESCRIPTION.get(c, '')}")
    lines.append(f"{'value':<15} {'':>6} {'':>7} {sum(row[c] * weights.get(c, 0) / wsum for c in avail):8.2f}")
    for c, why in index.attrs.get("skipped", {}).items():
        lines.append(f"not used: {c} ({why})")
    return "\n".join(lines)


def _explain_fitted(index: pd.DataFrame, row: pd.Series, day: pd.Timestamp) -> str:
    exact = index.attrs.get("raw", {}).get(day.strftime("%Y-%m-%d"), {}).get("value")
    parts = [c for c in index.attrs.get("components", []) if f"contrib_{c}" in index.columns]
    total = float(row["baseline"]) + sum(float(row[f"contrib_{c}"]) for c in parts)
    lines = [f"{row['asset']} Fear & Greed on {day.date()}: {int(row['value'])} ({row['label']})",
             f"{'component':<15} {'points':>7}  what it reads",
             f"{'baseline':<15} {float(row['baseline']):7.2f}  every feature at its fit-period mean, news at 50"]
    for c in parts:
        what = COMPONENT_DESCRIPTION.get(c) or f"{RAW_DESCRIPTION.get(c, '')}; news up to the day before"
        lines.append(f"{c:<15} {float(row[f'contrib_{c}']):+7.2f}  {what}")
    lines.append(f"{'value':<15} {total:7.2f}  baseline + contributions"
                 + (f" (unrounded value {exact:.2f})" if exact is not None else ""))
    for c, why in index.attrs.get("skipped", {}).items():
        lines.append(f"not used: {c} ({why})")
    return "\n".join(lines)
