"""Fit the stated / not-stated model of cause candidates and measure it by cross-validation.

The training rows are the rule candidates (``doc._.causes`` with every candidate kept and its
features recorded) of:

* the DEV articles read whole (``data/causes/dev.jsonl``): a candidate is stated when the gold
  has a stated cause of its type in an overlapping sentence of the same field, else not (the
  reading lists every stated cause);
* the judged candidates of ``data/causes/candidates.jsonl`` (more DEV articles and headlines):
  their own labels; a candidate the file does not judge is left out.

Cross-validation: 5 folds grouped by article (each headline its own group), groups shuffled with
``random.Random(0)``; each candidate of a gold article is predicted by the model that did not
see its article, and article-level precision and recall are counted on the gold articles as
``review_sample.py causes`` counts them, against the rules alone (every candidate kept).

    python research/tools/fit_stated.py                       # cross-validation, every variant
    python research/tools/fit_stated.py --variant absolute_position --write   # fit on all rows, write

``--write`` writes the word lists of ``sentiment/extract/data/stated.json`` with the fitted
``weights`` and ``threshold`` to ``--out`` (default ``sentiment/extract/data/stated_fitted.json``,
the model a pipeline can choose; ``stated.json``, the default decision, holds vetoes only).
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
ARTICLES = DATA / "crypto_news_articles_2022-12" / "articles.jsonl"
STATED = ROOT / "sentiment" / "extract" / "data" / "stated.json"
FITTED = ROOT / "sentiment" / "extract" / "data" / "stated_fitted.json"
FOLDS = 5

# Variants: (regularisation C, features left out, threshold, vetoes); a name ending in "=" leaves
# out every feature that starts with it ("rule=", "cue=": the features fit 3 added); a veto is a
# feature that makes a candidate not stated whatever the weights. Written in research/log.md
# before each is run.
NEW_IN_FIT_3 = ("rule=", "cue=")
LATER = ("in_condition", "position_abs")  # added for fits 5 and 6
VARIANTS: dict[str, tuple[float, tuple[str, ...], float, tuple[str, ...]]] = {
    "base": (1.0, NEW_IN_FIT_3 + LATER, 0.5, ()),
    "low_threshold": (1.0, NEW_IN_FIT_3 + LATER, 0.35, ()),
    "cue_syntax": (1.0, LATER, 0.35, ()),
    "threshold_025": (1.0, NEW_IN_FIT_3 + LATER, 0.25, ()),
    "threshold_025_conditions": (1.0, NEW_IN_FIT_3 + ("position_abs",), 0.25, ("in_condition",)),
    "absolute_position": (1.0, NEW_IN_FIT_3 + ("in_condition", "position"), 0.25, ()),
}


def _kept(name: str, drop: tuple[str, ...]) -> bool:
    return not any(name == d or (d.endswith("=") and name.startswith(d)) for d in drop)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def candidates(nlp: Any, pieces: Iterable[tuple[Any, str, str]]) -> list[tuple[Any, str, dict[str, Any]]]:
    """(key, field, candidate) for every rule candidate of each (key, field, text) piece."""
    pieces = list(pieces)
    out = []
    for (key, field, _), doc in zip(pieces, nlp.pipe(p[2] for p in pieces)):
        out += [(key, field, c) for c in doc._.causes]
    return out


def training_rows(nlp: Any) -> list[dict[str, Any]]:
    """One row per labelled candidate: group, gold line (or None), field, type, features, label."""
    articles = read_jsonl(ARTICLES)
    gold = read_jsonl(ROOT / "data" / "causes" / "dev.jsonl")
    judged = read_jsonl(ROOT / "data" / "causes" / "candidates.jsonl")
    rows: list[dict[str, Any]] = []

    def pieces(lines: Iterable[int]) -> list[tuple[int, str, str]]:
        return [(i, f, articles[i][f] or "") for i in lines for f in ("title", "text")]

    by_line = {r["line"]: r for r in gold}
    for line, field, c in candidates(nlp, pieces(by_line)):
        stated = any(g["stated"] and g["type"] == c["type"] and g["field"] == field
                     and _overlap((g["start"], g["end"]), c["sent"]) for g in by_line[line]["causes"])
        rows.append({"group": f"a{line}", "gold": line, "field": field, "type": c["type"],
                     "features": c["features"], "stated": stated})
    labels: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for j in judged:
        where = j["line"] if j["source"] == "article" else ("h", j["file"], j["row"])
        labels[(where, j["field"], j["rule_type"] or j["type"])].append(j)
    lines = sorted({j["line"] for j in judged if j["source"] == "article"})
    for line, field, c in candidates(nlp, pieces(lines)):
        hit = [j for j in labels.get((line, field, c["type"]), []) if _overlap((j["start"], j["end"]), c["sent"])]
        if hit:
            rows.append({"group": f"a{line}", "gold": None, "field": field, "type": c["type"],
                         "features": c["features"], "stated": hit[0]["stated"]})
    heads = sorted({(j["file"], j["row"], j["column"]) for j in judged if j["source"] == "headline"})
    tables = {f: list(csv.DictReader((DATA / f).open(encoding="utf-8"))) for f in {h[0] for h in heads}}
    for (f, row, _), field, c in candidates(nlp, [((f, r, col), "title", tables[f][r][col]) for f, r, col in heads]):
        hit = labels.get((("h", f, row), field, c["type"]), [])
        if hit:
            rows.append({"group": f"h{f}:{row}", "gold": None, "field": field, "type": c["type"],
                         "features": c["features"], "stated": hit[0]["stated"]})
    return rows


def fit(rows: list[dict[str, Any]], c: float, drop: tuple[str, ...]) -> tuple[DictVectorizer, LogisticRegression]:
    vec = DictVectorizer()
    x = vec.fit_transform([{k: v for k, v in r["features"].items() if _kept(k, drop)} for r in rows])
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit(x, [r["stated"] for r in rows])
    return vec, model


def article_scores(rows: list[dict[str, Any]], keep: list[bool], gold: list[dict[str, Any]]) -> dict[str, Any]:
    """Article-level precision and recall on the gold articles of the candidates kept."""
    found = {(r["gold"], r["type"]) for r, k in zip(rows, keep) if k and r["gold"] is not None}
    want = {(g["line"], c["type"]) for g in gold for c in g["causes"] if c["stated"]}
    hit = len(found & want)
    p = hit / len(found) if found else 0.0
    r = hit / len(want) if want else 0.0
    return {"found": len(found), "correct": hit, "gold": len(want), "precision": round(p, 4),
            "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0}


def cross_validate(rows: list[dict[str, Any]], c: float, drop: tuple[str, ...],
                   vetoes: tuple[str, ...] = ()) -> list[float]:
    """Out-of-fold P(stated) of every row (folds grouped by article, seeded)."""
    groups = sorted({r["group"] for r in rows})
    random.Random(0).shuffle(groups)
    fold_of = {g: k % FOLDS for k, g in enumerate(groups)}
    probs = [0.0] * len(rows)
    for k in range(FOLDS):
        train = [r for r in rows if fold_of[r["group"]] != k]
        vec, model = fit(train, c, drop)
        test = [i for i, r in enumerate(rows) if fold_of[r["group"]] == k]
        x = vec.transform([{f: v for f, v in rows[i]["features"].items() if _kept(f, drop)} for i in test])
        for i, p in zip(test, model.predict_proba(x)[:, 1]):
            probs[i] = 0.0 if any(rows[i]["features"].get(v) for v in vetoes) else float(p)
    return probs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=sorted(VARIANTS), action="append",
                        help="variant(s) to run (default: all)")
    parser.add_argument("--write", action="store_true", help="fit the (single) variant on all rows and write it")
    parser.add_argument("--out", type=Path, default=FITTED, help="where --write writes the model file")
    args = parser.parse_args(argv)
    if not ARTICLES.is_file():
        parser.error(f"{ARTICLES}: not found (the shared datasets must be beside the checkout)")
    from sentiment.extract import build_nlp

    nlp = build_nlp()
    nlp.get_pipe("crypto_causes").record_features = True
    rows = training_rows(nlp)
    gold = read_jsonl(ROOT / "data" / "causes" / "dev.jsonl")
    report: dict[str, Any] = {"rows": len(rows), "stated": sum(r["stated"] for r in rows),
                              "rules_alone": article_scores(rows, [True] * len(rows), gold)}
    names = args.variant or sorted(VARIANTS)
    for name in names:
        c, drop, threshold, vetoes = VARIANTS[name]
        probs = cross_validate(rows, c, drop, vetoes)
        keep = [p >= threshold for p in probs]
        acc = np.mean([k == r["stated"] for k, r in zip(keep, rows)])
        report[name] = {"candidate_accuracy": round(float(acc), 4), **article_scores(rows, keep, gold)}
    print(json.dumps(report, indent=1))
    if args.write:
        if len(names) != 1:
            parser.error("--write needs exactly one --variant")
        c, drop, threshold, vetoes = VARIANTS[names[0]]
        vec, model = fit(rows, c, drop)
        weights = {"bias": round(float(model.intercept_[0]), 5)}
        for f, w in zip(vec.get_feature_names_out(), model.coef_[0]):
            weights[str(f)] = round(float(w) + (weights["bias"] if f == "bias" else 0.0), 5)
        data = json.loads(STATED.read_text(encoding="utf-8"))
        data["weights"], data["threshold"], data["vetoes"] = weights, threshold, list(vetoes)
        data.pop("veto_exempt", None)
        data.pop("veto_only", None)
        data["fitted"] = {"variant": names[0], "rows": len(rows), "C": c, "dropped": list(drop)}
        args.out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"weights → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
