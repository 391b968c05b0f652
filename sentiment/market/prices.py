"""Daily price history (OHLCV) from CSV files, as one tidy table.

Accepted inputs, columns matched by name (any order, any case):

* Yahoo / yfinance style: ``Date, Open, High, Low, Close, Volume`` (``Adj Close`` tolerated and
  ignored; a ``Datetime`` column is accepted for intraday bars).
* CoinGecko exports: ``snapped_at, price, market_cap, total_volume`` (``snapped_at`` like
  ``2021-01-01 00:00:00 UTC``), or the same with a ``timestamp`` column in Unix milliseconds.
* A folder of ``<SYMBOL>_daily.csv`` (or ``<SYMBOL>.csv`` / ``<SYMBOL>-USD.csv``) files.

The result has one row per (symbol, UTC day) and the columns :data:`COLUMNS`:
``date`` is a naive ``datetime64`` holding the UTC calendar day. Bars finer than a day are
aggregated to days (first open, max high, min low, last close, summed volume). Sources
without open/high/low (CoinGecko) leave them empty; close-to-close returns need only ``close``.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pandas as pd

from ..reasons import describe

COLUMNS = ["date", "symbol", "open", "high", "low", "close", "volume", "market_cap"]

# Accepted spellings of each column (compared after lower-casing and dropping spaces/underscores).
_ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("date", "datetime", "time", "day", "snappedat", "timestamp", "timeopen", "opentime"),
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close", "price", "last"),
    "volume": ("volume", "totalvolume", "volumeusd", "vol"),
    "market_cap": ("marketcap", "mktcap"),
    "symbol": ("symbol", "ticker", "asset", "coin"),
}
_FILE_SYMBOL = re.compile(r"^([A-Za-z0-9]+?)(?:[-_](?:usd|usdt|daily|1d|ohlcv|prices?))*$", re.IGNORECASE)

PricesLike: TypeAlias = str | Path | pd.DataFrame


class PriceDataError(ValueError):
    """A price file that cannot be read as OHLCV (the message says which file and why)."""


def _key(name: str) -> str:
    return re.sub(r"[\s_\-\.]+", "", str(name)).lower()


def symbol_from_filename(path: str | Path) -> str:
    """``BTC_daily.csv`` → ``BTC``; ``eth-usd.csv`` → ``ETH``."""
    stem = Path(path).stem
    m = _FILE_SYMBOL.match(stem)
    return (m.group(1) if m else stem).upper()


def _find_columns(columns: list[str]) -> dict[str, str]:
    """Map our column names to the file's, first matching alias wins."""
    keys = {_key(c): c for c in columns}
    found: dict[str, str] = {}
    for ours, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in keys:
                found[ours] = keys[alias]
                break
    return found


def _parse_dates(values: pd.Series, source: str, column: str) -> pd.Series:
    """UTC calendar days from ISO strings, ``… UTC`` strings or Unix seconds/milliseconds.

    Unreadable dates become NaT (those rows are dropped and counted by the caller)."""
    if pd.api.types.is_numeric_dtype(values):
        v = pd.to_numeric(values, errors="coerce")
        unit = "ms" if v.dropna().abs().median() > 1e11 else "s"
        parsed = pd.to_datetime(v, unit=unit, utc=True, errors="coerce")
    else:
        text = values.astype("string").str.strip()
        parsed = pd.to_datetime(text, utc=True, errors="coerce", format="mixed")
    if len(values) and parsed.isna().all():
        raise PriceDataError(f"{source}: column {column!r} holds no readable dates "
                             f"(first value {values.iloc[0]!r})")
    return parsed.dt.tz_convert("UTC").dt.tz_localize(None)


def frame_to_prices(df: pd.DataFrame, symbol: str | None = None, source: str = "<frame>") -> pd.DataFrame:
    """Normalise a raw OHLCV table (any supported column naming) to the tidy :data:`COLUMNS`.

    Raises :class:`PriceDataError` naming the missing columns when the table has no date or
    no close/price column."""
    cols = _find_columns(list(df.columns))
    missing = [c for c in ("date", "close") if c not in cols]
    if "date" not in cols and isinstance(df.index, pd.DatetimeIndex):
        df = df.reset_index(names="date")
        cols = _find_columns(list(df.columns))
        missing = [c for c in ("date", "close") if c not in cols]
    if missing:
        want = {"date": "Date (or snapped_at / timestamp)", "close": "Close (or price)"}
        raise PriceDataError(f"{source}: missing column(s) {', '.join(want[m] for m in missing)}; "
                             f"found {list(map(str, df.columns))}")
    out = pd.DataFrame({"date": _parse_dates(df[cols["date"]], source, cols["date"])})
    for name in ("open", "high", "low", "close", "volume", "market_cap"):
        out[name] = pd.to_numeric(df[cols[name]], errors="coerce") if name in cols else np.nan
    if "symbol" in cols and symbol is None:
        out["symbol"] = df[cols["symbol"]].astype("string").str.upper().str.strip()
    else:
        out["symbol"] = (symbol or "ASSET").upper()
    n0 = len(out)
    out = out.dropna(subset=["date", "close"])
    out = out[out["close"] > 0]
    dropped = n0 - len(out)
    out["date"] = out["date"].dt.floor("D")
    out = out.sort_values(["symbol", "date"], kind="stable")
    daily = (out.groupby(["symbol", "date"], sort=True)
             .agg(open=("open", "first"), high=("high", "max"), low=("low", "min"),
                  close=("close", "last"), volume=("volume", lambda s: s.sum(min_count=1)),
                  market_cap=("market_cap", "last"))
             .reset_index())
    daily = daily[COLUMNS]
    daily["volume"] = daily["volume"].astype(float)
    daily["symbol"] = daily["symbol"].astype(object)
    daily.attrs["dropped_rows"] = int(dropped)
    return daily.reset_index(drop=True)


def read_price_file(path: str | Path, symbol: str | None = None) -> pd.DataFrame:
    """One CSV file of prices → tidy table; the symbol comes from a column, the argument or the file name."""
    path = Path(path)
    try:
        raw = pd.read_csv(path)
    except FileNotFoundError:
        raise PriceDataError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise PriceDataError(f"{path}: not a readable CSV ({describe(exc)})") from None
    has_symbol_col = "symbol" in _find_columns(list(raw.columns))
    sym = symbol or (None if has_symbol_col else symbol_from_filename(path))
    return frame_to_prices(raw, sym, source=str(path))


def load_prices(source: PricesLike, symbol: str | None = None) -> pd.DataFrame:
    """Prices from a CSV file, a folder of ``<SYMBOL>_daily.csv`` files, or a DataFrame.

    Returns the tidy table (:data:`COLUMNS`), sorted by symbol then date."""
    if isinstance(source, pd.DataFrame):
        if set(COLUMNS) <= set(source.columns):
            return source[COLUMNS].copy()
        return frame_to_prices(source, symbol)
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
        if not files:
            raise PriceDataError(f"{path}: folder holds no .csv price files")
        frames = [read_price_file(p) for p in files]
        out = pd.concat(frames, ignore_index=True)
        out = out.drop_duplicates(["symbol", "date"], keep="last")
        return out.sort_values(["symbol", "date"]).reset_index(drop=True)
    if not path.exists():
        raise PriceDataError(f"{path}: no such file or folder")
    return read_price_file(path, symbol)


def close_panel(prices: pd.DataFrame, field: str = "close") -> pd.DataFrame:
    """Wide table: one row per calendar day (gaps kept as NaN), one column per symbol."""
    wide = prices.pivot_table(index="date", columns="symbol", values=field, aggfunc="last")
    if len(wide):
        wide = wide.reindex(pd.date_range(wide.index.min(), wide.index.max(), freq="D"))
    wide.index.name = "date"
    wide.columns.name = None
    return wide


def series_for(prices: pd.DataFrame, symbol: str) -> pd.DataFrame:
    """One symbol's rows indexed by calendar day (gaps reindexed to NaN)."""
    sub = prices[prices["symbol"] == symbol.upper()].set_index("date").sort_index()
    if sub.empty:
        known = ", ".join(sorted(prices["symbol"].unique())) or "none"
        raise PriceDataError(f"no prices for {symbol.upper()} (loaded: {known})")
    sub = sub[~sub.index.duplicated(keep="last")]
    sub = sub.reindex(pd.date_range(sub.index.min(), sub.index.max(), freq="D"))
    sub.index.name = "date"
    return sub.drop(columns=["symbol"])


def basket(prices: pd.DataFrame, weighting: str = "equal") -> pd.DataFrame:
    """A market series built from every loaded symbol: daily log returns averaged with equal
    weights (``"equal"``) or yesterday's market caps (``"cap"``, needs a market_cap column),
    chained into a close index starting at 100; volume is the summed USD volume."""
    close = close_panel(prices, "close")
    rets = np.log(close).diff()
    if weighting == "cap":
        caps = close_panel(prices, "market_cap").shift(1)
        if caps.notna().sum().sum() == 0:
            raise PriceDataError("cap-weighted basket needs a market_cap column (CoinGecko export)")
        w = caps.where(rets.notna())
        r = (rets * w).sum(axis=1, min_count=1) / w.sum(axis=1, min_count=1)
    elif weighting == "equal":
        r = rets.mean(axis=1)
    else:
        raise ValueError(f"unknown basket weighting {weighting!r} (use 'equal' or 'cap')")
    r = r.fillna(0.0)
    level = 100 * np.exp(r.cumsum())
    vol = close_panel(prices, "volume").sum(axis=1, min_count=1)
    out = pd.DataFrame({"open": np.nan, "high": np.nan, "low": np.nan, "close": level,
                        "volume": vol, "market_cap": np.nan})
    out.index.name = "date"
    return out
