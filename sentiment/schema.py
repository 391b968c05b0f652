"""The records that flow through the pipeline, and the tag record they serialise to.

Data flows one way: ``Article`` (ingest) → ``Extraction`` (extract) → sentence ``Score``s
(classify) → ``TaggedArticle`` (aggregate) → sinks. Every record is a plain dataclass;
``TaggedArticle.to_dict()`` is the public output contract described in
``design/tag-schema.md`` (``"schema": 1``): fields may be added, never renamed.
"""
from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sentiment.text import clean_text

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 1
LABELS: tuple[str, str, str] = ("bearish", "neutral", "bullish")
Label = Literal["bearish", "neutral", "bullish"]

# Query parameters that only track the reader; dropped when canonicalising URLs.
_TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|ref_src|cmpid|guccounter|_ga)$", re.IGNORECASE)


# --------------------------------------------------------------------------- identity
def canonical_url(url: str | None) -> str | None:
    """Canonical form of an article URL: lower-case scheme/host, no fragment, no tracking
    parameters, no trailing slash, ``www.`` dropped. Two URLs of the same page compare equal."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises ValueError for a port that is not a number ("f:eed.example")
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().removeprefix("www.")
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                             if not _TRACKING_PARAMS.match(k)))
    path = re.sub(r"/+$", "", parts.path) or "/"
    return urlunsplit(("https", host, path, query, ""))


def normalise_text(text: str) -> str:
    """Text reduced to what identifies an article: NFKC, lower case, letters and digits only."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return " ".join(re.findall(r"\w+", text))


def article_id(url: str | None, text: str | None) -> str:
    """Stable 16-hex id: hash of the canonical URL, else of the normalised text."""
    key = canonical_url(url) or "text:" + normalise_text(text or "")
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def text_fingerprint(text: str) -> str:
    """Hash of the normalised text, used to find the same article under two URLs."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()[:16]


def to_utc(value: datetime | None) -> datetime | None:
    """A datetime in UTC (naive values are taken to be UTC already)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 with a ``Z`` suffix, as the tag schema writes dates."""
    value = to_utc(value)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def parse_iso(value: str | None) -> datetime | None:
    """Inverse of :func:`iso_utc` (accepts any ISO 8601 form Python understands)."""
    if not value:
        return None
    try:
        return to_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


# --------------------------------------------------------------------------- article
@dataclass
class Article:
    """One news article as it came in, before any analysis.

    Its title and text are cleaned when it is made (:func:`sentiment.text.clean_text`:
    invisible characters dropped, compatibility forms folded), so what it stores is what is
    analysed, and offsets in its tag record index its ``text`` (the title's, its ``title``)."""

    text: str
    title: str | None = None
    url: str | None = None
    source: str | None = None
    published: datetime | None = None
    id: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.published = to_utc(self.published)
        if isinstance(self.text, str):
            self.text = clean_text(self.text)
        if isinstance(self.title, str):
            self.title = clean_text(self.title)
        if not self.id:
            self.id = article_id(self.url, (self.title or "") + "\n" + (self.text or ""))

    @property
    def fingerprint(self) -> str:
        return text_fingerprint((self.title or "") + "\n" + (self.text or ""))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "title": self.title, "source": self.source,
                "published": iso_utc(self.published), "text": self.text, "meta": self.meta}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Article:
        return cls(text=d.get("text") or "", title=d.get("title"), url=d.get("url"),
                   source=d.get("source"), published=parse_iso(d.get("published")),
                   id=d.get("id") or "", meta=d.get("meta") or {})


# --------------------------------------------------------------------------- scores
@dataclass
class Score:
    """Sentiment of a piece of text: label, scalar in [-1, 1] and calibrated probabilities."""

    label: str
    score: float
    probs: dict[str, float]

    @classmethod
    def from_probs(cls, probs: dict[str, float] | list[float] | tuple[float, ...]) -> Score:
        """Build a score from probabilities (a mapping by label, or a sequence in ``LABELS`` order)."""
        if not isinstance(probs, dict):
            probs = dict(zip(LABELS, (float(p) for p in probs)))
        weights = {k: float(probs.get(k, 0.0)) for k in LABELS}
        weights = {k: v if math.isfinite(v) and v > 0 else 0.0 for k, v in weights.items()}
        top = max(weights.values())
        if top <= 0:  # nothing usable (all zero, negative or not finite): no opinion
            return cls.neutral()
        weights = {k: v / top for k, v in weights.items()}  # scale first: sums of huge values overflow
        total = sum(weights.values())
        p = {k: v / total for k, v in weights.items()}
        label = max(LABELS, key=lambda k: p[k])
        return cls(label=label, score=round(p["bullish"] - p["bearish"], 6),
                   probs={k: round(v, 6) for k, v in p.items()})

    @classmethod
    def neutral(cls) -> Score:
        """The score of text with nothing to say: all mass on neutral."""
        return cls.from_probs({"bearish": 0.0, "neutral": 1.0, "bullish": 0.0})

    @property
    def confidence(self) -> float:
        return max(self.probs.values()) if self.probs else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": self.score, "probs": dict(self.probs)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Score:
        return cls(label=d["label"], score=float(d["score"]), probs={k: float(v) for k, v in d["probs"].items()})


# --------------------------------------------------------------------------- extraction
@dataclass
class AssetMention:
    """A crypto asset named in the article (before scoring)."""

    symbol: str
    name: str
    mentions: int = 1


@dataclass
class Move:
    asset: str
    direction: str  # "up" | "down" | "flat"
    change_pct: float | None = None
    from_price: float | None = None
    to_price: float | None = None
    change_abs: float | None = None
    text: str = ""


@dataclass
class Level:
    asset: str | None
    price: float
    kind: str  # support | resistance | moving_average | high | low | target | price
    text: str = ""


@dataclass
class Figure:
    kind: str
    value: float
    unit: str  # USD | count | BTC (or another asset symbol) | index
    asset: str | None = None
    text: str = ""


@dataclass
class Sector:
    name: str
    change_pct: float | None = None
    text: str = ""


@dataclass
class Entity:
    text: str
    label: str  # PERSON | ORG | EXCHANGE | GPE …


@dataclass
class CauseMention:
    """A market driver the text states; ``sentence`` indexes ``Extraction.sentences``;
    ``span`` gives where the cause's words lie in ``evidence`` (offsets into it), what a
    target-level model is shown as the target (``None``: the whole sentence)."""

    type: str
    evidence: str
    sentence: int = -1
    span: tuple[int, int] | None = None


@dataclass
class SentenceSpan:
    """A sentence with the assets and causes it names; ``start``/``end`` are character
    offsets into the article text (into the title for ``Extraction.title``). ``mentions``
    gives, for each asset it names, where the asset is first named in ``text`` (offsets into
    the sentence): what a target-level model is shown as the target."""

    text: str
    start: int
    end: int
    assets: list[str] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)
    mentions: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass
class Extraction:
    """Everything the extractor found in one article; no sentiment yet.

    ``title`` is the headline as its own span (scored and counted in aggregation, not listed
    among ``sentences``, which cover the body text only). A cause's ``sentence`` index is
    ``-1`` when its evidence is the title."""

    title: SentenceSpan | None = None
    sentences: list[SentenceSpan] = field(default_factory=list)
    assets: list[AssetMention] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    levels: list[Level] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    causes: list[CauseMention] = field(default_factory=list)
    sectors: list[Sector] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)


# --------------------------------------------------------------------------- tagged
@dataclass
class AssetScore:
    symbol: str
    name: str
    mentions: int
    sentiment: Score

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "name": self.name, "mentions": self.mentions,
                "sentiment": self.sentiment.to_dict()}


@dataclass
class CauseScore:
    type: str
    evidence: str
    sentiment: Score

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "evidence": self.evidence, "sentiment": self.sentiment.to_dict()}


@dataclass
class ScoredSentence:
    text: str
    start: int
    end: int
    sentiment: Score
    assets: list[str] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)
    asset_sentiment: dict[str, Score] = field(default_factory=dict)  # target-level, per asset named

    def to_dict(self) -> dict[str, Any]:
        out = {"text": self.text, "start": self.start, "end": self.end,
               "sentiment": self.sentiment.to_dict(), "assets": list(self.assets),
               "causes": list(self.causes)}
        if self.asset_sentiment:
            out["asset_sentiment"] = {k: v.to_dict() for k, v in self.asset_sentiment.items()}
        return out


def _plain(obj: Any) -> dict[str, Any]:
    return asdict(obj)


@dataclass
class TaggedArticle:
    """An analysed article: the tag record of ``design/tag-schema.md``."""

    article: Article
    sentiment: Score
    assets: list[AssetScore] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    levels: list[Level] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    causes: list[CauseScore] = field(default_factory=list)
    sectors: list[Sector] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    sentences: list[ScoredSentence] | None = field(default_factory=list)
    #: Set when only the first ``truncated_at`` characters of a very long text were analysed.
    truncated_at: int | None = None

    @property
    def id(self) -> str:
        return self.article.id

    def to_dict(self) -> dict[str, Any]:
        """The tag record (schema 1). ``sentences`` is left out when it is ``None``;
        ``truncated_at`` is only present when the text was cut for analysis."""
        a = self.article
        d: dict[str, Any] = {
            "schema": SCHEMA_VERSION,
            "id": a.id,
            "url": a.url,
            "title": a.title,
            "source": a.source,
            "published": iso_utc(a.published),
            "sentiment": self.sentiment.to_dict(),
            "assets": [x.to_dict() for x in self.assets],
            "moves": [_plain(x) for x in self.moves],
            "levels": [_plain(x) for x in self.levels],
            "figures": [_plain(x) for x in self.figures],
            "causes": [x.to_dict() for x in self.causes],
            "sectors": [_plain(x) for x in self.sectors],
            "entities": [_plain(x) for x in self.entities],
        }
        if self.sentences is not None:
            d["sentences"] = [s.to_dict() for s in self.sentences]
        if self.truncated_at is not None:
            d["truncated_at"] = self.truncated_at
        return d

    def to_frame(self, kind: str = "articles") -> pd.DataFrame:
        """This article as one table of :mod:`sentiment.frames`: ``articles`` (one row),
        ``assets``, ``causes``, ``sentences``, ``moves``, ``levels``, ``figures``, ``sectors``
        or ``entities``."""
        from sentiment.tables import record_frames

        return record_frames([self.to_dict()], [kind])[kind]

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """All the tables of :mod:`sentiment.frames` for this article, by kind."""
        from sentiment.tables import record_frames

        return record_frames([self.to_dict()])

    @classmethod
    def from_dict(cls, d: dict[str, Any], text: str = "") -> TaggedArticle:
        """Rebuild from a tag record (the article text is not part of the record)."""
        article = Article(text=text, title=d.get("title"), url=d.get("url"), source=d.get("source"),
                          published=parse_iso(d.get("published")), id=d.get("id") or "")
        sents = d.get("sentences")
        return cls(
            article=article,
            sentiment=Score.from_dict(d["sentiment"]),
            assets=[AssetScore(x["symbol"], x.get("name", x["symbol"]), int(x.get("mentions", 1)),
                               Score.from_dict(x["sentiment"])) for x in d.get("assets", [])],
            moves=[Move(**x) for x in d.get("moves", [])],
            levels=[Level(**x) for x in d.get("levels", [])],
            figures=[Figure(**x) for x in d.get("figures", [])],
            causes=[CauseScore(x["type"], x.get("evidence", ""), Score.from_dict(x["sentiment"]))
                    for x in d.get("causes", [])],
            sectors=[Sector(**x) for x in d.get("sectors", [])],
            entities=[Entity(**x) for x in d.get("entities", [])],
            sentences=None if sents is None else [
                ScoredSentence(s["text"], int(s["start"]), int(s["end"]), Score.from_dict(s["sentiment"]),
                               list(s.get("assets", [])), list(s.get("causes", [])),
                               {k: Score.from_dict(v) for k, v in (s.get("asset_sentiment") or {}).items()})
                for s in sents],
            truncated_at=d.get("truncated_at"),
        )
