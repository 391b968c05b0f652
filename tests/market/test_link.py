"""News ↔ price linking: forward returns checked by hand, event study, Granger, stated moves."""
from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pytest
from helpers import shared_path
from helpers.market import make_tags, record, score, synthetic_prices

from sentiment.market.link import check_moves, event_study, granger, link
from sentiment.market.news import MARKET, news_table
from sentiment.market.prices import close_panel


def _real_closes(path, dates):
    with open(path, newline="") as fh:
        rows = {r["Date"]: float(r["Close"]) for r in csv.DictReader(fh)}
    return [rows[d] for d in dates]


# ----------------------------------------------------------------- tests on real prices
@pytest.fixture(scope="module")
def real_prices():
    return shared_path("data", "crypto_prices_daily")


@pytest.fixture(scope="module")
def real_report(real_prices):
    tags = make_tags("2024-10-01", 60)
    tags.append(record(99990, "2024-11-05T14:00:00Z", 0.7, {"BTC": 0.7}, moves=[("BTC", 2.2)]))
    tags.append(record(99991, "2024-12-09T09:00:00+00:00", -0.6, {"ETH": -0.6, "DOGE": -0.5}))
    tags.append(record(99992, "2024-11-20T10:00:00Z", 0.1, {"FOO": 0.1}))  # an asset without prices
    return link(tags, real_prices)


def test_forward_returns_checked_by_hand(real_report, real_prices):
    a = real_report.articles
    btc = a[(a["id"] == "art99990") & (a["target"] == "BTC")].iloc[0]
    c = _real_closes(real_prices / "BTC_daily.csv",
                     ["2024-11-04", "2024-11-05", "2024-11-06", "2024-11-08", "2024-11-12"])
    assert btc["ret_0d"] == pytest.approx(c[1] / c[0] - 1, rel=1e-9)
    assert btc["ret_1d"] == pytest.approx(c[2] / c[1] - 1, rel=1e-9)   # the election-night jump
    assert btc["ret_3d"] == pytest.approx(c[3] / c[1] - 1, rel=1e-9)
    assert btc["ret_7d"] == pytest.approx(c[4] / c[1] - 1, rel=1e-9)
    assert btc["ret_1d"] > 0.05
    eth = a[(a["id"] == "art99991") & (a["target"] == "ETH")].iloc[0]
    e = _real_closes(real_prices / "ETH_daily.csv", ["2024-12-09", "2024-12-10", "2024-12-16"])
    assert eth["ret_1d"] == pytest.approx(e[1] / e[0] - 1, rel=1e-9)
    assert eth["ret_7d"] == pytest.approx(e[2] / e[0] - 1, rel=1e-9)
    market = a[(a["id"] == "art99991") & (a["target"] == MARKET)].iloc[0]
    b = _real_closes(real_prices / "BTC_daily.csv", ["2024-12-09", "2024-12-10"])
    assert market["ret_1d"] == pytest.approx(b[1] / b[0] - 1, rel=1e-9)  # market = BTC
    foo = a[a["target"] == "FOO"].iloc[0]
    assert math.isnan(foo["ret_1d"])
    assert "FOO" in real_report.summary["assets_without_prices"]


def test_report_tables_on_real_prices(real_report):
    r = real_report
    assert {"MARKET", "BTC", "ETH"} <= set(r.daily["asset"])
    day = r.daily[(r.daily["asset"] == "MARKET") & (r.daily["date"] == "2024-11-05")].iloc[0]
    assert day["count"] == 4  # three daily articles + the extra one
    assert set(r.event_summary["kind"]) == {"cause", "label"}
    hack = r.event_summary[r.event_summary["group"] == "hack_exploit"].iloc[0]
    assert hack["n"] >= 4
    offsets = r.event_study[r.event_study["group"] == "hack_exploit"]["offset"].tolist()
    assert offsets == [-2, -1, 0, 1, 2, 3]
    moves = r.summary["moves"]
    assert moves["n"] == 1
    m = r.moves.iloc[0]
    assert m["direction_agree_day"] is True or m["direction_agree_day"] == True
    assert m["abs_error_day"] == pytest.approx(abs(m["ret_day_pct"] - 2.2))
    assert set(r.granger["direction"]) == {"sentiment → returns", "returns → sentiment"}
    fr = r.forward_return_table()
    assert set(fr["scope"]) == {"assets", "market"}
    market_1d = fr[(fr["scope"] == "market") & (fr["horizon"] == "ret_1d")]
    # one observation per (day, label): 60 days with at most 3 labels each, never one per article
    assert 60 <= market_1d["n"].sum() <= 3 * 60 < len(r.articles[r.articles["target"] == MARKET]) * 3
    bull = r.articles[(r.articles["target"] == MARKET) & (r.articles["label"] == "bullish")]
    expected = bull.drop_duplicates(["date"])["ret_1d"].mean()
    assert market_1d.set_index("label").loc["bullish", "mean"] == pytest.approx(expected)


def test_event_study_recovers_a_planted_abnormal_return():
    prices = synthetic_prices(200)
    close = close_panel(prices)
    event_days = pd.date_range("2023-02-10", periods=10, freq="14D")
    for d in event_days:  # ETH returns 5 points less than BTC on each event day, nothing else changes
        pos = close.index.get_loc(d)
        btc_r = close["BTC"].iloc[pos] / close["BTC"].iloc[pos - 1]
        factor = (btc_r - 0.05) / (close["ETH"].iloc[pos] / close["ETH"].iloc[pos - 1])
        close.iloc[pos:, close.columns.get_loc("ETH")] *= factor
        # keep the days around the event exactly market-like
        for k in (-2, -1, 1, 2, 3):
            p = pos + k
            br = close["BTC"].iloc[p] / close["BTC"].iloc[p - 1]
            er = close["ETH"].iloc[p] / close["ETH"].iloc[p - 1]
            close.iloc[p:, close.columns.get_loc("ETH")] *= br / er
    rows = news_table([record(i, f"{d.date()}T12:00:00Z", -0.8, {"ETH": -0.8}, causes=[("hack_exploit", -0.9)])
                       for i, d in enumerate(event_days)]).rows
    study, summary = event_study(rows, close)
    hack = study[(study["group"] == "hack_exploit")].set_index("offset")
    assert hack.loc[0, "mean_ar"] == pytest.approx(-0.05, abs=1e-9)
    assert hack.loc[-1, "mean_ar"] == pytest.approx(0, abs=1e-9)
    assert hack.loc[3, "car"] == pytest.approx(-0.05, abs=1e-9)
    s = summary.set_index("group").loc["hack_exploit"]
    assert s["n"] == 10  # ETH events only: articles that name a priced asset add no market event
    mean_adj, _ = event_study(rows, close, abnormal="mean")
    assert mean_adj[mean_adj["group"] == "hack_exploit"]["n"].iloc[0] == 10
    with pytest.raises(ValueError, match="abnormal"):
        event_study(rows, close, abnormal="capm")


def test_granger_short_series_gives_a_reason():
    s = pd.Series([0.1, -0.2, 0.3, 0.0, 0.5])
    r = pd.Series([0.01, 0.02, -0.01, 0.0, 0.03])
    out = granger(s, r, max_lag=3)
    assert len(out) == 2 and all(o["p"] is None for o in out)
    assert all("too short" in o["reason"] for o in out)
    flat = granger(pd.Series(np.zeros(100)), pd.Series(np.linspace(-0.01, 0.01, 100)))
    assert all("constant" in o["reason"] for o in flat)


def test_granger_finds_sentiment_leading_returns():
    rng = np.random.default_rng(3)
    s = pd.Series(rng.normal(size=300))
    r = 0.8 * s.shift(1).fillna(0) + 0.3 * rng.normal(size=300)
    res = {o["direction"]: o for o in granger(s, r, max_lag=2)}
    assert res["sentiment → returns"]["p"] < 1e-6
    assert res["returns → sentiment"]["p"] > 0.01


def test_stated_moves_against_prices():
    prices = synthetic_prices(30)
    close = close_panel(prices)
    day, prev = pd.Timestamp("2023-01-10"), pd.Timestamp("2023-01-09")
    actual = 100 * (close.at[day, "ETH"] / close.at[prev, "ETH"] - 1)
    yesterday = 100 * (close.at[prev, "ETH"] / close.at[day - pd.Timedelta(days=2), "ETH"] - 1)
    recs = [record(1, "2023-01-10T18:00:00Z", 0.0, {"ETH": 0.0}, moves=[("ETH", round(actual, 2))]),
            record(2, "2023-01-10T06:00:00Z", 0.0, {"ETH": 0.0}, moves=[("ETH", round(yesterday, 2))]),
            record(3, "2023-01-10T06:00:00Z", 0.0, moves=[("XYZ", 3.0)])]
    df, summary = check_moves(recs, close)
    assert summary["n"] == 2 and summary["stated"] == 3
    assert df.iloc[0]["abs_error_day"] < 0.01
    assert df.iloc[1]["abs_error_prev"] < 0.01
    assert summary["direction_agree_either"] == 1.0
    assert summary["median_abs_error_best"] < 0.01
    empty, why = check_moves([record(4, "2023-01-10T06:00:00Z", 0.0)], close)
    assert empty.empty and why["n"] == 0 and "no stated moves" in why["reason"]


def test_bad_records_are_skipped_and_counted():
    recs = make_tags("2023-03-01", 5) + [
        {"id": "no-date", "sentiment": score(0.2)},
        {"id": "bad-date", "published": "yesterday", "sentiment": score(0.2)},
        {"id": "no-sentiment", "published": "2023-03-02T00:00:00Z"},
        "not a dict",
        {"id": "bad-assets", "published": "2023-03-02T00:00:00Z", "sentiment": score(0.1),
         "assets": [None, {"symbol": 5}], "causes": [None], "figures": [{"kind": "hack_loss", "value": "lots"}]},
    ]
    nt = news_table(recs)
    assert nt.skipped == {"no published date": 2, "no sentiment": 1, "not a record": 1}
    assert nt.n_articles == 16
    report = link(recs, synthetic_prices(120, start="2023-01-01"))
    assert report.summary["skipped_records"]["no sentiment"] == 1


def test_link_without_usable_records_says_why():
    with pytest.raises(ValueError, match="no usable tag records"):
        link([{"id": "x"}], synthetic_prices(30))
