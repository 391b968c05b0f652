"""sentiment: crypto market news → assets, moves, causes, calibrated sentiment, Fear & Greed index.

The public API, importable from the top level (heavy parts load on first use, not at import)::

    from sentiment import Analyzer, tag_files, ingest, link, fear_greed_index

    analyzer = Analyzer()                       # loads the spaCy pipeline and the model once
    tagged = analyzer.analyze("Bitcoin fell 5% to $100,000 after ETF outflows.")
    tagged.to_dict()                            # the tag record (design/tag-schema.md)
    tagged.to_frame("assets")                   # a pandas DataFrame; see sentiment.frames
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name → module that defines it
_API = {
    "Analyzer": "sentiment.analyzer",
    "Article": "sentiment.schema",
    "TaggedArticle": "sentiment.schema",
    "Score": "sentiment.schema",
    "Extraction": "sentiment.schema",
    "tag_files": "sentiment.tagging",
    "TagReport": "sentiment.tagging",
    "ingest": "sentiment.ingest",
    "iter_inputs": "sentiment.ingest",
    "Store": "sentiment.store",
    "read_tags": "sentiment.tagfiles",
    "write_tables": "sentiment.tagfiles",
    "export": "sentiment.tagfiles",
    "to_frames": "sentiment.frames",
    "to_frame": "sentiment.frames",
    "link": "sentiment.market",
    "fear_greed_index": "sentiment.market",
    "load_prices": "sentiment.market",
}

__all__ = sorted(_API) + ["__version__"]  # noqa: PLE0605  (built from the lazy-import map)

if TYPE_CHECKING:  # pragma: no cover  (names for type checkers; loaded lazily below)
    from sentiment.analyzer import Analyzer  # noqa: F401
    from sentiment.frames import to_frame, to_frames  # noqa: F401
    from sentiment.ingest import ingest, iter_inputs  # noqa: F401
    from sentiment.market.index import fear_greed_index  # noqa: F401
    from sentiment.market.link import link  # noqa: F401
    from sentiment.market.prices import load_prices  # noqa: F401
    from sentiment.schema import Article, Extraction, Score, TaggedArticle  # noqa: F401
    from sentiment.store import Store  # noqa: F401
    from sentiment.tagfiles import export, read_tags, write_tables  # noqa: F401
    from sentiment.tagging import TagReport, tag_files  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sentiment' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
