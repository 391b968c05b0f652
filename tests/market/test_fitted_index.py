"""The fitted index (the default): alignment, the fit, contributions, per asset, the command line."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import shared_path
from hypothesis import given, settings
from hypothesis import strategies as st

from sentiment.cli import main
from sentiment.market import fear_greed_index, load_published_index
from sentiment.market.compare import agreement, agreement_intervals, paired_difference
from sentiment.market.fitted import RECIPE_PATH, features, fit_recipe, load_recipe


def walk(days: int, start: str = "2017-06-01", seed: int = 3, vol: float = 0.03) -> pd.Series:
    rng = np.random.default_rng(seed)
    close = 1000 * np.exp(np.cumsum(rng.normal(0, vol, days)))
    return pd.Series(close, index=pd.date_range(start, periods=days, freq="D"))


def tidy(closes: dict[str, pd.Series]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"date": c.index, "symbol": sym, "open": c.values, "high": c.values,
                                    "low": c.values, "close": c.values, "volume": 1e9, "market_cap": np.nan})
                      for sym, c in closes.items()], ignore_index=True)


def published_from(close: pd.Series) -> pd.DataFrame:
    """A 'published' index that is a known function of the bars up to the day before."""
    f = features(close, ["rsi_14", "gap_sma_50"]).dropna()
    eta = 0.06 * (f["rsi_14"] - 50) + 4.0 * f["gap_sma_50"]
    value = (100 / (1 + np.exp(-eta))).round().clip(0, 100)
    return pd.DataFrame({"date": f.index, "value": value.values, "label": None})


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    d = tmp_path_factory.mktemp("fitted")
    btc, eth = walk(2100), walk(2100, seed=4, vol=0.045)
    prices = d / "prices"
    prices.mkdir()
    for sym, c in (("BTC", btc), ("ETH", eth)):
        pd.DataFrame({"Date": c.index.strftime("%Y-%m-%d"), "Close": c.values, "High": c.values, "Low": c.values,
                      "Open": c.values, "Volume": 1e9}).to_csv(prices / f"{sym}_daily.csv", index=False)
    pub = published_from(btc)
    pub_path = d / "fng.csv"
    pub.rename(columns={"date": "Date", "value": "fng_value"})[["Date", "fng_value"]].assign(
        Date=lambda x: x["Date"].dt.strftime("%Y-%m-%d")).to_csv(pub_path, index=False)
    return {"dir": d, "prices": prices, "published": pub_path, "btc": btc, "eth": eth, "pub": pub}


# --------------------------------------------------------------------------- alignment
def test_the_value_dated_d_uses_the_bars_up_to_d_minus_1():
    close = walk(700, start="2020-01-01")
    jump = pd.Timestamp("2021-09-01")
    close[close.index >= jump] *= 1.5  # a rally on the bar of 2021-09-01
    table = tidy({"BTC": close})
    full = fear_greed_index(table).set_index("date")
    before = fear_greed_index(table[table["date"] < jump]).set_index("date")
    # the bars up to 2021-08-31 give the values up to 2021-09-01 (known at its 00:00 UTC) ...
    assert before.index.max() == jump
    pd.testing.assert_frame_equal(full.loc[:jump], before)
    # ... so the rally shows from the value dated the next day: a look-ahead would show it on the 1st
    day_after = jump + pd.Timedelta(days=1)
    assert full.loc[day_after, "value"] - full.loc[jump, "value"] >= 10
    assert features(close).loc[day_after, "ret_1"] == pytest.approx(np.log(1.5) + np.log(
        close[jump] / 1.5 / close[jump - pd.Timedelta(days=1)]))


def test_comparisons_pair_the_values_of_the_same_date():
    close = walk(700, start="2020-01-01")
    ours = fear_greed_index(tidy({"BTC": close}))
    same = ours[["date", "value", "label"]]
    assert agreement(ours, same)["mean_abs_diff"] == 0
    shifted = same.assign(date=same["date"] + pd.Timedelta(days=1))
    assert agreement(ours, shifted)["mean_abs_diff"] > 0
    a = agreement_intervals(ours, same, block=30, n_boot=50)
    assert a["mean_abs_diff"] == (0.0, 0.0, 0.0) and a["spearman"][0] == pytest.approx(1.0)
    same = same.assign(label=ours["label"])
    assert paired_difference(ours, ours, same, n_boot=20)["spearman"] == (0.0, 0.0, 0.0)
    noisy = ours.assign(value=(ours["value"] + np.random.default_rng(0).normal(0, 15, len(ours))).clip(0, 100))
    d = paired_difference(ours, noisy, same, n_boot=50)
    assert d["spearman"][1] > 0 and d["mean_abs_diff"][2] < 0  # the exact index is better, clearly


# --------------------------------------------------------------------------- the fit
def test_the_fit_recovers_a_known_index_and_reads_nothing_after_its_end(market):
    btc, pub = market["btc"], market["pub"]
    recipe = fit_recipe(btc, pub, start="2018-02-01", end="2022-12-31")
    assert recipe.info["fit_end"] == "2022-12-31" and "alternative.me" in recipe.info["credit"]
    assert "rsi" in recipe.components and "trend" in recipe.components
    assert recipe.info["fit_mae"] < 2.0
    # later prices and later published values change nothing
    later = btc.copy()
    later[later.index > "2022-12-31"] *= 3
    pub_later = pub.assign(value=np.where(pub["date"] > "2022-12-31", 0, pub["value"]))
    again = fit_recipe(later, pub_later, start="2018-02-01", end="2022-12-31")
    assert again.to_dict() == recipe.to_dict()
    with pytest.raises(ValueError, match="needs at least a year"):
        fit_recipe(btc, pub, start="2022-06-01", end="2022-12-31")


def test_contributions_add_up_to_the_value(market):
    df = fear_greed_index(market["prices"])
    parts = [c for c in df.columns if c.startswith("contrib_")]
    assert list(df.columns[:5]) == ["date", "asset", "value", "label", "baseline"] and parts
    assert (df["asset"] == "BTC").all()
    exact = df["baseline"] + df[parts].sum(axis=1)
    assert (exact - df["value"]).abs().max() <= 0.5 + 0.01 * len(parts)
    raw = pd.Series({pd.Timestamp(k): v["value"] for k, v in df.attrs["raw"].items()})
    assert np.allclose(exact.to_numpy(), raw.reindex(df["date"]).to_numpy(), atol=0.01 * len(parts))
    assert df["value"].between(0, 100).all()


def test_the_same_recipe_on_another_asset(market):
    btc = fear_greed_index(market["prices"]).set_index("date")
    eth = fear_greed_index(market["prices"], asset="eth").set_index("date")
    assert (eth["asset"] == "ETH").all() and eth.attrs["market"] == "ETH prices"
    common = btc.index.intersection(eth.index)
    assert len(common) > 1000 and (btc.loc[common, "value"] != eth.loc[common, "value"]).mean() > 0.8


def test_news_components_are_blended_with_their_weights(market):
    from helpers.market import make_tags

    tags = make_tags("2022-06-01", 60, per_day=4)
    df = fear_greed_index(market["prices"], tags).set_index("date")
    assert {"contrib_news_sentiment", "contrib_news_stress"} <= set(df.columns)
    on = df.loc["2022-06-10"]
    parts = [c for c in df.columns if c.startswith("contrib_")]
    assert on["baseline"] + sum(on[c] for c in parts) == pytest.approx(on["value"], abs=0.6)
    assert (df.loc[:"2022-06-01", "contrib_news_sentiment"] == 0).all()  # no news known yet


# --------------------------------------------------------------------------- the command line
def test_fit_then_index_with_explain_through_the_cli(market, tmp_path, capsys):
    recipe = tmp_path / "recipe.json"
    assert main(["index", "fit", "--prices", str(market["prices"]), "--published", str(market["published"]),
                 "-o", str(recipe)]) == 0
    data = json.loads(recipe.read_text())
    assert data["asset"] == "BTC" and data["fit_end"] == "2022-12-31" and data["features"]
    assert "alternative.me" in data["credit"]
    assert "fitted on BTC 2018-06-01..2022-12-31" in capsys.readouterr().err  # the first day with every feature

    out = tmp_path / "eth.csv"
    assert main(["index", "--prices", str(market["prices"]), "--asset", "ETH", "--recipe", str(recipe),
                 "-o", str(out), "--explain", "2022-03-01"]) == 0
    df = pd.read_csv(out)
    parts = [c for c in df.columns if c.startswith("contrib_")]
    assert (df["asset"] == "ETH").all() and parts and "baseline" in df.columns
    text = capsys.readouterr().out
    row = df.set_index("date").loc["2022-03-01"]
    assert text.splitlines()[0] == f"ETH Fear & Greed on 2022-03-01: {row['value']} ({row['label']})"
    points = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()[2:]
              if line.split()[0] in {"baseline", *(c.removeprefix("contrib_") for c in parts), "value"}}
    assert points["baseline"] + sum(points[c.removeprefix("contrib_")] for c in parts) == pytest.approx(
        points["value"], abs=0.01 * len(parts) + 0.005)
    assert round(points["value"]) == row["value"]


def test_bad_input_is_a_usage_error_in_our_words(market, tmp_path, capsys):
    out = tmp_path / "x.csv"
    prices = str(market["prices"])
    assert main(["index", "--prices", prices, "-o", str(out), "--asset", "DOGE"]) == 2
    assert "--asset DOGE: no prices for DOGE" in capsys.readouterr().err
    assert main(["index", "--prices", prices, "-o", str(out), "--explain", "2030-01-01"]) == 2
    assert "--explain 2030-01-01: no index value on that day (the index covers" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"features": "none"}')
    assert main(["index", "--prices", prices, "-o", str(out), "--recipe", str(bad)]) == 2
    assert "not a fitted-index recipe" in capsys.readouterr().err
    assert main(["index", "--prices", prices, "-o", str(out), "--method", "magic"]) == 2
    assert main(["index", "fit", "--prices", prices, "--published", str(market["published"]), "-o",
                 str(tmp_path / "r.json"), "--asset", "XYZ"]) == 2
    assert main(["index", "fit", "--prices", prices, "--published", str(market["published"]), "-o",
                 str(tmp_path / "r.json"), "--end", "someday"]) == 2
    err = capsys.readouterr().err
    assert "--asset XYZ: no prices for XYZ" in err and "--end needs a date" in err
    short = tmp_path / "BTC_daily.csv"
    pd.read_csv(market["prices"] / "BTC_daily.csv").head(150).to_csv(short, index=False)
    assert main(["index", "--prices", str(short), "-o", str(out)]) == 1  # the data, not the call
    err += capsys.readouterr().err
    assert "no day of BTC prices has the" in err and "need 201 days of closes" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- real data
@pytest.mark.shared
def test_the_packaged_recipe_is_what_index_fit_writes(tmp_path):
    prices = shared_path("data", "crypto_prices_daily")
    published = shared_path("data", "crypto_fear_greed_index", "fear_greed_index.csv")
    out = tmp_path / "recipe.json"
    assert main(["index", "fit", "--prices", str(prices), "--published", str(published), "-o", str(out)]) == 0
    fresh, packaged = json.loads(out.read_text()), json.loads(RECIPE_PATH.read_text())
    assert {k: v for k, v in fresh.items() if k not in ("features", "intercept", "cv", "fit_mae")} == \
        {k: v for k, v in packaged.items() if k not in ("features", "intercept", "cv", "fit_mae")}
    assert [f["name"] for f in fresh["features"]] == [f["name"] for f in packaged["features"]]
    for key in ("mean", "scale", "weight"):  # the last digits may differ between CPUs
        assert [f[key] for f in fresh["features"]] == pytest.approx([f[key] for f in packaged["features"]],
                                                                    rel=1e-6, abs=1e-9)
    assert fresh["intercept"] == pytest.approx(packaged["intercept"], rel=1e-6)
    steps = [(s.get("dropped"), s["components"], s["alpha"], s["cv_mae"]) for s in fresh["cv"]["steps"]]
    assert steps == [(s.get("dropped"), s["components"], s["alpha"], pytest.approx(s["cv_mae"], abs=1e-3))
                     for s in packaged["cv"]["steps"]]
    assert load_recipe().info["fit_end"] <= "2022-12-31"


@pytest.mark.shared
def test_out_of_sample_agreement_on_real_prices():
    """Floors under the figures measured by benchmarks/index_vs_alternative.py (0.864, 8.91)."""
    prices = shared_path("data", "crypto_prices_daily", "BTC_daily.csv")
    published = load_published_index(shared_path("data", "crypto_fear_greed_index", "fear_greed_index.csv"))
    oos = agreement(fear_greed_index(prices), published, "2023-01-01")
    assert oos["n"] > 1100
    assert oos["spearman"] >= 0.85 and oos["mean_abs_diff"] <= 9.5


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), vol=st.floats(0.0, 0.3), days=st.integers(150, 500))
def test_any_price_path_gives_values_in_range_whose_contributions_add_up(seed, vol, days):
    close = walk(days, start="2021-01-01", seed=seed, vol=vol)
    try:
        df = fear_greed_index(tidy({"BTC": close}))
    except ValueError as exc:  # too short, or flat (no RSI): a clear reason, not a crash
        assert "no day of BTC prices has the" in str(exc)
        return
    parts = [c for c in df.columns if c.startswith("contrib_")]
    assert df["value"].between(0, 100).all() and df[parts].notna().all().all()
    assert ((df["baseline"] + df[parts].sum(axis=1)) - df["value"]).abs().max() <= 0.5 + 0.01 * len(parts)
