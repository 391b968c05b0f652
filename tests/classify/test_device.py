"""Where the classifier runs (``--device auto|cpu|cuda``): the choice logic, checked on the CPU
by telling torch a GPU is there or not (``torch.cuda.is_available`` monkeypatched), and what a
GPU backend changes (token-budget batches, the float16 parity probe)."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sentiment.analyzer import Analyzer
from sentiment.classify import model as model_module
from sentiment.classify.model import (
    GPU_BATCH_ROWS,
    MAX_BATCH_TOKENS,
    SentimentModel,
    TorchBackend,
    default_model_path,
    make_backend,
    resolve_device,
)


@pytest.fixture
def gpu(monkeypatch):
    """Set whether torch sees a CUDA GPU: ``gpu(True)``."""
    def set_to(seen: bool) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: seen)
    return set_to


def needs_shipped_model():
    folder = default_model_path()
    if not any(folder.glob("*.safetensors")):
        pytest.skip(f"needs the shipped model at {folder}")
    return folder


@pytest.mark.parametrize("asked, seen, expected", [
    ("auto", True, "cuda"), ("auto", False, "cpu"),
    ("cpu", True, "cpu"), ("cpu", False, "cpu"),
    ("cuda", True, "cuda"),
])
def test_the_device_is_chosen_from_what_torch_sees(gpu, asked, seen, expected):
    gpu(seen)
    assert resolve_device(asked) == expected


def test_cuda_without_a_gpu_and_unknown_devices_are_clear_errors(gpu):
    gpu(False)
    with pytest.raises(ValueError, match="torch sees no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="unknown device 'gpu'; available: auto, cpu, cuda"):
        resolve_device("gpu")
    with pytest.raises(ValueError, match="unknown device"):
        Analyzer(device="gpu")


def test_the_analyzer_loads_its_classifier_on_the_device_it_resolves(gpu, monkeypatch):
    seen = {}

    def fake_load(path, *, backend, threads, device):
        seen.update(backend=backend, device=device)
        return object()

    monkeypatch.setattr(SentimentModel, "load", staticmethod(fake_load))
    gpu(True)
    analyzer = Analyzer(device="auto", n_process=2)
    assert analyzer.on_gpu  # one process feeds the GPU: no worker pool is forked
    _ = analyzer.model
    assert seen == {"backend": "auto", "device": "auto"}
    gpu(False)
    assert not Analyzer(device="auto").on_gpu
    with pytest.raises(ValueError, match="no CUDA GPU"):
        _ = Analyzer(device="cuda").on_gpu


def test_onnx_is_refused_on_a_gpu(tmp_path):
    with pytest.raises(ValueError, match="the onnx backend runs on the CPU"):
        make_backend(tmp_path, "onnx", device="cuda")


def test_the_tag_command_says_when_no_gpu_is_there(gpu, tmp_path, capsys):
    from sentiment.cli import main

    gpu(False)
    article = tmp_path / "a.txt"
    article.write_text("Bitcoin up\n\nBitcoin rose 2%.\n")
    assert main(["tag", str(article), "-o", str(tmp_path / "t.jsonl"), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --device: device cuda was asked for") and "Traceback" not in err
    gpu(True)
    assert main(["tag", str(article), "-o", str(tmp_path / "t.jsonl"), "--device", "cuda",
                 "--backend", "onnx"]) == 2
    assert "--backend onnx runs on the CPU" in capsys.readouterr().err
    assert not (tmp_path / "t.jsonl").exists()


class ShapeRecorder:
    """A backend that records the shape of every batch it is given."""

    def __init__(self, gpu_batches: bool) -> None:
        self.shapes: list[tuple[int, int]] = []
        if gpu_batches:
            self.max_batch_tokens, self.max_batch_rows = model_module.GPU_BATCH_TOKENS, GPU_BATCH_ROWS

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        self.shapes.append(input_ids.shape)
        return np.zeros((len(input_ids), 3))


@pytest.mark.parametrize("gpu_batches", [False, True])
def test_gpu_backends_get_token_budget_batches(gpu_batches):
    from transformers import AutoTokenizer

    folder = needs_shipped_model()
    backend = ShapeRecorder(gpu_batches)
    scorer = SentimentModel(backend, AutoTokenizer.from_pretrained(folder), folder)
    texts = [f"Bitcoin rose {i}% on day {i} as traders bought the dip again." for i in range(600)]
    scorer.predict_proba(texts, batch_size=64)
    rows = [r for r, _ in backend.shapes]
    assert sum(rows) == 600
    if gpu_batches:
        assert rows == [600]  # one call: 600 rows of ~20 tokens are far under the GPU budget
    else:
        assert max(rows) == 64 and all(r * w <= MAX_BATCH_TOKENS for r, w in backend.shapes)


def test_the_fp16_probe_compares_with_float32_and_leaves_float32():
    folder = needs_shipped_model()
    backend = TorchBackend(folder, threads=1)  # on the CPU: the probe itself is device-agnostic
    assert backend.fp16_parity(tolerance=1.0)
    assert not backend.fp16_parity(tolerance=-1.0)
    assert next(backend.model.parameters()).dtype == torch.float32 and backend.dtype == "float32"
