"""Classifier and pipeline speed on this machine: sentences/s, articles/s, peak memory, parity.

Sentence scoring, each configuration in its own subprocess (so peak memory is its own):

* ``naive``      transformers ``pipeline("text-classification")``, torch float32, batch 32,
                 each batch padded to its longest sentence, sentences in their given order;
* ``torch``      our ``SentimentModel`` on torch float32 (length-bucketed batches of 64);
* ``onnx-fp32``  the same on the exported, fused float32 ONNX graph;
* ``onnx-int8``  the same on the int8 graph (the default backend; 7-bit weights on x86 CPUs
                 without VNNI, whose int8 products would saturate);
* ``fast-int8``  the ``fast`` profile (the shipped 3-layer student) on its int8 graph;
* ``bert-base``  a BERT-base-size classifier (110M parameters, FinBERT's architecture:
                 ``BertConfig()`` with 3 labels, random weights built in memory) through the
                 naive path: the FinBERT speed anchor.

Sentences: the Financial PhraseBank (``../shared``) when present, else the sentences of
``examples/``. The whole pipeline (``tag_files``: reading, spaCy extraction, scoring,
aggregation, writing JSON Lines) runs on ~700-word articles generated from ``examples/``
texts (sentences shuffled and repeated) in a temporary folder, for each backend, number of
worker processes (``n_process``: each worker analyses whole batches; the warm-up run starts
them) and model (``BACKEND:N_PROCESS[:MODEL]``, MODEL a folder or a profile such as ``fast``).
Parity: labels of int8 and fp32 ONNX against torch float32 on PhraseBank test and TFNS
validation, with each one's accuracy, for the model and for the fast profile (skipped without
the shared data).

Each configuration runs in a fresh worker process once per round (``--rounds``, interleaved:
this machine's speed drifts by tens of percent over minutes, and interleaving spreads a slow spell
over every configuration instead of one); every figure is the median of all its timed runs, each
after a warm-up. Prints a table, then one
JSON line with every figure. Timings mean something only on an otherwise idle machine: the
load average is printed with them.

usage: python benchmarks/bench_classify.py [--model DIR] [--sentences 1000] [--articles 96]
           [--rounds 3] [--runs 1] [--threads N]
           [--configs naive,torch,onnx-fp32,onnx-int8,fast-int8,bert-base]
           [--pipeline onnx:1,onnx:2,torch:1,onnx:2:fast] [--no-parity]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SHARED = Path(os.environ.get("SENTIMENT_SHARED", ROOT.parent / "shared"))
FPB = SHARED / "data" / "financial_phrasebank" / "Sentences_50Agree.txt"
TFNS = SHARED / "data" / "twitter_financial_news_sentiment"
EXAMPLE_TEXTS = ("*.txt", "*.md")
SENTENCE_CONFIGS = ("naive", "torch", "onnx-fp32", "onnx-int8", "fast-int8", "bert-base")
FAST = "fast"  # the fast profile (sentiment.classify.model.PROFILES)
ANCHOR_SENTENCES = 256  # BERT-base is slow; its rate is measured on fewer sentences
MARK = "RESULT "  # a worker's result line (libraries print other lines)


# --------------------------------------------------------------------------- inputs
def example_sentences() -> list[str]:
    """Sentences of the bundled example articles (plain-text ones)."""
    text = "\n".join(p.read_text(encoding="utf-8") for pattern in EXAMPLE_TEXTS
                     for p in sorted((ROOT / "examples").glob(pattern)) if p.name != "README.md")
    return [s.strip() for line in text.splitlines() for s in re.split(r"(?<=[.!?])\s+", line)
            if len(s.split()) >= 4]


def benchmark_sentences(n: int, seed: int = 0) -> tuple[str, list[str]]:
    """(source name, ``n`` sentences): PhraseBank sentences when present, else examples/."""
    if FPB.exists():
        from sentiment.classify.datasets import read

        pool, source = read(FPB, "phrasebank").texts, "financial_phrasebank"
    else:
        pool, source = example_sentences(), "examples"
    rng = random.Random(seed)
    return source, [pool[i % len(pool)] for i in rng.sample(range(max(n, len(pool))), n)]


def write_articles(folder: Path, n: int, words: int = 700, seed: int = 0) -> int:
    """``n`` text files of about ``words`` words from shuffled example sentences; their count."""
    pool = example_sentences()
    rng = random.Random(seed)
    total = 0
    for i in range(n):
        chosen: list[str] = []
        while sum(len(s.split()) for s in chosen) < words:
            chosen.append(rng.choice(pool))
        paragraphs = [" ".join(chosen[j:j + 5]) for j in range(0, len(chosen), 5)]
        (folder / f"article-{i:04d}.txt").write_text(f"Crypto market wrap number {i}\n\n" + "\n\n".join(paragraphs),
                                                      encoding="utf-8")
        total += sum(len(s.split()) for s in chosen)
    return total // max(1, n)


def cpu_description() -> str:
    """The CPU as /proc/cpuinfo names it, with its family/model and the vector extensions that
    decide int8 speed (VNNI) and float speed (AVX-512): figures from different hosts differ by
    several times, so every run says which one it measured."""
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine()
    fields: dict[str, str] = {}
    for line in info.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    from sentiment.classify.onnx import cpu_features

    flags = cpu_features() or set()
    vector = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
    return (f"{fields.get('model name', platform.machine())} (family {fields.get('cpu family', '?')} "
            f"model {fields.get('model', '?')}; {' '.join(vector) or 'no avx2'})")


# --------------------------------------------------------------------------- workers (subprocesses)
def peak_mb() -> float:
    """Peak resident memory of this process in MB: VmHWM (reset by exec, unlike ru_maxrss, which
    a child inherits from the parent it was forked from), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def timed_runs(fn, runs: int) -> list[float]:
    fn(warmup=True)
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn(warmup=False)
        out.append(time.perf_counter() - t)
    return out


def sentence_worker(config: str, model_dir: str, texts: list[str], runs: int, threads: int) -> dict:
    """Sentences per second of one configuration (run inside its own process)."""
    import torch

    torch.set_num_threads(threads)
    if config == "bert-base":
        texts = texts[:ANCHOR_SENTENCES]
    if config in ("naive", "bert-base"):
        from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification, pipeline

        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        if config == "naive":
            clf = pipeline("text-classification", model=model_dir, tokenizer=tokenizer,
                           dtype=torch.float32, device="cpu")
        else:
            torch.manual_seed(0)
            bert = BertForSequenceClassification(BertConfig(num_labels=3)).eval()
            clf = pipeline("text-classification", model=bert, tokenizer=tokenizer, device="cpu")

        def score(warmup: bool) -> None:
            clf(texts[:32] if warmup else texts, batch_size=32, truncation=True, top_k=None)
    else:
        from sentiment.classify.model import SentimentModel, resolve_model_path
        from sentiment.classify.onnx import PRECISION_ENV

        folder = str(resolve_model_path(FAST)) if config == "fast-int8" else model_dir
        if config != "torch":  # the precision named, whatever the environment says
            os.environ[PRECISION_ENV] = "fp32" if config == "onnx-fp32" else "int8"
        model = SentimentModel.load(folder, backend="torch" if config == "torch" else "onnx", threads=threads)

        def score(warmup: bool) -> None:
            model.predict_proba(texts[:64] if warmup else texts)

    seconds = timed_runs(score, runs)
    return {"config": config, "sentences": len(texts), "seconds": seconds,
            "per_s": len(texts) / statistics.median(seconds), "peak_mb": peak_mb()}


def pipeline_worker(backend: str, n_process: int, model_dir: str, folder: str, runs: int,
                    threads: int) -> dict:
    """Articles per second of ``tag_files`` over a folder (run inside its own process)."""
    from sentiment.analyzer import Analyzer
    from sentiment.tagging import tag_files

    analyzer = Analyzer(model_dir, backend=backend, n_process=n_process)
    analyzer.model  # noqa: B018 - load the classifier and spaCy before timing
    analyzer.analyze("Bitcoin rose 3% to $70,000 on Monday.")
    out_dir = Path(tempfile.mkdtemp(prefix="bench-tags-"))
    counts: list[int] = []

    def tag(warmup: bool) -> None:
        report = tag_files([folder], out_dir / f"tags-{len(counts)}-{warmup}.jsonl", analyzer=analyzer,
                           resume=False)
        if not warmup:
            counts.append(report.tagged)

    tree = TreeMemory()
    seconds = timed_runs(tag, runs)
    analyzer.close()
    n = len(list(Path(folder).glob("*.txt")))
    return {"config": f"pipeline {backend} n_process={n_process} model={Path(model_dir).name}", "articles": n,
            "tagged": counts[-1] if counts else 0, "seconds": seconds,
            "per_s": n / statistics.median(seconds), "peak_mb": max(peak_mb(), tree.stop())}


class TreeMemory:
    """Samples the proportional set size (PSS: pages shared by forked processes counted once) of
    this process plus its children (spaCy's workers when ``n_process`` > 1) every 100 ms;
    ``stop()`` gives the peak sum in MB (0 without psutil, which ipykernel of the dev extra
    brings)."""

    def __init__(self) -> None:
        import threading

        self._peak = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            import psutil
        except ImportError:
            return
        me = psutil.Process()
        while not self._done.wait(0.1):
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_full_info().pss
                except psutil.Error:
                    pass
            self._peak = max(self._peak, total / 2**20)

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return self._peak


def parity_worker(model_dir: str, threads: int) -> dict:
    """Labels of the ONNX graphs against torch float32, and every backend's accuracy, for the
    model and for the fast profile (keys ``fast_…``)."""
    from sentiment.classify.model import resolve_model_path

    result = parity_of(model_dir, threads)
    fast = resolve_model_path(FAST)
    if (fast / "config.json").exists() and fast.resolve() != Path(model_dir).resolve():
        result.update({f"fast_{k}": v for k, v in parity_of(str(fast), threads).items()})
    return result


def parity_of(model_dir: str, threads: int) -> dict:
    """Parity and accuracy of one model folder's graphs."""
    import numpy as np

    from sentiment.classify.datasets import splits
    from sentiment.classify.model import SentimentModel
    from sentiment.classify.onnx import OnnxBackend

    sets = {}
    if FPB.exists():
        sets["fpb_test"] = splits(FPB, "phrasebank").test
    if TFNS.exists():
        sets["tfns_valid"] = splits(TFNS, "tfns").test
    ref = SentimentModel.load(model_dir, backend="torch", threads=threads)
    int8 = SentimentModel.load(model_dir, backend="torch", threads=threads)
    int8.backend = OnnxBackend.from_folder(model_dir, precision="int8", threads=threads)
    fp32 = SentimentModel.load(model_dir, backend="onnx", threads=threads)
    fp32.backend = OnnxBackend.from_folder(model_dir, precision="fp32", threads=threads)
    result: dict = {}
    for name, data in sets.items():
        y = np.asarray(data.labels)
        probs = {k: m.predict_proba(data.texts) for k, m in (("torch", ref), ("onnx-fp32", fp32), ("onnx-int8", int8))}
        pred = {k: p.argmax(axis=1) for k, p in probs.items()}
        result[name] = {"n": len(y), **{f"accuracy_{k}": round(float((v == y).mean()), 4) for k, v in pred.items()},
                        "agree_int8": round(float((pred["onnx-int8"] == pred["torch"]).mean()), 4),
                        "agree_fp32": round(float((pred["onnx-fp32"] == pred["torch"]).mean()), 4),
                        "max_prob_diff_int8": round(float(np.abs(probs["onnx-int8"] - probs["torch"]).max()), 4)}
    return result


def interleaved(configs: list[str], rounds: int, run: Any, count_key: str) -> dict[str, dict]:
    """Run every configuration once per round, round after round, and merge each one's timed
    runs: speed is the median over all of them, peak memory the largest."""
    merged: dict[str, dict] = {}
    for _ in range(max(1, rounds)):
        for config in configs:
            r = run(config)
            if "error" in r or "error" in merged.get(config, {}):
                merged.setdefault(config, r)
                continue
            m = merged.setdefault(config, {**r, "seconds": []})
            m["seconds"] = m["seconds"] + r["seconds"]
            m["peak_mb"] = max(m.get("peak_mb", 0), r.get("peak_mb", 0))
            m["per_s"] = r[count_key] / statistics.median(m["seconds"])
    return merged


def run_worker(args: list[str]) -> dict:
    """Run this script as a worker subprocess and read its last line (JSON)."""
    proc = subprocess.run([sys.executable, __file__, "--worker", *args], check=False,
                          capture_output=True, text=True)
    lines = [ln[len(MARK):] for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    result = json.loads(lines[-1])
    print(f"{args[0]} {args[1]}: {json.dumps(result)}", file=sys.stderr, flush=True)
    return result


# --------------------------------------------------------------------------- main
def main() -> int:
    from sentiment.classify.model import default_model_path
    from sentiment.classify.onnx import available_cores, build

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    ap.add_argument("--sentences", type=int, default=1000)
    ap.add_argument("--articles", type=int, default=96)
    ap.add_argument("--words", type=int, default=700)
    ap.add_argument("--runs", type=int, default=1, help="timed runs per worker process")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds over all configurations (interleaved, so a slow spell of a shared "
                         "machine hits every configuration alike); the median of every run is reported")
    ap.add_argument("--threads", type=int, default=0, help="threads per run (default: physical cores)")
    ap.add_argument("--configs", default=",".join(SENTENCE_CONFIGS))
    ap.add_argument("--pipeline", default="onnx:1,onnx:2,torch:1,onnx:2:fast",
                    help="BACKEND:N_PROCESS[:MODEL],... (MODEL: a folder or profile; '' for none)")
    ap.add_argument("--no-parity", action="store_true")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:  # inside a subprocess: one configuration, one JSON line
        kind, *rest = args.worker
        if kind == "sentences":
            config, model_dir, texts_file, runs, threads = rest
            texts = json.loads(Path(texts_file).read_text(encoding="utf-8"))
            print(MARK + json.dumps(sentence_worker(config, model_dir, texts, int(runs), int(threads))))
        elif kind == "pipeline":
            backend, n_process, model_dir, folder, runs, threads = rest
            print(MARK + json.dumps(pipeline_worker(backend, int(n_process), model_dir, folder, int(runs), int(threads))))
        else:
            model_dir, threads = rest
            print(MARK + json.dumps(parity_worker(model_dir, int(threads))))
        return 0

    model_dir = str(Path(args.model) if args.model else default_model_path())
    if not (Path(model_dir) / "config.json").exists():
        print(f"no model at {model_dir}: pass --model DIR", file=sys.stderr)
        return 2
    threads = args.threads or available_cores()
    from sentiment.classify.model import resolve_model_path

    for folder in dict.fromkeys([model_dir, str(resolve_model_path(FAST))]):
        if (Path(folder) / "config.json").exists():
            for precision in ("int8", "fp32"):  # build the graphs once, outside the timings
                build(folder, precision, log=lambda m: print(m, file=sys.stderr))
    source, texts = benchmark_sentences(args.sentences)
    from sentiment.classify.onnx import default_precision, int8_saturates

    results: dict = {"machine": {"cpu": cpu_description(), "onnx_precision": default_precision(),
                                 "int8_reduce_range": int8_saturates(), "threads": threads,
                                 "affinity": len(os.sched_getaffinity(0)), "load_before": os.getloadavg()},
                     "model": model_dir, "sentence_source": source, "runs": args.runs}
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-classify-") as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        configs = [c for c in args.configs.split(",") if c]
        sentence = interleaved(configs, args.rounds, lambda config: run_worker(
            ["sentences", config, model_dir, str(texts_file), str(args.runs), str(threads)]), "sentences")
        for config, r in sentence.items():
            rows.append((config, f"{r['per_s']:.1f} sent/s" if "per_s" in r else r["error"],
                         f"{r.get('peak_mb', 0):.0f} MB", f"{r.get('sentences', '')} sentences"))
        results["sentences"] = sentence
        base = sentence.get("naive", {}).get("per_s")
        anchor = sentence.get("bert-base", {}).get("per_s")
        for key, name in (("int8", "onnx-int8"), ("fast_int8", "fast-int8")):
            rate = sentence.get(name, {}).get("per_s")
            if rate and base:
                results[f"{key}_vs_naive"] = round(rate / base, 2)
            if rate and anchor:
                results[f"{key}_vs_bert_base"] = round(rate / anchor, 2)

        folder = Path(tmp) / "articles"
        folder.mkdir()
        results["article_words"] = write_articles(folder, args.articles, args.words)
        specs = [s for s in args.pipeline.split(",") if s]
        def pipeline_spec(spec: str) -> tuple[str, str, str]:
            backend, n_process, model = (spec.split(":") + ["", ""])[:3]
            return backend, n_process or "1", str(resolve_model_path(model)) if model else model_dir

        pipe = interleaved(specs, args.rounds, lambda spec: run_worker(
            ["pipeline", *pipeline_spec(spec)[:2], pipeline_spec(spec)[2], str(folder),
             str(args.runs), str(threads)]), "articles")
        for spec, r in pipe.items():
            backend, n_process, model = pipeline_spec(spec)
            rows.append((f"tag {backend} n_process={n_process} {Path(model).name}",
                         f"{r['per_s']:.2f} articles/s" if "per_s" in r else r["error"],
                         f"{r.get('peak_mb', 0):.0f} MB", f"{args.articles} × ~{results['article_words']} words"))
        results["pipeline"] = pipe
    if not args.no_parity and (FPB.exists() or TFNS.exists()):
        results["parity"] = run_worker(["parity", model_dir, str(threads)])
    results["machine"]["load_after"] = os.getloadavg()

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"bench_classify: {results['machine']['cpu']}, {threads} threads, "
                        f"load {results['machine']['load_before'][0]:.2f}; `tag onnx` runs "
                        f"{results['machine']['onnx_precision']}"
                        f"{' (7-bit weights: int8 saturates here)' if results['machine']['int8_reduce_range'] else ''}")
    for col in ("configuration", "speed", "peak memory", "input"):
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    Console(stderr=True).print(table)
    for key in ("int8_vs_naive", "int8_vs_bert_base", "fast_int8_vs_naive", "fast_int8_vs_bert_base"):
        if key in results:
            print(f"{key}: {results[key]}×", file=sys.stderr)
    for name, p in results.get("parity", {}).items():
        print(f"parity {name}: {p}", file=sys.stderr)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
