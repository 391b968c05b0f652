#!/usr/bin/env bash
# Accuracy table of the model card: the shipped model (torch float32, the reference), the
# TF-IDF + logistic regression baseline trained on the model's recipe data, and the lexicon,
# on FPB 50Agree test, TFNS sent_valid and the crypto test file. Writes the JSON objects
# `sentiment evaluate` prints (one per line) into models/crypto-minilm-sentiment/metrics.json.
# usage: bash benchmarks/model_metrics.sh   (from the repository root; data in ${SHARED:-../shared})
set -euo pipefail
SHARED=${SHARED:-../shared}
M=models/crypto-minilm-sentiment
SENTIMENT=${SENTIMENT:-.venv/bin/sentiment}
out=$(mktemp)
for model in "$M --backend torch" "tfidf --config $M/train_config.json" "lexicon"; do
  # shellcheck disable=SC2086  # $model holds several arguments
  $SENTIMENT evaluate "$SHARED/data/financial_phrasebank/Sentences_50Agree.txt" --format phrasebank --split test --model $model | tail -n 1 >> "$out"
  $SENTIMENT evaluate "$SHARED/data/twitter_financial_news_sentiment" --format tfns --split test --model $model | tail -n 1 >> "$out"
  $SENTIMENT evaluate data/crypto_sentences/test.jsonl --format jsonl --split test --model $model | tail -n 1 >> "$out"
done
python3 -c 'import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; json.dump(rows, open(sys.argv[2], "w"), indent=1); print(json.dumps([[r["model"], r["format"], r["accuracy"], r["macro_f1"], r.get("ece"), r.get("allagree_accuracy")] for r in rows]))' "$out" "$M/metrics.json"
rm -f "$out"
