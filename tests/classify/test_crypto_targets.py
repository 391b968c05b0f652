"""Checks on the project's hand-written crypto target-level data (data/crypto_targets).

One line is one (sentence, asset) pair labelled with the sentiment toward that asset. The set is
the evaluation of per-asset sentiment, so besides the schema we check what makes the labels
usable: the span really names the asset (a name or ticker of the gazetteer), every asset the text
names has its pair, the parts share no sentence and no near-copy, each category behaves as its
name says, and the README's counts are the files' counts.
"""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from functools import cache

import pytest
from helpers import ROOT
from helpers.near_duplicates import (
    max_pair_overlap,
    norm,
    shingle_index,
    shingles,
    templated_pairs,
)

from sentiment.extract.assets import Asset, load_gazetteer

DATA_DIR = ROOT / "data" / "crypto_targets"
PARTS = ("train", "test")
LABELS = ("bearish", "neutral", "bullish")
KINDS = ("headline", "body")
CATEGORIES = (
    "opposite_moves_figures",
    "opposite_moves_words",
    "opposite_events",
    "contrast",
    "context_only",
    "comparison",
    "same_direction_list",
    "single_asset",
)
CONTRAST_WORDS = ("while", "but", "even as", "despite", "unlike", "whereas", "meanwhile")
MIN_PAIRS = 1500
MIN_TEST_PAIRS = 400
MIN_MIXED_TEST_PAIRS = 150
# Largest share of a sentence's 6-word shingles found in one other sentence of the set.
MAX_PAIR_OVERLAP = 0.5
# Largest Jaccard similarity of two sentences' skeletons (names and numbers masked): above it,
# two sentences are one template with swapped names and figures.
MAX_SKELETON_SIMILARITY = 0.5
ID_RE = re.compile(r"(train|test)-(\d{4})-([A-Z0-9]+)")


def _load(part: str) -> list[dict]:
    rows = []
    with (DATA_DIR / f"{part}.jsonl").open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            assert line.strip(), f"{part}.jsonl:{number} is blank"
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:  # pragma: no cover - the message is the point
                pytest.fail(f"{part}.jsonl:{number} is not valid JSON: {err}")
    return rows


def _sentences(rows: list[dict]) -> dict[str, list[dict]]:
    """The pairs of each sentence, by text, in file order."""
    out: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        out[row["text"]].append(row)
    return out


def _word(form: str, flags: int = 0) -> re.Pattern[str]:
    """``form`` as a whole word (not inside a longer word)."""
    return re.compile(r"(?<!\w)" + re.escape(form) + r"(?!\w)", flags)


def _surface_forms(asset: Asset) -> set[str]:
    """Every lower-cased way the gazetteer writes an asset: ticker, name, aliases, ambiguous forms."""
    return {asset.symbol.lower(), asset.name.lower(), *(a.lower() for a in asset.aliases),
            *asset.ambiguous}


@cache
def _plain_forms(asset: Asset) -> tuple[re.Pattern[str], ...]:
    """The asset's plain mentions: the upper-case ticker (unless it is a strict form such as
    ``NOT``) and names/aliases in any case, leaving out forms that are also English words
    ("near", "link", "sol"), which need context to count."""
    patterns = []
    if asset.symbol.lower() not in asset.strict and len(asset.symbol) >= 2:
        patterns.append(_word(asset.symbol))
    for form in (asset.name, *asset.aliases):
        if form.lower() not in asset.ambiguous and form != asset.symbol:
            patterns.append(_word(form, re.IGNORECASE))
    return tuple(patterns)


def _unambiguous_mentions(asset: Asset, text: str) -> list[int]:
    """Start offsets of the asset's plain mentions in ``text``."""
    return sorted(m.start() for pattern in _plain_forms(asset) for m in pattern.finditer(text))


@pytest.fixture(scope="module")
def parts() -> dict[str, list[dict]]:
    return {part: _load(part) for part in PARTS}


@pytest.fixture(scope="module")
def gazetteer():
    return load_gazetteer()


@pytest.mark.parametrize("part", PARTS)
def test_every_line_has_the_schema(parts, part):
    keys = {"id", "text", "asset", "span", "label", "category", "kind"}
    for number, row in enumerate(parts[part], 1):
        where = f"{part}.jsonl:{number}"
        assert set(row) == keys, f"{where} keys {sorted(row)}"
        text = row["text"]
        assert isinstance(text, str) and text == text.strip() and len(text) >= 20, where
        assert row["label"] in LABELS, f"{where} label {row['label']!r}"
        assert row["category"] in CATEGORIES, f"{where} category {row['category']!r}"
        assert row["kind"] in KINDS, f"{where} kind {row['kind']!r}"
        if row["kind"] == "headline":
            assert not text.endswith("."), f"{where}: a headline has no final full stop"
        start, end = row["span"]
        assert isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text), (
            f"{where} span {row['span']} outside the text"
        )
        match = ID_RE.fullmatch(row["id"])
        assert match and match[1] == part and match[3] == row["asset"], f"{where} id {row['id']!r}"


@pytest.mark.parametrize("part", PARTS)
def test_pairs_of_a_sentence_agree(parts, part):
    """One id per pair; the pairs of a sentence are adjacent, share its number, category and
    kind, and name each asset once."""
    ids = [row["id"] for row in parts[part]]
    assert len(ids) == len(set(ids)), f"{part}: repeated ids"
    numbers: dict[str, str] = {}
    for text, pairs in _sentences(parts[part]).items():
        number = {p["id"].split("-")[1] for p in pairs}
        assert len(number) == 1, f"{part}: one sentence under several numbers: {text!r}"
        assert number.isdisjoint(numbers.values()), f"{part}: sentence number reused: {text!r}"
        numbers[text] = number.pop()
        assert len({(p["category"], p["kind"]) for p in pairs}) == 1, f"{part}: {text!r}"
        assets = [p["asset"] for p in pairs]
        assert len(assets) == len(set(assets)), f"{part}: an asset twice in {text!r}"
    order = [row["text"] for row in parts[part]]
    runs = [text for i, text in enumerate(order) if i == 0 or order[i - 1] != text]
    assert len(runs) == len(set(runs)), f"{part}: the pairs of a sentence are not adjacent"


@pytest.mark.parametrize("part", PARTS)
def test_span_is_the_first_mention_of_the_asset(parts, part, gazetteer):
    for number, row in enumerate(parts[part], 1):
        where = f"{part}.jsonl:{number}"
        asset = gazetteer.by_symbol.get(row["asset"])
        assert asset is not None, f"{where}: {row['asset']} is not in the gazetteer"
        start, end = row["span"]
        mention = row["text"][start:end]
        assert mention.lower() in _surface_forms(asset), (
            f"{where}: span {mention!r} is not a name or ticker of {row['asset']}"
        )
        earlier = [s for s in _unambiguous_mentions(asset, row["text"]) if s < start]
        assert not earlier, f"{where}: {row['asset']} is named before its span, at {earlier[0]}"


@pytest.mark.parametrize("part", PARTS)
def test_every_asset_named_gets_a_pair(parts, part, gazetteer):
    for text, pairs in _sentences(parts[part]).items():
        labelled = {p["asset"] for p in pairs}
        missing = [a.symbol for a in gazetteer.assets
                   if a.symbol not in labelled and _unambiguous_mentions(a, text)]
        assert not missing, f"{part}: {text!r} names {missing} without a pair"


def test_parts_are_disjoint_by_sentence(parts):
    train = {norm(row["text"]) for row in parts["train"]}
    shared = {row["text"] for row in parts["test"] if norm(row["text"]) in train}
    assert not shared, f"sentences in both parts: {sorted(shared)[:5]}"


def test_size_and_test_share(parts):
    total = sum(len(rows) for rows in parts.values())
    assert total >= MIN_PAIRS
    assert len(parts["test"]) >= MIN_TEST_PAIRS
    assert 0.2 <= len(parts["test"]) / total <= 0.35, "the test part is about a quarter of the pairs"


def test_enough_mixed_label_test_pairs(parts):
    """Sentences whose assets get different labels are the point of the set."""
    mixed = sum(len(pairs) for pairs in _sentences(parts["test"]).values()
                if len({p["label"] for p in pairs}) > 1)
    assert mixed >= MIN_MIXED_TEST_PAIRS


@pytest.mark.parametrize("part", PARTS)
def test_every_category_and_label_in_the_part(parts, part):
    seen = Counter(row["category"] for row in parts[part])
    assert set(seen) == set(CATEGORIES), f"{part}: categories missing {set(CATEGORIES) - set(seen)}"
    labels = Counter(row["label"] for row in parts[part])
    for label in LABELS:
        assert labels[label] / len(parts[part]) >= 0.15, f"{part}: {label} is rare: {dict(labels)}"
    kinds = Counter(row["kind"] for row in parts[part])
    assert 0.3 <= kinds["headline"] / len(parts[part]) <= 0.7, f"{part}: kinds {dict(kinds)}"


@pytest.mark.parametrize("part", PARTS)
def test_categories_are_what_they_say(parts, part):
    contrast = re.compile(r"\b(" + "|".join(CONTRAST_WORDS) + r")\b", re.IGNORECASE)
    for text, pairs in _sentences(parts[part]).items():
        category = pairs[0]["category"]
        labels = {p["label"] for p in pairs}
        if category.startswith("opposite_"):
            assert {"bearish", "bullish"} <= labels, f"{part}: no opposite labels in {text!r}"
        if category == "opposite_moves_figures":
            assert re.search(r"\d", text), f"{part}: no figure in {text!r}"
        if category == "opposite_moves_words":
            assert not re.search(r"\d", text), f"{part}: a figure in {text!r}"
        if category == "contrast":
            assert contrast.search(text), f"{part}: no contrast word in {text!r}"
        if category == "context_only":
            assert "neutral" in labels, f"{part}: no context-only asset in {text!r}"
        if category == "same_direction_list":
            assert len(pairs) >= 2, f"{part}: a list of one asset: {text!r}"
        if category == "single_asset":
            assert len(pairs) == 1, f"{part}: a single-asset control names {len(pairs)}: {text!r}"


@pytest.mark.parametrize("part", PARTS)
def test_every_contrast_word_is_used(parts, part):
    texts = list(_sentences(parts[part]))
    for word in CONTRAST_WORDS:
        assert any(re.search(rf"\b{word}\b", t, re.IGNORECASE) for t in texts), (
            f"{part}: no sentence uses {word!r}"
        )


def _closest_other(texts: list[str]) -> list[tuple[float, str, str]]:
    """For each text, the share of its shingles found in the single most similar other text."""
    index = shingle_index(texts)
    out = []
    for i, text in enumerate(texts):
        own = shingles(text)
        hits = Counter(doc for sh in own for doc in index.get(sh, ()) if doc != i)
        if hits:
            doc, count = hits.most_common(1)[0]
            out.append((count / len(own), text, texts[doc]))
    return out


def test_no_near_duplicates_within_or_across_parts(parts):
    texts = [t for part in PARTS for t in _sentences(parts[part])]
    too_close = [c for c in _closest_other(texts) if c[0] > MAX_PAIR_OVERLAP]
    assert not too_close, f"sentences sharing most of their wording: {too_close[:5]}"


def test_no_template_filled_sentences(parts):
    texts = [t for part in PARTS for t in _sentences(parts[part])]
    pairs = templated_pairs(texts, MAX_SKELETON_SIMILARITY)
    assert not pairs, f"sentences sharing one skeleton with swapped names/numbers: {pairs[:5]}"


def test_no_near_copy_of_the_sentence_level_crypto_data(parts):
    """The target model also trains on data/crypto_sentences: neither set may hold a near-copy of
    the other's sentences, or one test part would leak into the other's training."""
    other = []
    for name in ("train.jsonl", "test.jsonl"):
        with (ROOT / "data" / "crypto_sentences" / name).open(encoding="utf-8") as fh:
            other += [json.loads(line)["text"] for line in fh if line.strip()]
    index = shingle_index(other)
    too_close = []
    for part in PARTS:
        for text in _sentences(parts[part]):
            overlap, doc = max_pair_overlap(text, index)
            if doc is not None and overlap > MAX_PAIR_OVERLAP:
                too_close.append((round(overlap, 2), text, other[doc]))
    assert not too_close, f"near-copies of data/crypto_sentences: {too_close[:5]}"


def test_overlap_check_catches_a_lightly_edited_copy(parts):
    """The near-duplicate measure flags a sentence with one name and one word swapped."""
    original = max(_sentences(parts["train"]), key=len)
    words = original.split()
    edited = " ".join(["Dogecoin"] + words[1:-1] + ["yesterday."])
    closest = _closest_other([original, edited])
    assert closest and closest[0][0] > MAX_PAIR_OVERLAP


def test_mention_check_catches_an_unlabelled_asset(gazetteer):
    """The named-asset check sees a ticker, a name in lower case and an alias, and skips a
    lower-case English word that is also an ambiguous coin name."""
    text = "bitcoin rose while ETH and MATIC fell, near the close"
    named = {a.symbol for a in gazetteer.assets if _unambiguous_mentions(a, text)}
    assert named == {"BTC", "ETH", "POL"}


def _readme_counts() -> dict[tuple[str, str], dict[str, int]]:
    """The README table | part | category | bearish | neutral | bullish | pairs | sentences |."""
    text = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    header: list[str] | None = None
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for line in text.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if cells[:2] == ["part", "category"]:
            header = cells[2:]
        elif header and len(cells) == len(header) + 2 and cells[0] in PARTS:
            counts[(cells[0], cells[1])] = {col: int(v) for col, v in zip(header, cells[2:])}
    return counts


def test_readme_counts_match_the_files(parts):
    counts = _readme_counts()
    expected: dict[tuple[str, str], dict[str, int]] = {}
    for part in PARTS:
        rows = parts[part]
        for category in (*CATEGORIES, "all"):
            chosen = [r for r in rows if category in ("all", r["category"])]
            labels = Counter(r["label"] for r in chosen)
            expected[(part, category)] = {**{label: labels[label] for label in LABELS},
                                          "pairs": len(chosen),
                                          "sentences": len({r["text"] for r in chosen})}
    assert set(counts) == set(expected), f"README counts table rows: {sorted(counts)}"
    stale = {key: (counts[key], want) for key, want in expected.items() if counts[key] != want}
    assert not stale, f"README counts are stale (README, files): {stale}"


def test_readme_mixed_label_counts_match_the_files(parts):
    """The README table | part | mixed-label sentences | mixed-label pairs |."""
    text = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] in PARTS and cells[1].isdigit():
            rows[cells[0]] = (int(cells[1]), int(cells[2]))
    expected = {}
    for part in PARTS:
        mixed = [pairs for pairs in _sentences(parts[part]).values()
                 if len({p["label"] for p in pairs}) > 1]
        expected[part] = (len(mixed), sum(len(pairs) for pairs in mixed))
    assert rows == expected, f"README mixed-label counts (README, files): {rows} vs {expected}"


def test_readme_names_every_category():
    text = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    missing = [c for c in CATEGORIES if f"`{c}`" not in text]
    assert not missing, f"README does not describe {missing}"

