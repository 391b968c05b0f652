"""Checks on the project's written business-news sentences (data/financial_sentences).

They are an unlabelled distillation transfer set: a teacher labels them, a student learns from
that. So they must not carry labels, must not be template filler, and must not be copies or
near-copies of any text the models are judged on (Financial PhraseBank, Twitter Financial News,
the crypto test split), or the student would be trained on its test inputs.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import shared_path
from helpers.near_duplicates import max_pair_overlap, norm, shingle_index, templated_pairs

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "financial_sentences"
FILE = DATA_DIR / "transfer.jsonl"
KINDS = ("headline", "sentence")
# The limits of tests/classify/test_crypto_data.py: a share of a line's 6-word shingles found in one
# evaluation text, and a Jaccard similarity of two lines' skeletons (one template, names swapped).
MAX_PAIR_OVERLAP = 0.2
MAX_SKELETON_SIMILARITY = 0.5


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    out = []
    with FILE.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            assert line.strip(), f"line {number} is blank"
            out.append(json.loads(line))
    return out


def test_every_line_is_an_unlabelled_text(rows):
    assert len(rows) >= 2000
    for number, row in enumerate(rows, 1):
        assert set(row) == {"text", "kind"}, f"line {number} keys {sorted(row)}"
        assert row["kind"] in KINDS, f"line {number} kind {row['kind']!r}"
        text = row["text"]
        assert isinstance(text, str) and text == " ".join(text.split()) and len(text) >= 15, f"line {number}"


def test_no_duplicates_or_template_filler(rows):
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, 1):
        key = norm(row["text"])
        assert key not in seen, f"line {number} duplicates line {seen[key]}: {row['text']!r}"
        seen[key] = number
    pairs = templated_pairs([r["text"] for r in rows], MAX_SKELETON_SIMILARITY)
    assert not pairs, f"lines sharing one skeleton with swapped names/numbers: {pairs[:5]}"


@pytest.fixture(scope="module")
def evaluation() -> tuple[list[str], dict]:
    """Every text the models are trained or judged on, and their shingle index (built once)."""
    from sentiment.classify.datasets import read

    phrasebank = shared_path("data", "financial_phrasebank", "Sentences_50Agree.txt")
    tfns = shared_path("data", "twitter_financial_news_sentiment")
    texts = list(read(phrasebank, "phrasebank").texts)  # every split: 50Agree holds all sentences
    for name in ("sent_train.csv", "sent_valid.csv"):
        texts += read(tfns / name, "tfns").texts
    crypto = Path(__file__).resolve().parents[2] / "data" / "crypto_sentences"
    for name in ("train.jsonl", "test.jsonl"):
        texts += [json.loads(line)["text"] for line in (crypto / name).read_text(encoding="utf-8").splitlines()]
    return texts, shingle_index(texts)


def test_no_line_is_a_near_copy_of_an_evaluated_text(rows, evaluation):
    texts, index = evaluation
    too_close = []
    for row in rows:
        overlap, doc = max_pair_overlap(row["text"], index)
        if overlap > MAX_PAIR_OVERLAP:
            too_close.append((round(overlap, 2), row["text"], texts[doc]))
    assert not too_close, f"lines too close to PhraseBank/TFNS/crypto texts: {too_close[:5]}"


def test_the_check_catches_a_lightly_edited_phrasebank_sentence(evaluation):
    texts, index = evaluation
    original = max(texts[:500], key=len)
    edited = re.sub(r"\d", "7", original).replace(" ,", ",")
    assert max_pair_overlap(edited, index)[0] > MAX_PAIR_OVERLAP


def test_readme_states_the_count(rows):
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    headlines = sum(r["kind"] == "headline" for r in rows)
    assert f"{len(rows):,} lines" in readme and f"{headlines:,} headlines" in readme, "README count is stale"
