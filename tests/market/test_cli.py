"""`sentiment link` and `sentiment index` end to end through sentiment.cli.main."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers.market import make_tags, record, synthetic_prices

from sentiment.cli import main


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("market_cli")
    prices_dir = d / "prices"
    prices_dir.mkdir()
    prices = synthetic_prices(300, start="2023-01-01")
    for sym, g in prices.groupby("symbol"):  # yfinance layout: Date,Close,High,Low,Open,Volume
        g.rename(columns=str.capitalize)[["Date", "Close", "High", "Low", "Open", "Volume"]].assign(
            Date=lambda x: x["Date"].dt.strftime("%Y-%m-%d")).to_csv(prices_dir / f"{sym}_daily.csv", index=False)
    tags = make_tags("2023-06-01", 90)
    tags.append(record(77777, "2023-07-04T12:00:00Z", 0.5, {"ETH": 0.5}, moves=[("ETH", 4.0)]))
    tags_path = d / "tags.jsonl"
    with open(tags_path, "w") as fh:
        fh.writelines(json.dumps(t) + "\n" for t in tags)
        fh.write("{torn line\n")  # a broken line is skipped and counted, not fatal
    return {"prices": prices_dir, "tags": tags_path}


def test_link_writes_json_markdown_and_charts(inputs, tmp_path, capsys):
    out = tmp_path / "link"
    code = main(["link", "--tags", str(inputs["tags"]), "--prices", str(inputs["prices"]), "--out", str(out)])
    assert code == 0
    report = json.loads((out / "link_report.json").read_text())
    assert report["summary"]["articles"] == 271
    assert report["summary"]["skipped_records"] == {"invalid JSON line": 1}
    assert {r["group"] for r in report["event_summary"]} >= {"hack_exploit", "bearish", "bullish"}
    assert report["moves_summary"]["n"] == 1
    assert {r["direction"] for r in report["granger"]} == {"sentiment → returns", "returns → sentiment"}
    md = (out / "link_report.md").read_text()
    assert md.startswith("# News ↔ price link report") and "Granger" in md
    for png in ("event_study_causes.png", "event_study_labels.png", "sentiment_vs_returns.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "articles.csv").exists()
    assert "271 articles" in capsys.readouterr().err


def test_link_options_and_errors(inputs, tmp_path):
    out = tmp_path / "mean"
    assert main(["link", "--tags", str(inputs["tags"]), "--prices", str(inputs["prices"]), "--out", str(out),
                 "--abnormal", "mean", "--window", "-1,2", "--no-charts"]) == 0
    study = pd.read_csv(out / "event_study.csv")
    assert sorted(study["offset"].unique()) == [-1, 0, 1, 2]
    assert not list(out.glob("*.png"))
    assert main(["link", "--tags", str(tmp_path / "absent.jsonl"), "--prices", str(inputs["prices"]),
                 "--out", str(out)]) == 2
    assert main(["link", "--tags", str(inputs["tags"]), "--prices", str(inputs["prices"]), "--out", str(out),
                 "--window", "1,3"]) == 2
    assert main(["link", "--tags", str(inputs["tags"]), "--prices", str(inputs["prices"]), "--out", str(out),
                 "--benchmark", "DOGE"]) == 1


def test_index_csv_plot_and_explain(inputs, tmp_path, capsys):
    csv_path, png = tmp_path / "index.csv", tmp_path / "index.png"
    code = main(["index", "--tags", str(inputs["tags"]), "--prices", str(inputs["prices"]), "-o", str(csv_path),
                 "--plot", str(png), "--explain", "2023-07-04", "--method", "weighted"])
    assert code == 0
    df = pd.read_csv(csv_path)
    assert list(df.columns) == ["date", "asset", "value", "label", "momentum", "drawdown", "volatility", "volume",
                                "news_sentiment", "news_attention", "news_stress"]
    assert df["date"].str.match(r"^\d{4}-\d{2}-\d{2}$").all()
    assert png.read_bytes()[:4] == b"\x89PNG"
    captured = capsys.readouterr()
    row = df.set_index("date").loc["2023-07-04"]
    assert f"MARKET Fear & Greed on 2023-07-04: {row['value']} ({row['label']})" in captured.out
    assert "news_stress" in captured.out and "contrib" in captured.out
    assert "components used: momentum, drawdown, volatility, volume, news_sentiment" in captured.err


def test_index_prices_only_per_asset(inputs, tmp_path, capsys):
    csv_path = tmp_path / "eth.csv"
    assert main(["index", "--prices", str(inputs["prices"]), "-o", str(csv_path), "--asset", "ETH",
                 "--method", "weighted"]) == 0
    df = pd.read_csv(csv_path)
    assert list(df.columns) == ["date", "asset", "value", "label", "momentum", "drawdown", "volatility", "volume"]
    assert (df["asset"] == "ETH").all()
    err = capsys.readouterr().err
    assert "ETH index" in err and "news_sentiment: no tags given" in err


def test_index_news_only_and_errors(inputs, tmp_path, capsys):
    csv_path = tmp_path / "news.csv"
    assert main(["index", "--tags", str(inputs["tags"]), "-o", str(csv_path)]) == 0
    assert list(pd.read_csv(csv_path).columns) == ["date", "asset", "value", "label", "news_sentiment",
                                                   "news_attention", "news_stress"]
    assert main(["index", "-o", str(csv_path)]) == 2
    assert main(["index", "--prices", str(inputs["prices"]), "-o", str(csv_path), "--explain", "someday"]) == 2
    assert main(["index", "--prices", str(inputs["prices"]), "-o", str(csv_path), "--explain", "1990-01-01",
                 "--method", "weighted"]) == 2
    assert "--explain 1990-01-01: no index value on that day" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Open\n2024-01-01,1\n")
    assert main(["index", "--prices", str(bad), "-o", str(csv_path)]) == 1
    assert "missing column(s) Close" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_tags_written_by_the_sinks_read_back(inputs, tmp_path, suffix):
    from sentiment.market import fear_greed_index
    from sentiment.sinks import open_sink

    records = [json.loads(line) for line in inputs["tags"].read_text().splitlines() if line.startswith('{"')]
    path = tmp_path / f"tags.{suffix}"
    with open_sink(path, resume=False) as sink:
        sink.write(records)
    via_table = fear_greed_index(None, path)
    via_jsonl = fear_greed_index(None, inputs["tags"])
    pd.testing.assert_frame_equal(via_table, via_jsonl)
    assert via_table.attrs["news"]["articles"] == 271


def test_index_config_file_and_market_option(inputs, tmp_path, capsys):
    cfg = tmp_path / "my_index.toml"
    cfg.write_text('market = "equal"\n[components.momentum]\nweight = 0.6\n')
    out_csv = tmp_path / "basket.csv"
    assert main(["index", "--prices", str(inputs["prices"]), "-o", str(out_csv), "--config", str(cfg),
                 "--explain", "2023-08-01", "--method", "weighted"]) == 0
    captured = capsys.readouterr()
    assert "momentum" in captured.out and " 0.600 " in captured.out  # 0.6 of a total weight of 1.0
    basket = pd.read_csv(out_csv)
    assert main(["index", "--prices", str(inputs["prices"]), "-o", str(out_csv), "--market", "ETH",
                 "--method", "weighted"]) == 0
    eth = pd.read_csv(out_csv)
    assert not basket["momentum"].equals(eth["momentum"])
