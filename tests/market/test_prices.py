"""Price loaders: Yahoo (any column order/case), CoinGecko, folders, clear errors."""
from __future__ import annotations

import pandas as pd
import pytest
from helpers import shared_path

from sentiment.market.prices import (
    COLUMNS,
    PriceDataError,
    basket,
    close_panel,
    load_prices,
    series_for,
    symbol_from_filename,
)


def test_yahoo_any_column_order_and_case_with_adj_close(tmp_path):
    p = tmp_path / "eth-usd.csv"
    p.write_text("volume,CLOSE,Adj Close,low,Date,High,open\n"
                 "100,11.0,10.9,9.5,2024-01-02,11.5,10.0\n"
                 "200,12.0,11.9,10.5,2024-01-01,12.5,11.0\n")
    df = load_prices(p)
    assert list(df.columns) == COLUMNS
    assert df["symbol"].tolist() == ["ETH", "ETH"]
    assert df["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-01-02"]  # sorted
    first = df.iloc[0]
    assert (first.open, first.high, first.low, first.close, first.volume) == (11.0, 12.5, 10.5, 12.0, 200.0)


def test_coingecko_snapped_at_and_millisecond_timestamps(tmp_path):
    a = tmp_path / "sol.csv"
    a.write_text("snapped_at,price,market_cap,total_volume\n"
                 "2021-01-01 00:00:00 UTC,1.5,1000,50\n2021-01-02 00:00:00 UTC,1.8,1200,60\n")
    df = load_prices(a)
    assert df["symbol"].unique().tolist() == ["SOL"]
    assert df["close"].tolist() == [1.5, 1.8]
    assert df["market_cap"].tolist() == [1000, 1200]
    assert df["volume"].tolist() == [50, 60]
    assert df["open"].isna().all()  # CoinGecko has no OHLC, close-to-close still works
    b = tmp_path / "btc.csv"
    b.write_text("timestamp,price\n1609459200000,29000\n1609545600000,32000\n")
    df = load_prices(b)
    assert df["date"].dt.strftime("%Y-%m-%d").tolist() == ["2021-01-01", "2021-01-02"]
    assert df["symbol"].iloc[0] == "BTC"


def test_intraday_bars_become_daily(tmp_path):
    p = tmp_path / "BTC.csv"
    p.write_text("Datetime,Open,High,Low,Close,Volume\n"
                 "2024-03-01T00:00:00Z,10,12,9,11,5\n2024-03-01T12:00:00Z,11,15,10,14,7\n"
                 "2024-03-02T01:00:00+02:00,14,14,13,13,1\n")  # 23:00 UTC on 1 March
    df = load_prices(p)
    assert len(df) == 1
    row = df.iloc[0]
    assert (row.open, row.high, row.low, row.close, row.volume) == (10, 15, 9, 13, 13)


def test_folder_of_symbol_files(tmp_path):
    for sym, close in (("BTC", 100.0), ("ETH", 10.0)):
        (tmp_path / f"{sym}_daily.csv").write_text(
            f"Date,Close,High,Low,Open,Volume\n2024-01-01,{close},{close},{close},{close},1\n"
            f"2024-01-03,{close * 2},{close * 2},{close * 2},{close * 2},1\n")
    (tmp_path / "notes.txt").write_text("not prices")
    df = load_prices(tmp_path)
    assert sorted(df["symbol"].unique()) == ["BTC", "ETH"]
    wide = close_panel(df)
    assert list(wide.columns) == ["BTC", "ETH"]
    assert len(wide) == 3 and wide.loc["2024-01-02"].isna().all()  # the gap day is kept as NaN
    assert series_for(df, "eth")["close"].iloc[-1] == 20.0
    eq = basket(df, "equal")
    assert eq["close"].iloc[0] == pytest.approx(100.0)


def test_missing_columns_are_named(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("Date,Open,High,Low,Volume\n2024-01-01,1,2,0.5,10\n")
    with pytest.raises(PriceDataError, match=r"Close"):
        load_prices(p)
    q = tmp_path / "y.csv"
    q.write_text("when,Close\nyesterday,1\n")
    with pytest.raises(PriceDataError, match=r"Date"):
        load_prices(q)
    r = tmp_path / "z.csv"
    r.write_text("Date,Close\nnot a date,1\n")
    with pytest.raises(PriceDataError, match="no readable dates"):
        load_prices(r)
    with pytest.raises(PriceDataError, match="no such file"):
        load_prices(tmp_path / "absent.csv")
    with pytest.raises(PriceDataError, match="no prices for DOGE"):
        series_for(pd.DataFrame(columns=COLUMNS), "DOGE")


def test_bad_rows_are_dropped_not_fatal(tmp_path):
    p = tmp_path / "ada.csv"
    p.write_text("Date,Close\n2024-01-01,1\n???,2\n2024-01-03,oops\n2024-01-04,-5\n2024-01-05,1.2\n")
    df = load_prices(p)
    assert df["close"].tolist() == [1.0, 1.2]
    assert df.attrs["dropped_rows"] == 3


def test_filename_symbols():
    assert symbol_from_filename("BTC_daily.csv") == "BTC"
    assert symbol_from_filename("eth-usd.csv") == "ETH"
    assert symbol_from_filename("SOL-USD_1d.csv") == "SOL"


def test_real_yfinance_folder():
    folder = shared_path("data", "crypto_prices_daily")
    df = load_prices(folder)
    assert {"BTC", "ETH", "SOL", "XRP"} <= set(df["symbol"])
    btc = series_for(df, "BTC")
    # Spot checks from the dataset README (Yahoo BTC-USD closes).
    assert btc.loc["2021-11-08", "close"] == pytest.approx(67566.83, abs=0.01)
    assert btc.loc["2024-03-13", "close"] == pytest.approx(73083.50, abs=0.01)
    assert (df["high"] >= df[["open", "close"]].max(axis=1) - 1e-9).all()
