"""sentiment: crypto market news → assets, moves, causes, calibrated sentiment, Fear & Greed index."""
__version__ = "0.1.0"
