"""Measure extraction precision and asset recall by reading: draw a fixed random sample, write a
review sheet listing everything the extractor found in each text, mark each item by hand, tally.

    # 1. a sheet for 400 DS4A headlines (seeded; the trailing " - Publisher" is stripped);
    #    --exclude earlier sheets to draw a sample none of them has read
    python research/tools/review_sample.py draw ../shared/data/crypto_news_dated/ds4a_crypto_news_2020-01_2022-04.csv \\
        --column title --strip-suffix " - " --n 400 --seed 20261206 --out review.md
    # 2. mark each "- [ ]" line: [x] correct, [-] wrong, [?] debatable; leave [ ] for unread
    # 3. precision per field (assets, moves, levels, causes, figures) as JSON
    python research/tools/review_sample.py tally review.md
    # 4. the record to keep: the marks, each headline replaced by a key (sha1: of its text)
    python research/tools/review_sample.py redact review.md --out research/reviews/D-headlines.md

The sheet quotes the headlines, so keep it beside your copy of the data, not in this repository;
the redacted record tallies the same and, passed to --exclude, skips the same headlines.

Asset recall on full articles (``../shared/data/crypto_news_articles_2022-12/``) is measured by
reading too. The 1,000 articles are split once: their line numbers shuffled with
``random.Random(0)``, every fifth of that order (positions 0, 5, 10…) is the TEST part, read only
to measure; rules are made on the other four fifths (DEV).

    # 1. a reading sheet: 30 DEV (or TEST) articles, seeded, none of an earlier sheet;
    #    it has the text and no tags, so the reader lists the assets before seeing the tool's
    python research/tools/review_sample.py articles ../shared/data/crypto_news_articles_2022-12/articles.jsonl \\
        --part test --n 30 --seed 43 --out out/reviews/test-read.md
    # 2. fill each "reader:" line with the symbols a careful reader tags (",", "?SYM" = debatable)
    # 3. the record: the reader's list against the extractor's, without the articles' text
    python research/tools/review_sample.py compare out/reviews/test-read.md ../shared/data/crypto_news_articles_2022-12/articles.jsonl \\
        --out research/reviews/articles-test.md
    # 4. mark the "[ ]" lines (assets found that the reader had not listed), then tally
    python research/tools/review_sample.py tally research/reviews/articles-test.md

The record names each article by its line number and URL and quotes none of it (the texts are
not ours to redistribute). Its assets the reader listed come pre-marked [x], the ones the reader
listed and the tool missed as "missed" lines; recall = correct / (correct + missed).

Asset recall and precision on a labelled (sentence, asset) file, such as the crypto target set:

    python research/tools/review_sample.py targets data/crypto_targets/test.jsonl

Causes on real articles, against a gold file of articles read by hand (``data/causes/``: every
cause a reader finds, stated or not, with its sentence's offsets and direction): the package
tags each gold article; precision and recall per (article, type) and per evidence sentence,
overall and per type, and the direction of each correct cause against the reader's:

    python research/tools/review_sample.py causes data/causes/dev.jsonl ../shared/data/crypto_news_articles_2022-12/articles.jsonl
    python research/tools/review_sample.py causes data/causes/dev.jsonl ARTICLES --model models/crypto-minilm-sentiment --table

Without ``--model`` the direction is the records' (the type's direction table); with a
target-level model, the model's score toward each cause's words in its sentence.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sentiment.schema import Extraction

FIELDS = ("assets", "moves", "levels", "causes", "figures")
_ITEM = re.compile(r"^- \[(.)\] (\w+): ")
_MARKS = {"x": "correct", "-": "wrong", "?": "debatable", " ": "unread"}
_ARTICLE = re.compile(r"^## \d+\. article (\d+)\b", re.MULTILINE)
_READER = re.compile(r"^reader:(.*)$", re.MULTILINE)


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
    return [t for t in order if t not in exclude and text_key(t) not in exclude][:n]


def text_key(text: str) -> str:
    """The key that stands for a headline in a redacted record: ``sha1:`` and 12 hex digits."""
    return "sha1:" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def sheet_texts(text: str) -> set[str]:
    """The headlines (or, in a redacted record, their keys) of a review sheet ("## N. …" lines)."""
    return {m.group(1).strip() for m in re.finditer(r"^## \d+\. (.*)$", text, re.MULTILINE)}


def redact(text: str) -> str:
    """A marked sheet with each "## N. headline" line's headline replaced by its key."""
    return re.sub(r"^(## \d+\. )(.*)$", lambda m: m.group(1) + text_key(m.group(2).strip()), text,
                  flags=re.MULTILINE)


def article_parts(n: int, seed: int = 0) -> dict[str, list[int]]:
    """The fixed DEV/TEST split of ``n`` articles (line numbers): shuffled with
    ``random.Random(seed)``, every fifth position of that order is TEST, the rest DEV."""
    order = random.Random(seed).sample(range(n), n)
    return {"test": sorted(i for p, i in enumerate(order) if p % 5 == 0),
            "dev": sorted(i for p, i in enumerate(order) if p % 5 != 0)}


def read_articles(path: Path) -> list[dict[str, str]]:
    """The articles of a JSON Lines file, in line order."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def draw_articles(n_articles: int, part: str, n: int, seed: int,
                  exclude: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """``n`` line numbers of ``part`` ("dev" or "test"), shuffled with ``random.Random(seed)``,
    none in ``exclude`` (the articles of earlier sheets)."""
    pool = article_parts(n_articles)[part]
    return [i for i in random.Random(seed).sample(pool, len(pool)) if i not in exclude][:n]


def sheet_articles(text: str) -> list[int]:
    """The article line numbers of a reading sheet or record ("## N. article I …" lines)."""
    return [int(m.group(1)) for m in _ARTICLE.finditer(text)]


def reading_sheet(articles: list[dict[str, str]], indices: list[int]) -> str:
    """A sheet to read: each article's title and text and an empty "reader:" line, no tags."""
    lines = ["# Asset reading", "",
             "Fill each article's reader line with the symbols of every crypto asset it names (coins,",
             "tokens, stablecoins), comma separated, ?SYM for a debatable one. A chain or protocol named",
             "by its token's name is that token (Avalanche: AVAX, Uniswap: UNI); an exchange or company",
             "whose token has another name is not (FTX, Binance); a firm named only as a business is ?.", ""]
    for k, i in enumerate(indices, 1):
        a = articles[i]
        lines += [f"## {k}. article {i} {a.get('url', '')}", "", f"# {a.get('title', '')}", "",
                  a.get("text", ""), "", "reader:", ""]
    return "\n".join(lines)


def reader_lists(text: str) -> dict[int, tuple[set[str], set[str]]]:
    """Article line number → (symbols the reader listed, symbols the reader marked debatable)."""
    out: dict[int, tuple[set[str], set[str]]] = {}
    heads = list(_ARTICLE.finditer(text))
    for h, nxt in zip(heads, [*heads[1:], None]):
        block = text[h.end():nxt.start() if nxt else len(text)]
        found = _READER.findall(block)
        words = [w.strip().upper() for w in (found[-1] if found else "").split(",") if w.strip()]
        out[int(h.group(1))] = ({w for w in words if not w.startswith("?")},
                                {w[1:] for w in words if w.startswith("?")})
    return out


def compare(read: str, articles: list[dict[str, str]]) -> str:
    """The record of a filled reading sheet: per article its line number and URL, the reader's
    list, each asset the extractor found (pre-marked [x] when the reader listed it, [?] when the
    reader called it debatable, [ ] to judge otherwise) and a "missed" line for each listed
    asset it did not find. No text of the articles."""
    from sentiment.extract import Extractor

    lists = reader_lists(read)
    indices = sheet_articles(read)
    extractor = Extractor()
    found = extractor.pipe((articles[i].get("title"), articles[i].get("text", "")) for i in indices)
    lines = ["# Asset recall record", "",
             "[x] correct, [-] wrong, [?] debatable; missed: listed by the reader, not found.", ""]
    for k, (i, extraction) in enumerate(zip(indices, found), 1):
        listed, debatable = lists.get(i, (set(), set()))
        lines += [f"## {k}. article {i} {articles[i].get('url', '')}", "",
                  "reader: " + ", ".join([*sorted(listed), *(f"?{d}" for d in sorted(debatable))]), ""]
        got = [a.symbol for a in extraction.assets]
        for sym in got:
            mark = "x" if sym in listed else "?" if sym in debatable else " "
            lines.append(f"- [{mark}] assets: {sym}")
        lines += [f"- [x] missed: {sym}" for sym in sorted(listed - set(got))]
        lines.append("")
    return "\n".join(lines)


def target_recall(path: Path) -> dict[str, Any]:
    """Asset recall and precision of the extractor on a labelled (sentence, asset) file such as
    ``data/crypto_targets/test.jsonl``: the gold assets of a sentence are its pairs' assets."""
    from sentiment.extract import Extractor

    gold: dict[str, set[str]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                gold.setdefault(row["text"], set()).add(row["asset"])
    texts = list(gold)
    found = [{a.symbol for a in e.assets} for e in Extractor().pipe((None, t) for t in texts)]
    hit = sum(len(gold[t] & f) for t, f in zip(texts, found))
    n_gold, n_found = sum(len(g) for g in gold.values()), sum(len(f) for f in found)
    return {"sentences": len(texts), "assets": n_gold, "found": n_found,
            "recall": round(hit / n_gold, 4) if n_gold else None,
            "precision": round(hit / n_found, 4) if n_found else None,
            "missed": sorted(f"{s}: {t}" for t, f in zip(texts, found) for s in gold[t] - f),
            "extra": sorted(f"{s}: {t}" for t, f in zip(texts, found) for s in f - gold[t])}


def read_gold(path: Path) -> list[dict[str, Any]]:
    """The rows of a cause gold file (one JSON object per article read)."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def check_gold_row(row: dict[str, Any], articles: list[dict[str, str]]) -> None:
    """Raise ValueError when a gold row does not point into ``articles`` (its line is out of
    range, or a cause's sentence does not have its sha1: another articles file)."""
    line = int(row["line"])
    if not 0 <= line < len(articles):
        raise ValueError(f"gold line {line} is not an article of the file ({len(articles)} articles)")
    for c in row["causes"]:
        text = articles[line].get(c["field"]) or ""
        if hashlib.sha1(text[c["start"]:c["end"]].encode("utf-8")).hexdigest()[:12] != c["sha1"]:
            raise ValueError(f"gold line {line}: the {c['field']} at {c['start']}-{c['end']} does not have "
                             f"sha1 {c['sha1']} (another articles file?)")


def cause_evidence(extraction: Extraction) -> list[tuple[str, str, int, int]]:
    """(type, field, start, end) of every sentence the extractor states a cause in: the title
    (offsets into the title) and the body sentences (offsets into the text)."""
    out: list[tuple[str, str, int, int]] = []
    if extraction.title is not None:
        out += [(t, "title", extraction.title.start, extraction.title.end) for t in extraction.title.causes]
    for s in extraction.sentences:
        out += [(t, "text", s.start, s.end) for t in s.causes]
    return out


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _pr(found: Counter[str], hit: Counter[str], gold: Counter[str], key: str) -> dict[str, Any]:
    return {"found": found[key], "correct": hit[key], "gold": gold[key],
            "precision": _ratio(hit[key], found[key]), "recall": _ratio(hit[key], gold[key])}


def cause_review(gold: list[dict[str, Any]], articles: list[dict[str, str]],
                 model: Any = None, *, directions: bool = True) -> dict[str, Any]:
    """Causes found by the package on the gold's articles against the reader's.

    Article level: an (article, type) pair the package finds is correct when the gold has a
    stated cause of that type in that article; recall counts the gold's stated pairs found.
    Evidence level: the same per sentence (a found sentence is correct when it overlaps a gold
    stated sentence of that type). Direction: the label of each correct article-level cause
    against the gold direction of that type in that article (the most frequent one when the
    reader's sentences differ): the records' direction, or with ``model`` (a target-level model
    folder or an object with ``score_targets``) that model's score toward the cause's words."""
    from sentiment.extract import Extractor

    lines = [int(row["line"]) for row in gold]
    for row in gold:
        check_gold_row(row, articles)
    pairs = [(articles[i].get("title"), articles[i].get("text", "")) for i in lines]
    extractions = list(Extractor().pipe(pairs))
    labels: list[dict[str, str]] = [{} for _ in lines]
    if directions and model is None:  # what the records say
        from sentiment import Analyzer
        from sentiment.schema import Article

        analyzer = Analyzer(include_sentences=False)
        tagged = analyzer.analyze_batch([Article(text=t or "", title=h) for h, t in pairs])
        labels = [{c.type: c.sentiment.label for c in x.causes} if not isinstance(x, Exception) else {}
                  for x in tagged]
    elif directions:  # a target-level model's score toward each cause's words in its sentence
        from sentiment.classify.model import SentimentModel

        scorer = SentimentModel.load(model) if isinstance(model, (str, Path)) else model
        where = [(k, c) for k, ex in enumerate(extractions) for c in ex.causes if c.evidence.strip()]
        scores = scorer.score_targets([(c.evidence, c.span or (0, len(c.evidence))) for _, c in where])
        for (k, c), score in zip(where, scores):
            labels[k][c.type] = score.label
    found, hit, want = Counter[str](), Counter[str](), Counter[str]()
    ev_found, ev_hit, ev_want, ev_got = Counter[str](), Counter[str](), Counter[str](), Counter[str]()
    right, judged = Counter[str](), Counter[str]()
    wrong: list[str] = []
    missed: list[str] = []
    for row, ex, label in zip(gold, extractions, labels):
        stated = [c for c in row["causes"] if c["stated"]]
        gold_types = {c["type"] for c in stated}
        got_types = {c.type for c in ex.causes}
        for t in got_types:
            found[t] += 1
            if t in gold_types:
                hit[t] += 1
                if directions:
                    want_dir = Counter(c["direction"] for c in stated if c["type"] == t).most_common(1)[0][0]
                    judged[t] += 1
                    right[t] += label.get(t) == want_dir
            else:
                wrong.append(f"{row['line']} {t}")
        for t in gold_types:
            want[t] += 1
            if t not in got_types:
                missed.append(f"{row['line']} {t}")
        evidence = cause_evidence(ex)
        for t, fld, s, e in evidence:
            ev_found[t] += 1
            ev_hit[t] += any(c["type"] == t and c["field"] == fld and c["start"] < e and s < c["end"] for c in stated)
        for c in stated:
            ev_want[c["type"]] += 1
            ev_got[c["type"]] += any(t == c["type"] and fld == c["field"] and c["start"] < e and s < c["end"]
                                     for t, fld, s, e in evidence)
    types = sorted(set(found) | set(want), key=lambda t: (-want[t], t))
    total = "all"
    for counter in (found, hit, want, ev_found, ev_hit, ev_want, ev_got, right, judged):
        counter[total] = sum(counter.values())
    out: dict[str, Any] = {"articles": len(gold), "article_level": {}, "evidence_level": {}, "direction": {}}
    for t in [total, *types]:
        out["article_level"][t] = _pr(found, hit, want, t)
        out["evidence_level"][t] = {"found": ev_found[t], "correct": ev_hit[t], "gold": ev_want[t],
                                    "precision": _ratio(ev_hit[t], ev_found[t]),
                                    "recall": _ratio(ev_got[t], ev_want[t])}
        if directions:
            out["direction"][t] = {"judged": judged[t], "right": right[t], "accuracy": _ratio(right[t], judged[t])}
    out["wrong"], out["missed"] = wrong, missed
    return out


def cause_table(review: dict[str, Any]) -> str:
    """The review as a Markdown table: one row per type, the overall row first."""
    rows = ["| type | found | correct | gold | precision | recall | evidence P | evidence R | direction |",
            "|---|---|---|---|---|---|---|---|---|"]

    def f(x: float | None) -> str:
        return "–" if x is None else f"{x:.2f}"

    for t, a in review["article_level"].items():
        ev, d = review["evidence_level"][t], review["direction"].get(t, {})
        dcell = f"{d['right']}/{d['judged']}" if d else "–"
        rows.append(f"| {t} | {a['found']} | {a['correct']} | {a['gold']} | {f(a['precision'])} | "
                    f"{f(a['recall'])} | {f(ev['precision'])} | {f(ev['recall'])} | {dcell} |")
    return "\n".join(rows)


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
    """Counts per field and precision = correct / (correct + wrong), from a marked sheet; for
    assets also recall = correct / (correct + missed), where a sheet has "missed" lines."""
    counts: dict[str, Counter[str]] = {f: Counter() for f in (*FIELDS, "missed")}
    for line in text.splitlines():
        m = _ITEM.match(line)
        if m and m.group(2) in counts:
            counts[m.group(2)][_MARKS.get(m.group(1).lower(), "unread")] += 1
    out: dict[str, dict[str, float | int | None]] = {}
    for name in FIELDS:
        c = counts[name]
        judged = c["correct"] + c["wrong"]
        out[name] = {"items": sum(c.values()), **{k: c[k] for k in _MARKS.values()},
                     "precision": round(c["correct"] / judged, 4) if judged else None}
    if counts["missed"] or _READER.search(text):  # a recall record: "missed" lines are assets not found
        hit, missed = counts["assets"]["correct"], counts["missed"]["correct"]
        out["assets"].update(missed=missed, recall=round(hit / (hit + missed), 4) if hit + missed else None)
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
    a = sub.add_parser("articles", help="draw DEV or TEST articles and write a reading sheet")
    a.add_argument("jsonl", type=Path)
    a.add_argument("--part", choices=("dev", "test"), required=True)
    a.add_argument("--n", type=int, default=30)
    a.add_argument("--seed", type=int, required=True)
    a.add_argument("--out", type=Path, required=True)
    a.add_argument("--exclude", type=Path, nargs="*", default=[], help="earlier sheets whose articles to skip")
    c = sub.add_parser("compare", help="the record of a filled reading sheet: reader vs extractor")
    c.add_argument("sheet", type=Path)
    c.add_argument("jsonl", type=Path)
    c.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("redact", help="a marked headline sheet without its headlines, to keep")
    r.add_argument("sheet", type=Path)
    r.add_argument("--out", type=Path, required=True)
    g = sub.add_parser("targets", help="asset recall and precision on a labelled (sentence, asset) file")
    g.add_argument("jsonl", type=Path)
    k = sub.add_parser("causes", help="cause precision, recall and direction against a gold file of read articles")
    k.add_argument("gold", type=Path)
    k.add_argument("jsonl", type=Path, help="the articles the gold's line numbers point into")
    k.add_argument("--model", default=None, help="a target-level model that scores the causes' direction "
                   "(default: the records' direction table)")
    k.add_argument("--no-direction", action="store_true", help="count causes only (no model is loaded)")
    k.add_argument("--table", action="store_true", help="a Markdown table instead of JSON")
    t = sub.add_parser("tally", help="precision per field (and asset recall) from a marked sheet")
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
    elif args.command == "articles":
        missing = [f for f in [args.jsonl, *args.exclude] if not f.is_file()]
        if missing:
            parser.error(f"{missing[0]}: no such file")
        articles = read_articles(args.jsonl)
        read_before = {i for f in args.exclude for i in sheet_articles(f.read_text(encoding="utf-8"))}
        indices = draw_articles(len(articles), args.part, args.n, args.seed, read_before)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(reading_sheet(articles, indices), encoding="utf-8")
        print(f"{len(indices)} {args.part} articles → {args.out}")
    elif args.command == "compare":
        missing = [f for f in (args.sheet, args.jsonl) if not f.is_file()]
        if missing:
            parser.error(f"{missing[0]}: no such file")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(compare(args.sheet.read_text(encoding="utf-8"), read_articles(args.jsonl)),
                            encoding="utf-8")
        print(f"record → {args.out}")
    elif args.command == "targets":
        if not args.jsonl.is_file():
            parser.error(f"{args.jsonl}: no such file")
        print(json.dumps(target_recall(args.jsonl), indent=1))
    elif args.command == "causes":
        missing = [f for f in (args.gold, args.jsonl) if not f.is_file()]
        if missing:
            parser.error(f"{missing[0]}: no such file")
        try:
            review = cause_review(read_gold(args.gold), read_articles(args.jsonl), args.model,
                                  directions=not args.no_direction)
        except (ValueError, KeyError) as exc:
            parser.error(f"{args.gold}: {exc}")
        print(cause_table(review) if args.table else json.dumps(review, indent=1))
    elif args.command == "redact":
        if not args.sheet.is_file():
            parser.error(f"{args.sheet}: no such file")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(redact(args.sheet.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"record → {args.out}")
    else:
        if not args.sheet.is_file():
            parser.error(f"{args.sheet}: no such file")
        print(json.dumps(tally(args.sheet.read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
