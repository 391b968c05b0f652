#!/usr/bin/env bash
# Accuracy table of the model card: the shipped model (torch float32, the reference), the
# TF-IDF + logistic regression baseline trained on the model's recipe data, and the lexicon,
# on FPB 50Agree test, TFNS sent_valid and the crypto test file. Writes the JSON objects
# `sentiment evaluate` prints (one per line) into $MODEL/metrics.json. A model that serves the
# target task (its sentiment.json) is also scored on the test parts of the target-level sets.
# The TF-IDF baseline trains on the sentence data of $TFIDF_CONFIG (default: the model's recipe).
# usage: bash benchmarks/model_metrics.sh   (from the repository root; data in ${SHARED:-../shared})
#        MODEL=models/crypto-minilm-l3-sentiment BASELINES=0 bash benchmarks/model_metrics.sh
#        (another model folder, here the fast profile, without the two baselines)
set -euo pipefail
SHARED=${SHARED:-../shared}
M=${MODEL:-models/crypto-minilm-sentiment}
SENTIMENT=${SENTIMENT:-.venv/bin/sentiment}
TFIDF_CONFIG=${TFIDF_CONFIG:-$M/train_config.json}
models=("$M --backend torch")
if [ "${BASELINES:-1}" = 1 ]; then models+=("tfidf --config $TFIDF_CONFIG" "lexicon"); fi
out=$(mktemp)
for model in "${models[@]}"; do
  # shellcheck disable=SC2086  # $model holds several arguments
  $SENTIMENT evaluate "$SHARED/data/financial_phrasebank/Sentences_50Agree.txt" --format phrasebank --split test --model $model | tail -n 1 >> "$out"
  $SENTIMENT evaluate "$SHARED/data/twitter_financial_news_sentiment" --format tfns --split test --model $model | tail -n 1 >> "$out"
  $SENTIMENT evaluate data/crypto_sentences/test.jsonl --format jsonl --split test --model $model | tail -n 1 >> "$out"
done
if grep -q '"target"' "$M/sentiment.json" 2>/dev/null; then
  for data in "data/crypto_targets --format crypto-targets" "$SHARED/data/finentity/FinEntity.json --format finentity" \
              "$SHARED/data/semeval2017_task5_headlines/Headline_Trainingdata.json --format semeval-targets" \
              "$SHARED/data/fiqa_2018_task1_sentiment --format fiqa-targets"; do
    # shellcheck disable=SC2086  # $data holds the path and its format
    $SENTIMENT evaluate $data --model "$M" --backend torch | tail -n 1 >> "$out"
  done
fi
python3 -c 'import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; json.dump(rows, open(sys.argv[2], "w"), indent=1); print(json.dumps([[r["model"], r["format"], r["accuracy"], r["macro_f1"], r.get("ece"), r.get("allagree_accuracy"), r.get("mixed")] for r in rows]))' "$out" "$M/metrics.json"
rm -f "$out"
