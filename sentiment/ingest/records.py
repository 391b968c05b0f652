"""The records of ingestion: what went wrong with an input, how to ingest, and the tally."""
from __future__ import annotations

from dataclasses import dataclass, field

from sentiment.schema import Article

DEFAULT_USER_AGENT = "sentiment/0.1 (crypto news reader; httpx)"


@dataclass
class IngestError:
    """One input (or one item of it) that produced no article, with one human-readable reason.

    ``input`` is the file path or URL, plus ``#entry N`` / ``#line N`` / ``#row N`` when a
    single item of a larger input was bad. ``skipped`` marks inputs left out on purpose
    (unknown file type, an empty feed, HTTP 304 Not Modified): they are reported, never
    silently dropped, but they are not failures.
    """

    input: str
    reason: str
    skipped: bool = False

    def __str__(self) -> str:
        return f"{self.input}: {self.reason}"


@dataclass
class IngestOptions:
    """How inputs are read and fetched. Column names apply to JSON Lines and CSV inputs."""

    text_column: str = "text"
    title_column: str = "title"
    url_column: str = "url"
    published_column: str = "published"
    fetch_linked: bool = False  # feed entries without full text: fetch the linked page
    timeout: float = 10.0  # seconds, per request attempt (connect, each read, and in total)
    max_bytes: int = 20 * 2**20  # largest document read into memory (file, download, table row)
    retries: int = 2  # extra attempts on connect errors, timeouts, 5xx and 429
    backoff: float = 0.5  # first retry delay in seconds, doubled on each retry
    max_redirects: int = 5
    user_agent: str = DEFAULT_USER_AGENT

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")
        if self.max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if self.retries < 0 or self.max_redirects < 0 or self.backoff < 0:
            raise ValueError("retries, max_redirects and backoff must not be negative")


@dataclass
class Tally:
    """What a batch run did with its inputs: articles read, duplicates, and the inputs that
    failed or were skipped (each with its reason in ``errors``)."""

    read: int = 0
    duplicates: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[IngestError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def summary(self) -> str:
        raise NotImplementedError

    def add_error(self, error: IngestError) -> None:
        """Count a failed or skipped input and keep its reason."""
        self.errors.append(error)
        if error.skipped:
            self.skipped += 1
        else:
            self.failed += 1


@dataclass
class IngestReport(Tally):
    """The tally of one ``ingest`` run: articles read, newly stored, already stored, and errors.

    ``errors`` holds every failed and skipped input; ``failed`` counts the failures only.
    """

    new: int = 0

    def summary(self) -> str:
        return (f"read {self.read}, new {self.new}, duplicates {self.duplicates}, "
                f"failed {self.failed}, skipped {self.skipped}")


Item = Article | IngestError


class InputError(ValueError):
    """Raised by the readers for an input that gives no article; the message is the reason."""
