"""Failure reasons in our own words.

A reason shown to a user (``failed: INPUT: reason``, ``analysis failed: …``, ``error: …``) is a
sentence of ours. It may name the library that failed and the kind of failure, never repeat
the library's message: that is written for the library's developers ("[E088] Text of length
3000000 exceeds maximum of 1000000…", "'NoneType' object has no attribute 'text'"), runs over
many lines and can quote a whole document. :func:`describe` turns any exception into such a
sentence; the exceptions the package raises itself (``InputError``, ``FetchError``,
``StoreError``…) already carry one, and their callers show it as it is.
"""
from __future__ import annotations

import sys

# Top-level package → the name a user knows it by.
LIBRARIES = {
    "spacy": "spaCy", "thinc": "spaCy", "blis": "spaCy", "srsly": "spaCy",
    "onnxruntime": "ONNX Runtime", "onnx": "ONNX", "torch": "PyTorch",
    "transformers": "the transformers library", "tokenizers": "the tokenizer", "safetensors": "safetensors",
    "numpy": "numpy", "scipy": "SciPy", "sklearn": "scikit-learn", "pandas": "pandas",
    "pyarrow": "pyarrow", "statsmodels": "statsmodels", "matplotlib": "matplotlib",
    "lxml": "lxml", "trafilatura": "trafilatura", "feedparser": "feedparser", "defusedxml": "defusedxml",
    "httpx": "httpx", "httpcore": "httpx", "h11": "httpx", "charset_normalizer": "charset-normalizer",
}
# What the interpreter raises for a mistake in the code; their messages describe the code.
BUGS = (AttributeError, TypeError, NameError, LookupError, AssertionError, ArithmeticError,
        RecursionError, MemoryError, UnboundLocalError, NotImplementedError, StopIteration)
# Exception types whose kind reads better in words than as a class name.
KINDS: dict[type[BaseException], str] = {
    MemoryError: "out of memory",
    RecursionError: "nesting too deep",
    UnicodeError: "a text encoding error",
    TimeoutError: "a time-out",
}


class Failed(Exception):
    """A failure already told in our words where it happened (a worker on another machine):
    :func:`describe` gives its message as it is."""


def _modules(exc: BaseException) -> list[str]:
    """The modules of the frames ``exc`` passed through, outermost first."""
    modules = []
    tb = exc.__traceback__
    while tb is not None:
        modules.append(str(tb.tb_frame.f_globals.get("__name__") or ""))
        tb = tb.tb_next
    return modules


def origin(exc: BaseException) -> str | None:
    """The module whose code raised ``exc``: the innermost frame of its traceback outside the
    standard library (``spacy.language``), or ``None`` when nothing outside it ran."""
    found = [m for m in _modules(exc) if m and m.split(".")[0] not in sys.stdlib_module_names]
    return found[-1] if found else None


def own_message(exc: BaseException) -> str | None:
    """The message of an exception this package raised on purpose, on one line; ``None`` for
    any other. An exception is ours when its class is defined here, or when our code raised
    it itself (its innermost frame is ours) and it is not one of the errors the interpreter
    raises for a bug: those (``'NoneType' object has no attribute …``) are described by kind."""
    ours = type(exc).__module__.split(".")[0] == "sentiment"
    if not ours:
        modules = _modules(exc)
        ours = bool(modules) and modules[-1].split(".")[0] == "sentiment" and not isinstance(exc, BUGS)
    text = " ".join(str(exc).split()) if ours else ""
    return text or None


def kind(exc: BaseException) -> str:
    """What went wrong, in a few words: "out of memory", else the exception's class name."""
    for cls in type(exc).__mro__:
        if cls in KINDS:
            return KINDS[cls]
    return type(exc).__name__


def describe(exc: BaseException) -> str:
    """``exc`` as a short sentence of ours. An exception this package raised on purpose keeps
    its message ("FileNotFoundError: no model at …"); any other is told by its kind and
    where it was raised ("ValueError in spaCy", "AttributeError in sentiment.extract.moves"),
    never by its message. An operating-system error adds the system's own one-line wording
    ("No space left on device")."""
    if isinstance(exc, Failed):
        return str(exc)
    message = own_message(exc)
    if message:
        return f"{type(exc).__name__}: {message}"
    module = origin(exc)
    top = module.split(".")[0] if module else ""
    where = module if top == "sentiment" else LIBRARIES.get(top, top)
    text = f"{kind(exc)} in {where}" if where else f"unexpected {kind(exc)}"
    if isinstance(exc, OSError) and isinstance(exc.strerror, str) and exc.strerror.strip():
        text += f": {' '.join(exc.strerror.split())}"
    return text


def os_reason(exc: OSError) -> str:
    """The operating system's own wording of ``exc`` ("Permission denied", "Is a directory"),
    else :func:`describe`."""
    if isinstance(exc.strerror, str) and exc.strerror.strip():
        return " ".join(exc.strerror.split())
    return describe(exc)


def reason(exc: BaseException) -> str:
    """What to show for ``exc`` after a prefix that already says what failed ("cannot read
    tag records: …"): our own message as it is, else :func:`describe`."""
    return own_message(exc) or describe(exc)
