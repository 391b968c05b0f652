"""Synthetic but realistic tag records and price bars for the market tests."""
from __future__ import annotations

import numpy as np
import pandas as pd


def score(s: float) -> dict:
    """A Score dict with score = P(bull) - P(bear)."""
    bull, bear = max(0.0, s), max(0.0, -s)
    probs = {"bearish": round(bear, 4), "neutral": round(1 - bull - bear, 4), "bullish": round(bull, 4)}
    return {"label": max(probs, key=probs.get), "score": s, "probs": probs}


def record(i: int, published: str, s: float, assets: dict[str, float] | None = None,
           causes: list[tuple[str, float]] = (), moves: list[tuple[str, float]] = (),
           figures: list[tuple[str, float]] = ()) -> dict:
    """One tag record shaped like `sentiment tag` output."""
    return {
        "schema": 1, "id": f"art{i:05d}", "url": f"https://news.example/{i}", "title": f"headline {i}",
        "source": "news.example", "published": published, "sentiment": score(s),
        "assets": [{"symbol": k, "name": k, "mentions": 2, "sentiment": score(v)} for k, v in (assets or {}).items()],
        "moves": [{"asset": a, "direction": "up" if p > 0 else "down", "change_pct": p, "from_price": None,
                   "to_price": None, "change_abs": None, "text": f"{a} moved {p}%"} for a, p in moves],
        "levels": [],
        "figures": [{"kind": k, "value": v, "unit": "USD", "asset": None, "text": f"{k} {v}"} for k, v in figures],
        "causes": [{"type": t, "evidence": f"{t} sentence", "sentiment": score(cs)} for t, cs in causes],
        "sectors": [], "entities": [],
    }


def make_tags(start: str, days: int, per_day: int = 3, seed: int = 0) -> list[dict]:
    """Daily news about BTC and ETH with random sentiment, a hack every 10 days."""
    rng = np.random.default_rng(seed)
    out, i = [], 0
    for d in pd.date_range(start, periods=days, freq="D"):
        for j in range(per_day):
            s = float(np.round(rng.uniform(-0.9, 0.9), 3))
            sym = "BTC" if j % 2 == 0 else "ETH"
            causes = [("hack_exploit", -0.8)] if j == 0 and d.day % 10 == 0 else []
            figs = [("hack_loss", 5e7)] if causes else []
            out.append(record(i, f"{d.date()}T{8 + j:02d}:30:00Z", s, {sym: s}, causes, figures=figs))
            i += 1
    return out


def synthetic_prices(days: int = 400, start: str = "2023-01-01", seed: int = 1) -> pd.DataFrame:
    """Tidy prices for BTC and ETH: random walks with volume."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D")
    frames = []
    for sym, p0, vol in (("BTC", 30000.0, 0.03), ("ETH", 2000.0, 0.04)):
        close = p0 * np.exp(np.cumsum(rng.normal(0, vol, days)))
        frames.append(pd.DataFrame({"date": dates, "symbol": sym, "open": close, "high": close * 1.01,
                                    "low": close * 0.99, "close": close,
                                    "volume": rng.uniform(1e9, 2e9, days), "market_cap": np.nan}))
    return pd.concat(frames, ignore_index=True)
