"""Task-adaptive pretraining: more masked-language-model training of the base encoder on the
recipe's own training texts before it is fine-tuned ("Don't Stop Pretraining", Gururangan et
al. 2020; FinBERT did the same on financial text).

all-MiniLM-L6-v2 learnt general English and then sentence similarity; it never saw much
"EPS rose to EUR 0.12" or "liquidations topped $1bn". A few epochs of masked-word prediction on
the texts the classifier will train on (labelled and transfer texts alike, never a validation or
test text) adapt its vocabulary use to this genre without any label.

A recipe turns it on with ``"pretrain": {"epochs": 2, "lr": 1e-4, "mask": 0.15, "head_only": 0.1}``.
Sentence-transformer folders ship no masked-LM head, so one starts untrained: during the first
``head_only`` share of the steps only the head learns (its random gradients would otherwise
shake the encoder), then the whole encoder does, word embeddings excepted (they are tied to the
head's output layer and stay as they are, as in fine-tuning). The adapted encoder is cached
under the package's cache folder, keyed by the base weights, the texts and the settings, so a
second seed of the same recipe starts from the same encoder without repeating the work.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

DONE_FILE = "pretrain_log.json"  # written last: a folder without it is an interrupted run


@dataclass
class Pretrain:
    """Settings of the masked-LM stage (a recipe's ``"pretrain"`` object)."""

    epochs: float = 2
    lr: float = 1e-4
    mask: float = 0.15  # share of tokens to predict (BERT's 80/10/10 replacement)
    head_only: float = 0.1  # share of the steps that train the new head alone
    batch_size: int = 32
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    seed: int = 0

    @classmethod
    def from_dict(cls, raw: dict) -> Pretrain:
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f'"pretrain": unknown keys {unknown}; known: {sorted(cls.__dataclass_fields__)}')
        settings = cls(**raw)
        if settings.epochs <= 0 or settings.lr <= 0 or not 0 < settings.mask < 1 or not 0 <= settings.head_only < 1:
            raise ValueError('"pretrain": epochs and lr must be > 0, mask in (0, 1), head_only in [0, 1)')
        return settings


def adapted_encoder(base_dir: Path, texts: list[str], settings: Pretrain, max_length: int,
                    log: Callable[[str], None], threads: int = 2) -> Path:
    """The folder of ``base_dir``'s encoder after masked-LM training on ``texts`` (distinct, in
    a fixed order); built once, then read from the cache."""
    from sentiment.classify.onnx import cache_root, weights_digest

    unique = sorted(set(texts))
    h = hashlib.sha256(json.dumps({"base": weights_digest(base_dir), "settings": asdict(settings),
                                   "max_length": max_length}).encode())
    for text in unique:
        h.update(text.encode("utf-8") + b"\0")
    out = cache_root() / "pretrained" / h.hexdigest()[:24]
    if (out / DONE_FILE).is_file():
        log(f"pretrain: adapted encoder from the cache ({out})")
        return out
    shutil.rmtree(out, ignore_errors=True)
    record = pretrain(base_dir, unique, settings, max_length, out, log, threads)
    (out / DONE_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return out


def pretrain(base_dir: Path, texts: list[str], settings: Pretrain, max_length: int, out: Path,
             log: Callable[[str], None], threads: int = 2) -> dict[str, Any]:
    """Masked-LM training of ``base_dir`` on ``texts``; the encoder (with the base's pooler,
    without the LM head) is saved to ``out`` as a plain Hugging Face folder. Returns the log."""
    import torch
    from transformers import (
        AutoModel,
        AutoModelForMaskedLM,
        AutoTokenizer,
        DataCollatorForLanguageModeling,
    )

    from sentiment.classify.hub import load_pretrained, quiet_transformers
    from sentiment.classify.train import length_bucketed_batches, warmup_then_decay

    torch.set_num_threads(max(1, threads))
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    started = time.time()
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    if tokenizer.mask_token is None:
        raise ValueError(f"{base_dir}: its tokenizer has no mask token; masked-LM pretraining needs one")
    model = load_pretrained(AutoModelForMaskedLM, base_dir, log)
    model.get_input_embeddings().weight.requires_grad_(False)
    encoder_names = {f"{model.base_model_prefix}.{name}" for name, _ in model.base_model.named_parameters()}
    head = [p for n, p in model.named_parameters() if n not in encoder_names and p.requires_grad]
    body = [p for n, p in model.named_parameters() if n in encoder_names and p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": head}, {"params": body}], lr=settings.lr,
                                  weight_decay=settings.weight_decay)
    ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    steps_per_epoch = math.ceil(len(ids) / settings.batch_size)
    total = max(1, round(steps_per_epoch * settings.epochs))
    head_steps = int(total * settings.head_only)
    warmup = max(1, int((total - head_steps) * settings.warmup_ratio))

    def factor(step: int) -> float:  # head alone at full rate, then warm-up and decay for all
        return 1.0 if step < head_steps else warmup_then_decay(step - head_steps, warmup, total - head_steps)

    body_factor = (lambda step: 0.0 if step < head_steps else factor(step))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, [factor, body_factor])
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=settings.mask, return_tensors="pt")
    log(f"pretrain: masked-LM on {len(ids)} texts, {total} steps ({head_steps} head only), lr {settings.lr}")
    every = max(1, min(100, total // 10))  # about ten loss reports, at most 100 steps apart
    model.train()
    step, history, running, seen = 0, [], 0.0, 0
    while step < total:
        for batch_index in length_bucketed_batches([len(x) for x in ids], settings.batch_size, rng):
            if step >= total:
                break
            batch = collator([{"input_ids": ids[i]} for i in batch_index])
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head + body, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            running += float(loss.detach())
            seen += 1
            if step % every == 0 or step == total:
                entry = {"step": step, "loss": round(running / seen, 4), "seconds": round(time.time() - started, 1)}
                history.append(entry)
                log(f"pretrain: step {step}/{total} masked-LM loss {entry['loss']} ({entry['seconds']:.0f}s)")
                running, seen = 0.0, 0
    encoder = load_pretrained(AutoModel, base_dir)
    missing = encoder.load_state_dict(model.base_model.state_dict(), strict=False).missing_keys
    if any(not k.startswith("pooler.") for k in missing):  # only the base's own pooler stays as it was
        raise RuntimeError(f"pretrain: encoder weights not carried over: {missing}")
    out.mkdir(parents=True, exist_ok=True)
    with quiet_transformers():
        encoder.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return {"base": str(base_dir), "texts": len(ids), "steps": total, "settings": asdict(settings),
            "history": history, "seconds": round(time.time() - started, 1), "torch": torch.__version__}
