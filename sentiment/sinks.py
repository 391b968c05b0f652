"""Where tag records go, and how they are read back: JSON Lines, CSV and Parquet.

One writer per format, all with the same small interface (``ids()``, ``write(records)``,
``close()``), chosen by :func:`open_sink` from the file suffix or an explicit format.

Resumable and crash-safe by design:

* JSON Lines is its own journal: whole lines are appended and flushed after every batch; a
  run that was killed leaves at most one partial last line, which the next run drops before
  appending. ``ids()`` lists what is already there, so a re-run skips those articles.
* CSV and Parquet cannot be appended safely, so their records go to a JSON Lines journal
  beside the output (``<out>.journal.jsonl``); ``close()`` writes the final file to a temp
  name and renames it into place (atomic), then removes the journal.

The CSV is flattened: one row per article (``articles``); ``write_tables`` adds the
per-asset and per-cause tables next to it.
"""
from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sentiment.atomic import atomic_write

FORMATS = ("jsonl", "csv", "parquet")

# Columns of the flattened one-row-per-article table (CSV/Parquet).
ARTICLE_COLUMNS = [
    "schema", "id", "url", "title", "source", "published",
    "label", "score", "p_bearish", "p_neutral", "p_bullish",
    "assets", "causes", "sectors", "n_moves", "n_levels", "n_figures", "n_sentences", "record",
]
# Columns of the per-asset and per-cause tables (see write_tables).
ASSET_COLUMNS = ["id", "published", "symbol", "name", "mentions", "label", "score"]
CAUSE_COLUMNS = ["id", "published", "type", "evidence", "label", "score"]
# Suffixes taken to name a SQLite store (any file that starts with SQLite's header is one too).
STORE_SUFFIXES = (".sqlite", ".sqlite3", ".db")


def format_for(path: str | Path, fmt: str | None = None) -> str:
    """The output format: explicit ``fmt``, else from the suffix (default JSON Lines)."""
    if fmt:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"jsonl": "jsonl", "ndjson": "jsonl", "json": "jsonl", "csv": "csv",
            "parquet": "parquet", "pq": "parquet"}.get(suffix, "jsonl")


# --------------------------------------------------------------------------- journal
def _repair_jsonl(path: Path) -> None:
    """Drop a partial last line left by a killed writer (bytes after the last newline)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        pos = size
        chunk = 65536
        while pos > 0:
            start = max(0, pos - chunk)
            fh.seek(start)
            data = fh.read(pos - start)
            idx = data.rfind(b"\n")
            if idx != -1:
                keep = start + idx + 1
                if keep != size:
                    fh.truncate(keep)
                return
            pos = start
        fh.truncate(0)


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn line from a killed writer: it is re-done on resume


class SinkBusy(RuntimeError):
    """Another run is writing the same output: two writers would interleave their records."""


def _lock(fh: Any, path: Path) -> None:
    """Hold an exclusive lock on an open output file for as long as it stays open (the OS drops
    it when the process ends, even when it is killed). POSIX only; elsewhere no guard."""
    try:
        import fcntl
    except ImportError:  # Windows
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise SinkBusy(f"{path} is being written by another run; wait for it to finish "
                       f"or choose another output file") from None


class JsonlSink:
    """Appends tag records as JSON Lines; the file is its own resume journal. One writer at a
    time: a second run on the same output fails with :class:`SinkBusy` and changes nothing."""

    def __init__(self, path: str | Path, *, resume: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115  (held until close())
        _lock(self._fh, self.path)  # before anything is repaired or truncated
        if resume:
            _repair_jsonl(self.path)
        else:
            self._fh.truncate(0)

    def ids(self) -> set[str]:
        """Ids of the records already written (what a resumed run skips)."""
        self._fh.flush()
        return {r["id"] for r in _read_jsonl(self.path) if "id" in r}

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        """Append records and make them durable (one batch = one flush + fsync)."""
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        if lines:
            self._fh.write(lines)
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> JsonlSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TableSink(JsonlSink):
    """CSV or Parquet: journal as JSON Lines, then write the table atomically on close."""

    def __init__(self, path: str | Path, fmt: str, *, resume: bool = True) -> None:
        self.final = Path(path)
        self.fmt = fmt
        super().__init__(self.final.with_name(self.final.name + ".journal.jsonl"), resume=resume)
        if resume and self.final.exists() and self.path.stat().st_size == 0:
            # A finished earlier run: its records seed the journal so a re-run adds only new ones.
            self.write(read_tags(self.final, fmt))

    def close(self) -> None:
        if self._fh.closed:
            return
        self._fh.flush()
        try:  # written while the journal's lock is still held: no other run can slip in
            write_table(list(_read_jsonl(self.path)), self.final, self.fmt)
        finally:
            super().close()
        self.path.unlink(missing_ok=True)


def open_sink(path: str | Path, fmt: str | None = None, *, resume: bool = True) -> JsonlSink:
    """A writer for ``path`` in ``fmt`` (or the format its suffix names)."""
    fmt = format_for(path, fmt)
    return JsonlSink(path, resume=resume) if fmt == "jsonl" else TableSink(path, fmt, resume=resume)


# --------------------------------------------------------------------------- tables
def flatten(record: dict[str, Any]) -> dict[str, Any]:
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


def asset_rows(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (article, asset) with the asset's sentiment."""
    rows = []
    for r in records:
        for a in r.get("assets") or []:
            s = a.get("sentiment") or {}
            rows.append({"id": r.get("id"), "published": r.get("published"), "symbol": a.get("symbol"),
                         "name": a.get("name"), "mentions": a.get("mentions"), "label": s.get("label"),
                         "score": s.get("score")})
    return rows


def cause_rows(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (article, cause) with its evidence and sentiment."""
    rows = []
    for r in records:
        for c in r.get("causes") or []:
            s = c.get("sentiment") or {}
            rows.append({"id": r.get("id"), "published": r.get("published"), "type": c.get("type"),
                         "evidence": c.get("evidence"), "label": s.get("label"), "score": s.get("score")})
    return rows


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


# --------------------------------------------------------------------------- readers
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


def _not_tags(path: Path, columns: list[str]) -> ValueError:
    shown = ", ".join(columns[:8]) + (", …" if len(columns) > 8 else "")
    return ValueError(f"{path} is not a tags table: it has no 'record' column (columns: {shown})")


def read_tags(path: str | Path, fmt: str | None = None) -> Iterator[dict[str, Any]]:
    """Read tag records back from JSON Lines, CSV, Parquet or a SQLite store (the same records
    that were written). A CSV or Parquet file without the ``record`` column (a per-asset table,
    a price file…) is a ValueError, not an empty result."""
    path = Path(path)
    if fmt is None and is_store(path):
        from sentiment.store import Store

        with Store(path) as db:
            yield from db.tags()
        return
    fmt = format_for(path, fmt)
    if fmt == "jsonl":
        yield from _read_jsonl(path)
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
        from sentiment.store import Store

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
