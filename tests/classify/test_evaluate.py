"""Baselines and the evaluate command (sentiment.classify.baselines / evaluate, `sentiment evaluate`)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import shared_path

from sentiment.classify import baselines, evaluate
from sentiment.classify.datasets import normalise
from sentiment.cli import main
from sentiment.schema import LABELS

BEAR = ["Bitcoin plunges after exchange hack", "Shares tumble as losses widen",
        "ETH slides on heavy ETF outflows", "Lender files for bankruptcy", "Token crashes after exploit",
        "Profit fell sharply in the quarter", "Miners dump coins as price sinks", "Stock drops on weak demand"]
NEUT = ["The company will hold its annual meeting in May", "The report covers the third quarter",
        "Bitcoin traded at 60,000 on Monday", "The exchange is based in Singapore",
        "The firm has 200 employees", "The token is listed on two venues", "Trading volume was reported",
        "The CEO spoke at a conference"]
BULL = ["Bitcoin surges to a record high", "Shares soar as profit jumps", "ETH rallies on ETF inflows",
        "Sales rose strongly in the quarter", "Token rebounds after upgrade", "Net profit increased",
        "Analysts upgrade the stock to buy", "Crypto market gains as optimism returns"]


@pytest.fixture
def tiny(tmp_path):
    """A train/test pair of JSONL files and a recipe that trains on the train file."""
    rows = [(t, "bearish") for t in BEAR] + [(t, "neutral") for t in NEUT] + [(t, "bullish") for t in BULL]
    train = [r for i, r in enumerate(rows) if i % 4 != 0]
    test = [r for i, r in enumerate(rows) if i % 4 == 0]
    for name, part in (("train", train), ("test", test)):
        (tmp_path / f"{name}.jsonl").write_text("\n".join(json.dumps({"text": t, "label": y}) for t, y in part))
    recipe = tmp_path / "train_config.json"
    recipe.write_text(json.dumps({"data": [{"name": "tiny", "path": str(tmp_path / "train.jsonl")}]}))
    return tmp_path


def test_lexicon_scores_direction_negation_and_shape():
    s = baselines.LexiconScorer()
    assert s.predict(["Bitcoin plunges 10% after exchange hack", "ETH surges to a new all-time high",
                      "The meeting is in May", ""]) == ["bearish", "bullish", "neutral", "neutral"]
    assert baselines.compound("profits did not rise") < baselines.compound("profits rose")
    assert baselines.compound("sales rose sharply") > baselines.compound("sales rose")
    p = s.predict_proba(["a", "b c", None])
    assert p.shape == (3, 3) and np.allclose(p.sum(1), 1)


def test_lexicon_file_is_valid():
    lex = baselines.load_lexicon()
    assert len(lex.words) > 150 and ("not",) in lex.negations and ("rug", "pull") in lex.words
    assert all(-4 <= v <= 4 for v in lex.words.values())


def test_tfidf_baseline_learns(tiny):
    texts = (BEAR + NEUT + BULL) * 2
    labels = ([0] * len(BEAR) + [1] * len(NEUT) + [2] * len(BULL)) * 2
    clf = baselines.TfidfLogReg().fit(texts, labels)
    assert clf.predict(["Bitcoin plunges after exchange hack", "Bitcoin surges to a record high",
                        "The report covers the third quarter"]) == ["bearish", "bullish", "neutral"]
    p = clf.predict_proba(["anything", None])
    assert p.shape == (2, 3) and np.allclose(p.sum(1), 1)
    with pytest.raises(ValueError):
        baselines.TfidfLogReg().fit(["a", "b"], [1, 1])
    assert isinstance(evaluate.load_classifier("tfidf", recipe=tiny / "train_config.json"), baselines.TfidfLogReg)


def test_tfidf_baseline_of_a_distillation_recipe_learns_the_labelled_texts_only(tiny):
    (tiny / "news.txt").write_text("Bitcoin plunges again\nA quiet day for ether\n")
    recipe = json.loads((tiny / "train_config.json").read_text())
    recipe["data"].append({"path": str(tiny / "news.txt"), "format": "lines", "split": "transfer"})
    recipe["teacher"] = str(tiny)
    (tiny / "student.json").write_text(json.dumps(recipe))
    clf = evaluate.load_classifier("tfidf", recipe=tiny / "student.json")
    assert sorted(clf.pipeline.classes_) == [0, 1, 2]          # no fourth, "unlabelled" class
    with pytest.raises(ValueError, match="labels must be"):
        baselines.TfidfLogReg().fit(["a", "b", "c"], [0, 1, -1])


def test_metrics_known_values():
    probs = np.eye(3)[[0, 1, 2, 2]]
    m = evaluate.metrics([0, 1, 2, 1], probs)
    assert m["n"] == 4 and m["accuracy"] == 0.75
    assert m["confusion_matrix"]["labels"] == list(LABELS)
    assert m["confusion_matrix"]["matrix"] == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    assert m["per_class"]["neutral"]["recall"] == 0.5 and m["per_class"]["bullish"]["precision"] == 0.5
    assert m["ece"] == 0.25  # all confidences 1.0, accuracy 0.75


def test_scores_from_a_confusion_matrix_match_scikit_learn():
    from sklearn.metrics import confusion_matrix, f1_score

    rng = np.random.default_rng(3)
    y, pred = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    pred[y == 2] = 0  # a class never predicted: its F1 is 0, not an error
    accuracy, f1 = evaluate.scores_from_confusion(confusion_matrix(y, pred, labels=[0, 1, 2]))
    assert accuracy == pytest.approx((y == pred).mean())
    assert f1 == pytest.approx(f1_score(y, pred, labels=[0, 1, 2], average=None, zero_division=0))


def test_the_bootstrap_interval_brackets_the_figure_and_narrows_with_more_rows():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 4000)
    pred = np.where(rng.random(4000) < 0.85, y, (y + 1) % 3)  # 85% right
    small, large = (evaluate.metrics(y[:n], np.eye(3)[pred[:n]]) for n in (400, 4000))
    for m in (small, large):
        lo, hi = m["interval"]["accuracy"]
        assert lo < m["accuracy"] < hi and m["interval"]["macro_f1"][0] < m["macro_f1"] < m["interval"]["macro_f1"][1]
    width = {n: m["interval"]["accuracy"][1] - m["interval"]["accuracy"][0] for n, m in ((400, small), (4000, large))}
    # the binomial 95% width, 2 * 1.96 * sqrt(p(1-p)/n): about 0.07 at 400 rows, 0.022 at 4,000
    assert width[400] == pytest.approx(0.07, abs=0.015) and width[4000] == pytest.approx(0.022, abs=0.005)
    assert evaluate.bootstrap_interval(y[:400], pred[:400]) == small["interval"]  # fixed seed


@pytest.mark.parametrize("model", ["lexicon", "tfidf"])
def test_evaluate_cli_json(tiny, capsys, model):
    code = main(["evaluate", str(tiny / "test.jsonl"), "--format", "jsonl", "--split", "test",
                 "--model", model, "--config", str(tiny / "train_config.json")])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n"] == 6
    for key in ("accuracy", "macro_f1", "per_class", "confusion_matrix", "ece", "interval"):
        assert key in result
    assert set(result["per_class"]) == set(LABELS)
    assert sum(map(sum, result["confusion_matrix"]["matrix"])) == 6
    assert 0 <= result["accuracy"] <= 1
    if model == "lexicon":
        assert result["accuracy"] >= 0.5


def test_evaluate_scores_an_ensemble_as_the_mean_of_its_members(tiny, capsys):
    recipe = tiny / "train_config.json"
    both = evaluate.load_classifier(["lexicon", "tfidf"], recipe=recipe)
    texts = BEAR[:3] + BULL[:3] + ["The firm has 200 employees"]
    alone = [evaluate.load_classifier(m, recipe=recipe).predict_proba(texts) for m in ("lexicon", "tfidf")]
    assert np.allclose(both.predict_proba(texts), (alone[0] + alone[1]) / 2)
    code = main(["evaluate", str(tiny / "test.jsonl"), "--model", "lexicon", "--model", "tfidf",
                 "--config", str(recipe)])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and result["model"] == "lexicon + tfidf" and result["n"] == 6
    assert "backend" not in result  # baselines have none
    with pytest.raises(evaluate.DataError, match="at least two"):
        evaluate.Ensemble([both])


def test_evaluate_cli_errors(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing.jsonl"), "--model", "lexicon"]) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "label": "sideways"}\n')
    assert main(["evaluate", str(bad), "--model", "lexicon", "--split", "all"]) == 2
    assert "unknown label" in capsys.readouterr().err
    assert main(["evaluate", str(bad), "--format", "xml"]) == 2


def test_evaluate_cli_on_scored_headlines(tmp_path, capsys):
    path = tmp_path / "Headline_Trainingdata.json"
    path.write_text(json.dumps([{"id": i, "title": t, "sentiment": s} for i, (t, s) in enumerate(
        [(BEAR[0], -0.8), (BEAR[1], -0.5), (NEUT[0], 0.0), (NEUT[1], 0.1), (BULL[0], 0.7), (BULL[1], 0.9)])]))
    assert main(["evaluate", str(path), "--model", "lexicon", "--split", "all"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n"] == 6 and sum(map(sum, result["confusion_matrix"]["matrix"])) == 6
    assert [sum(row) for row in result["confusion_matrix"]["matrix"]] == [2, 2, 2]
    unscored = tmp_path / "Headlines_Testdata.json"
    unscored.write_text(json.dumps([{"id": 1, "title": "x"}]))
    assert main(["evaluate", str(unscored), "--model", "lexicon", "--split", "all"]) == 2
    assert "no sentiment scores" in capsys.readouterr().err


def test_evaluate_phrasebank_allagree_with_lexicon():
    path = shared_path("data", "financial_phrasebank", "Sentences_50Agree.txt")
    result = evaluate.evaluate(path, "phrasebank", "test", "lexicon")
    assert result["n"] == 970
    assert 0 < result["allagree_n"] < 970 and 0 <= result["allagree_accuracy"] <= 1
    sub = evaluate.evaluate(path, "phrasebank", "test", "lexicon", subset="allagree")
    assert sub["n"] == result["allagree_n"] and sub["accuracy"] == result["allagree_accuracy"]
    levels = result["agreement"]
    assert list(levels) == ["100", "75-99", "66-74", "50-65"]
    assert sum(v["n"] for v in levels.values()) == 970
    assert levels["100"] == {"n": result["allagree_n"], "accuracy": result["allagree_accuracy"]}


def test_agreement_levels_come_from_the_four_phrasebank_files(tmp_path, capsys):
    """Each sentence's level is the most-agreement file it is in; the breakdown adds up."""
    rows = {"100": [(BULL[0], "positive"), (BEAR[0], "negative")], "75-99": [(NEUT[0], "neutral")],
            "66-74": [(BULL[1], "positive"), (NEUT[1], "neutral")], "50-65": [(BEAR[1], "neutral")]}
    order = ["100", "75-99", "66-74", "50-65"]
    files = {"100": "AllAgree", "75-99": "75Agree", "66-74": "66Agree", "50-65": "50Agree"}
    for i, level in enumerate(order):  # a file holds its own level's rows and every higher one's
        lines = [f"{t}@{y}" for lvl in order[: i + 1] for t, y in rows[lvl]]
        (tmp_path / f"Sentences_{files[level]}.txt").write_text("\n".join(lines) + "\n", encoding="latin-1")
    path = tmp_path / "Sentences_50Agree.txt"
    levels = evaluate.agreement_levels(path)
    assert {normalise(t): lvl for lvl in order for t, _ in rows[lvl]} == levels
    assert main(["evaluate", str(path), "--model", "lexicon", "--split", "all"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {k: v["n"] for k, v in result["agreement"].items()} == {"100": 2, "75-99": 1, "66-74": 2, "50-65": 1}
    # the lexicon calls the 50-65 sentence ("Shares tumble ...", labelled neutral) bearish
    assert result["agreement"]["50-65"]["accuracy"] == 0.0
    assert result["agreement"]["100"]["accuracy"] == result["allagree_accuracy"]
    (tmp_path / "Sentences_66Agree.txt").unlink()  # a level missing: no breakdown, no guess
    assert evaluate.agreement_levels(path) == {}
    assert "agreement" not in evaluate.evaluate(path, "phrasebank", "all", "lexicon")
