"""Checks on the project's hand-written crypto sentiment data (data/crypto_sentences).

The test split must measure generalisation, so besides the schema and balance checks
we make sure no test line is a duplicate or near-duplicate (6-word shingles) of a train line.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from helpers.near_duplicates import max_pair_overlap, norm, shingle_index, shingles, templated_pairs

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "crypto_sentences"
LABELS = ("bearish", "neutral", "bullish")
KINDS = ("headline", "sentence")
MIN_COUNTS = {"train.jsonl": 850, "test.jsonl": 280}
# Share of each label per file: roughly 35 / 30 / 35 with some slack.
SHARE_BOUNDS = {"bearish": (0.30, 0.40), "neutral": (0.25, 0.35), "bullish": (0.30, 0.40)}
# Largest share of a test line's 6-word shingles that may also occur in any single train line.
MAX_PAIR_OVERLAP = 0.2
# Largest share of all test shingles that may occur anywhere in train.
MAX_TOTAL_OVERLAP = 0.05
# Largest Jaccard similarity of two lines' skeletons (names and numbers masked) within a file:
# above this, two lines are the same template with swapped names.
MAX_SKELETON_SIMILARITY = 0.5


def _load(name: str) -> list[dict]:
    path = DATA_DIR / name
    rows = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            assert line.strip(), f"{name}:{number} is blank"
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:  # pragma: no cover - the message is the point
                pytest.fail(f"{name}:{number} is not valid JSON: {err}")
    return rows


@pytest.fixture(scope="module")
def splits() -> dict[str, list[dict]]:
    return {name: _load(name) for name in MIN_COUNTS}


@pytest.mark.parametrize("name", list(MIN_COUNTS))
def test_every_line_has_the_schema(splits, name):
    for number, row in enumerate(splits[name], 1):
        assert set(row) == {"text", "label", "kind"}, f"{name}:{number} keys {sorted(row)}"
        assert isinstance(row["text"], str) and row["text"] == row["text"].strip() and len(row["text"]) >= 15, (
            f"{name}:{number} text is empty, too short or padded"
        )
        assert row["label"] in LABELS, f"{name}:{number} label {row['label']!r}"
        assert row["kind"] in KINDS, f"{name}:{number} kind {row['kind']!r}"


@pytest.mark.parametrize("name", list(MIN_COUNTS))
def test_size_and_balance(splits, name):
    rows = splits[name]
    assert len(rows) >= MIN_COUNTS[name]
    labels = Counter(r["label"] for r in rows)
    for label, (low, high) in SHARE_BOUNDS.items():
        share = labels[label] / len(rows)
        assert low <= share <= high, f"{name}: {label} is {share:.1%}, expected {low:.0%}-{high:.0%}"
    kinds = Counter(r["kind"] for r in rows)
    assert 0.4 <= kinds["headline"] / len(rows) <= 0.6, f"{name}: headline/sentence mix {dict(kinds)}"


@pytest.mark.parametrize("name", list(MIN_COUNTS))
def test_no_duplicates_within_a_file(splits, name):
    seen: dict[str, int] = {}
    for number, row in enumerate(splits[name], 1):
        key = norm(row["text"])
        assert key not in seen, f"{name}:{number} duplicates line {seen[key]}: {row['text']!r}"
        seen[key] = number


def test_no_duplicates_across_files(splits):
    train = {norm(r["text"]) for r in splits["train.jsonl"]}
    shared = [r["text"] for r in splits["test.jsonl"] if norm(r["text"]) in train]
    assert not shared, f"test lines also in train: {shared[:5]}"


def test_test_split_is_not_a_near_duplicate_of_train(splits):
    train = splits["train.jsonl"]
    index = shingle_index([row["text"] for row in train])
    too_close = []
    total = found = 0
    for row in splits["test.jsonl"]:
        overlap, doc = max_pair_overlap(row["text"], index)
        if overlap > MAX_PAIR_OVERLAP:
            too_close.append((round(overlap, 2), row["text"], train[doc]["text"]))
        own = shingles(row["text"])
        total += len(own)
        found += sum(1 for sh in own if sh in index)
    assert not too_close, f"test lines too close to train lines: {too_close[:5]}"
    assert found / total <= MAX_TOTAL_OVERLAP, f"{found / total:.1%} of test shingles occur in train"


def test_overlap_check_catches_a_lightly_edited_copy(splits):
    """The near-duplicate check must flag a train line with a swapped name and number."""
    train = splits["train.jsonl"]
    index = shingle_index([row["text"] for row in train])
    original = max((r["text"] for r in train if r["kind"] == "sentence"), key=len)
    words = original.split()
    edited = " ".join(["Dogecoin"] + words[1:-1] + ["yesterday."])
    overlap, _ = max_pair_overlap(edited, index)
    assert overlap > MAX_PAIR_OVERLAP


@pytest.mark.parametrize("name", list(MIN_COUNTS))
def test_no_template_filled_lines(splits, name):
    pairs = templated_pairs([r["text"] for r in splits[name]], MAX_SKELETON_SIMILARITY)
    assert not pairs, f"{name}: lines sharing one skeleton with swapped names/numbers: {pairs[:5]}"


def test_template_check_catches_swapped_names():
    pairs = templated_pairs(
        [
            "Solana jumps 14% after Binance lists SOL perpetuals with 50x leverage for retail users",
            "Cardano jumps 9% after Kraken lists ADA perpetuals with 20x leverage for retail users",
        ],
        MAX_SKELETON_SIMILARITY,
    )
    assert len(pairs) == 1


def _readme_counts() -> dict[str, dict[str, int]]:
    """Parse the counts table in README.md: | file | bearish | neutral | bullish | headline | sentence | total |."""
    text = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    header = None
    counts: dict[str, dict[str, int]] = {}
    for line in text.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "file":
            header = cells[1:]
        elif header and cells and cells[0] in MIN_COUNTS:
            counts[cells[0]] = {col: int(val) for col, val in zip(header, cells[1:])}
    return counts


def test_readme_counts_match_the_files(splits):
    counts = _readme_counts()
    assert set(counts) == set(MIN_COUNTS), f"README counts table lists {sorted(counts)}"
    for name, rows in splits.items():
        actual = Counter(r["label"] for r in rows) + Counter(r["kind"] for r in rows)
        expected = {**{k: actual[k] for k in LABELS + KINDS}, "total": len(rows)}
        assert counts[name] == expected, f"README counts for {name} are stale: {counts[name]} vs {expected}"
