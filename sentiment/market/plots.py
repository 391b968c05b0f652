"""PNG charts for the link report and the index (matplotlib, Agg backend, no display needed).

Figures are built with :class:`matplotlib.figure.Figure` on an Agg canvas directly (not
pyplot), so no global backend is switched and no GUI backend is ever loaded. Every chart takes
DataFrames (the tables of a link report or the index), never the report itself, so the
modules that compute them call this one and not the other way round.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

BAND_COLOURS = [(0, 25, "#c0392b"), (25, 45, "#e67e22"), (45, 56, "#bdc3c7"), (56, 76, "#7dcea0"),
                (76, 100, "#1e8449")]


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


CONTRIBUTION_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")


def plot_index(index: pd.DataFrame, path: str | Path, reference: pd.Series | None = None,
               title: str | None = None) -> Path:
    """The index over time on its bands, optionally with a reference series (e.g. alternative.me).
    A fitted index (``contrib_*`` columns) gets a second panel: its components' contributions in
    index points, stacked above and below zero (the value minus its baseline)."""
    parts = [c for c in index.columns if str(c).startswith("contrib_")]
    fig = _figure(11, 7 if parts else 4.5)
    ax = fig.add_subplot(2, 1, 1) if parts else fig.add_subplot(1, 1, 1)
    for lo, hi, colour in BAND_COLOURS:
        ax.axhspan(lo, hi, color=colour, alpha=0.12, lw=0)
    dates = pd.to_datetime(index["date"])
    ax.plot(dates, index["value"], lw=0.9, color="#1f3a93", label="this index")
    if reference is not None and len(reference):
        ref = reference.reindex(pd.DatetimeIndex(dates)) if len(dates) else reference
        ax.plot(ref.index, ref.values, lw=0.8, color="#d35400", alpha=0.8, label=reference.name or "reference")
        ax.legend(loc="upper left", fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_ylabel("0 = extreme fear, 100 = extreme greed")
    who = index["asset"].iloc[0] if "asset" in index.columns and len(index) else index.attrs.get("target", "MARKET")
    ax.set_title(title or f"Fear & Greed style index ({who})")
    if parts:
        bx = fig.add_subplot(2, 1, 2, sharex=ax)
        values = index[parts].astype(float).fillna(0.0)
        names = [c.removeprefix("contrib_") for c in parts]
        colours = [CONTRIBUTION_COLOURS[i % len(CONTRIBUTION_COLOURS)] for i in range(len(parts))]
        bx.stackplot(dates, *[values[c].clip(lower=0).to_numpy() for c in parts], colors=colours, labels=names,
                     alpha=0.85, lw=0)
        bx.stackplot(dates, *[values[c].clip(upper=0).to_numpy() for c in parts], colors=colours, alpha=0.85, lw=0)
        bx.plot(dates, values.sum(axis=1), lw=0.6, color="black", label="value - baseline")
        bx.axhline(0, color="grey", lw=0.6)
        bx.set_ylabel("contribution, index points")
        bx.legend(loc="upper left", fontsize=7, ncol=len(parts) + 1)
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


def plot_event_study(study: pd.DataFrame, path: str | Path, kind: str) -> Path:
    """Mean CAR by day offset for each group of one kind ("cause" or "label")."""
    fig = _figure(8, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    sub = study[study["kind"] == kind] if len(study) else study
    for group, g in (sub.groupby("group") if len(sub) else []):
        ax.plot(g["offset"], 100 * g["car"], marker="o", lw=1, label=f"{group} (n={int(g['n'].iloc[0])})")
    ax.axhline(0, color="grey", lw=0.6)
    ax.axvline(0, color="grey", lw=0.6, ls="--")
    ax.set_xlabel("day relative to publication")
    ax.set_ylabel("mean cumulative abnormal return, %")
    ax.set_title(f"Event study by {kind}")
    if len(sub):
        ax.legend(fontsize=7, ncol=2)
    else:
        ax.text(0.5, 0.5, "no events with full price windows", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


def plot_sentiment_vs_returns(daily: pd.DataFrame, path: str | Path, asset: str) -> Path:
    """Daily mean sentiment and news count against the day's return for one asset."""
    d = daily[daily["asset"] == asset].sort_values("date")
    fig = _figure(11, 5)
    ax1, ax2 = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2)
    ax1.bar(d["date"], d["count"], color="#95a5a6", width=1.0, label="articles")
    ax1b = ax1.twinx()
    ax1b.plot(d["date"], d["mean_score"], color="#1f3a93", lw=0.9, marker=".", ms=3, label="mean sentiment")
    ax1b.set_ylim(-1, 1)
    ax1.set_ylabel("articles")
    ax1b.set_ylabel("sentiment")
    ax1.set_title(f"{asset}: news sentiment and daily returns")
    ax2.bar(d["date"], 100 * d["return"].fillna(0), color=["#1e8449" if r >= 0 else "#c0392b"
                                                         for r in d["return"].fillna(0)], width=1.0)
    ax2.set_ylabel("return, %")
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


def link_charts(event_study: pd.DataFrame, daily: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """The link report's charts from its ``event_study`` and ``daily`` tables: event studies by
    cause and by label, and market sentiment vs returns (when there are daily rows)."""
    out = Path(out_dir)
    paths = [plot_event_study(event_study, out / "event_study_causes.png", "cause"),
             plot_event_study(event_study, out / "event_study_labels.png", "label")]
    if len(daily):
        paths.append(plot_sentiment_vs_returns(daily, out / "sentiment_vs_returns.png", "MARKET"))
    return paths
