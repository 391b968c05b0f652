"""Tag records → tables of news by day: the bridge between the tagger's output and prices.

An article counts once for the market (with its own sentiment) and once for every asset it
names (with that asset's sentiment). Records that cannot be used (no ``published`` date, no
sentiment) are skipped and counted, never fatal.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from ..reasons import reason
from ..schema import parse_iso
from ..tagfiles import read_tags

MARKET = "MARKET"
ARTICLE_COLUMNS = ["id", "date", "published", "target", "score", "label", "causes", "stress"]

TagsLike: TypeAlias = str | Path | Iterable[Mapping[str, Any]] | pd.DataFrame


class TagDataError(ValueError):
    """Tag records that cannot be read at all (a missing file, an unknown format)."""


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    yield {"__error__": "invalid JSON line"}


def iter_tags(source: TagsLike) -> Iterator[Mapping[str, Any]]:
    """Tag records from a .jsonl/.csv/.parquet file or from an iterable of dicts.

    JSON Lines are read here so that broken lines are reported (as ``{"__error__": …}``) rather
    than silently dropped; CSV and Parquet go through :func:`sentiment.tagfiles.read_tags`."""
    if isinstance(source, pd.DataFrame):
        yield from source.to_dict("records")
        return
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise TagDataError(f"{path}: no such tags file")
        if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
            yield from _read_jsonl(path)
            return
        try:
            yield from read_tags(path)
        except (ValueError, OSError) as exc:
            raise TagDataError(f"{path}: cannot read tag records ({reason(exc)})") from None
        return
    yield from source


def to_float(value: Any) -> float | None:
    """A finite float, or None for anything else (None, text, NaN, inf)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _score(d: Any) -> tuple[float, str] | None:
    """(score, label) of a Score dict, or None when it is unusable."""
    if not isinstance(d, Mapping):
        return None
    s = to_float(d.get("score"))
    if s is None:
        probs = d.get("probs")
        if not isinstance(probs, Mapping):
            return None
        bull, bear = to_float(probs.get("bullish", 0)), to_float(probs.get("bearish", 0))
        if bull is None or bear is None:
            return None
        s = bull - bear
    label = d.get("label")
    if label not in ("bearish", "neutral", "bullish"):
        label = "bullish" if s > 0.2 else "bearish" if s < -0.2 else "neutral"
    return max(-1.0, min(1.0, s)), str(label)


def stress_points(record: Mapping[str, Any], config: Mapping[str, Any] | None) -> float:
    """Market stress an article names: points for stress causes (unless the cause reads
    bullish) plus log-scaled points for liquidation / hack figures in USD."""
    if not config:
        return 0.0
    pts = 0.0
    cause_w = config.get("causes", {})
    for c in record.get("causes") or []:
        if not isinstance(c, Mapping):
            continue
        w = cause_w.get(c.get("type"))
        sc = _score(c.get("sentiment"))
        if w and not (sc and sc[1] == "bullish"):
            pts += float(w)
    fig_w = config.get("figures", {})
    for f in record.get("figures") or []:
        if not isinstance(f, Mapping) or f.get("kind") not in fig_w:
            continue
        if str(f.get("unit", "USD")).upper() != "USD":
            continue
        value = to_float(f.get("value"))
        if value is None:
            continue
        spec = fig_w[f["kind"]]
        pts += float(spec.get("weight", 1.0)) * math.log10(1 + abs(value) / float(spec.get("reference", 1e8)))
    return pts


@dataclass
class NewsTable:
    """One row per (article, target); ``skipped`` counts unusable records by reason."""

    rows: pd.DataFrame
    records: list[Mapping[str, Any]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def n_articles(self) -> int:
        return int(self.rows.loc[self.rows["target"] == MARKET, "id"].nunique()) if len(self.rows) else 0


def news_table(tags: TagsLike, stress_config: Mapping[str, Any] | None = None,
               keep_records: bool = False) -> NewsTable:
    """Flatten tag records into article × target rows (target = ``MARKET`` or an asset symbol)."""
    rows: list[dict[str, Any]] = []
    kept: list[Mapping[str, Any]] = []
    skipped: dict[str, int] = {}

    def skip(reason: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1

    for i, rec in enumerate(iter_tags(tags)):
        if not isinstance(rec, Mapping) or "__error__" in rec:
            skip(rec.get("__error__", "not a record") if isinstance(rec, Mapping) else "not a record")
            continue
        published = parse_iso(rec.get("published")) if isinstance(rec.get("published"), str) else None
        if published is None:
            skip("no published date")
            continue
        sc = _score(rec.get("sentiment"))
        if sc is None:
            skip("no sentiment")
            continue
        day = pd.Timestamp(published.date())
        rid = str(rec.get("id") or f"#{i}")
        causes = tuple(sorted({str(c["type"]) for c in rec.get("causes") or []
                               if isinstance(c, Mapping) and isinstance(c.get("type"), str)}))
        stress = stress_points(rec, stress_config)
        base = {"id": rid, "date": day, "published": pd.Timestamp(published).tz_convert(None),
                "causes": causes, "stress": stress}
        rows.append({**base, "target": MARKET, "score": sc[0], "label": sc[1]})
        seen: set[str] = set()
        for a in rec.get("assets") or []:
            if not isinstance(a, Mapping) or not isinstance(a.get("symbol"), str):
                continue
            sym = a["symbol"].upper().strip()
            if not sym or sym in seen or sym == MARKET:
                continue
            seen.add(sym)
            asc = _score(a.get("sentiment")) or sc
            rows.append({**base, "target": sym, "score": asc[0], "label": asc[1]})
        if keep_records:
            kept.append(rec)
    df = pd.DataFrame(rows, columns=ARTICLE_COLUMNS)
    if len(df):
        df = df.drop_duplicates(["id", "target"], keep="first").reset_index(drop=True)
    return NewsTable(df, kept, skipped)


def daily_news(rows: pd.DataFrame, target: str = MARKET, start: Any = None, end: Any = None) -> pd.DataFrame:
    """Per calendar day for one target: ``count``, ``score_sum``, ``mean_score``,
    ``bullish``/``bearish`` shares and ``stress`` (summed points). Days without news have
    count 0 and NaN mean; the calendar spans the target's news (or ``start``..``end``)."""
    sub = rows[rows["target"] == target] if len(rows) else rows
    cols = ["count", "score_sum", "mean_score", "bullish", "bearish", "stress"]
    if sub is None or len(sub) == 0:
        idx = pd.date_range(start, end, freq="D") if start is not None and end is not None else pd.DatetimeIndex([])
        out = pd.DataFrame(index=idx, columns=cols, dtype=float)
        out["count"] = 0.0
        out.index.name = "date"
        return out
    g = sub.groupby("date")
    out = pd.DataFrame({
        "count": g.size().astype(float),
        "score_sum": g["score"].sum(),
        "mean_score": g["score"].mean(),
        "bullish": g["label"].apply(lambda s: float(np.mean(s == "bullish"))),
        "bearish": g["label"].apply(lambda s: float(np.mean(s == "bearish"))),
        "stress": g["stress"].sum(),
    })
    lo = pd.Timestamp(start) if start is not None else out.index.min()
    hi = pd.Timestamp(end) if end is not None else out.index.max()
    out = out.reindex(pd.date_range(lo, hi, freq="D"))
    out["count"] = out["count"].fillna(0.0)
    out["score_sum"] = out["score_sum"].fillna(0.0)
    out["stress"] = out["stress"].fillna(0.0)
    out.index.name = "date"
    return out
