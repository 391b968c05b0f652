"""Extraction with spaCy: assets, price moves and levels, figures, sectors, causes and entities.

``Extractor()(text, title)`` returns a :class:`sentiment.schema.Extraction`; ``build_nlp()`` is
the spaCy pipeline behind it. Importing this package registers the spaCy factories
``crypto_numbers``, ``crypto_assets``, ``crypto_sectors``, ``crypto_moves``, ``crypto_figures``,
``crypto_causes``, ``crypto_entities`` (and ``crypto_sentence_breaks``), so a user can also
``nlp.add_pipe("crypto_assets")`` on an nlp of their own.
"""
from .pipeline import Extractor, add_crypto_components, build_nlp, chunk_text

__all__ = ["Extractor", "add_crypto_components", "build_nlp", "chunk_text"]
