"""Target-level data and evaluation (sentiment.classify.targets, evaluate_targets, `sentiment
evaluate` on target data): loaders, the fixed split, the sentence and clause splitters, the two
baselines end to end, and the errors a user sees."""
from __future__ import annotations

import json

import pytest
from helpers import ROOT, TEST_DATA, shared_path

from sentiment.classify import evaluate, targets
from sentiment.classify.baselines import LexiconScorer
from sentiment.classify.datasets import DataError, Unlabelled, normalise
from sentiment.cli import main
from sentiment.schema import LABELS

CRYPTO = TEST_DATA / "crypto_targets"
ISSUE_SENTENCES = [
    ("Bitcoin rose 3% to $98,000 while Ether fell 5% after the Bybit hack.",
     {"Bitcoin": "Bitcoin rose 3% to $98,000", "Ether": "Ether fell 5% after the Bybit hack"}),
    ("Solana surged 12% on ETF hopes, but Cardano slumped 8% as whales sold.",
     {"Solana": "Solana surged 12% on ETF hopes", "Cardano": "Cardano slumped 8% as whales sold"}),
    ("XRP jumped after the SEC dropped its case; Dogecoin, meanwhile, slid 4%.",
     {"XRP": "XRP jumped after the SEC dropped its case", "Dogecoin": "Dogecoin, meanwhile, slid 4%"}),
    ("Ethereum held steady even as Bitcoin plunged below $90,000 on hawkish Fed remarks.",
     {"Ethereum": "Ethereum held steady", "Bitcoin": "Bitcoin plunged below $90,000 on hawkish Fed remarks"}),
]


def last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


# --------------------------------------------------------------------------- clauses and sentences
@pytest.mark.parametrize(("text", "clauses"), ISSUE_SENTENCES)
def test_each_asset_of_the_issue_sentences_gets_its_own_clause(text, clauses):
    for mention, clause in clauses.items():
        start = text.index(mention)
        assert text[slice(*targets.clause_of(text, (start, start + len(mention))))] == clause


def test_clause_rules_fronted_subordinators_parentheticals_and_plain_sentences():
    def pieces(text):
        return [text[a:b] for a, b in targets.clause_spans(text)]

    assert pieces("Unlike Ether, Bitcoin fell 2%.") == ["Ether", "Bitcoin fell 2%"]
    assert pieces("Despite the hack, Bitcoin rose") == ["the hack", "Bitcoin rose"]
    assert pieces("Meanwhile, Ether slid 3%") == ["Ether slid 3%"]
    assert pieces("Bitcoin, however, held $60,000.") == ["Bitcoin, however, held $60,000."]
    # no contrast word: the sentence as it is, stop included (the sentence-copy text)
    assert pieces("Bitcoin rose 3% to $98,000.") == ["Bitcoin rose 3% to $98,000."]
    assert pieces("Whilst nothing happened") == ["Whilst nothing happened"]


def test_contrast_words_are_data():
    words = targets.clause_words()
    for term in ("while", "but", "whereas", "even as", "despite", "unlike", "meanwhile", "although", ";"):
        assert term in words["subordinators"] + words["coordinators"]


def test_sentences_end_at_stops_but_not_after_abbreviations_or_initials():
    text = ("Apple Inc. rose 2% in the U.S. market. Shares of J. P. Morgan fell. It was up 3.5%! "
            "Then it fell.\nA heading")
    assert [text[a:b] for a, b in targets.sentence_spans(text)] == [
        "Apple Inc. rose 2% in the U.S. market.", "Shares of J. P. Morgan fell.", "It was up 3.5%!",
        "Then it fell.", "A heading"]
    start = text.index("Morgan")
    assert text[slice(*targets.sentence_of(text, (start, start + 6)))] == "Shares of J. P. Morgan fell."


def test_locate_finds_targets_as_headlines_write_them():
    def found(text, target):
        span = targets.locate(text, target)
        return text[span[0]:span[1]] if span else None

    assert found("Tesco is torn apart as watchdog finds delays", "Tesco PLC") == "Tesco"
    assert found("CompaniesTesco sheds Harris & Hoole coffee shops", "Tesco") == "Tesco"
    assert found("London open: Taylor Wimpey and Ashtead drive markets higher", "Tailor Wimpey") == "Taylor Wimpey"
    assert found("RBS warns of higher misconduct charges", "Royal Bank of Scotland Group plc") == "RBS"
    assert found("Barclays set to name former JPMorgan banker Staley as new CEO", "JP Morgan") == "JPMorgan"
    assert found("Slowly adding some $FIO here", "FIO") == "FIO"
    assert found("Shell challenges rivals with a bid for BG", "ExxonMobil") is None


# --------------------------------------------------------------------------- the crypto target format
def test_crypto_targets_loader_reads_the_fixture():
    data = targets.read_crypto_targets(CRYPTO / "test.jsonl")
    assert len(data) == 10 and not data.dropped
    first = data.examples[0]
    assert (first.target, first.mention, LABELS[first.label], first.category, first.kind) == (
        "BTC", "Bitcoin", "bullish", "opposite-moves-figures", "sentence")
    assert all(ex.mention.strip() for ex in data.examples)
    assert targets.guess_target_format(CRYPTO / "test.jsonl") == "crypto-targets"
    assert targets.guess_target_format(CRYPTO) == "crypto-targets"


def test_crypto_targets_split_test_file_is_all_test_and_train_gives_validation():
    sp = targets.target_splits(CRYPTO / "test.jsonl")
    assert len(sp.test) == 10 and len(sp.train) + len(sp.validation) == 8 and len(sp.validation) == 1
    assert targets.target_splits(CRYPTO).get("all").labels == (sp.train.labels + sp.validation.labels
                                                                + sp.test.labels)


@pytest.mark.parametrize("part", ["train", "test"])
def test_the_project_crypto_target_set_reads_in_this_format(part):
    path = ROOT / "data" / "crypto_targets" / f"{part}.jsonl"
    if not path.is_file() or not path.read_text().strip():
        pytest.skip(f"data/crypto_targets/{part}.jsonl is not written yet")
    data = targets.read_crypto_targets(path)
    assert len(data) and all(ex.mention.strip() and ex.target for ex in data.examples)


@pytest.mark.parametrize(("row", "message"), [
    ({"text": "Bitcoin rose", "asset": "BTC", "span": [0, 40], "label": "bullish"}, "outside the text"),
    ({"text": "Bitcoin rose", "asset": "BTC", "span": [5, 2], "label": "bullish"}, "outside the text"),
    ({"text": "Bitcoin rose", "asset": "BTC", "span": "0-7", "label": "bullish"}, "two integers"),
    ({"text": "Bitcoin  rose", "asset": "BTC", "span": [7, 9], "label": "bullish"}, "covers no words"),
    ({"text": "Bitcoin rose", "asset": "BTC", "span": [0, 7], "label": "up"}, "unknown label"),
    ({"text": "Bitcoin rose", "span": [0, 7], "label": "bullish"}, "expected an object"),
])
def test_bad_crypto_target_rows_are_data_errors_naming_the_line(tmp_path, row, message):
    path = tmp_path / "test.jsonl"
    good = {"text": "Ether fell", "asset": "ETH", "span": [0, 5], "label": "bearish"}
    path.write_text(json.dumps(good) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(DataError, match=message) as info:
        targets.read_crypto_targets(path)
    assert f"{path}:2:" in str(info.value)


def test_duplicates_are_kept_once_and_conflicting_labels_left_out(tmp_path):
    path = tmp_path / "test.jsonl"
    rows = [{"text": "Ether fell", "asset": "ETH", "span": [0, 5], "label": "bearish"}] * 2 + [
        {"text": "Bitcoin rose", "asset": "BTC", "span": [0, 7], "label": lab} for lab in ("bullish", "neutral")]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    data = targets.read_crypto_targets(path)
    assert [ex.target for ex in data.examples] == ["ETH"]
    assert data.dropped == {"duplicate": 1, "conflicting labels": 2}


# --------------------------------------------------------------------------- the public sets
def test_finentity_loader_spans_slice_the_entity_and_the_shifted_ones_are_found():
    path = shared_path("data", "finentity", "FinEntity.json")
    data = targets.read_finentity(path)
    # 2,131 annotations: 27 repeat in repeated paragraphs, 2 repeat a span, 2 give one span two labels
    assert len(data) == 2100 and data.dropped == {"duplicate": 29, "conflicting labels": 2}
    assert all(ex.mention == ex.target for ex in data.examples)
    raw = json.loads(path.read_text())
    shifted = sum(1 for item in raw for a in item["annotations"]
                  if item["content"][a["start"]:a["end"]] != a["value"])
    assert shifted == 70  # the README's count: these are located near their offset, not dropped
    assert targets.guess_target_format(path) == "finentity"


def test_finentity_split_is_fixed_by_paragraph():
    path = shared_path("data", "finentity", "FinEntity.json")
    one, two = targets.target_splits(path), targets.target_splits(path)
    assert [ex.id for ex in one.test.examples] == [ex.id for ex in two.test.examples]
    parts = {name: {normalise(ex.text) for ex in getattr(one, name).examples}
             for name in ("train", "validation", "test")}
    assert not (parts["train"] & parts["test"] or parts["validation"] & parts["test"]
                or parts["train"] & parts["validation"])
    paragraphs = sum(len(p) for p in parts.values())
    assert len(parts["test"]) == round(paragraphs * 0.2)
    assert (len(one.test), len(parts["test"])) == (432, 194)  # the fixed split, pinned


def test_group_split_keeps_a_key_on_one_side_and_holds_out_a_fifth_of_the_keys():
    keys = [f"k{i % 50}" for i in range(200)]
    keep, held = targets.group_split(keys, 0.2)
    assert sorted(keep + held) == list(range(200))
    assert not {keys[i] for i in keep} & {keys[i] for i in held}
    assert len({keys[i] for i in held}) == 10
    assert targets.group_split(keys, 0.2) == (keep, held)
    assert targets.group_split(["only"] * 3, 0.2) == ([0, 1, 2], [])


def test_semeval_targets_loader_scores_each_company():
    folder = shared_path("data", "semeval2017_task5_headlines")
    data = targets.read_semeval_targets(folder / "Headline_Trainingdata.json")
    assert len(data) > 1000 and data.dropped["not found in text"] < 40
    assert set(data.labels) == {0, 1, 2}
    assert all(ex.mention.strip() for ex in data.examples)
    with pytest.raises(Unlabelled):
        targets.read_semeval_targets(folder / "Headlines_Testdata.json")
    sp = targets.target_splits(folder / "Headline_Trainingdata.json", "semeval-targets")
    assert not {ex.text for ex in sp.test.examples} & {ex.text for ex in sp.train.examples}


def test_fiqa_targets_folder_reads_the_scored_files():
    folder = shared_path("data", "fiqa_2018_task1_sentiment")
    data = targets.read_fiqa_targets(folder)
    headlines = targets.read_fiqa_targets(folder / "task1_headline_ABSA_train.json")
    posts = targets.read_fiqa_targets(folder / "task1_post_ABSA_train.json")
    assert len(data) == len(headlines) + len(posts) > 1100
    assert data.dropped["not found in text"] < 20
    with pytest.raises(Unlabelled):
        targets.read_fiqa_targets(folder / "task1_post_ABSA_test.json")


# --------------------------------------------------------------------------- evaluation
def test_the_baselines_are_target_scorers_and_sentence_copy_gives_a_sentence_one_score():
    data = targets.read_crypto_targets(CRYPTO / "test.jsonl")
    pairs = [(ex.text, ex.span) for ex in data.examples]
    copy = evaluate.SentenceCopy(LexiconScorer()).score_targets(pairs)
    clause = evaluate.ClauseScorer(LexiconScorer()).score_targets(pairs)
    assert len(copy) == len(clause) == len(pairs)
    by_text: dict[str, set[str]] = {}
    for ex, score in zip(data.examples, copy):
        by_text.setdefault(ex.text, set()).add(score.label)
    assert all(len(labels) == 1 for labels in by_text.values())
    # the clause baseline tells BTC's rise from ETH's fall apart
    assert (clause[0].label, clause[1].label) == ("bullish", "bearish")
    assert evaluate.SentenceCopy(LexiconScorer()).score_targets([]) == []


def test_evaluate_targets_takes_a_scorer_object_and_reports_mixed_and_categories():
    scorer = evaluate.ClauseScorer(LexiconScorer())
    result = evaluate.evaluate_targets(CRYPTO / "test.jsonl", model=scorer)
    assert (result["model"], result["task"], result["n"], result["texts"]) == ("clause", "target", 10, 6)
    assert result["mixed"]["n"] == 8 and result["mixed"]["texts"] == 4
    assert set(result["by_category"]) == {"opposite-moves-figures", "contrast", "context-only", "single-asset"}
    assert set(result["by_kind"]) == {"sentence", "headline"}
    assert result["interval"]["accuracy"][0] <= result["accuracy"] <= result["interval"]["accuracy"][1]


@pytest.mark.parametrize("baseline", ["sentence-copy", "clause"])
def test_evaluate_cli_scores_both_baselines_on_target_data(baseline, capsys):
    assert main(["evaluate", str(CRYPTO / "test.jsonl"), "--model", baseline, "--sentence-model", "lexicon"]) == 0
    result = last_json(capsys)
    assert (result["format"], result["model"], result["sentence_model"], result["n"]) == (
        "crypto-targets", baseline, "lexicon", 10)
    assert sum(map(sum, result["confusion_matrix"]["matrix"])) == 10
    if baseline == "sentence-copy":  # one label per sentence: at most one of each mixed pair is right
        assert result["mixed"]["accuracy"] <= 0.5


def test_clause_beats_sentence_copy_on_mixed_sentences_with_the_shipped_model(capsys):
    accuracy = {}
    for baseline in ("sentence-copy", "clause"):
        assert main(["evaluate", str(CRYPTO), "--model", baseline, "--backend", "torch"]) == 0
        result = last_json(capsys)
        assert result["sentence_model"] == "default"
        accuracy[baseline] = result["mixed"]["accuracy"]
    assert accuracy["clause"] > accuracy["sentence-copy"]


def test_evaluate_cli_target_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "test.jsonl"
    bad.write_text(json.dumps({"text": "Bitcoin rose", "asset": "BTC", "span": [0, 99], "label": "bullish"}) + "\n")
    assert main(["evaluate", str(bad), "--model", "clause", "--sentence-model", "lexicon"]) == 2
    err = capsys.readouterr().err
    assert "outside the text" in err and "Traceback" not in err
    cases = [
        (["--model", "tfidf"], "unknown target scorer"),
        (["--model", "clause", "--model", "sentence-copy"], "one --model"),
        (["--subset", "allagree"], "no --subset"),
        (["--split", "dev"], "unknown split"),
    ]
    for extra, message in cases:
        assert main(["evaluate", str(CRYPTO / "test.jsonl"), "--sentence-model", "lexicon", *extra]) == 2
        assert message in capsys.readouterr().err
    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps({"text": "Bitcoin rose", "label": "bullish"}) + "\n")
    assert main(["evaluate", str(plain), "--sentence-model", "lexicon", "--split", "all"]) == 2
    assert "--sentence-model is for target data" in capsys.readouterr().err
    assert main(["evaluate", str(plain), "--format", "finentity", "--model", "clause"]) == 2
    assert "FinEntity data is a JSON array" in capsys.readouterr().err
