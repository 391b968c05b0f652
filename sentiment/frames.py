"""Tag records as pandas DataFrames, one table per kind of thing the tagger finds.

>>> from sentiment.frames import to_frames                     # doctest: +SKIP
>>> frames = to_frames("out/tags.jsonl")                       # doctest: +SKIP
>>> frames["assets"].groupby("symbol")["score"].mean()         # doctest: +SKIP

Every table has the article's ``id`` and ``published`` (UTC datetimes) so the tables join on
``id``; the article table is the flattened row the CSV/Parquet exporters write (without the
``record`` JSON column), the asset and cause tables are the exporters' per-asset and per-cause
tables (the rows and columns are :mod:`sentiment.tables`). Empty input gives empty tables that
still have their columns, so code written against them does not break.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sentiment.schema import TaggedArticle
from sentiment.tables import COLUMNS, KINDS, check_kinds, record_frames
from sentiment.tagfiles import read_tags

__all__ = ["COLUMNS", "KINDS", "TagsInput", "iter_records", "to_frame", "to_frames"]

#: A tag record, a TaggedArticle, many of either, or a tags file / SQLite store to read them from.
TagsInput = TaggedArticle | Mapping[str, Any] | Iterable[TaggedArticle | Mapping[str, Any]] | str | Path


def iter_records(tags: TagsInput) -> Iterator[dict[str, Any]]:
    """Tag records (dicts) from a record, a TaggedArticle, an iterable of either, or a path to
    a tags file (JSON Lines, CSV, Parquet) or a SQLite store."""
    if isinstance(tags, (str, Path)):
        path = Path(tags)
        if not path.exists():
            raise FileNotFoundError(f"no such tags file or store: {path}")
        for n, record in enumerate(read_tags(path), 1):
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


def to_frames(tags: TagsInput, kinds: Iterable[str] = KINDS) -> dict[str, pd.DataFrame]:
    """The tables of ``tags`` by kind (default: all of :data:`KINDS`): ``articles``, ``assets``,
    ``causes``, ``sentences``, ``moves``, ``levels``, ``figures``, ``sectors``, ``entities``."""
    kinds = check_kinds(kinds)
    return record_frames(list(iter_records(tags)), kinds)


def to_frame(tags: TagsInput, kind: str = "articles") -> pd.DataFrame:
    """One table of ``tags`` (see :func:`to_frames`)."""
    return to_frames(tags, [kind])[kind]
