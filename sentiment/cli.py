"""The ``sentiment`` command line: a thin layer over the Python API.

Exit codes: 0 success, 1 some inputs failed (everything that succeeded is written),
2 usage error. No traceback reaches the user: unexpected errors print one line
(set ``SENTIMENT_DEBUG=1`` to see the traceback).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from sentiment.cluster import RayEngine
    from sentiment.ingest import IngestError
    from sentiment.ingest.records import Tally

app = typer.Typer(
    name="sentiment",
    help="Crypto market news → assets, price moves, causes, calibrated sentiment and a Fear & Greed index.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 140)


class UsageError(Exception):
    """A mistake in how the command was called (exit code 2)."""


def finish(report: Tally, target: Path, console: Console) -> None:
    """The closing summary line of a batch command; exit code 1 when some input failed."""
    console.print(f"{report.summary()} → {target}", markup=False, highlight=False, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)


def progress(message: str) -> None:
    """A progress line of a long command on stderr, printed as is: never wrapped (a JSON line
    in a log file stays one line) nor coloured."""
    err.print(message, markup=False, highlight=False, soft_wrap=True)


def print_input_error(error: IngestError) -> None:
    """One line per failed or skipped input: ``failed: INPUT: reason``."""
    from sentiment.text import printable

    kind = "skipped" if error.skipped else "failed"
    err.print(printable(f"{kind}: {error.input}: {error.reason}"), markup=False, highlight=False, soft_wrap=True)


# ============================================================ ingest / tag
@app.command()
def ingest(
    sources: list[str] = typer.Argument(..., help="Files, folders, feed files or http(s) URLs."),
    store: Path = typer.Option(..., "--store", help="SQLite store to add the articles to (created if missing)."),
    fetch_linked: bool = typer.Option(False, "--fetch-linked", help="Feed items with only a summary: fetch the linked page."),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds before a URL fetch gives up."),
    retries: int = typer.Option(2, "--retries", help="Extra attempts on timeouts, connection errors, 5xx and 429."),
    max_mb: float = typer.Option(20.0, "--max-mb", help="Largest input file or download, in MB."),
    text_column: str = typer.Option("text", "--text-column", help="CSV/JSONL column with the article text."),
    title_column: str = typer.Option("title", "--title-column", help="CSV/JSONL column with the title."),
    url_column: str = typer.Option("url", "--url-column", help="CSV/JSONL column with the URL."),
    published_column: str = typer.Option("published", "--published-column", help="CSV/JSONL column with the date."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only failures and the summary."),
) -> None:
    """Read articles into a store, each once: prints one line per failed or skipped input,
    then `read N, new N, duplicates N, failed N, skipped N`.

    Exit code 0 when every input was read, 1 when some failed (all others are stored)."""
    from sentiment.ingest import IngestError, IngestOptions
    from sentiment.ingest import ingest as run_ingest
    from sentiment.store import StoreError

    try:
        options = IngestOptions(text_column=text_column, title_column=title_column, url_column=url_column,
                                published_column=published_column, fetch_linked=fetch_linked,
                                timeout=timeout, retries=retries, max_bytes=int(max_mb * 2**20))
    except ValueError as exc:
        raise UsageError(str(exc)) from None

    def show(item: object) -> None:
        if isinstance(item, IngestError) and not (item.skipped and quiet):
            print_input_error(item)

    try:
        report = run_ingest(sources, store, options, on_item=show)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    finish(report, store, out)


@app.command()
def tag(
    sources: list[str] = typer.Argument(None, help="Files, folders, feed files or http(s) URLs."),
    output: Path = typer.Option(..., "--output", "-o", help="Tags file to write (appended to and resumed if it exists)."),
    fmt: str | None = typer.Option(None, "--format", "-f", help="jsonl | csv | parquet (default: from the suffix)."),
    store: Path | None = typer.Option(None, "--store", help="SQLite store for articles, tags, feed state and errors."),
    from_store: bool = typer.Option(False, "--from-store", help="Also tag the articles already in --store."),
    model: str | None = typer.Option(None, "--model", help="Classifier folder, 'fast' for the shipped 3-layer student (~1.7x faster tagging, lower accuracy) or 'large' for the 110M-parameter model `make model-large` builds (default: the shipped model)."),
    backend: str = typer.Option("auto", "--backend", help="Classifier runtime: onnx (int8, fastest; SENTIMENT_ONNX_PRECISION=fp32 for float32) | torch | auto (onnx when available)."),
    device: str = typer.Option("auto", "--device", help="Where the classifier runs: cpu | cuda (torch on the GPU, float16 where it holds parity) | auto (cuda when torch sees a GPU)."),
    processes: int = typer.Option(0, "--processes", min=0, help="Worker processes, each analysing whole batches (0: one per core on Linux, else 1; 1 on a GPU)."),
    sentences: bool = typer.Option(True, "--sentences/--no-sentences", help="Keep each sentence's score in the records."),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="Articles per analysis batch (one batch per worker at a time)."),
    fetch_linked: bool = typer.Option(False, "--fetch-linked", help="Feed items: fetch the linked page for the full text."),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds before a URL fetch gives up."),
    max_mb: float = typer.Option(20.0, "--max-mb", help="Largest input file or download, in MB."),
    text_column: str = typer.Option("text", "--text-column", help="CSV/JSONL column with the article text."),
    title_column: str = typer.Option("title", "--title-column", help="CSV/JSONL column with the title."),
    url_column: str = typer.Option("url", "--url-column", help="CSV/JSONL column with the URL."),
    published_column: str = typer.Option("published", "--published-column", help="CSV/JSONL column with the date."),
    resume: bool = typer.Option(True, "--resume/--overwrite", help="Resume into an existing output, or start it anew."),
    engine: str = typer.Option("local", "--engine", help="Where the analysis runs: local (this machine's worker processes) | ray (an actor pool on a Ray cluster; pip install 'cryptonews-sentiment[ray]')."),
    address: str | None = typer.Option(None, "--address", help="--engine ray: the cluster to join, auto or HOST:PORT (default: start a local one)."),
    actors: int | None = typer.Option(None, "--actors", min=1, help="--engine ray: analyzers in the pool (default: one per CPU, or per GPU with --gpus-per-actor)."),
    cpus_per_actor: float = typer.Option(1.0, "--cpus-per-actor", min=0.01, help="--engine ray: CPUs each actor asks for (also its classifier threads)."),
    gpus_per_actor: float = typer.Option(0.0, "--gpus-per-actor", min=0.0, help="--engine ray: GPUs each actor asks for (the classifier then runs there)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Tag articles: one record per article (see the tag schema), then a summary line.

    Exit code 0 when every input was tagged, 1 when some failed (all others are written)."""
    from sentiment.analyzer import Analyzer
    from sentiment.ingest import IngestOptions
    from sentiment.tagfiles import format_for
    from sentiment.tagging import tag_files

    if not sources and not from_store:
        raise UsageError("nothing to tag: give SOURCES or --from-store")
    if from_store and store is None:
        raise UsageError("--from-store needs --store PATH")
    try:
        format_for(output, fmt)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        options = IngestOptions(text_column=text_column, title_column=title_column, url_column=url_column,
                                published_column=published_column, fetch_linked=fetch_linked,
                                timeout=timeout, max_bytes=int(max_mb * 2**20))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if output.is_dir():
        raise UsageError(f"--output {output} is a folder; give a file path such as {output / 'tags.jsonl'}")
    if backend not in ("auto", "onnx", "torch"):
        raise UsageError(f"--backend must be auto, onnx or torch, got {backend!r}")
    from sentiment.classify.model import DEVICES, resolve_device

    if engine not in ("local", "ray"):
        raise UsageError(f"--engine must be local or ray, got {engine!r}")
    if engine == "local" and (address, actors, cpus_per_actor, gpus_per_actor) != (None, None, 1.0, 0.0):
        raise UsageError("--address, --actors, --cpus-per-actor and --gpus-per-actor need --engine ray")
    if device not in DEVICES:
        raise UsageError(f"--device must be auto, cpu or cuda, got {device!r}")
    try:  # on Ray the actors, not this process, choose their device
        on_gpu = resolve_device(device) == "cuda" if engine == "local" else gpus_per_actor > 0
    except ValueError as exc:
        raise UsageError(f"--device: {exc}") from None
    if engine == "ray" and device == "cuda" and not gpus_per_actor:
        raise UsageError("--device cuda with --engine ray needs --gpus-per-actor (the actors ask Ray for the GPUs)")
    if on_gpu and backend == "onnx":
        raise UsageError("--backend onnx runs on the CPU; with --device cuda the classifier runs in torch")
    if not processes:
        import multiprocessing

        from sentiment.classify.onnx import available_cores

        fork = "fork" in multiprocessing.get_all_start_methods()
        processes = available_cores() if fork and not on_gpu else 1
    analyzer = Analyzer(model, backend=backend, device=device, include_sentences=sentences, n_process=processes)
    ray_engine = (_ray_engine(output, model, backend, device, sentences, address, actors, cpus_per_actor,
                              gpus_per_actor) if engine == "ray" else None)
    show_progress = not quiet and err.is_terminal
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from sentiment.sinks import SinkBusy
    from sentiment.store import StoreError

    with analyzer, Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                            console=err, disable=not show_progress, transient=True) as progress:
        task = progress.add_task("tagging", total=None)
        try:
            report = tag_files(
                sources or [], output, fmt=fmt, store=store, from_store=from_store, analyzer=analyzer,
                options=options, batch_size=batch_size, include_sentences=sentences, resume=resume,
                on_error=print_input_error,
                on_progress=lambda r: progress.update(task, description=f"tagging: {r.summary()}"),
                engine=ray_engine,
            )
        except (StoreError, SinkBusy) as exc:
            raise UsageError(str(exc)) from None
    finish(report, output, err)


def _ray_engine(output: Path, model: str | None, backend: str, device: str, sentences: bool,
                address: str | None, actors: int | None, cpus_per_actor: float,
                gpus_per_actor: float) -> RayEngine:
    """The Ray engine of ``tag --engine ray``: each actor builds the analyzer these options name."""
    import functools
    import json

    from sentiment import __version__
    from sentiment.analyzer import Analyzer
    from sentiment.classify.model import missing_model_message, resolve_model_path

    try:
        from sentiment.cluster import RayEngine
    except ImportError:
        raise UsageError("--engine ray needs Ray: pip install 'cryptonews-sentiment[ray]'") from None
    folder = resolve_model_path(model)
    if not (folder / "config.json").exists():
        raise UsageError(missing_model_message(model, folder))
    # A model folder given by path travels as an absolute path (the same on every node);
    # the shipped models are found by each actor inside its own installed package.
    where = str(Path(model).resolve()) if model and Path(model).exists() else model
    make_analyzer = functools.partial(Analyzer, where, backend=backend, device=device,
                                      include_sentences=sentences, threads=max(1, int(cpus_per_actor)))
    settings = json.dumps([__version__, str(folder.resolve()), backend, device, sentences])
    return RayEngine(make_analyzer, output, settings=settings, address=address, actors=actors,
                     num_cpus=cpus_per_actor, num_gpus=gpus_per_actor)


@app.command()
def show(
    tags: Path = typer.Argument(..., help="A tags file (jsonl, csv or parquet)."),
    limit: int = typer.Option(50, "--limit", "-n", help="Show at most this many articles."),
) -> None:
    """Print a readable table of tagged articles: sentiment, assets, moves and causes."""
    from rich.table import Table
    from rich.text import Text

    from sentiment.tagfiles import read_tags
    from sentiment.text import printable

    if not tags.exists():
        raise UsageError(f"no such file: {tags}")
    table = Table(title=str(tags), show_lines=False)
    table.add_column("published", no_wrap=True)
    table.add_column("title", overflow="ellipsis", no_wrap=True, max_width=48)
    table.add_column("sentiment", no_wrap=True)
    table.add_column("assets (+/-/= tone)", max_width=24)
    table.add_column("moves", max_width=28)
    table.add_column("causes", max_width=30)

    def tone(score: float) -> str:
        return "+" if score > 0.1 else "-" if score < -0.1 else "="

    def move(m: dict) -> str:
        if m.get("change_pct") is not None and m["direction"] != "flat":
            return f"{m['asset']} {m['change_pct']:+g}%"
        return f"{m['asset']} {m['direction']}"

    count = 0
    for rec in read_tags(tags):
        count += 1
        if count > limit:
            continue
        s = rec["sentiment"]
        cells = [(rec.get("published") or "")[:10], rec.get("title") or rec.get("source") or "",
                 f"{s['label']} {s['score']:+.2f}",
                 " ".join(f"{a['symbol']}{tone(a['sentiment']['score'])}" for a in rec.get("assets", [])[:8]),
                 ", ".join(move(m) for m in rec.get("moves", [])[:4]),
                 ", ".join(c["type"] for c in rec.get("causes", []))]
        # Records are data: no control or format character reaches the terminal (an escape
        # sequence, a bidi override) and no "[...]" is read as markup.
        table.add_row(*(Text(printable(str(cell))) for cell in cells))
    out.print(table)
    out.print(f"{count} articles" + (f" (first {limit} shown)" if count > limit else ""))


@app.command()
def export(
    tags: Path = typer.Argument(..., help="Tag records to read: a jsonl, csv or parquet file, or a SQLite store."),
    to: Path = typer.Option(..., "--to", help="Output: out.jsonl, out.csv, out.parquet or store.sqlite (format from the suffix)."),
    fmt: str | None = typer.Option(None, "--format", "-f", help="jsonl | csv | parquet (overrides the suffix)."),
    tables: bool = typer.Option(True, "--tables/--no-tables", help="CSV/Parquet: also write the per-asset and per-cause tables."),
) -> None:
    """Copy tag records into another format; CSV and Parquet get <name>.assets and <name>.causes
    tables beside them, a store is added to. Prints the files written."""
    from sentiment.store import StoreError
    from sentiment.tagfiles import export as export_api

    if not tags.exists():
        raise UsageError(f"no such file: {tags}")
    from sentiment.reasons import reason

    try:
        count, written = export_api(tags, to, fmt, tables=tables)
    except (ValueError, StoreError) as exc:  # a table pyarrow or pandas cannot read: our words
        raise UsageError(reason(exc)) from None
    err.print(f"exported {count} records → {', '.join(str(p) for p in written)}", markup=False, highlight=False,
              soft_wrap=True)


# ============================================================ end ingest / tag

# ============================================================ classifier
@app.command("train")
def train_cmd(
    config: Path = typer.Option(..., "--config", help="Training recipe (JSON or TOML)."),
    out: Path | None = typer.Option(None, "--out", help="Model folder to write (default: the recipe's folder)."),
    base: str | None = typer.Option(None, "--base", help="Base model folder or package (overrides the recipe)."),
    max_steps: int | None = typer.Option(None, "--max-steps", help="Stop after this many steps (smoke runs)."),
    limit: int | None = typer.Option(None, "--limit", help="Train on a random subset of this size."),
    save_every: int | None = typer.Option(None, "--save-every", min=1, help="Every N steps and after each epoch, save the whole training state to OUT/resume.pt (four to five times the model's float32 size), so a killed run can go on with --resume."),
    resume: bool = typer.Option(False, "--resume", help="Go on with the run whose state OUT/resume.pt holds (same recipe and options); the result is that of an uninterrupted run."),
    checkpoint: Path | None = typer.Option(None, "--checkpoint", help="Write the best epoch's model so far to this folder as soon as it is found: a usable model (uncalibrated) while a long run goes on."),
    keep_epochs: bool = typer.Option(False, "--keep-epochs", help="Also write each epoch's raw weights to OUT/epoch-N (float16), e.g. to average weights later, across runs or of one run's epochs."),
    overrides: list[str] | None = typer.Option(None, "--set", metavar="KEY=VALUE", help="Change one key of the recipe, the value read as JSON (seed=7, lr=1e-4, augment.copies=2); repeatable. The model folder's train_config.json keeps the changed recipe."),
) -> None:
    """Fine-tune the bearish/neutral/bullish classifier from a recipe; prints the run log as JSON."""
    import json

    from sentiment.classify.datasets import DataError
    from sentiment.classify.training import RESUME_FILE, TrainConfig, train

    if not config.is_file():
        raise UsageError(f"{config}: no such recipe file")
    try:
        recipe = TrainConfig.load(config, overrides or ())
    except (ValueError, TypeError) as exc:  # unknown or removed keys, bad --set, invalid JSON/TOML
        raise UsageError(f"{config}: {exc}") from None
    if max_steps is not None:
        recipe.max_steps = max_steps
    if limit is not None:
        recipe.limit = limit
    try:
        result = train(recipe, out or config.parent, base=base, log=progress,
                       recipe_file=config, overrides=overrides or (), save_every=save_every, resume=resume,
                       checkpoint_dir=checkpoint, keep_epochs=keep_epochs)
    except DataError as exc:  # the recipe's data cannot be read: say which file and why
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        state = (out or config.parent) / RESUME_FILE
        if state.is_file():
            err.print(f"stopped; the last saved state is {state}: the same command with --resume goes on from it",
                      markup=False, soft_wrap=True)
        raise typer.Exit(130) from None
    print(json.dumps({k: v for k, v in result.items() if k != "history"}))


@app.command("evaluate")
def evaluate_cmd(
    data: Path = typer.Argument(..., help="Data file (or the TFNS folder, the crypto target folder, the FiQA folder for fiqa-targets)."),
    fmt: str = typer.Option("auto", "--format", help="phrasebank | tfns | csv | tsv | jsonl | fiqa | semeval, or for sentiment toward each target: finentity | semeval-targets | fiqa-targets | crypto-targets (default: from the name and contents)."),
    split: str = typer.Option("test", "--split", help="test (the fixed protocol) | validation | train | all."),
    model: list[str] | None = typer.Option(None, "--model", help="Model folder, 'fast' (the shipped 3-layer student), 'large' (built by `make model-large`), 'tfidf' or 'lexicon' (default: the shipped model). Repeat it to score the ensemble (mean probabilities) of several. Target data: 'sentence-copy' (the sentence's score copied to each target, the default), 'clause' (the target's clause scored) or a model folder trained for targets."),
    sentence_model: str | None = typer.Option(None, "--sentence-model", help="Target data: the sentence classifier the sentence-copy and clause baselines apply (what --model takes for sentences; default: the shipped model)."),
    recipe: Path | None = typer.Option(None, "--config", help="Recipe whose training data trains the tfidf baseline."),
    subset: str | None = typer.Option(None, "--subset", help="allagree: only PhraseBank test sentences all annotators agreed on."),
    batch_size: int = typer.Option(64, "--batch-size"),
    backend: str = typer.Option("auto", "--backend", help="auto | onnx | torch (for a model folder)."),
) -> None:
    """Score a classifier on a labelled data set, or the sentiment toward each target of a
    target-level one; the last line of stdout is one JSON object."""
    from sentiment.classify.datasets import FORMATS, DataError
    from sentiment.classify.evaluate import evaluate, evaluate_targets, to_json
    from sentiment.classify.targets import TARGET_FORMATS, guess_target_format

    if fmt != "auto" and fmt not in FORMATS + TARGET_FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS + TARGET_FORMATS)}")
    if not data.exists():
        raise UsageError(f"{data}: no such file or folder")
    target_fmt = fmt if fmt in TARGET_FORMATS else guess_target_format(data) if fmt == "auto" else None
    if target_fmt and (subset or len(model or []) > 1):
        raise UsageError("target data takes one --model (sentence-copy, clause or a target model) and no --subset")
    if sentence_model and not target_fmt:
        raise UsageError("--sentence-model is for target data (--format finentity, semeval-targets, "
                         "fiqa-targets or crypto-targets)")
    try:
        if target_fmt:
            result = evaluate_targets(data, target_fmt, split, model[0] if model else None, sentence_model=sentence_model,
                                      recipe=recipe, batch_size=batch_size, backend=backend, log=progress)
        else:
            result = evaluate(data, fmt, split, model or None, recipe=recipe, subset=subset,
                              batch_size=batch_size, backend=backend, log=progress)
    except DataError as exc:
        raise UsageError(str(exc)) from None
    print(to_json(result))


# ============================================================ end classifier

# ============================================================ market
def _int_list(text: str, what: str) -> list[int]:
    try:
        return [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise UsageError(f"{what} must be comma-separated integers, got {text!r}") from None


@app.command()
def link(
    tags: Path = typer.Option(..., "--tags", help="Tag records (jsonl, csv or parquet)."),
    prices: Path = typer.Option(..., "--prices", help="Price CSV (Yahoo or CoinGecko style) or a folder of <SYMBOL>_daily.csv."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for link_report.json, link_report.md, CSV tables and PNG charts."),
    abnormal: str = typer.Option("market", "--abnormal", help="Abnormal returns: 'market' (minus the benchmark) or 'mean' (minus own mean)."),
    benchmark: str = typer.Option("BTC", "--benchmark", help="Benchmark symbol for market-adjusted returns and market-level news."),
    window: str = typer.Option("-2,3", "--window", help="Event window in days, 'FIRST,LAST'."),
    horizons: str = typer.Option("1,3,7", "--horizons", help="Forward-return horizons in days."),
    max_lag: int = typer.Option(3, "--max-lag", min=1, help="Largest lag for the Granger tests."),
    charts: bool = typer.Option(True, "--charts/--no-charts", help="Write PNG charts."),
) -> None:
    """Link news sentiment to prices: forward returns, event study, lead-lag, stated moves."""
    from sentiment.market import PriceDataError, TagDataError
    from sentiment.market.link import link as link_api
    from sentiment.reasons import reason

    if abnormal not in ("market", "mean"):
        raise UsageError("--abnormal must be 'market' or 'mean'")
    win = _int_list(window, "--window")
    if len(win) != 2 or win[0] > 0 or win[1] < 0:
        raise UsageError(f"--window must be 'FIRST,LAST' around day 0, got {window!r}")
    for p, opt in ((tags, "--tags"), (prices, "--prices")):
        if not p.exists():
            raise UsageError(f"{opt}: no such file or folder: {p}")
    try:
        report = link_api(tags, prices, horizons=_int_list(horizons, "--horizons"), window=(win[0], win[1]),
                          abnormal=abnormal, benchmark=benchmark, max_lag=max_lag)
    except (PriceDataError, TagDataError, ValueError) as exc:
        err.print(f"[red]error:[/red] {escape(reason(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    written = report.write(out_dir, charts=charts)
    s = report.summary
    err.print(f"{s['articles']} articles, {s['events']} events, {s['moves'].get('n', 0)} stated moves checked "
              f"→ {len(written)} files in {out_dir}")


index_app = typer.Typer(
    help="Daily 0-100 Fear & Greed style index from prices, news, or both (`index fit`: refit it).",
    invoke_without_command=True, no_args_is_help=False)
app.add_typer(index_app, name="index")


@index_app.callback()
def index(
    ctx: typer.Context,
    tags: Path | None = typer.Option(None, "--tags", help="Tag records for the news components (optional)."),
    prices: Path | None = typer.Option(None, "--prices", help="Prices: a CSV or a folder of <SYMBOL>_daily.csv."),
    output: Path | None = typer.Option(None, "--output", "-o", help="CSV to write: date, asset, value, label, then the components."),
    plot: Path | None = typer.Option(None, "--plot", help="Also draw the index to this PNG."),
    asset: str | None = typer.Option(None, "--asset", help="Index of one asset (e.g. ETH); default BTC's prices and all news."),
    explain_date: str | None = typer.Option(None, "--explain", help="Print why the index is what it is on DATE (YYYY-MM-DD)."),
    method: str = typer.Option("fitted", "--method", help="fitted (default: fitted to alternative.me) or weighted (hand-weighted)."),
    recipe: Path | None = typer.Option(None, "--recipe", help="A fitted recipe from `sentiment index fit` instead of the packaged one."),
    config: Path | None = typer.Option(None, "--config", help="TOML overriding the packaged index.toml."),
    market: str | None = typer.Option(None, "--market", help="Market series: BTC (default), another symbol, 'equal' or 'cap' basket."),
) -> None:
    """Daily 0-100 Fear & Greed style index from prices, news, or both."""
    if ctx.invoked_subcommand is not None:
        return
    from sentiment.market import PriceDataError, TagDataError, load_prices
    from sentiment.market.fitted import RecipeError, load_recipe
    from sentiment.market.index import METHODS, explain, fear_greed_index, load_config
    from sentiment.reasons import reason

    if output is None:
        raise UsageError("give --output/-o, the CSV to write")
    if tags is None and prices is None:
        raise UsageError("give --prices, --tags, or both")
    if method not in METHODS:
        raise UsageError(f"--method must be {' or '.join(METHODS)}, got {method!r}")
    for p, opt in ((tags, "--tags"), (prices, "--prices"), (config, "--config"), (recipe, "--recipe")):
        if p is not None and not p.exists():
            raise UsageError(f"{opt}: no such file or folder: {p}")
    import pandas as pd

    day = None
    if explain_date is not None:
        try:
            day = pd.Timestamp(explain_date)
        except ValueError:
            raise UsageError(f"--explain needs a date like 2024-11-22, got {explain_date!r}") from None
    try:
        rec = load_recipe(recipe) if method == "fitted" else None
    except RecipeError as exc:
        raise UsageError(f"--recipe: {exc}") from None
    try:
        cfg = load_config(config)
        if market:
            cfg["market"] = market
        table = load_prices(prices) if prices is not None else None
        if asset and table is not None and asset.upper().strip() not in set(table["symbol"]):
            known = ", ".join(sorted(table["symbol"].unique()))
            raise UsageError(f"--asset {asset}: no prices for {asset.upper().strip()} in {prices} (it has {known})")
        df = fear_greed_index(table, tags, asset=asset, config=cfg, method=method, recipe=rec)
    except (PriceDataError, TagDataError, ValueError) as exc:
        err.print(f"[red]error:[/red] {escape(reason(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    if day is not None and not (df["date"] == day.normalize()).any():
        raise UsageError(f"--explain {explain_date}: no index value on that day (the index covers "
                         f"{df['date'].min().date()} to {df['date'].max().date()})")
    output.parent.mkdir(parents=True, exist_ok=True)
    df.assign(date=df["date"].dt.strftime("%Y-%m-%d")).to_csv(output, index=False)
    if plot is not None:
        from sentiment.market.plots import plot_index

        plot.parent.mkdir(parents=True, exist_ok=True)
        plot_index(df, plot)
    used = ", ".join(df.attrs["components"])
    skipped = "; ".join(f"{k}: {v}" for k, v in df.attrs["skipped"].items()) or "none"
    last = df.iloc[-1]
    err.print(f"{df.attrs['target']} index ({df.attrs['method']}), {len(df)} days → {output}; last "
              f"{last['date'].date()}: {last['value']} ({last['label']})\ncomponents used: {used}\n"
              f"not used: {skipped}")
    if day is not None:
        out.print(explain(df, day), markup=False, highlight=False, soft_wrap=True)


@index_app.command("fit")
def index_fit(
    prices: Path = typer.Option(..., "--prices", help="Prices: a CSV or a folder of <SYMBOL>_daily.csv."),
    published: Path = typer.Option(..., "--published", help="The published index (alternative.me CSV: Date,fng_value)."),
    output: Path = typer.Option(..., "--output", "-o", help="The recipe (JSON) to write."),
    asset: str = typer.Option("BTC", "--asset", help="The asset whose closes are the features."),
    start: str = typer.Option("2018-02-01", "--start", help="First day of the fit period."),
    end: str = typer.Option("2022-12-31", "--end", help="Last day of the fit period: nothing later is read."),
) -> None:
    """Fit the index to the published one over START..END and write the recipe."""
    from sentiment.market import PriceDataError, load_prices, load_published_index
    from sentiment.market.fitted import fit_recipe
    from sentiment.market.prices import series_for
    from sentiment.reasons import reason

    for p, opt in ((prices, "--prices"), (published, "--published")):
        if not p.exists():
            raise UsageError(f"{opt}: no such file or folder: {p}")
    for value, opt in ((start, "--start"), (end, "--end")):
        try:
            import pandas as pd

            pd.Timestamp(value)
        except ValueError:
            raise UsageError(f"{opt} needs a date like 2022-12-31, got {value!r}") from None
    try:
        table = load_prices(prices)
        sym = asset.upper().strip()
        if sym not in set(table["symbol"]):
            raise UsageError(f"--asset {asset}: no prices for {sym} in {prices} "
                             f"(it has {', '.join(sorted(table['symbol'].unique()))})")
        pub = load_published_index(published)
        recipe = fit_recipe(series_for(table, sym)["close"], pub, asset=sym, start=start, end=end)
    except (PriceDataError, ValueError) as exc:
        err.print(f"[red]error:[/red] {escape(reason(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    recipe.save(output)
    info = recipe.info
    err.print(f"fitted on {info['asset']} {info['fit_start']}..{info['fit_end']} ({info['fit_days']} days): "
              f"components {', '.join(info['components'])}, ridge penalty {info['alpha']:g}, "
              f"cross-validated MAE {info['cv']['steps'][-1]['cv_mae']:.2f}, in-sample MAE {info['fit_mae']:.2f} "
              f"→ {output}", soft_wrap=True)


# ============================================================ end market


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script: runs the app, turns errors into one line."""
    try:
        # Without standalone mode the app returns the code of typer.Exit instead of raising.
        code = int(app(args=argv, standalone_mode=False) or 0)
        if code == 130:  # typer turns Ctrl-C into Exit(130), returned here
            err.print("aborted")
        return code
    except SystemExit as exc:  # typer.Exit / sys.exit inside a command
        return int(exc.code or 0)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except UsageError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        return 2
    except Exception as exc:  # click usage errors and anything unexpected
        import click

        if isinstance(exc, click.exceptions.Abort):
            err.print("aborted")
            return 130
        # typer >= 0.20 vendors click (typer._click): recognise its usage errors by shape too.
        if isinstance(exc, click.ClickException) or (
                hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int)):
            exc.show()
            return int(getattr(exc, "exit_code", 0) or 2)
        if os.environ.get("SENTIMENT_DEBUG"):
            raise
        from sentiment.reasons import describe

        # Our sentence, not the library's message (set SENTIMENT_DEBUG=1 for the traceback).
        err.print(f"[red]error:[/red] {escape(describe(exc))} (SENTIMENT_DEBUG=1 shows the traceback)",
                  soft_wrap=True)
        return 1


def _run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    _run()
