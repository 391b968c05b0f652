"""Perturbed copies for augmented distillation (sentiment.classify.augment)."""
from __future__ import annotations

import random

import pytest

from sentiment.classify.augment import Augment
from sentiment.classify.datasets import UNLABELLED, LabelledTexts, normalise

SENTENCES = [
    "Operating profit rose to EUR 13.1 mn from EUR 8.7 mn in 2007, but net sales fell 4 %.",
    "Bitcoin fell 5.2% to $98,500 while ether dropped 7% amid $1.2 billion in liquidations.",
    "The board will meet on Tuesday to discuss the dividend.",
]


def data() -> LabelledTexts:
    return LabelledTexts(SENTENCES + ["A transfer headline without a label"], [2, 0, 1, UNLABELLED],
                         "train", ["fpb", "crypto", "fpb", "news"])


def test_copies_are_unlabelled_new_texts_from_the_chosen_sources_only():
    copies = Augment(copies=3, sources=["fpb"])(data(), seed=1)
    assert len(copies) > 0 and set(copies.labels) == {UNLABELLED}
    assert set(copies.sources) == {"fpb+aug"}
    originals = {normalise(t) for t in data().texts}
    keys = [normalise(t) for t in copies.texts]
    assert len(set(keys)) == len(keys) and not originals & set(keys)   # no duplicates, no originals
    everything = Augment(copies=3)(data(), seed=1)
    assert set(everything.sources) == {"fpb+aug", "crypto+aug"}          # never the unlabelled texts


def test_copies_are_reproducible_and_skip_excluded_texts():
    first = Augment(copies=4)(data(), seed=7)
    assert first.texts == Augment(copies=4)(data(), seed=7).texts
    assert first.texts != Augment(copies=4)(data(), seed=8).texts
    held = {normalise(first.texts[0])}                                   # say, a test sentence
    assert first.texts[0] not in Augment(copies=4)(data(), seed=7, exclude=held).texts


def test_perturbations_keep_years_reformat_numbers_and_cut_at_clauses():
    aug = Augment(clause=0.0, numbers=1.0, word_dropout=0.0)
    rng = random.Random(0)
    for _ in range(20):
        text = aug.perturb(SENTENCES[1], rng)
        words = text.split()
        assert words[:2] == ["Bitcoin", "fell"] and len(words) == len(SENTENCES[1].split())
        assert words[2] != "5.2%" and words[2].endswith("%") and len(words[2].split(".")[1]) == 2
        assert words[4].startswith("$") and "," in words[4]                 # thousands stay grouped
    assert "2007" in aug.perturb(SENTENCES[0], rng)                          # a year is not a figure
    clauses = Augment(clause=1.0, numbers=0.0, word_dropout=0.0)
    cut = {clauses.perturb(SENTENCES[0], rng) for _ in range(20)}
    assert cut <= {"Operating profit rose to EUR 13.1 mn from EUR 8.7 mn in 2007,",
                   "but net sales fell 4 %."}
    assert clauses.perturb(SENTENCES[2], rng) == SENTENCES[2]                # one clause: kept whole


def test_word_dropout_never_leaves_a_copy_under_min_words():
    aug = Augment(clause=0.0, numbers=0.0, word_dropout=0.9, min_words=3)
    rng = random.Random(0)
    assert all(len(aug.perturb(SENTENCES[2], rng).split()) >= 3 for _ in range(50))


def test_recipe_settings_are_checked():
    assert Augment.from_dict({"copies": 2, "sources": ["fpb"]}).copies == 2
    with pytest.raises(ValueError, match="unknown keys"):
        Augment.from_dict({"copy": 2})
    with pytest.raises(ValueError, match="copies"):
        Augment.from_dict({"word_dropout": 1.5})
