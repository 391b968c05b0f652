"""Choose a target-level model's gate: the sentence confidence at which a sentence's own score
stands for its assets' target scores, so the Analyzer skips those target passes.

The Analyzer's rule (``Analyzer._score_targets``): a sentence whose own top probability reaches
the gate gives its own score to its assets when it names one asset or is neutral. This script
applies the same rule to the validation parts of the crypto target set and FinEntity (an
asset counts as alone when no other target of the data set shares its sentence), and to the
(sentence, asset) pairs the extractor finds in real articles for the share of passes skipped:

    python research/tools/target_gate.py models/crypto-minilm-sentiment
    python research/tools/target_gate.py models/crypto-minilm-sentiment --write   # the chosen gate into sentiment.json
    python research/tools/target_gate.py models/crypto-minilm-sentiment --split test --gates 0.9

The choice (``--write``): the lowest gate of ``--gates`` whose gated accuracy on each
validation part is at most ``--tolerance`` (0.005) below the ungated accuracy.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from sentiment.classify.model import TASKS_FILE, SentimentModel
from sentiment.classify.targets import sentence_of, target_splits
from sentiment.schema import LABELS

SHARED = Path(os.environ.get("SENTIMENT_SHARED", Path(__file__).resolve().parents[3] / "shared"))
DATA = {"crypto-targets": Path("data/crypto_targets/train.jsonl"),
        "finentity": SHARED / "data/finentity/FinEntity.json"}
ARTICLES = SHARED / "data/crypto_news_articles_2022-12/articles.jsonl"


def gated(own: np.ndarray, target: np.ndarray, alone: np.ndarray, gate: float) -> tuple[np.ndarray, np.ndarray]:
    """Labels under the gate and which pairs it skips (own, target: probabilities per pair)."""
    top = own.max(axis=1)
    skip = (top >= gate) & (alone | (own.argmax(axis=1) == LABELS.index("neutral")))
    return np.where(skip, own.argmax(axis=1), target.argmax(axis=1)), skip


def study(model: SentimentModel, name: str, path: Path, split: str) -> dict:
    data = target_splits(path, "crypto-targets" if name == "crypto-targets" else name).get(split)
    exs = data.examples
    sentences = [ex.text[slice(*sentence_of(ex.text, ex.span))] for ex in exs]
    names: dict[str, set[str]] = {}
    for ex, s in zip(exs, sentences):
        names.setdefault(s, set()).add(ex.target.lower())
    return {"own": model.predict_proba(sentences),
            "target": np.array([[sc.probs[k] for k in LABELS]
                                for sc in model.score_targets([(ex.text, ex.span) for ex in exs])]),
            "alone": np.array([len(names[s]) == 1 for s in sentences]),
            "y": np.array([ex.label for ex in exs])}


def article_pairs(model: SentimentModel, n: int) -> dict:
    from sentiment.extract import Extractor

    lines = ARTICLES.read_text(encoding="utf-8").splitlines()[:n]
    rows = [json.loads(line) for line in lines]
    texts, alone = [], []
    for ex in Extractor().pipe([(r.get("title"), r.get("text") or "") for r in rows]):
        for span in ([ex.title] if ex.title is not None else []) + ex.sentences:
            texts.extend(span.text[:2000] for _ in span.assets)
            alone.extend(len(span.assets) == 1 for _ in span.assets)
    own = model.predict_proba(texts)
    return {"own": own, "target": own, "alone": np.array(alone)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--split", default="validation", choices=("validation", "test"))
    ap.add_argument("--gates", default="0.8,0.85,0.9,0.95")
    ap.add_argument("--tolerance", type=float, default=0.005)
    ap.add_argument("--articles", type=int, default=200, help="real articles for the skipped share")
    ap.add_argument("--write", action="store_true", help="write the chosen gate into the model's sentiment.json")
    args = ap.parse_args()
    model = SentimentModel.load(args.model, backend="onnx")
    gates = [float(g) for g in args.gates.split(",")]
    parts = {name: study(model, name, path, args.split) for name, path in DATA.items()}
    real = article_pairs(model, args.articles)
    print(f"{'gate':>6} " + " ".join(f"{n + ' acc':>22} {'skip':>6}" for n in parts) + f" {'articles skip':>14}")
    base = {n: float((p["target"].argmax(1) == p["y"]).mean()) for n, p in parts.items()}
    print(f"{'none':>6} " + " ".join(f"{base[n]:>22.4f} {0:>6.3f}" for n in parts) + f" {0:>14.3f}")
    chosen = None
    for gate in gates:
        row, ok = [], True
        for n, p in parts.items():
            labels, skip = gated(p["own"], p["target"], p["alone"], gate)
            acc = float((labels == p["y"]).mean())
            ok &= acc >= base[n] - args.tolerance
            row.append(f"{acc:>22.4f} {skip.mean():>6.3f}")
        skipped = gated(real["own"], real["target"], real["alone"], gate)[1].mean()
        print(f"{gate:>6} " + " ".join(row) + f" {skipped:>14.3f}" + ("" if ok else "  (over tolerance)"))
        if ok and chosen is None:
            chosen = gate
    print("pairs: " + ", ".join(f"{n} {len(p['y'])}" for n, p in parts.items()) + f", articles {len(real['alone'])}")
    print(f"chosen gate: {chosen}")
    if args.write:
        if args.split != "validation":
            raise SystemExit("--write chooses on the validation split only")
        doc_path = args.model / TASKS_FILE
        doc = json.loads(doc_path.read_text(encoding="utf-8"))
        doc["target_gate"] = chosen
        doc_path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"wrote target_gate {chosen} into {doc_path}")


if __name__ == "__main__":
    main()
