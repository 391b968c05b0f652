"""Tag files: the formats tag records are kept in, read back and converted between.

A tags file is JSON Lines (one record per line), CSV or Parquet (the one-row-per-article
table of :mod:`sentiment.tables`, with each whole record as JSON in its ``record`` column), or
a SQLite store (:class:`sentiment.store.Store`). :func:`read_tags` reads any of them back as
the records that were written; :func:`export` copies records into another one;
:func:`write_tables` writes a CSV or Parquet file with its per-asset and per-cause tables.
Every file is written atomically (temp file + rename). Writing records while a run produces
them, resumably, is :mod:`sentiment.sinks`.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sentiment.atomic import atomic_write
from sentiment.store import Store
from sentiment.tables import (
    ARTICLE_COLUMNS,
    ASSET_COLUMNS,
    CAUSE_COLUMNS,
    asset_rows,
    cause_rows,
    flatten,
)

FORMATS = ("jsonl", "csv", "parquet")
# Suffixes taken to name a SQLite store (any file that starts with SQLite's header is one too).
STORE_SUFFIXES = (".sqlite", ".sqlite3", ".db")


def format_for(path: str | Path, fmt: str | None = None) -> str:
    """The file format: explicit ``fmt``, else from the suffix (default JSON Lines)."""
    if fmt:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"jsonl": "jsonl", "ndjson": "jsonl", "json": "jsonl", "csv": "csv",
            "parquet": "parquet", "pq": "parquet"}.get(suffix, "jsonl")


def is_store(path: str | Path) -> bool:
    """Whether ``path`` names a SQLite store: by its suffix, or a file that starts with SQLite's header."""
    path = Path(path)
    if path.suffix.lower() in STORE_SUFFIXES:
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


# --------------------------------------------------------------------------- reading
def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a JSON Lines file; a torn line (from a killed writer) is skipped."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn line from a killed writer: it is re-done on resume


def _not_tags(path: Path, columns: list[str]) -> ValueError:
    shown = ", ".join(columns[:8]) + (", …" if len(columns) > 8 else "")
    return ValueError(f"{path} is not a tags table: it has no 'record' column (columns: {shown})")


def read_tags(path: str | Path, fmt: str | None = None) -> Iterator[dict[str, Any]]:
    """Read tag records back from JSON Lines, CSV, Parquet or a SQLite store (the same records
    that were written). A CSV or Parquet file without the ``record`` column (a per-asset table,
    a price file…) is a ValueError, not an empty result."""
    path = Path(path)
    if fmt is None and is_store(path):
        with Store(path) as db:
            yield from db.tags()
        return
    fmt = format_for(path, fmt)
    if fmt == "jsonl":
        yield from read_jsonl(path)
        return
    if fmt == "csv":
        csv.field_size_limit(2**31 - 1)
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is not None and "record" not in reader.fieldnames:
                raise _not_tags(path, list(reader.fieldnames))
            for row in reader:
                if row.get("record"):
                    yield json.loads(row["record"])
        return
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    if "record" not in names:
        raise _not_tags(path, names)
    table = pq.read_table(path, columns=["record"])
    for value in table.column("record").to_pylist():
        if value:
            yield json.loads(value)


# --------------------------------------------------------------------------- tables
def _write_rows(rows: list[dict[str, Any]], columns: list[str], path: Path, fmt: str) -> None:
    with atomic_write(path) as tmp:
        if fmt == "csv":
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=columns)
                writer.writeheader()
                writer.writerows(rows)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pylist(rows) if rows else pa.table({c: pa.array([], pa.string()) for c in columns})
            pq.write_table(table, tmp)


def write_table(records: list[dict[str, Any]], path: str | Path, fmt: str) -> None:
    """Write the one-row-per-article table atomically (temp file + rename)."""
    _write_rows([flatten(r) for r in records], ARTICLE_COLUMNS, Path(path), fmt)


def write_tables(records: list[dict[str, Any]], path: str | Path, fmt: str | None = None) -> list[Path]:
    """The article table at ``path`` plus ``<stem>.assets.<ext>`` and ``<stem>.causes.<ext>``."""
    path = Path(path)
    fmt = format_for(path, fmt)
    if fmt == "jsonl":
        raise ValueError("write_tables writes csv or parquet")
    write_table(records, path, fmt)
    written = [path]
    for name, rows, cols in (("assets", asset_rows(records), ASSET_COLUMNS),
                             ("causes", cause_rows(records), CAUSE_COLUMNS)):
        target = path.with_name(f"{path.stem}.{name}{path.suffix}")
        _write_rows(rows, cols, target, fmt)
        written.append(target)
    return written


# --------------------------------------------------------------------------- export
def export(tags: str | Path | Iterable[dict[str, Any]], to: str | Path, fmt: str | None = None, *,
           tables: bool = True) -> tuple[int, list[Path]]:
    """Copy tag records into another format: JSON Lines, CSV, Parquet or a SQLite store.

    ``tags`` is a tags file or store (read with :func:`read_tags`) or an iterable of records;
    ``to`` names the output and, through its suffix, the format (``fmt`` overrides it; a
    ``.sqlite``/``.sqlite3``/``.db`` path is a store). CSV and Parquet get the per-asset and
    per-cause tables beside them unless ``tables`` is False. Files are written atomically
    (temp file + rename) and replace an existing output; a store is added to (a record with
    the same id is replaced). Returns the number of records and the paths written.
    """
    to = Path(to)
    if isinstance(tags, (str, Path)):
        source = Path(tags)
        if not source.exists():
            raise FileNotFoundError(f"no such tags file or store: {source}")
        if to.exists() and source.resolve() == to.resolve():
            raise ValueError(f"cannot export {source} onto itself")
        records: Iterable[dict[str, Any]] = read_tags(source)
    else:
        records = tags
    if fmt is None and is_store(to):
        count = 0
        with Store(to) as db:
            for record in records:
                db.put_tag(record)
                count += 1
        return count, [to]
    fmt = format_for(to, fmt)
    if fmt == "jsonl":
        count = 0
        with atomic_write(to) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
        return count, [to]
    rows = list(records)
    if tables:
        return len(rows), write_tables(rows, to, fmt)
    write_table(rows, to, fmt)
    return len(rows), [to]
