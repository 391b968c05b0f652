"""Sentence sentiment: the fine-tuned classifier, its training, evaluation and baselines.

``SentimentModel`` (model.py) is what the pipeline uses; ``datasets.py`` holds the loaders and
the fixed evaluation protocol; the ``training`` package / ``evaluate.py`` back the ``sentiment
train`` and ``sentiment evaluate`` commands; ``hub.py`` loads Hugging Face folders for all of
them; ``baselines.py`` holds TF-IDF + LR and the lexicon scorer. Nothing heavy is imported here.
"""
