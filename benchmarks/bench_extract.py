"""Extraction speed: articles and words per second on ~700-word articles.

Texts are generated from the project's own test articles (tests/data/articles/*.txt): their
paragraphs are shuffled and joined until an article has about 700 words. Each configuration
(pipeline × processes × batch size) runs a few times; the median is reported. Pipelines: ``full``
(the default ``build_nlp()``: tagger, parser, NER and our components) and ``fast``
(``build_nlp(disable=["parser", "ner"])``: sentences from the model's senter, no entities from
the NER, no number-less moves). Prints a table and the milliseconds per article of each
component of the full pipeline, then one JSON line with every figure.

usage: python benchmarks/bench_extract.py [--articles 40] [--runs 3] [--words 700]
                                          [--batch-sizes 16] [--configs full,fast]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sentiment.extract import Extractor, build_nlp
from sentiment.extract.ops import choose_gemm


def make_articles(n: int, words: int, seed: int = 0) -> list[tuple[str | None, str]]:
    """``n`` (title, text) pairs of about ``words`` words from shuffled test-article paragraphs."""
    paras = [p.strip() for f in sorted((ROOT / "tests" / "data" / "articles").glob("*.txt"))
             for p in f.read_text(encoding="utf-8").splitlines() if len(p.split()) > 5]
    rng = random.Random(seed)
    out = []
    for i in range(n):
        chosen: list[str] = []
        while sum(len(p.split()) for p in chosen) < words:
            chosen.append(rng.choice(paras))
        out.append((f"Market wrap {i}", "\n".join(chosen)))
    return out


def run(ex: Extractor, items: list[tuple[str | None, str]], n_process: int, batch_size: int) -> float:
    t = time.perf_counter()
    for _ in ex.pipe(items, n_process=n_process, batch_size=batch_size):
        pass
    return time.perf_counter() - t


def component_ms(nlp, texts: list[str]) -> dict[str, float]:
    """Milliseconds per article each component of ``nlp`` takes (one process, one pass), the
    tokenizer included: where extraction time goes."""
    docs = [nlp.make_doc(t) for t in texts[:2]]
    for _, proc in nlp.pipeline:  # warm-up
        docs = [proc(d) for d in docs]
    out: dict[str, float] = {}
    t = time.perf_counter()
    docs = [nlp.make_doc(text) for text in texts]
    out["tokenizer"] = time.perf_counter() - t
    for name, proc in nlp.pipeline:
        t = time.perf_counter()
        docs = list(proc.pipe(docs, batch_size=16)) if hasattr(proc, "pipe") else [proc(d) for d in docs]
        out[name] = time.perf_counter() - t
    return {k: round(v / len(texts) * 1000, 1) for k, v in out.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=40)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--words", type=int, default=700)
    ap.add_argument("--batch-sizes", default="16")
    ap.add_argument("--configs", default="full,fast")
    args = ap.parse_args()
    items = make_articles(args.articles, args.words)
    n_words = sum(len(t.split()) + len((h or "").split()) for h, t in items)
    configs = {"full": None, "fast": ["parser", "ner"]}
    rows = []
    load_s = {}
    for cfg in args.configs.split(","):
        t = time.perf_counter()
        ex = Extractor(build_nlp(disable=configs[cfg]))
        load_s[cfg] = round(time.perf_counter() - t, 2)
        run(ex, items[:4], 1, 8)  # warm-up
        for n_process in (1, 2):
            for bs in (int(b) for b in args.batch_sizes.split(",")):
                times = [run(ex, items, n_process, bs) for _ in range(args.runs)]
                med = statistics.median(times)
                rows.append({"pipeline": cfg, "n_process": n_process, "batch_size": bs, "seconds": round(med, 3),
                             "articles_per_s": round(len(items) / med, 2), "words_per_s": round(n_words / med)})
    components = component_ms(build_nlp(), [t for _, t in items])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"{len(items)} articles, {n_words / len(items):.0f} words each on average; median of {args.runs} runs; "
          f"{os.cpu_count()} CPUs, load average {load}")
    print(f"{'pipeline':>8} {'processes':>9} {'batch':>6} {'seconds':>8} {'articles/s':>11} {'words/s':>9}")
    for r in rows:
        print(f"{r['pipeline']:>8} {r['n_process']:>9} {r['batch_size']:>6} {r['seconds']:>8.2f} "
              f"{r['articles_per_s']:>11.1f} {r['words_per_s']:>9}")
    print(f"full pipeline, ms per article by component (one process; total {sum(components.values()):.0f} ms, "
          f"spaCy gemm: {choose_gemm()}):")
    print("  " + ", ".join(f"{k} {v}" for k, v in components.items()))
    print(json.dumps({"bench": "extract", "articles": len(items), "avg_words": round(n_words / len(items)),
                      "runs": args.runs, "load_s": load_s, "cpus": os.cpu_count(), "loadavg": load,
                      "python": platform.python_version(), "rows": rows, "component_ms": components,
                      "gemm": choose_gemm()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
