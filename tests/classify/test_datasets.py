"""Loaders and the fixed evaluation protocol (sentiment.classify.datasets)."""
from __future__ import annotations

import json

import pytest
from helpers import shared_path

from sentiment.classify import datasets as ds
from sentiment.schema import LABELS


# --------------------------------------------------------------------------- small files
def test_phrasebank_latin1_and_last_at(tmp_path):
    path = tmp_path / "Sentences_50Agree.txt"
    path.write_bytes("Sales in Åland rose to EUR 5 m @ mid-year .@positive\n"
                     "Mail: info@x.com is the contact .@neutral\n\n"
                     "Operating loss widened .@negative\n".encode("latin-1"))
    data = ds.read(path)
    assert data.texts[0] == "Sales in Åland rose to EUR 5 m @ mid-year ."
    assert data.labels == [LABELS.index("bullish"), LABELS.index("neutral"), LABELS.index("bearish")]


def test_phrasebank_bad_line_names_the_line(tmp_path):
    path = tmp_path / "Sentences_50Agree.txt"
    path.write_text("fine .@neutral\nno label here\n", encoding="utf-8")
    with pytest.raises(ds.DataError, match=":2:"):
        ds.read(path)


def test_tfns_label_mapping(tmp_path):
    path = tmp_path / "sent_valid.csv"
    path.write_text('text,label\n"$X - down, a lot",0\n$Y up,1\n"multi\nline",2\n', encoding="utf-8")
    data = ds.read(path)
    assert data.labels == [0, 2, 1]  # 0 bearish, 1 bullish, 2 neutral  → LABELS order
    assert data.texts[2] == "multi\nline"
    path.write_text("text,label\nx,7\n", encoding="utf-8")
    with pytest.raises(ds.DataError, match="0, 1 or 2"):
        ds.read(path)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl"])
def test_generic_tables(tmp_path, fmt):
    rows = [("BTC plunges", "Negative"), ("ETH flat", "neutral"), ("SOL soars", "BULLISH"), ("XRP dumps", "bearish")]
    path = tmp_path / f"data.{fmt}"
    if fmt == "jsonl":
        path.write_text("\n".join(json.dumps({"text": t, "label": y, "extra": 1}) for t, y in rows) + "\n")
    else:
        sep = "\t" if fmt == "tsv" else ","
        path.write_text(f"label{sep}text\n" + "".join(f"{y}{sep}{t}\n" for t, y in rows))
    data = ds.read(path)
    assert data.texts == [t for t, _ in rows]
    assert data.labels == [0, 1, 2, 0]


def test_generic_bad_label_and_bad_json(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a", "label": 1}\n')
    with pytest.raises(ds.DataError, match="ambiguous"):
        ds.read(path)
    path.write_text('{"text": "a", "label": "neutral"}\n{oops\n')
    with pytest.raises(ds.DataError, match=":2:"):
        ds.read(path)
    missing = tmp_path / "d.csv"
    missing.write_text("sentence,y\na,neutral\n")
    with pytest.raises(ds.DataError, match="'text' and 'label'"):
        ds.read(missing)


def test_train_test_pair_and_unnamed_file(tmp_path):
    lines = [json.dumps({"text": f"sentence number {i}", "label": LABELS[i % 3]}) for i in range(50)]
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:40]))
    (tmp_path / "test.jsonl").write_text("\n".join(lines[40:]))
    sp = ds.splits(tmp_path / "test.jsonl")
    assert len(sp.test) == 10 and len(sp.train) == 36 and len(sp.validation) == 4
    assert ds.splits(tmp_path / "train.jsonl").test.texts == sp.test.texts
    (tmp_path / "other.jsonl").write_text("\n".join(lines))
    sp = ds.splits(tmp_path / "other.jsonl")
    assert (len(sp.train), len(sp.validation), len(sp.test)) == (36, 4, 10)


def test_training_data_drops_test_texts(tmp_path):
    (tmp_path / "train.jsonl").write_text(
        "\n".join(json.dumps({"text": t, "label": "neutral"}) for t in ["A b", "leak!", "c d", "e f"] * 3))
    (tmp_path / "test.jsonl").write_text(json.dumps({"text": "LEAK", "label": "neutral"}))
    data = ds.training_data([{"path": str(tmp_path / "train.jsonl"), "name": "x"}])
    assert all(ds.normalise(t) != "leak" for t in data.train.texts + data.validation.texts)
    assert set(data.tests) == {"x"}


def _fiqa(path, rows):
    path.write_text(json.dumps({str(i): {"sentence": text, "info": [
        {"target": "X", "aspects": "['Stock']", **({} if s is None else {"sentiment_score": str(s)})}
        for s in scores]} for i, (text, scores) in enumerate(rows, 1)}), encoding="utf-8")
    return path


def test_score_label_band():
    assert [ds.score_label(s) for s in (-0.9, -0.25, -0.249, 0.0, 0.249, 0.25, 1.0)] == [0, 0, 1, 1, 1, 2, 2]
    assert ds.score_label(0.1, band=0.05) == 2 and ds.score_label(-0.1, band=0.5) == 1


def test_fiqa_scores_are_averaged_over_targets(tmp_path):
    path = _fiqa(tmp_path / "task1_headline_ABSA_train.json", [
        ("Tesco shares slump on profit warning", [-0.6]),
        ("Barclays up, Lloyds down", [0.5, -0.4]),        # mean 0.05: neutral
        ("Glencore rallies on buyback", [0.3, 0.5]),
    ])
    assert ds.guess_format(path) == "fiqa"
    data = ds.read(path)
    assert data.texts[0] == "Tesco shares slump on profit warning"
    assert data.labels == [0, 1, 2]
    assert ds.read(path, "fiqa", neutral_band=0.01).labels == [0, 2, 2]


def test_semeval_headlines_and_format_sniffing(tmp_path):
    path = tmp_path / "Headline_Trainingdata.json"
    path.write_text(json.dumps([{"id": 1, "company": "AAL", "title": "AAL shares fall", "sentiment": -0.5},
                                {"id": 2, "company": "BP", "title": "BP holds AGM", "sentiment": 0.0},
                                {"id": 3, "company": "HSBC", "title": "HSBC beats", "sentiment": 0.75}], indent=2))
    assert ds.guess_format(path) == "semeval"
    assert ds.read(path).labels == [0, 1, 2]
    plain = tmp_path / "rows.json"
    plain.write_text(json.dumps({"text": "x", "label": "neutral"}) + "\n")
    assert ds.guess_format(plain) == "jsonl"


def test_scored_formats_report_bad_rows(tmp_path):
    path = tmp_path / "h.json"
    path.write_text(json.dumps([{"title": "a", "sentiment": 0.2}, {"title": "b", "sentiment": 1.7}]))
    with pytest.raises(ds.DataError, match="item 2: .*outside"):
        ds.read(path, "semeval")
    path.write_text(json.dumps([{"title": "a", "sentiment": "high"}]))
    with pytest.raises(ds.DataError, match="not a number"):
        ds.read(path, "semeval")
    path.write_text(json.dumps({"1": {"sentence": "a", "info": []}}))
    with pytest.raises(ds.DataError, match="no sentiment scores"):
        ds.read(path, "fiqa")
    with pytest.raises(ds.DataError, match="JSON array"):
        ds.read(path, "semeval")


def test_unlabelled_test_file_beside_a_train_file(tmp_path):
    train = _fiqa(tmp_path / "task1_post_ABSA_train.json", [(f"post {i}", [0.9 - i / 10]) for i in range(19)])
    test = _fiqa(tmp_path / "task1_post_ABSA_test.json", [("unscored post", [None])])
    with pytest.raises(ds.Unlabelled, match="no sentiment scores"):
        ds.splits(test, "fiqa")
    sp = ds.splits(train, "fiqa")
    assert len(sp.test) == 0 and len(sp.train) + len(sp.validation) == 19
    with pytest.raises(ds.Unlabelled):  # a folder: its test file is found, and it has no scores
        ds.splits(tmp_path, "fiqa")


def test_training_only_entries_keep_the_validation_set(tmp_path):
    lines = [json.dumps({"text": f"sentence number {i}", "label": LABELS[i % 3]}) for i in range(50)]
    (tmp_path / "train.jsonl").write_text("\n".join(lines))
    extra = _fiqa(tmp_path / "extra.json", [(f"headline {i}", [0.9 if i % 2 else -0.9]) for i in range(10)])
    base = [{"path": str(tmp_path / "train.jsonl"), "name": "x"}]
    alone = ds.training_data(base)
    both = ds.training_data(base + [{"path": str(extra), "format": "fiqa", "name": "fiqa", "split": "train"}])
    assert both.validation.texts == alone.validation.texts
    assert len(both.train) == len(alone.train) + 10 and set(both.tests) == set(alone.tests)
    assert both.train.sources.count("fiqa") == 10
    with pytest.raises(ds.DataError, match='"split"'):
        ds.training_data([{"path": str(extra), "format": "fiqa", "split": "test"}])
    with pytest.raises(ds.DataError, match='"neutral_band" must be a number'):
        ds.training_data([{"path": str(extra), "format": "fiqa", "split": "train", "neutral_band": "wide"}])
    with pytest.raises(ds.DataError, match="neutral band 1.5"):
        ds.training_data([{"path": str(extra), "format": "fiqa", "split": "train", "neutral_band": 1.5}])


def test_read_texts_takes_the_texts_of_any_file_without_labels(tmp_path):
    lines = tmp_path / "headlines.txt"
    lines.write_text("Bitcoin tops $100k\n\n  Ether slides  \n")
    got = ds.read_texts(lines, "lines")
    assert got.texts == ["Bitcoin tops $100k", "Ether slides"] and got.labels == [ds.UNLABELLED] * 2
    assert ds.read_texts(lines).texts == got.texts  # a .txt file is lines unless it is PhraseBank's
    table = tmp_path / "news.csv"
    table.write_text("Title,url\nSolana ETF filed,https://x\n,https://y\nXRP rallies,https://z\n")
    assert ds.read_texts(table, "csv", column="title").texts == ["Solana ETF filed", "XRP rallies"]
    with pytest.raises(ds.DataError, match="no 'body' column"):
        ds.read_texts(table, "csv", column="body")
    jsonl = tmp_path / "items.jsonl"
    jsonl.write_text(json.dumps({"body": "Miners sell"}) + "\n" + json.dumps({"text": "no body"}) + "\n")
    with pytest.raises(ds.DataError, match=":2: expected an object with a text field 'body'"):
        ds.read_texts(jsonl, "jsonl", column="body")
    unscored = _fiqa(tmp_path / "task1_post_ABSA_test.json", [("unscored post", [None])])
    assert ds.read_texts(unscored, "fiqa").texts == ["unscored post"]  # no scores needed here
    with pytest.raises(ds.DataError, match="unknown format 'xml'"):
        ds.read_texts(lines, "xml")
    with pytest.raises(ds.DataError, match="no such file"):
        ds.read_texts(tmp_path / "missing.txt", "lines")


def test_transfer_entries_add_unlabelled_texts_and_keep_validation_and_test_out(tmp_path):
    lines = [json.dumps({"text": f"sentence number {i}", "label": LABELS[i % 3]}) for i in range(50)]
    (tmp_path / "labelled.jsonl").write_text("\n".join(lines))
    base = [{"path": str(tmp_path / "labelled.jsonl"), "name": "x"}]
    alone = ds.training_data(base)
    held = [alone.validation.texts[0], alone.tests["x"].texts[0].upper()]  # a validation and a test text
    (tmp_path / "news.csv").write_text("title\n" + "\n".join([f"headline {i}" for i in range(10)] + held))
    entry = {"path": str(tmp_path / "news.csv"), "format": "csv", "column": "title", "split": "transfer",
             "name": "news"}
    both = ds.training_data(base + [entry])
    assert both.validation.texts == alone.validation.texts and set(both.tests) == {"x"}
    assert both.train.texts[:len(alone.train)] == alone.train.texts
    added = both.train.take(range(len(alone.train), len(both.train)))
    assert added.texts == [f"headline {i}" for i in range(10)]  # the held-out copies are dropped
    assert set(added.labels) == {ds.UNLABELLED} and set(added.sources) == {"news"}
    assert both.train.counts() == {**alone.train.counts(), "unlabelled": 10}
    assert "unlabelled" not in alone.train.counts()


# --------------------------------------------------------------------------- shared data
def test_phrasebank_protocol_on_shared_data():
    path = shared_path("data", "financial_phrasebank", "Sentences_50Agree.txt")
    data = ds.read(path)
    assert len(data) == 4846
    assert data.counts() == {"bearish": 604, "neutral": 2879, "bullish": 1363}
    sp = ds.splits(path)
    assert (len(sp.train), len(sp.validation), len(sp.test)) == (3488, 388, 970)
    again = ds.splits(path)
    assert again.test.texts == sp.test.texts and again.validation.texts == sp.validation.texts
    # FinBERT's split: the first test rows of train_test_split(range(4846), test_size=.2, random_state=0)
    from sklearn.model_selection import train_test_split
    _, test_idx = train_test_split(list(range(4846)), test_size=0.2, random_state=0)
    assert sp.test.texts[:5] == [data.texts[i] for i in test_idx[:5]]


def test_tfns_protocol_on_shared_data():
    folder = shared_path("data", "twitter_financial_news_sentiment")
    sp = ds.splits(folder)
    assert len(sp.test) == 2388 and len(sp.train) + len(sp.validation) == 9543
    assert sp.test.counts() == {"bearish": 347, "neutral": 1566, "bullish": 475}
    assert ds.splits(folder / "sent_valid.csv", "tfns").test.texts == sp.test.texts


def test_recipe_splits_are_disjoint_and_stable():
    shared_path("data", "financial_phrasebank", "Sentences_50Agree.txt")
    shared_path("data", "twitter_financial_news_sentiment")
    from sentiment.classify.model import default_model_path
    from sentiment.classify.training import TrainConfig

    recipe = default_model_path() / "train_config.json"
    if not recipe.exists():
        pytest.skip("the shipped model's recipe is not there")
    from sentiment.classify.training.targets import sentence_entries

    config = TrainConfig.load(recipe)
    first = ds.training_data(sentence_entries(config.data))
    second = ds.training_data(sentence_entries(config.data))
    assert first.train.texts == second.train.texts and first.validation.texts == second.validation.texts
    train = {ds.normalise(t) for t in first.train.texts}
    val = {ds.normalise(t) for t in first.validation.texts}
    test = {ds.normalise(t) for part in first.tests.values() for t in part.texts}
    assert not train & test and not val & test and not train & val
    assert {"fpb", "tfns"} <= set(first.tests)


def test_fiqa_and_semeval_shared_files():
    fiqa = shared_path("data", "fiqa_2018_task1_sentiment")
    semeval = shared_path("data", "semeval2017_task5_headlines")
    headlines = ds.read(fiqa / "task1_headline_ABSA_train.json")
    posts = ds.read(fiqa / "task1_post_ABSA_train.json")
    titles = ds.read(semeval / "Headline_Trainingdata.json")
    assert (len(headlines), len(posts), len(titles)) == (436, 675, 1142)
    for data in (headlines, posts, titles):
        assert min(data.counts().values()) > 50  # three classes, none degenerate
    with pytest.raises(ds.Unlabelled):
        ds.read(fiqa / "task1_headline_ABSA_test.json")
