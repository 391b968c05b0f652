"""Tag records flattened into rows: the tables every exporter and DataFrame shares.

A tag record (``TaggedArticle.to_dict()``) is nested; its tables are flat. The article table
has one row per article (the main fields as columns, the whole record as JSON in ``record``:
what the CSV and Parquet files hold); every other table has one row per thing found
(``assets``, ``causes``, ``sentences``, ``moves``…), keyed by the article's ``id`` and
``published`` so the tables join on ``id``.

This module works on plain dicts and imports nothing else from the package, so the records
module, the file writers and :mod:`sentiment.frames` can all build on it.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

#: Columns of the flattened one-row-per-article table (CSV/Parquet).
ARTICLE_COLUMNS = [
    "schema", "id", "url", "title", "source", "published",
    "label", "score", "p_bearish", "p_neutral", "p_bullish",
    "assets", "causes", "sectors", "n_moves", "n_levels", "n_figures", "n_sentences", "record",
]
#: Columns of the per-asset and per-cause tables written beside a CSV or Parquet file.
ASSET_COLUMNS = ["id", "published", "symbol", "name", "mentions", "label", "score"]
CAUSE_COLUMNS = ["id", "published", "type", "evidence", "label", "score"]

_KEY = ["id", "published"]
_PROBS = ["p_bearish", "p_neutral", "p_bullish"]

#: The columns of each DataFrame table (:mod:`sentiment.frames`), in order.
COLUMNS: dict[str, list[str]] = {
    "articles": [c for c in ARTICLE_COLUMNS if c != "record"],
    "assets": list(ASSET_COLUMNS),
    "causes": list(CAUSE_COLUMNS),
    "sentences": _KEY + ["index", "start", "end", "text", "label", "score", *_PROBS, "assets", "causes"],
    "moves": _KEY + ["asset", "direction", "change_pct", "from_price", "to_price", "change_abs", "text"],
    "levels": _KEY + ["asset", "price", "kind", "text"],
    "figures": _KEY + ["kind", "value", "unit", "asset", "text"],
    "sectors": _KEY + ["name", "change_pct", "text"],
    "entities": _KEY + ["text", "label"],
}
KINDS: tuple[str, ...] = tuple(COLUMNS)
_FLOATS = {"score", "change_pct", "from_price", "to_price", "change_abs", "price", "value", *_PROBS}


# --------------------------------------------------------------------------- rows
def flatten(record: Mapping[str, Any]) -> dict[str, Any]:
    """One row per article: the main fields as columns, the whole record as JSON in ``record``."""
    s = record.get("sentiment") or {}
    probs = s.get("probs") or {}
    return {
        "schema": record.get("schema"), "id": record.get("id"), "url": record.get("url"),
        "title": record.get("title"), "source": record.get("source"), "published": record.get("published"),
        "label": s.get("label"), "score": s.get("score"),
        "p_bearish": probs.get("bearish"), "p_neutral": probs.get("neutral"), "p_bullish": probs.get("bullish"),
        "assets": " ".join(str(a.get("symbol")) for a in record.get("assets") or []),
        "causes": " ".join(str(c.get("type")) for c in record.get("causes") or []),
        "sectors": " ".join(str(x.get("name")) for x in record.get("sectors") or []),
        "n_moves": len(record.get("moves") or []), "n_levels": len(record.get("levels") or []),
        "n_figures": len(record.get("figures") or []), "n_sentences": len(record.get("sentences") or []),
        "record": json.dumps(record, ensure_ascii=False),
    }


def asset_rows(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (article, asset) with the asset's sentiment."""
    rows = []
    for r in records:
        for a in r.get("assets") or []:
            s = a.get("sentiment") or {}
            rows.append({"id": r.get("id"), "published": r.get("published"), "symbol": a.get("symbol"),
                         "name": a.get("name"), "mentions": a.get("mentions"), "label": s.get("label"),
                         "score": s.get("score")})
    return rows


def cause_rows(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (article, cause) with its evidence and sentiment."""
    rows = []
    for r in records:
        for c in r.get("causes") or []:
            s = c.get("sentiment") or {}
            rows.append({"id": r.get("id"), "published": r.get("published"), "type": c.get("type"),
                         "evidence": c.get("evidence"), "label": s.get("label"), "score": s.get("score")})
    return rows


def _probs(score: Mapping[str, Any] | None) -> dict[str, Any]:
    probs = (score or {}).get("probs") or {}
    return {f"p_{k}": probs.get(k) for k in ("bearish", "neutral", "bullish")}


def sentence_rows(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (article, sentence): offsets, text, label, score, probabilities, and the
    assets and causes the sentence names (space separated)."""
    rows = []
    for r in records:
        for i, s in enumerate(r.get("sentences") or []):
            score = s.get("sentiment") or {}
            rows.append({"id": r.get("id"), "published": r.get("published"), "index": i,
                         "start": s.get("start"), "end": s.get("end"), "text": s.get("text"),
                         "label": score.get("label"), "score": score.get("score"), **_probs(score),
                         "assets": " ".join(s.get("assets") or []), "causes": " ".join(s.get("causes") or [])})
    return rows


def item_rows(records: Iterable[Mapping[str, Any]], kind: str) -> list[dict[str, Any]]:
    """One row per (article, item) of a list field without a score: moves, levels, figures,
    sectors or entities; the item's fields become columns."""
    columns = COLUMNS[kind][len(_KEY):]
    return [{"id": r.get("id"), "published": r.get("published"), **{c: item.get(c) for c in columns}}
            for r in records for item in (r.get(kind) or [])]


def rows(records: list[Mapping[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The rows of table ``kind`` (one of :data:`KINDS`) for ``records``."""
    if kind == "articles":
        return [{c: row[c] for c in COLUMNS["articles"]} for row in map(flatten, records)]
    if kind == "assets":
        return asset_rows(records)
    if kind == "causes":
        return cause_rows(records)
    if kind == "sentences":
        return sentence_rows(records)
    return item_rows(records, kind)


# --------------------------------------------------------------------------- DataFrames
def frame(table_rows: list[dict[str, Any]], kind: str) -> pd.DataFrame:
    """Rows of table ``kind`` as a DataFrame with its columns in order: ``published`` as UTC
    datetimes, numbers as floats; no rows still give the columns."""
    import pandas as pd

    df = pd.DataFrame(table_rows, columns=COLUMNS[kind])
    df["published"] = pd.to_datetime(df["published"], utc=True, errors="coerce", format="ISO8601")
    for col in _FLOATS.intersection(df.columns):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    return df


def check_kinds(kinds: Iterable[str]) -> list[str]:
    """``kinds`` as a list; a ValueError naming the first one that is not a table."""
    kinds = list(kinds)
    unknown = [k for k in kinds if k not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown table {unknown[0]!r}: choose from {', '.join(KINDS)}")
    return kinds


def record_frames(records: list[Mapping[str, Any]], kinds: Iterable[str] = KINDS) -> dict[str, pd.DataFrame]:
    """The DataFrame tables of ``records`` by kind (default: all of :data:`KINDS`)."""
    return {kind: frame(rows(records, kind), kind) for kind in check_kinds(kinds)}
