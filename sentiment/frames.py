"""Tag records as pandas DataFrames, one table per kind of thing the tagger finds.

>>> from sentiment.frames import to_frames                     # doctest: +SKIP
>>> frames = to_frames("out/tags.jsonl")                       # doctest: +SKIP
>>> frames["assets"].groupby("symbol")["score"].mean()         # doctest: +SKIP

Every table has the article's ``id`` and ``published`` (UTC datetimes) so the tables join on
``id``; the article table is the flattened row the CSV/Parquet exporters write (without the
``record`` JSON column), the asset and cause tables are the exporters' per-asset and per-cause
tables (:func:`sentiment.sinks.asset_rows`, :func:`sentiment.sinks.cause_rows`). Empty input
gives empty tables that still have their columns, so code written against them does not break.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sentiment import sinks
from sentiment.schema import TaggedArticle

#: A tag record, a TaggedArticle, many of either, or a tags file / SQLite store to read them from.
TagsInput = TaggedArticle | Mapping[str, Any] | Iterable[TaggedArticle | Mapping[str, Any]] | str | Path

_KEY = ["id", "published"]
_PROBS = ["p_bearish", "p_neutral", "p_bullish"]

#: The columns of each table, in order.
COLUMNS: dict[str, list[str]] = {
    "articles": [c for c in sinks.ARTICLE_COLUMNS if c != "record"],
    "assets": list(sinks.ASSET_COLUMNS),
    "causes": list(sinks.CAUSE_COLUMNS),
    "sentences": _KEY + ["index", "start", "end", "text", "label", "score", *_PROBS, "assets", "causes"],
    "moves": _KEY + ["asset", "direction", "change_pct", "from_price", "to_price", "change_abs", "text"],
    "levels": _KEY + ["asset", "price", "kind", "text"],
    "figures": _KEY + ["kind", "value", "unit", "asset", "text"],
    "sectors": _KEY + ["name", "change_pct", "text"],
    "entities": _KEY + ["text", "label"],
}
KINDS: tuple[str, ...] = tuple(COLUMNS)
_FLOATS = {"score", "change_pct", "from_price", "to_price", "change_abs", "price", "value", *_PROBS}


# --------------------------------------------------------------------------- input
def iter_records(tags: TagsInput) -> Iterator[dict[str, Any]]:
    """Tag records (dicts) from a record, a TaggedArticle, an iterable of either, or a path to
    a tags file (JSON Lines, CSV, Parquet) or a SQLite store."""
    if isinstance(tags, (str, Path)):
        path = Path(tags)
        if not path.exists():
            raise FileNotFoundError(f"no such tags file or store: {path}")
        for n, record in enumerate(sinks.read_tags(path), 1):
            if not isinstance(record, Mapping):
                raise ValueError(f"{path}: record {n} is a {type(record).__name__}, not a tag record")  # noqa: TRY004
            yield dict(record)
        return
    if not isinstance(tags, (Mapping, TaggedArticle, Iterable)):
        raise TypeError(f"expected tag records, TaggedArticles or a path, got {type(tags).__name__}")
    items: Iterable[Any] = [tags] if isinstance(tags, (Mapping, TaggedArticle)) else tags
    for item in items:
        if isinstance(item, Mapping):
            yield dict(item)
        elif isinstance(item, TaggedArticle):
            yield item.to_dict()
        else:
            raise TypeError(f"expected tag records or TaggedArticles, got {type(item).__name__}")


# --------------------------------------------------------------------------- rows
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


def _rows(records: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    if kind == "articles":
        return [{c: row[c] for c in COLUMNS["articles"]} for row in map(sinks.flatten, records)]
    if kind == "assets":
        return sinks.asset_rows(records)
    if kind == "causes":
        return sinks.cause_rows(records)
    if kind == "sentences":
        return sentence_rows(records)
    return item_rows(records, kind)


def _frame(rows: list[dict[str, Any]], kind: str) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=COLUMNS[kind])
    df["published"] = pd.to_datetime(df["published"], utc=True, errors="coerce", format="ISO8601")
    for col in _FLOATS.intersection(df.columns):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    return df


# --------------------------------------------------------------------------- frames
def to_frames(tags: TagsInput, kinds: Iterable[str] = KINDS) -> dict[str, pd.DataFrame]:
    """The tables of ``tags`` by kind (default: all of :data:`KINDS`): ``articles``, ``assets``,
    ``causes``, ``sentences``, ``moves``, ``levels``, ``figures``, ``sectors``, ``entities``."""
    kinds = list(kinds)
    unknown = [k for k in kinds if k not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown table {unknown[0]!r}: choose from {', '.join(KINDS)}")
    records = list(iter_records(tags))
    return {kind: _frame(_rows(records, kind), kind) for kind in kinds}


def to_frame(tags: TagsInput, kind: str = "articles") -> pd.DataFrame:
    """One table of ``tags`` (see :func:`to_frames`)."""
    return to_frames(tags, [kind])[kind]
