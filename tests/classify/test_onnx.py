"""The ONNX Runtime backend (sentiment.classify.onnx) and backend selection in SentimentModel.

A tiny random BERT (2 layers, hidden 64) is exported, fused and quantized once per module into
a temporary cache: export parity with torch, the cache, selection and odd inputs are checked on
it. Label parity of int8 against torch float32 is checked on the shipped model (skipped when its
weights or the shared PhraseBank are absent).
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest
from helpers import shared_path

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
torch = pytest.importorskip("torch")

from sentiment.classify import onnx as ox
from sentiment.classify.model import SentimentModel, TorchBackend, default_model_path
from sentiment.schema import LABELS

TEXTS = ["Bitcoin plunges 12% as a major exchange halts withdrawals after a hack",
         "Ether surges to a record high as ETF inflows hit $1 billion",
         "The conference will take place in Lisbon in November",
         "Solana slips below $150 support while liquidations top $400 million",
         "Operating profit fell to EUR 2.1 mn from EUR 4.5 mn",
         "ok"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A 2-layer random BERT classifier with the base model's tokenizer, in a temp folder."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from sentiment.classify.training import BASE_PACKAGE, resolve_base

    try:
        base = resolve_base(BASE_PACKAGE)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    folder = tmp_path_factory.mktemp("tiny-model")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=128, max_position_embeddings=128, num_labels=3,
                        id2label={0: "negative", 1: "neutral", 2: "positive"},
                        label2id={"negative": 0, "neutral": 1, "positive": 2})
    model = BertForSequenceClassification(config).eval()
    with torch.no_grad():  # a decisive head, so labels are not coin flips
        model.classifier.weight.mul_(30)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(base).save_pretrained(folder)
    (folder / "calibration.json").write_text(json.dumps({"temperature": 1.7}))
    return folder


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def graphs(tiny_model, cache):
    """Both precisions built once into the module's cache: {precision: path}."""
    mp = pytest.MonkeyPatch()
    mp.setenv(ox.CACHE_ENV, str(cache))
    try:
        yield {p: ox.build(tiny_model, p) for p in ox.PRECISIONS}
    finally:
        mp.undo()


@pytest.fixture
def use_cache(monkeypatch, cache, graphs):
    monkeypatch.setenv(ox.CACHE_ENV, str(cache))
    return cache


@pytest.fixture(scope="module")
def torch_model(tiny_model):
    return SentimentModel.load(tiny_model, backend="torch", threads=2)


def _ids(model: SentimentModel, texts):
    enc = model.tokenizer(texts, padding=True, return_tensors="np")
    return enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)


# --------------------------------------------------------------------------- building and cache
def test_build_writes_atomically_into_a_keyed_cache(graphs, tiny_model, cache):
    key = ox.cache_key(tiny_model)
    for precision, path in graphs.items():
        assert path == cache / "onnx" / key / f"model.{precision}.onnx" and path.stat().st_size > 0
    source = json.loads((graphs["int8"].parent / ox.SOURCE_FILE).read_text())
    assert source["weights"] == ox.weights_digest(tiny_model) and source["recipe"] == ox.recipe()
    assert not [p for p in graphs["int8"].parent.iterdir() if p.name.startswith(".build-")]


def test_int8_graph_keeps_the_down_projections_and_the_first_layer_float(graphs):
    import onnx

    fp32 = onnx.load(str(graphs["fp32"]), load_external_data=False).graph
    int8 = onnx.load(str(graphs["int8"]), load_external_data=False).graph
    ops = {n.op_type for n in int8.node}
    assert {"Attention", "EmbedLayerNormalization"} <= {n.op_type for n in fp32.node}  # fused
    assert {"QAttention", "EmbedLayerNormalization"} <= ops and "Attention" not in ops
    assert ops & {"MatMulInteger", "DynamicQuantizeMatMul"}  # the up-projections are int8
    assert len(ox.gelu_fed_matmuls(fp32)) == len(ox.gelu_fed_matmuls(int8)) == 2  # one per layer
    first = ox.first_layer_matmuls(fp32)  # the first layer's products stay float too
    assert len(first) == 3
    float_matmuls = {n.name for n in int8.node if n.op_type == "MatMul"}
    assert float_matmuls == set(first) | set(ox.gelu_fed_matmuls(fp32))  # every other one is int8


def test_second_load_reuses_the_cache(use_cache, tiny_model, graphs, monkeypatch):
    def no_export(*args, **kwargs):
        raise AssertionError("exported again although the graph is cached")

    monkeypatch.setattr(ox, "export_fp32", no_export)
    model = SentimentModel.load(tiny_model, backend="onnx", threads=1)
    assert isinstance(model.backend, ox.OnnxBackend) and model.backend.graph == graphs["int8"]


def test_changed_weights_change_the_key(tiny_model, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_model, copy)
    assert ox.cache_key(copy) == ox.cache_key(tiny_model)
    config = json.loads((copy / "config.json").read_text())
    config["classifier_dropout"] = 0.2
    (copy / "config.json").write_text(json.dumps(config))
    assert ox.cache_key(copy) != ox.cache_key(tiny_model)


def test_failed_build_is_a_clear_error_and_leaves_nothing(tiny_model, tmp_path, monkeypatch):
    def broken(src, out):
        raise RuntimeError("quantizer exploded")

    monkeypatch.setattr(ox, "quantize_int8", broken)
    with pytest.raises(ox.OnnxUnavailable, match="quantizer exploded"):
        ox.build(tiny_model, "int8", cache_dir=tmp_path / "c")
    assert not list((tmp_path / "c").iterdir())
    with pytest.raises(ValueError, match="precision"):
        ox.build(tiny_model, "int4")


def test_shipped_graph_is_used_only_for_its_own_weights(tiny_model, graphs, tmp_path):
    import shutil

    folder = tmp_path / "shipped"
    shutil.copytree(tiny_model, folder)
    (folder / "onnx").mkdir()
    shutil.copyfile(graphs["int8"], folder / "onnx" / "model.int8.onnx")
    (folder / "onnx" / ox.SOURCE_FILE).write_text(json.dumps({"weights": ox.weights_digest(folder)}))
    assert ox.build(folder, "int8", cache_dir=tmp_path / "unused") == folder / "onnx" / "model.int8.onnx"
    (folder / "onnx" / ox.SOURCE_FILE).write_text(json.dumps({"weights": "stale"}))
    assert ox.shipped_graph(folder) is None


def test_int8_weights_use_seven_bits_where_int8_products_saturate(monkeypatch):
    flags = ox.cpu_features()
    assert flags is None or (sys.platform.startswith("linux") and len(flags) > 5)
    for flags, saturates in (({"sse2", "avx2", "fma"}, True),                # AVX2 only: VPMADDUBSW
                             ({"sse2", "avx2", "avx512f", "avx512_vnni"}, False),
                             ({"sse2", "avx2", "avx_vnni"}, False),
                             ({"fp", "asimd", "asimddp"}, False),             # Arm
                             (set(), False)):                                 # flags unknown
        assert ox.int8_saturates(flags) is saturates, flags
    recipes = set()
    for flags in ({"sse2", "avx2"}, {"sse2", "avx512_vnni"}):
        monkeypatch.setattr(ox, "cpu_features", lambda flags=flags: flags)
        recipes.add(ox.recipe())
    assert recipes == {ox.RECIPE, ox.RECIPE + "+reduce-range"}  # separate cached graphs


def test_reduced_range_graph_stays_close_to_the_full_one(torch_model, graphs, tmp_path):
    import onnx

    reduced = ox.quantize_int8(graphs["fp32"], tmp_path / "rr.onnx", reduce_range=True)
    inits = {i.name: i for i in onnx.load(str(reduced)).graph.initializer}
    weights = [onnx.numpy_helper.to_array(i) for name, i in inits.items()
               if i.data_type == onnx.TensorProto.INT8 and name.endswith("_quantized")]
    assert weights and max(int(np.abs(w).max()) for w in weights) <= 64  # 7 bits, not 8
    backend = ox.OnnxBackend(reduced, torch_model.backend.config, threads=1)
    ids, mask = _ids(torch_model, TEXTS * 4)
    ref, got = torch_model.backend.logits(ids, mask), backend.logits(ids, mask)
    assert np.corrcoef(ref.ravel(), got.ravel())[0, 1] > 0.98


def test_precision_can_be_set_by_the_environment(use_cache, tiny_model, graphs, monkeypatch):
    monkeypatch.delenv(ox.PRECISION_ENV, raising=False)
    assert ox.default_precision() == "int8"
    monkeypatch.setenv(ox.PRECISION_ENV, "FP32")
    model = SentimentModel.load(tiny_model, backend="onnx", threads=1)
    assert model.backend.precision == "fp32" and model.backend.graph == graphs["fp32"]
    monkeypatch.setenv(ox.PRECISION_ENV, "int4")
    with pytest.raises(ValueError, match="SENTIMENT_ONNX_PRECISION"):
        ox.default_precision()


def test_available_cores_follows_the_affinity():
    n = ox.available_cores()
    assert 1 <= n <= len(os.sched_getaffinity(0))


# --------------------------------------------------------------------------- parity
def test_fp32_graph_matches_torch_exactly(torch_model, graphs):
    backend = ox.OnnxBackend(graphs["fp32"], torch_model.backend.config, threads=1, precision="fp32")
    ids, mask = _ids(torch_model, TEXTS)  # padded rows exercise the mask inside the fused graph
    np.testing.assert_allclose(backend.logits(ids, mask), torch_model.backend.logits(ids, mask), atol=1e-4)


def test_int8_graph_stays_close_to_torch(torch_model, graphs):
    backend = ox.OnnxBackend(graphs["int8"], torch_model.backend.config, threads=1)
    ids, mask = _ids(torch_model, TEXTS * 4)
    ref, got = torch_model.backend.logits(ids, mask), backend.logits(ids, mask)
    assert got.shape == ref.shape and np.isfinite(got).all()
    assert np.corrcoef(ref.ravel(), got.ravel())[0, 1] > 0.98


def test_calibration_and_batching_are_the_models(use_cache, tiny_model, torch_model):
    onnx_model = SentimentModel.load(tiny_model, backend="onnx", threads=1)
    assert onnx_model.temperature == torch_model.temperature == 1.7
    assert onnx_model._order == torch_model._order and onnx_model.max_length == torch_model.max_length
    logits, _ = onnx_model.logits(TEXTS)
    e = np.exp(logits / 1.7)
    np.testing.assert_allclose(onnx_model.predict_proba(TEXTS), e / e.sum(axis=1, keepdims=True), atol=1e-9)
    # Length bucketing: any batch size and any order give the same numbers (to float precision
    # in fp32; int8 quantizes activations with one scale per batch, so only nearly the same).
    fp32 = SentimentModel.load(tiny_model, backend="torch")
    fp32.backend = ox.OnnxBackend.from_folder(tiny_model, precision="fp32", threads=1)
    for model, atol in ((fp32, 1e-5), (onnx_model, 0.01)):
        batched = model.predict_proba(TEXTS, batch_size=2)
        np.testing.assert_allclose(batched, model.predict_proba(TEXTS[::-1], batch_size=64)[::-1], atol=atol)
        np.testing.assert_allclose(batched, np.vstack([model.predict_proba([t]) for t in TEXTS]), atol=atol)


def test_long_and_empty_texts(use_cache, tiny_model):
    model = SentimentModel.load(tiny_model, backend="onnx", threads=1)
    long_text = " ".join(["Bitcoin fell sharply as liquidations mounted"] * 300)
    p = model.predict_proba([long_text, "", "   ", None, "ok"])  # type: ignore[list-item]
    assert p.shape == (5, 3) and np.allclose(p.sum(axis=1), 1) and np.isfinite(p).all()
    assert p[1].tolist() == [0.0, 1.0, 0.0] and p[3].tolist() == [0.0, 1.0, 0.0]
    _, owner = model.logits([long_text])
    assert owner.count(0) > 3
    assert model.predict_proba([]).shape == (0, 3)


# --------------------------------------------------------------------------- selection
def test_backend_selection(use_cache, tiny_model, monkeypatch):
    assert isinstance(SentimentModel.load(tiny_model, backend="torch").backend, TorchBackend)
    assert isinstance(SentimentModel.load(tiny_model, backend="auto").backend, ox.OnnxBackend)
    assert isinstance(SentimentModel.load(tiny_model).backend, ox.OnnxBackend)
    with pytest.raises(ValueError, match="unknown backend 'tensorflow'; available: auto, onnx, torch"):
        SentimentModel.load(tiny_model, backend="tensorflow")


def test_auto_falls_back_to_torch_and_onnx_says_why(tiny_model, monkeypatch, caplog):
    def unavailable(*args, **kwargs):
        raise ox.OnnxUnavailable("onnxruntime is not installed")

    monkeypatch.setattr(ox.OnnxBackend, "from_folder", unavailable)
    with caplog.at_level("WARNING"):
        model = SentimentModel.load(tiny_model, backend="auto")
    assert isinstance(model.backend, TorchBackend) and "using torch" in caplog.text
    with pytest.raises(ox.OnnxUnavailable, match="not installed"):
        SentimentModel.load(tiny_model, backend="onnx")


# --------------------------------------------------------------------------- the shipped model
@pytest.fixture(scope="module")
def shipped_pair():
    path = default_model_path()
    if not (path / "config.json").exists():
        pytest.skip(f"no model at {path} (the shipped weights are not in this checkout)")
    return (SentimentModel.load(path, backend="torch", threads=2),
            SentimentModel.load(path, backend="onnx", threads=2))


def test_shipped_int8_agrees_with_float32_inline(shipped_pair):
    torch_model, onnx_model = shipped_pair
    assert onnx_model.predict(TEXTS[:5]) == torch_model.predict(TEXTS[:5])
    p = onnx_model.predict_proba(TEXTS)
    assert np.abs(p - torch_model.predict_proba(TEXTS)).max() < 0.1


@pytest.mark.shared
def test_shipped_int8_agrees_with_float32_on_phrasebank(shipped_pair):
    from sentiment.classify.datasets import splits

    test = splits(shared_path("data", "financial_phrasebank", "Sentences_50Agree.txt"), "phrasebank").test
    texts = test.texts[:200]
    torch_model, onnx_model = shipped_pair
    agree = np.mean(np.asarray(onnx_model.predict(texts)) == np.asarray(torch_model.predict(texts)))
    assert agree >= 0.98, f"int8 agrees with float32 on {agree:.1%} of 200 PhraseBank test sentences"
    assert set(onnx_model.predict(texts)) <= set(LABELS)


# --------------------------------------------------------------------------- the tag command
def test_tag_command_backend_option(use_cache, tiny_model, tmp_path, capsys):
    from helpers import ROOT

    from sentiment.cli import main
    from sentiment.tagfiles import read_tags

    article = ROOT / "examples" / "2025-03-10-btc-slide-tariffs.txt"
    out = tmp_path / "tags.jsonl"
    assert main(["tag", str(article), "-o", str(out), "--model", str(tiny_model), "--backend", "tensorflow"]) == 2
    assert "--backend must be auto, onnx or torch" in capsys.readouterr().err and not out.exists()
    assert main(["tag", str(article), "-o", str(out), "--model", str(tiny_model), "--backend", "onnx", "-q"]) == 0
    (record,) = list(read_tags(out))
    assert record["sentiment"]["label"] in LABELS and len(record["sentences"]) > 3
    assert abs(sum(record["sentiment"]["probs"].values()) - 1) < 1e-4


def test_tag_with_two_worker_processes_writes_the_same_records(use_cache, tiny_model, tmp_path):
    from helpers import ROOT

    from sentiment.cli import main
    from sentiment.tagfiles import read_tags

    articles = [str(p) for p in sorted((ROOT / "examples").glob("2025-*.txt"))]
    outs = []
    for n in (1, 2):
        out = tmp_path / f"tags-{n}.jsonl"
        assert main(["tag", *articles, "-o", str(out), "--model", str(tiny_model), "--processes", str(n), "-q"]) == 0
        outs.append(list(read_tags(out)))
    assert len(outs[0]) == len(articles) >= 2
    for a, b in zip(*outs):
        assert a["id"] == b["id"] and [s["text"] for s in a["sentences"]] == [s["text"] for s in b["sentences"]]
        assert a["assets"] == b["assets"] and a["moves"] == b["moves"]
        assert abs(a["sentiment"]["score"] - b["sentiment"]["score"]) < 1e-6


def _die_in_a_worker(batch):
    """Stands in for ``workers._run_batch``: a worker process that dies on its first batch."""
    import os

    if os.getpid() != _die_in_a_worker.parent:
        os._exit(1)
    raise AssertionError("the parent never runs the worker function")


def test_a_dying_worker_loses_no_article(use_cache, tiny_model, tmp_path, monkeypatch):
    """Workers that die (killed, out of memory) leave their batches to the parent: every
    article is still tagged, once, in order."""
    import os

    from helpers import ROOT

    from sentiment import workers
    from sentiment.analyzer import Analyzer
    from sentiment.tagfiles import read_tags
    from sentiment.tagging import tag_files

    monkeypatch.setattr(workers, "_run_batch", _die_in_a_worker)  # the forked workers inherit it
    monkeypatch.setattr(_die_in_a_worker, "parent", os.getpid(), raising=False)
    articles = [str(p) for p in sorted((ROOT / "examples").glob("2025-*.txt"))]
    out = tmp_path / "tags.jsonl"
    with Analyzer(tiny_model, backend="onnx", n_process=2) as analyzer:
        report = tag_files(articles, out, analyzer=analyzer, batch_size=1)
        assert analyzer._pool is not None and analyzer._pool.broken
    records = list(read_tags(out))
    assert report.tagged == len(records) == len(articles) and report.failed == 0
    assert len({r["id"] for r in records}) == len(records)


def test_token_budget_batches():
    from sentiment.classify.model import _batches

    lengths = [5, 5, 5, 40, 40, 200]
    batches = _batches(list(range(6)), lengths, size=2, max_tokens=100)
    assert batches == [[0, 1], [2, 3], [4], [5]]  # two rows at most; a 200-token row goes alone
    assert _batches([0, 1, 2, 3], [30] * 4, size=8, max_tokens=100) == [[0, 1, 2], [3]]  # 4 × 30 > 100
    assert sorted(i for b in batches for i in b) == list(range(6))


@pytest.mark.parametrize("saturating_cpu", [True, False])
def test_a_new_build_prunes_the_stale_graphs_of_the_same_model(tiny_model, tmp_path, monkeypatch, saturating_cpu):
    """Graphs of older weights or recipes of the same folder go; other models' graphs, and the
    same model's graph for the other kind of CPU (a cache shared by VNNI and non-VNNI machines),
    stay."""
    monkeypatch.setenv(ox.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(ox, "int8_saturates", lambda flags=None: saturating_cpu)
    onnx_dir = tmp_path / "onnx"
    here, there = ("+reduce-range", "") if ox.int8_saturates() else ("", "+reduce-range")
    for name, model, recipe in (("stale", tiny_model, "old" + here), ("other", tmp_path / "another-model", "old"),
                                ("other-cpu", tiny_model, ox.RECIPE + there)):
        (onnx_dir / name).mkdir(parents=True)
        (onnx_dir / name / "model.int8.onnx").write_bytes(b"old graph")
        (onnx_dir / name / ox.SOURCE_FILE).write_text(json.dumps({"model": str(model), "recipe": recipe}))
    (onnx_dir / ".half-written").mkdir()  # no source.json: left alone
    path = ox.build(tiny_model, "int8")
    assert path.is_file() and path.parent.parent == onnx_dir
    assert sorted(p.name for p in onnx_dir.iterdir()) == sorted([".half-written", "other", "other-cpu",
                                                                 path.parent.name])
