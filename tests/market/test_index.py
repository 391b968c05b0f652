"""The hand-weighted Fear & Greed style index (``method="weighted"``): bands, modes, per-asset, no
look-ahead, explain, real-data check. The fitted default has its tests in test_fitted_index.py."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import shared_path
from helpers.market import make_tags, record, synthetic_prices
from hypothesis import given, settings
from hypothesis import strategies as st

from sentiment.market import COMPONENTS, explain, label_for, load_config
from sentiment.market import fear_greed_index as any_index
from sentiment.market.compare import agreement, load_published_index
from sentiment.market.index import NEWS_COMPONENTS, PRICE_COMPONENTS


def fear_greed_index(*args, **kwargs):
    """The hand-weighted index, which these tests pin."""
    return any_index(*args, method="weighted", **kwargs)


@pytest.fixture(scope="module")
def prices():
    return synthetic_prices(400)


@pytest.fixture(scope="module")
def tags():
    return make_tags("2023-09-01", 90, per_day=4)


@pytest.mark.parametrize("value,label", [
    (0, "Extreme Fear"), (24, "Extreme Fear"), (24.4, "Extreme Fear"), (24.5, "Fear"), (25, "Fear"),
    (44, "Fear"), (45, "Neutral"), (55, "Neutral"), (56, "Greed"), (75, "Greed"), (76, "Extreme Greed"),
    (100, "Extreme Greed")])
def test_bands_at_the_boundaries(value, label):
    assert label_for(value) == label


def test_label_of_missing_value():
    assert label_for(float("nan")) is None


def test_config_is_documented_data_with_weights():
    cfg = load_config()
    assert set(cfg["components"]) == set(COMPONENTS)
    assert all(cfg["components"][c]["weight"] > 0 for c in COMPONENTS)
    assert [b["label"] for b in cfg["bands"]] == ["Extreme Fear", "Fear", "Neutral", "Greed", "Extreme Greed"]
    with pytest.raises(ValueError, match="unknown index component"):
        load_config({"components": {"astrology": {"weight": 1}}})
    assert load_config({"components": {"momentum": {"weight": 0.9}}})["components"]["momentum"]["window"] == 90


def test_prices_only_says_which_components(prices):
    df = fear_greed_index(prices)
    assert list(df.columns) == ["date", "asset", "value", "label", *PRICE_COMPONENTS]
    assert (df["asset"] == "MARKET").all()
    assert df.attrs["components"] == list(PRICE_COMPONENTS)
    assert set(df.attrs["skipped"]) == set(NEWS_COMPONENTS)
    assert all("no tags" in why for why in df.attrs["skipped"].values())
    assert sum(df.attrs["weights"].values()) == pytest.approx(1.0, abs=1e-3)
    assert df["value"].between(0, 100).all()
    assert (df["label"] == df["value"].map(label_for)).all()
    assert df.attrs["market"] == "BTC prices"
    # the value is the weighted mean of the components
    row = df.iloc[-1]
    w = df.attrs["weights"]
    assert row["value"] == round(sum(row[c] * w[c] for c in PRICE_COMPONENTS))


def test_news_only_says_which_components(tags):
    df = fear_greed_index(None, tags)
    assert df.attrs["components"] == list(NEWS_COMPONENTS)
    assert set(df.attrs["skipped"]) == set(PRICE_COMPONENTS)
    # the news of a day counts for the next day's value (known at its 00:00 UTC)
    assert df["date"].min() == pd.Timestamp("2023-09-02") and len(df) == 90
    assert df["value"].between(0, 100).all()
    assert df.attrs["news"]["articles"] == 360


def test_combined_mode_uses_all_components(prices, tags):
    df = fear_greed_index(prices, tags)
    assert df.attrs["components"] == list(COMPONENTS)
    on_news = df[df["date"].between("2023-09-02", "2023-11-30")]
    assert on_news[list(NEWS_COMPONENTS)].notna().all().all()
    before = df[df["date"] < "2023-09-02"]
    assert before[list(NEWS_COMPONENTS)].isna().all().all()  # re-normalised over price components


def test_news_sentiment_and_stress_move_the_right_way():
    calm = [record(i, f"2024-01-{1 + i // 4:02d}T10:00:00Z", 0.0, {"BTC": 0.0}) for i in range(80)]
    good = [record(1000 + i, f"2024-01-{21 + i // 8}T10:00:00Z", 0.8, {"BTC": 0.8}) for i in range(16)]
    bad = [record(2000 + i, f"2024-01-{21 + i // 8}T10:00:00Z", -0.8, {"BTC": -0.8},
                  causes=[("leverage_liquidation", -0.7)], figures=[("liquidations", 1.2e9)]) for i in range(16)]
    up = fear_greed_index(None, calm + good).set_index("date")
    down = fear_greed_index(None, calm + bad).set_index("date")
    # the news of the 21st and 22nd moves the values dated the 22nd and 23rd
    base = up.loc["2024-01-16"]
    assert 45 <= base["news_sentiment"] <= 55 and 45 <= base["value"] <= 55  # calm news is neutral
    assert up.loc["2024-01-23", "news_sentiment"] > 70 > up.loc["2024-01-22", "news_sentiment"] > 60
    assert down.loc["2024-01-23", "news_sentiment"] < 30 < down.loc["2024-01-22", "news_sentiment"] < 40
    assert down.loc["2024-01-22", "news_stress"] < 15 and base["news_stress"] >= 45
    assert up.loc["2024-01-22", "news_attention"] > 60 and down.loc["2024-01-22", "news_attention"] < 40
    assert down.loc["2024-01-23", "value"] < 25 and up.loc["2024-01-23", "value"] > 60
    assert up.loc["2024-01-21", "news_sentiment"] == base["news_sentiment"]  # not yet known on the 21st


def test_per_asset_index(prices, tags):
    market = fear_greed_index(prices, tags)
    eth = fear_greed_index(prices, tags, asset="eth")
    assert eth.attrs["target"] == "ETH" and eth.attrs["market"] == "ETH prices"
    m = market.merge(eth, on="date", suffixes=("_m", "_e"))
    assert (m["momentum_m"] != m["momentum_e"]).mean() > 0.9  # ETH prices, not BTC's
    assert (m["news_sentiment_m"].dropna() != m["news_sentiment_e"].dropna()).any()
    with pytest.raises(Exception, match="no prices for DOGE"):
        fear_greed_index(prices, asset="DOGE")
    doge_news = fear_greed_index(prices, tags, asset="BTC")
    assert "news_sentiment" in doge_news.attrs["components"]


def test_basket_market(prices):
    cfg = load_config()
    cfg["market"] = "equal"
    df = fear_greed_index(prices, config=cfg)
    assert "equal-weighted basket of 2 symbols" == df.attrs["market"]
    assert not df["value"].equals(fear_greed_index(prices)["value"])


def test_no_look_ahead(prices, tags):
    full = fear_greed_index(prices, tags)
    cut = pd.Timestamp("2023-10-15")
    tags_cut = [t for t in tags if t["published"][:10] <= "2023-10-15"]
    part = fear_greed_index(prices[prices["date"] <= cut], tags_cut)
    # bars and news up to the cut give the values up to the day after it (known at its 00:00 UTC)
    assert part["date"].max() == cut + pd.Timedelta(days=1)
    a = full[full["date"] <= cut + pd.Timedelta(days=1)].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, part.reset_index(drop=True), check_like=False)


def test_explain_lists_every_component(prices, tags):
    df = fear_greed_index(prices, tags)
    text = explain(df, "2023-10-01")
    row = df.set_index("date").loc["2023-10-01"]
    assert text.splitlines()[0] == f"MARKET Fear & Greed on 2023-10-01: {row['value']} ({row['label']})"
    for c in COMPONENTS:
        assert c in text
    lines = {line.split()[0]: line.split() for line in text.splitlines()[2:] if line.split()[0] in COMPONENTS}
    contributions = [float(lines[c][3]) for c in COMPONENTS]
    assert all(float(lines[c][1]) == pytest.approx(row[c], abs=0.05) for c in COMPONENTS)  # the scores
    assert sum(float(lines[c][2]) for c in COMPONENTS) == pytest.approx(1.0, abs=0.01)   # the weights
    value_line = next(line for line in text.splitlines() if line.startswith("value"))
    assert float(value_line.split()[-1]) == pytest.approx(sum(contributions), abs=0.05)
    assert round(float(value_line.split()[-1])) == row["value"]
    with pytest.raises(ValueError, match="no index value on 1999-01-01"):
        explain(df, "1999-01-01")
    prices_only = explain(fear_greed_index(prices), "2023-10-01")
    assert "not used: news_sentiment (no tags given)" in prices_only


def test_needs_some_input():
    with pytest.raises(ValueError, match="needs prices, tags"):
        fear_greed_index()
    with pytest.raises(ValueError, match="no component could be scored"):
        fear_greed_index(None, [{"id": "broken"}])


@pytest.mark.shared
def test_tracks_the_published_index_on_real_prices():
    prices = shared_path("data", "crypto_prices_daily")
    published = load_published_index(shared_path("data", "crypto_fear_greed_index", "fear_greed_index.csv"))
    df = fear_greed_index(prices)
    full = agreement(df, published, "2018-01-01")
    assert full["n"] > 2900
    assert full["spearman"] >= 0.75
    assert full["pearson"] >= 0.75
    oos = agreement(df, published, "2023-01-01")  # after the period the design was chosen on
    assert oos["spearman"] >= 0.75
    assert np.isfinite(full["same_band_ours"]) and full["same_band_ours"] > 0.35


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), vol=st.floats(0.001, 0.2), days=st.integers(5, 200))
def test_any_price_path_gives_values_in_range_with_matching_labels(seed, vol, days):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, vol, days)))
    prices = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=days), "symbol": "BTC", "open": close,
                           "high": close, "low": close, "close": close, "volume": rng.uniform(1, 2, days),
                           "market_cap": np.nan})
    try:
        df = fear_greed_index(prices)
    except ValueError as exc:  # too short for any component: a clear reason, not a crash
        assert "no component could be scored" in str(exc)
        return
    assert df["value"].between(0, 100).all()
    assert (df["label"] == df["value"].map(label_for)).all()
    scores = df[df.attrs["components"]].to_numpy(dtype=float)
    assert np.nanmin(scores) >= 0 and np.nanmax(scores) <= 100


def test_missing_market_symbol_suggests_a_basket(prices):
    with pytest.raises(Exception, match="no prices for BTC.*basket"):
        fear_greed_index(prices[prices["symbol"] == "ETH"])
