"""How closely does a distilled student follow its teacher, on its training texts and on the
validation texts it never saw? High agreement on the first and low on the second means the
student fits what it is shown and the gap is in how it generalises, so more text to imitate
the teacher on will not close it.

Prints one line per set, then one JSON line with every figure. The teacher's logits come from
its cache (``sentiment train`` fills it); texts it has not scored yet are scored once.

usage: python research/tools/teacher_agreement.py --model runs/student --teacher runs/mpnet-teacher
           --config research/recipes/student-large-augment-teacher2.json [--sample 2500]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]  # the repository root
sys.path.insert(0, str(ROOT))

from sentiment.classify.datasets import training_data
from sentiment.classify.training import TrainConfig, predict_logits, teacher_logits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the student's folder")
    parser.add_argument("--teacher", required=True, help="the teacher's folder")
    parser.add_argument("--config", required=True, help="the recipe the student was trained with")
    parser.add_argument("--sample", type=int, default=2500, help="training texts drawn at random (seed 0)")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    config = TrainConfig.load(args.config)
    torch.set_num_threads(config.threads)
    data = training_data(config.data)
    picked = random.Random(0).sample(range(len(data.train)), min(args.sample, len(data.train)))
    sets = {"train": data.train.take(sorted(picked)), "validation": data.validation}
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    student = AutoModelForSequenceClassification.from_pretrained(args.model, dtype=torch.float32)
    quiet = lambda _msg: None
    results = {}
    for name, part in sets.items():
        ids = tokenizer(part.texts, truncation=True, max_length=config.max_length)["input_ids"]
        s = predict_logits(student, ids, tokenizer.pad_token_id or 0).argmax(1)
        t = teacher_logits(args.teacher, part.texts, config.max_length, quiet).argmax(1)
        y = np.asarray(part.labels)
        gold = y >= 0  # transfer texts have no label
        row = {"n": len(part), "agreement": round(float((s == t).mean()), 4),
               "student_accuracy": round(float((s[gold] == y[gold]).mean()), 4),
               "teacher_accuracy": round(float((t[gold] == y[gold]).mean()), 4),
               "teacher_right_student_wrong": int(((t == y) & (s != y) & gold).sum()),
               "student_right_teacher_wrong": int(((s == y) & (t != y) & gold).sum())}
        results[name] = row
        print(f"{name:10s} n {row['n']:5d}  agreement {row['agreement']:.4f}  student acc {row['student_accuracy']:.4f}"
              f"  teacher acc {row['teacher_accuracy']:.4f}", flush=True)
    print(json.dumps({"model": args.model, "teacher": args.teacher, "config": args.config, **results}))


if __name__ == "__main__":
    main()
