"""Compare an index with a published one (alternative.me's Crypto Fear & Greed history).

Used by ``benchmarks/index_vs_alternative.py`` and the tests: rank and linear correlation,
mean absolute error and how often both put a day in the same band, each value paired with the
published value of the same date; :func:`agreement_intervals` adds block-bootstrap intervals.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .index import label_for, load_config


def load_published_index(path: str | Path) -> pd.DataFrame:
    """A published Fear & Greed history → columns ``date, value, label``.

    Accepts alternative.me-style CSVs (``Date,fng_value,fng_class`` or ``timestamp,value,
    value_classification``); columns are matched by name."""
    raw = pd.read_csv(path)
    cols = {c.strip().lower(): c for c in raw.columns}
    date = next((cols[c] for c in ("date", "timestamp", "time") if c in cols), None)
    value = next((cols[c] for c in ("fng_value", "value") if c in cols), None)
    label = next((cols[c] for c in ("fng_class", "value_classification", "classification") if c in cols), None)
    if date is None or value is None:
        missing = [n for n, c in (("Date", date), ("fng_value/value", value)) if c is None]
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; found {list(raw.columns)}")
    d = raw[date]
    dates = (pd.to_datetime(d, unit="s", utc=True) if pd.api.types.is_numeric_dtype(d)
             else pd.to_datetime(d, utc=True, format="mixed"))
    out = pd.DataFrame({"date": dates.dt.tz_localize(None).dt.normalize(),
                        "value": pd.to_numeric(raw[value], errors="coerce"),
                        "label": raw[label].astype(str).str.strip() if label else None})
    return out.dropna(subset=["date", "value"]).drop_duplicates("date").sort_values("date").reset_index(drop=True)


def agreement(index: pd.DataFrame, published: pd.DataFrame, start: Any = None, end: Any = None) -> dict[str, Any]:
    """Spearman, Pearson and band agreement between ``index`` and ``published`` on common days.

    ``same_band_published``: our label equals the published classification string;
    ``same_band_ours``: both values fall in the same band under our cut-offs."""
    m = _paired(index, published, start, end)
    res: dict[str, Any] = {"start": str(m["date"].min().date()) if len(m) else None,
                           "end": str(m["date"].max().date()) if len(m) else None, "n": len(m)}
    if len(m) < 3:
        return {**res, "spearman": None, "pearson": None, "same_band_published": None, "same_band_ours": None,
                "mean_abs_diff": None}
    bands = load_config()["bands"]
    pub_ours = m["value_pub"].map(lambda v: label_for(v, bands))
    res.update({
        "spearman": float(stats.spearmanr(m["value"], m["value_pub"])[0]),
        "pearson": float(stats.pearsonr(m["value"], m["value_pub"])[0]),
        "same_band_published": float((m["label"] == m["label_pub"]).mean()) if m["label_pub"].notna().all() else None,
        "same_band_ours": float((m["label"] == pub_ours).mean()),
        "mean_abs_diff": float((m["value"] - m["value_pub"]).abs().mean()),
    })
    return res


METRICS = ("spearman", "pearson", "mean_abs_diff", "same_band_published", "same_band_ours")


def _paired(index: pd.DataFrame, published: pd.DataFrame, start: Any, end: Any) -> pd.DataFrame:
    """The days ``index`` and ``published`` share, from ``start`` to ``end`` (either ``None``:
    open), in date order: ``date, value, label`` and the published ``value_pub, label_pub``."""
    a = index[["date", "value", "label"]].assign(date=lambda d: pd.to_datetime(d["date"]))
    m = a.merge(published, on="date", suffixes=("", "_pub"))
    if start is not None:
        m = m[m["date"] >= pd.Timestamp(start)]
    if end is not None:
        m = m[m["date"] <= pd.Timestamp(end)]
    return m.sort_values("date").reset_index(drop=True)


def _metrics(ours: np.ndarray, pub: np.ndarray, same_pub: np.ndarray | None, same_ours: np.ndarray) -> dict[str, float]:
    return {"spearman": float(stats.spearmanr(ours, pub)[0]), "pearson": float(np.corrcoef(ours, pub)[0, 1]),
            "mean_abs_diff": float(np.abs(ours - pub).mean()),
            "same_band_published": float(same_pub.mean()) if same_pub is not None else float("nan"),
            "same_band_ours": float(same_ours.mean())}


def agreement_intervals(index: pd.DataFrame, published: pd.DataFrame, start: Any = None, end: Any = None, *,
                        block: int = 30, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """:func:`agreement`'s figures with 95% moving-block bootstrap intervals: the paired days are
    resampled in runs of ``block`` consecutive days (keeping the days' autocorrelation), ``n_boot``
    times; each interval is the 2.5th-97.5th percentile. Returns ``{metric: (value, low, high)}``
    plus ``n``, ``start`` and ``end``."""
    m = _paired(index, published, start, end)
    res: dict[str, Any] = {"n": len(m), "start": str(m["date"].min().date()) if len(m) else None,
                           "end": str(m["date"].max().date()) if len(m) else None}
    if len(m) < max(3, block):
        return {**res, **{k: (None, None, None) for k in METRICS}}
    bands = load_config()["bands"]
    ours = m["value"].to_numpy(dtype=float)
    pub = m["value_pub"].to_numpy(dtype=float)
    same_pub = (m["label"] == m["label_pub"]).to_numpy() if m["label_pub"].notna().all() else None
    same_ours = (m["label"] == m["value_pub"].map(lambda v: label_for(v, bands))).to_numpy()
    point = _metrics(ours, pub, same_pub, same_ours)
    rng = np.random.default_rng(seed)
    n = len(m)
    starts = np.arange(n - block + 1)
    draws: dict[str, list[float]] = {k: [] for k in METRICS}
    for _ in range(n_boot):
        pick = rng.choice(starts, size=-(-n // block))
        idx = (pick[:, None] + np.arange(block)[None, :]).ravel()[:n]
        b = _metrics(ours[idx], pub[idx], None if same_pub is None else same_pub[idx], same_ours[idx])
        for k in METRICS:
            draws[k].append(b[k])
    for k in METRICS:
        lo, hi = np.nanpercentile(draws[k], [2.5, 97.5]) if np.isfinite(draws[k]).any() else (np.nan, np.nan)
        res[k] = (point[k], float(lo), float(hi))
    return res


def paired_difference(index_a: pd.DataFrame, index_b: pd.DataFrame, published: pd.DataFrame,
                      start: Any = None, end: Any = None, *, block: int = 30, n_boot: int = 1000,
                      seed: int = 0) -> dict[str, Any]:
    """How much better ``index_a`` tracks ``published`` than ``index_b`` on the days all three
    share: differences (a − b) of Spearman, MAE and the same-band share (published classes),
    each ``(value, low, high)`` with a 95% moving-block bootstrap interval that resamples the
    same days for both indexes."""
    a = _paired(index_a, published, start, end)
    b = _paired(index_b, published, start, end)
    m = a.merge(b[["date", "value", "label"]], on="date", suffixes=("", "_b"))
    res: dict[str, Any] = {"n": len(m)}
    keys = ("spearman", "mean_abs_diff", "same_band_published")
    if len(m) < max(3, block) or not m["label_pub"].notna().all():
        return {**res, **{k: (None, None, None) for k in keys}}
    pub = m["value_pub"].to_numpy(dtype=float)
    va, vb = m["value"].to_numpy(dtype=float), m["value_b"].to_numpy(dtype=float)
    sa, sb = (m["label"] == m["label_pub"]).to_numpy(), (m["label_b"] == m["label_pub"]).to_numpy()

    def diff(i: np.ndarray) -> dict[str, float]:
        return {"spearman": float(stats.spearmanr(va[i], pub[i])[0] - stats.spearmanr(vb[i], pub[i])[0]),
                "mean_abs_diff": float(np.abs(va[i] - pub[i]).mean() - np.abs(vb[i] - pub[i]).mean()),
                "same_band_published": float(sa[i].mean() - sb[i].mean())}

    n = len(m)
    point = diff(np.arange(n))
    rng = np.random.default_rng(seed)
    starts = np.arange(n - block + 1)
    draws: dict[str, list[float]] = {k: [] for k in keys}
    for _ in range(n_boot):
        idx = (rng.choice(starts, size=-(-n // block))[:, None] + np.arange(block)[None, :]).ravel()[:n]
        for k, v in diff(idx).items():
            draws[k].append(v)
    for k in keys:
        lo, hi = np.percentile(draws[k], [2.5, 97.5])
        res[k] = (point[k], float(lo), float(hi))
    return res
