"""Where tag records go as a run produces them: JSON Lines, CSV and Parquet writers.

One writer per format, all with the same small interface (``ids()``, ``write(records)``,
``close()``), chosen by :func:`open_sink` from the file suffix or an explicit format.

Resumable and crash-safe by design:

* JSON Lines is its own journal: whole lines are appended and flushed after every batch; a
  run that was killed leaves at most one partial last line, which the next run drops before
  appending. ``ids()`` lists what is already there, so a re-run skips those articles.
* CSV and Parquet cannot be appended safely, so their records go to a JSON Lines journal
  beside the output (``<out>.journal.jsonl``); ``close()`` writes the final file to a temp
  name and renames it into place (atomic), then removes the journal.

The CSV is flattened: one row per article (:mod:`sentiment.tables`). Reading tag files back
and converting them between formats is :mod:`sentiment.tagfiles`.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sentiment.tagfiles import format_for, read_jsonl, read_tags, write_table


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
        return {r["id"] for r in read_jsonl(self.path) if "id" in r}

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
            write_table(list(read_jsonl(self.path)), self.final, self.fmt)
        finally:
            super().close()
        self.path.unlink(missing_ok=True)


def open_sink(path: str | Path, fmt: str | None = None, *, resume: bool = True) -> JsonlSink:
    """A writer for ``path`` in ``fmt`` (or the format its suffix names)."""
    fmt = format_for(path, fmt)
    return JsonlSink(path, resume=resume) if fmt == "jsonl" else TableSink(path, fmt, resume=resume)
