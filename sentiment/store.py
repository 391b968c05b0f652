"""The embedded SQLite store: articles, tag records, feed polling state and input errors.

One file at a user-chosen path, in WAL mode so readers never block the writer and a killed
process leaves a consistent database (every write is one transaction). The schema version
lives in ``PRAGMA user_version``; :data:`MIGRATIONS` brings an older file up to date on open.
Only parameterised SQL is used.

Articles are unique by id, by canonical URL and by text fingerprint: ``add_article``
returns False for the same page under another URL or the same text again.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sentiment.reasons import os_reason
from sentiment.schema import Article, canonical_url, iso_utc, parse_iso

# Each entry upgrades the schema by one version (user_version = its index + 1).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE articles (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        id           TEXT NOT NULL UNIQUE,
        url          TEXT,
        canonical_url TEXT UNIQUE,
        fingerprint  TEXT NOT NULL UNIQUE,
        title        TEXT,
        source       TEXT,
        published    TEXT,
        text         TEXT NOT NULL,
        meta         TEXT NOT NULL DEFAULT '{}',
        added        TEXT NOT NULL
    );
    CREATE INDEX articles_published ON articles(published);
    CREATE TABLE tags (
        id       TEXT PRIMARY KEY,
        record   TEXT NOT NULL,
        updated  TEXT NOT NULL
    );
    CREATE TABLE feed_state (
        url           TEXT PRIMARY KEY,
        etag          TEXT,
        last_modified TEXT,
        updated       TEXT NOT NULL
    );
    CREATE TABLE errors (
        seq     INTEGER PRIMARY KEY AUTOINCREMENT,
        input   TEXT NOT NULL,
        reason  TEXT NOT NULL,
        time    TEXT NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(Exception):
    """The store file cannot be opened or used (not SQLite, newer schema, no permission)."""


# SQLite's primary result codes → what they mean for a store file (SQLite's own messages are
# terse and vary by version: "file is not a database", "unable to open database file").
_SQLITE_REASONS = {
    "SQLITE_NOTADB": "not a SQLite database",
    "SQLITE_CORRUPT": "the database file is damaged",
    "SQLITE_CANTOPEN": "the file cannot be opened",
    "SQLITE_READONLY": "the file is read-only",
    "SQLITE_PERM": "permission denied",
    "SQLITE_BUSY": "locked by another process",
    "SQLITE_LOCKED": "locked by another process",
    "SQLITE_FULL": "the disk is full",
    "SQLITE_IOERR": "a disk input/output error",
}


def _open_reason(exc: OSError | sqlite3.Error) -> str:
    """Why the store could not be opened, in our words."""
    if isinstance(exc, OSError):
        return os_reason(exc)
    name = "_".join(str(getattr(exc, "sqlite_errorname", "")).split("_")[:2])  # SQLITE_IOERR_READ → SQLITE_IOERR
    return _SQLITE_REASONS.get(name, f"{type(exc).__name__} in SQLite")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Store:
    """An article/tag store in one SQLite file; use as a context manager or call ``close``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.is_dir():
                raise StoreError(f"cannot open store {self.path}: it is a directory")
            self._db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open store {self.path}: {_open_reason(exc)}") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(f"cannot open store {self.path}: {_open_reason(exc)}") from None

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._rollback()
            raise
        self._db.execute("COMMIT")

    def _rollback(self) -> None:
        """Undo the open transaction, if there still is one: a Ctrl-C can leave a transaction's
        generator to be closed after the store itself was closed (which rolled it back)."""
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        except sqlite3.ProgrammingError:  # the connection is closed: nothing is left to undo
            pass

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"store {self.path} has schema version {version}, newer than this "
                             f"sentiment ({SCHEMA_VERSION}); upgrade sentiment")
        for number in range(version, SCHEMA_VERSION):
            with self._tx() as db:
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1:d}")

    # ------------------------------------------------------------------ articles
    def add_article(self, article: Article) -> bool:
        """Store ``article``; False (nothing written) when its id, canonical URL or text
        fingerprint is already stored."""
        row = (article.id, article.url, canonical_url(article.url), article.fingerprint,
               article.title, article.source, iso_utc(article.published), article.text or "",
               json.dumps(article.meta or {}, ensure_ascii=False, default=str), _now())
        with self._tx() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO articles (id, url, canonical_url, fingerprint, title, source,"
                " published, text, meta, added) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            return cursor.rowcount == 1

    def get_article(self, id: str) -> Article | None:
        row = self._db.execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?", (id,)).fetchone()
        return _article(row) if row else None

    def has_article(self, article: Article) -> bool:
        """True when ``article`` or a duplicate of it (same URL or text) is stored."""
        row = self._db.execute(
            "SELECT 1 FROM articles WHERE id = ? OR canonical_url = ? OR fingerprint = ? LIMIT 1",
            (article.id, canonical_url(article.url), article.fingerprint)).fetchone()
        return row is not None

    def articles(self) -> Iterator[Article]:
        """All stored articles in insertion order, streamed in pages (so no read cursor stays
        open while the caller writes to the store)."""
        last = 0
        while True:
            rows = self._db.execute(f"SELECT seq, {_ARTICLE_COLUMNS} FROM articles WHERE seq > ? "
                                    "ORDER BY seq LIMIT ?", (last, _PAGE)).fetchall()
            for row in rows:
                yield _article(row[1:])
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]

    def count_articles(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    # ------------------------------------------------------------------ tags
    def put_tag(self, record: dict[str, Any]) -> None:
        """Insert or replace the tag record of ``record["id"]``."""
        id_ = record.get("id") if isinstance(record, dict) else None
        if not id_ or not isinstance(id_, str):
            raise ValueError("a tag record needs a string 'id'")
        payload = json.dumps(record, ensure_ascii=False, default=str)
        with self._tx() as db:
            db.execute("INSERT INTO tags (id, record, updated) VALUES (?, ?, ?) "
                       "ON CONFLICT(id) DO UPDATE SET record = excluded.record, updated = excluded.updated",
                       (id_, payload, _now()))

    def has_tag(self, id: str) -> bool:
        return self._db.execute("SELECT 1 FROM tags WHERE id = ?", (id,)).fetchone() is not None

    def get_tag(self, id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT record FROM tags WHERE id = ?", (id,)).fetchone()
        return json.loads(row[0]) if row else None

    def tags(self) -> Iterator[dict[str, Any]]:
        """All tag records in the order they were first stored (streamed)."""
        last = 0
        while True:
            rows = self._db.execute("SELECT rowid, record FROM tags WHERE rowid > ? ORDER BY rowid LIMIT ?",
                                    (last, _PAGE)).fetchall()
            for _, record in rows:
                yield json.loads(record)
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]

    def count_tags(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM tags").fetchone()[0])

    # ------------------------------------------------------------------ feed state
    def feed_state(self, url: str) -> dict[str, str | None] | None:
        """The validators last seen for ``url``: ``{"etag": …, "last_modified": …}``."""
        row = self._db.execute("SELECT etag, last_modified FROM feed_state WHERE url = ?", (url,)).fetchone()
        return {"etag": row[0], "last_modified": row[1]} if row else None

    def set_feed_state(self, url: str, etag: str | None, last_modified: str | None) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO feed_state (url, etag, last_modified, updated) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, "
                       "last_modified = excluded.last_modified, updated = excluded.updated",
                       (url, etag, last_modified, _now()))

    # ------------------------------------------------------------------ errors
    def add_error(self, input: str, reason: str) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO errors (input, reason, time) VALUES (?, ?, ?)",
                       (str(input), str(reason), _now()))

    def errors(self) -> list[dict[str, str]]:
        """Every recorded input error, oldest first: ``{"input", "reason", "time"}``."""
        rows = self._db.execute("SELECT input, reason, time FROM errors ORDER BY seq").fetchall()
        return [{"input": i, "reason": r, "time": t} for i, r, t in rows]


_ARTICLE_COLUMNS = "id, url, title, source, published, text, meta"
_PAGE = 500  # rows fetched per query when streaming


def _article(row: tuple[Any, ...]) -> Article:
    id_, url, title, source, published, text, meta = row
    try:
        meta_dict = json.loads(meta) if meta else {}
    except ValueError:
        meta_dict = {}
    return Article(text=text, title=title, url=url, source=source, published=parse_iso(published),
                   id=id_, meta=meta_dict)
