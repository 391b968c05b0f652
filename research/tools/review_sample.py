"""Measure extraction precision by reading: draw a fixed random sample of headlines, write a review
sheet listing everything the extractor found in each, mark each item by hand, then tally.

    # 1. a sheet for 400 DS4A headlines (seeded; the trailing " - Publisher" is stripped);
    #    --exclude earlier sheets to draw a sample none of them has read
    python research/tools/review_sample.py draw ../shared/data/crypto_news_dated/ds4a_crypto_news_2020-01_2022-04.csv \\
        --column title --strip-suffix " - " --n 400 --seed 20261206 --out review.md
    # 2. mark each "- [ ]" line: [x] correct, [-] wrong, [?] debatable; leave [ ] for unread
    # 3. precision per field (assets, moves, levels, causes, figures) as JSON
    python research/tools/review_sample.py tally review.md

The sheet quotes the headlines, so keep it beside your copy of the data, not in this repository.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from sentiment.schema import Extraction

FIELDS = ("assets", "moves", "levels", "causes", "figures")
_ITEM = re.compile(r"^- \[(.)\] (\w+): ")
_MARKS = {"x": "correct", "-": "wrong", "?": "debatable", " ": "unread"}


def draw(path: Path, column: str, n: int, seed: int, strip_suffix: str | None = None,
         exclude: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """``n`` distinct texts of ``column``, not in ``exclude``: the file's texts shuffled with
    ``random.Random(seed)``, the first ``n`` kept, so a later sample can skip an earlier one's."""
    with path.open(encoding="utf-8", newline="") as fh:
        texts = [(row.get(column) or "").strip() for row in csv.DictReader(fh)]
    if strip_suffix:
        texts = [t.rsplit(strip_suffix, 1)[0] if strip_suffix in t else t for t in texts]
    unique = list(dict.fromkeys(t for t in texts if t))
    order = random.Random(seed).sample(unique, len(unique))
    return [t for t in order if t not in exclude][:n]


def sheet_texts(text: str) -> set[str]:
    """The headlines of a review sheet (its "## N. headline" lines)."""
    return {m.group(1).strip() for m in re.finditer(r"^## \d+\. (.*)$", text, re.MULTILINE)}


def items(extraction: Extraction) -> Iterable[tuple[str, str]]:
    """(field, one readable line) for every asset, move, level, cause and figure found."""
    for a in extraction.assets:
        yield "assets", a.symbol
    for m in extraction.moves:
        pct = "" if m.change_pct is None else f" {m.change_pct:+g}%"
        to = "" if m.to_price is None else f" to {m.to_price:g}"
        yield "moves", f"{m.asset} {m.direction}{pct}{to}"
    for lv in extraction.levels:
        yield "levels", f"{lv.asset} {lv.price:g} {lv.kind}"
    for c in extraction.causes:
        yield "causes", c.type
    for f in extraction.figures:
        yield "figures", f"{f.kind} {f.value:+g} {f.unit}"


def sheet(texts: list[str]) -> str:
    """The review sheet: each headline, then one unchecked line per extracted item."""
    from sentiment.extract import Extractor

    extractor = Extractor()
    lines = ["# Extraction review", "", "Mark each item: [x] correct, [-] wrong, [?] debatable.", ""]
    for i, (text, extraction) in enumerate(zip(texts, extractor.pipe((None, t) for t in texts)), 1):
        lines += [f"## {i}. {text}", ""]
        lines += [f"- [ ] {name}: {line}" for name, line in items(extraction)] or ["(nothing found)"]
        lines.append("")
    return "\n".join(lines)


def tally(text: str) -> dict[str, dict[str, float | int | None]]:
    """Counts per field and precision = correct / (correct + wrong), from a marked sheet."""
    counts: dict[str, Counter[str]] = {f: Counter() for f in FIELDS}
    for line in text.splitlines():
        m = _ITEM.match(line)
        if m and m.group(2) in counts:
            counts[m.group(2)][_MARKS.get(m.group(1).lower(), "unread")] += 1
    out: dict[str, dict[str, float | int | None]] = {}
    for name, c in counts.items():
        judged = c["correct"] + c["wrong"]
        out[name] = {"items": sum(c.values()), **{k: c[k] for k in _MARKS.values()},
                     "precision": round(c["correct"] / judged, 4) if judged else None}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("draw", help="draw a sample and write its review sheet")
    d.add_argument("csv", type=Path)
    d.add_argument("--column", default="text")
    d.add_argument("--strip-suffix", default=None, help='cut the text at the last occurrence, e.g. " - "')
    d.add_argument("--n", type=int, default=400)
    d.add_argument("--seed", type=int, default=20261206)
    d.add_argument("--out", type=Path, required=True)
    d.add_argument("--exclude", type=Path, nargs="*", default=[], help="earlier sheets whose headlines to skip")
    t = sub.add_parser("tally", help="precision per field from a marked sheet")
    t.add_argument("sheet", type=Path)
    args = parser.parse_args(argv)
    if args.command == "draw":
        missing = [f for f in [args.csv, *args.exclude] if not f.is_file()]
        if missing:
            parser.error(f"{missing[0]}: no such file")
        seen = set().union(*(sheet_texts(f.read_text(encoding="utf-8")) for f in args.exclude))
        texts = draw(args.csv, args.column, args.n, args.seed, args.strip_suffix, seen)
        if not texts:
            parser.error(f"{args.csv}: no text in column {args.column!r}")
        args.out.write_text(sheet(texts), encoding="utf-8")
        print(f"{len(texts)} headlines → {args.out}")
    else:
        if not args.sheet.is_file():
            parser.error(f"{args.sheet}: no such file")
        print(json.dumps(tally(args.sheet.read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
