"""The two engines of ``sentiment tag`` on this machine, in one run: the local worker processes
and the Ray engine (a local Ray cluster, one actor per core), on the same articles.

For each engine: start-up (the local engine: loading the analyzer and forking its workers until
the first batch is written; the Ray engine: ``ray.init`` of a local cluster apart, then the actor
pool starting, each actor loading its analyzer, until the first batch is written) and the
steady-state articles/s (from the moment each worker or actor has delivered one batch to the
end: enough batches per worker are given to reach it) with the CPU seconds the workers or
actors spent per article over that span (on a shared host, the fairer per-core figure) and
the driver's own CPU per article (reading, batching, merging, writing), the memory of each worker or actor
(peak resident set, and its proportional share where the kernel reports it: forked workers
share the parent's pages), and whether the records are the same.

Articles: the first ``--articles`` real articles of ``../shared/data/crypto_news_articles_2022-12``
(about 330 words each) when present, else articles generated from ``examples/`` (700 words).
Each engine runs ``--rounds`` times, the two interleaved (this machine's speed drifts by tens of
percent over minutes). ``each run is a fresh process (its own memory), and the Ray one starts its own local cluster
(``ray.init``, timed apart). Prints a table, the CPU
and the load average, then one JSON line with every figure.

usage: python benchmarks/bench_engines.py [--articles 160] [--batch-size 8] [--rounds 2] [--workers N]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_classify import cpu_description, write_articles

from sentiment.analyzer import Analyzer
from sentiment.classify.onnx import available_cores
from sentiment.tagfiles import read_tags
from sentiment.tagging import tag_files

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SENTIMENT_SHARED", ROOT.parent / "shared"))
REAL = SHARED / "data" / "crypto_news_articles_2022-12" / "articles.jsonl"
ACTOR_MARKER = "MapBatches(Tagger)"


def memory_mb(pid: int) -> tuple[float, float | None]:
    """(peak resident set, proportional set size) of a process in MB; PSS ``None`` where the
    kernel does not report it."""
    hwm = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
    pss = None
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) / 1024
    except OSError:
        pass
    return hwm, pss


def pids(match) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if match(entry):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def children() -> list[int]:
    me = str(os.getpid())
    return pids(lambda e: (e / "stat").read_text().rsplit(")", 1)[1].split()[1] == me)


def actors() -> list[int]:
    return pids(lambda e: ACTOR_MARKER in (e / "cmdline").read_bytes().decode(errors="replace"))


class Clock:
    """``on_progress`` of a run: when each batch was written, and the workers' memory."""

    def __init__(self, processes) -> None:
        self.t0 = time.perf_counter()
        self.marks: list[tuple[float, int]] = []
        self.processes = processes
        self.memory: dict[int, tuple[float, float | None]] = {}
        self.cpu: list[dict[int, float]] = []  # CPU seconds of each worker at each mark
        self.driver: list[float] = []  # CPU seconds of this process (the driver) at each mark

    def __call__(self, report) -> None:
        self.marks.append((time.perf_counter() - self.t0, report.tagged))
        self.cpu.append({})
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.driver.append(usage.ru_utime + usage.ru_stime)
        for pid in self.processes():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                self.cpu[-1][pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except OSError:
                pass
            try:
                hwm, pss = memory_mb(pid)
            except OSError:
                continue
            old = self.memory.get(pid, (0.0, None))
            self.memory[pid] = (max(hwm, old[0]), max(pss or 0.0, old[1] or 0.0) or None)

    def figures(self, workers: int) -> dict:
        first = self.marks[0][0]
        k = min(workers, len(self.marks) - 1)  # each worker has delivered a batch
        (t_k, n_k), (t_end, n_end) = self.marks[k - 1], self.marks[-1]
        start, end = self.cpu[k - 1], self.cpu[-1]
        cpu_s = sum(end[p] - start[p] for p in end if p in start)  # workers alive all along
        rss = [m[0] for m in self.memory.values()]
        pss = [m[1] for m in self.memory.values() if m[1]]
        return {"first_batch_s": round(first, 1), "articles": n_end, "total_s": round(t_end, 1),
                "steady_articles_per_s": round((n_end - n_k) / (t_end - t_k), 2) if t_end > t_k else None,
                "steady_batches": len(self.marks) - k,
                "steady_cpu_s_per_article": round(cpu_s / (n_end - n_k), 2) if n_end > n_k else None,
                "driver_cpu_ms_per_article": (round(1000 * (self.driver[-1] - self.driver[k - 1]) / (n_end - n_k), 1)
                                              if n_end > n_k else None),
                "rss_mb_per_worker": round(max(rss), 0) if rss else None,
                "pss_mb_per_worker": round(max(pss), 0) if pss else None,
                "workers_seen": len(self.memory)}


def inputs(folder: Path, n: int) -> tuple[Path, str]:
    if REAL.exists():
        lines = REAL.read_text(encoding="utf-8").splitlines()[:n]
        path = folder / "articles.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path, f"{len(lines)} real articles ({REAL.parent.name})"
    (folder / "articles").mkdir()
    words = write_articles(folder / "articles", n)
    return folder / "articles", f"{n} generated articles of ~{words} words"


def run(engine: str, source: Path, output: Path, workers: int, batch_size: int) -> dict:
    """One tagging run of ``engine`` (local or ray) over ``source`` into ``output``: its figures."""
    if engine == "local":  # forked worker processes (one thread each), as `sentiment tag` runs them
        clock = Clock(children)
        with Analyzer(n_process=workers) as analyzer:
            tag_files([source], output, analyzer=analyzer, batch_size=batch_size, on_progress=clock)
        return clock.figures(workers)
    import functools

    import ray

    from sentiment.cluster import RayEngine

    t = time.perf_counter()  # a local cluster: one actor per core, one CPU more for Ray Data
    ray.init(num_cpus=workers + 1, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    ray_init = time.perf_counter() - t
    engine_ = RayEngine(functools.partial(Analyzer, threads=1), output, settings="bench", actors=workers)
    clock = Clock(actors)
    tag_files([source], output, batch_size=batch_size, on_progress=clock, engine=engine_)
    ray.shutdown()
    return clock.figures(workers) | {"ray_init_s": round(ray_init, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=160)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each engine, interleaved")
    parser.add_argument("--workers", type=int, default=0, help="worker processes and actors (0: one per core)")
    parser.add_argument("--run", choices=["local", "ray"], help=argparse.SUPPRESS)  # one run, in a subprocess
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    workers = args.workers or available_cores()
    if args.run:
        print(json.dumps(run(args.run, args.source, args.output, workers, args.batch_size)))
        return 0
    load = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="bench-engines-"))
    source, described = inputs(folder, args.articles)
    results: dict[str, list[dict]] = {"local": [], "ray": []}
    for round_ in range(args.rounds):  # interleaved: a slow spell of the host hits both engines
        for name, runs in results.items():  # each run in a fresh process: its own memory, no Ray left
            command = [sys.executable, __file__, "--run", name, "--source", str(source),
                       "--output", str(folder / f"{name}-{round_}.jsonl"), "--workers", str(workers),
                       "--batch-size", str(args.batch_size)]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.exit(f"the {name} run failed:\n{done.stderr[-3000:]}")
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    reference = list(read_tags(folder / "local-0.jsonl"))
    same = all(list(read_tags(folder / f"{e}-{r}.jsonl")) == reference
               for e in results for r in range(args.rounds))

    print(f"{described}, batch size {args.batch_size}, {workers} workers/actors")
    print(f"CPU: {cpu_description()}; load average before: {load:.2f}, after: {os.getloadavg()[0]:.2f}")
    print(f"{'engine':<7} {'start-up s':>10} {'steady art/s':>12} {'CPU s/art':>9} {'driver ms/art':>13} "
          f"{'batches':>8} {'total s':>8} "
          f"{'RSS MB/worker':>14} {'PSS MB/worker':>14}")
    for name, runs in results.items():
        for r in runs:
            start = f"{r['first_batch_s']}" + (f" (+{r['ray_init_s']} init)" if "ray_init_s" in r else "")
            print(f"{name:<7} {start:>10} {r['steady_articles_per_s']!s:>12} "
                  f"{r['steady_cpu_s_per_article']!s:>9} {r['driver_cpu_ms_per_article']!s:>13} "
                  f"{r['steady_batches']:>8} "
                  f"{r['total_s']:>8} {r['rss_mb_per_worker']!s:>14} {r['pss_mb_per_worker']!s:>14}")
    print(f"records identical: {same}")
    print(json.dumps({"cpu": cpu_description(), "articles": described, "batch_size": args.batch_size,
                      "workers": workers, "records_identical": same, **results}))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
