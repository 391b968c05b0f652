#!/usr/bin/env bash
# Accuracy table of the model card: the shipped model (torch float32, the reference), the
# TF-IDF + logistic regression baseline trained on the model's recipe data, and the lexicon,
# on FPB 50Agree test, TFNS sent_valid and the crypto test file. Writes the JSON objects
# `sentiment evaluate` prints (one per line) into $MODEL/metrics.json.
# usage: bash benchmarks/model_metrics.sh   (from the repository root; data in ${SHARED:-../shared})
#        MODEL=models/crypto-minilm-l3-sentiment BASELINES=0 bash benchmarks/model_metrics.sh
#        (another model folder, here the fast profile, without the two baselines)
set -euo pipefail
SHARED=${SHARED:-../shared}
M=${MODEL:-models/crypto-minilm-sentiment}
SENTIMENT=${SENTIMENT:-.venv/bin/sentiment}
models=("$M --backend torch")
if [ "${BASELINES:-1}" = 1 ]; then models+=("tfidf --config $M/train_config.json" "lexicon"); fi
out=$(mktemp)
for model in "${models[@]}"; do
  # shellcheck disable=SC2086  # $model holds several arguments
  $SENTIMENT evaluate "$SHARED/data/financial_phrasebank/Sentences_50Agree.txt" --format phrasebank --split test --model $model | tail -n 1 >> "$out"
  $SENTIMENT evaluate "$SHARED/data/twitter_financial_news_sentiment" --format tfns --split test --model $model | tail -n 1 >> "$out"
  $SENTIMENT evaluate data/crypto_sentences/test.jsonl --format jsonl --split test --model $model | tail -n 1 >> "$out"
done
python3 -c 'import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; json.dump(rows, open(sys.argv[2], "w"), indent=1); print(json.dumps([[r["model"], r["format"], r["accuracy"], r["macro_f1"], r.get("ece"), r.get("allagree_accuracy")] for r in rows]))' "$out" "$M/metrics.json"
rm -f "$out"
