"""Market side of the package: prices, news ↔ price linking, and the Fear & Greed style index.

Public API (all return pandas DataFrames or records holding them)::

    from sentiment.market import load_prices, link, fear_greed_index, explain

* :func:`load_prices` - OHLCV CSVs (Yahoo, CoinGecko, a folder of ``<SYMBOL>_daily.csv``) → tidy table.
* :func:`link` - tag records + prices → :class:`LinkReport` (daily news, forward returns, event
  study, correlations, Granger lead-lag, stated moves vs prices).
* :func:`fear_greed_index` - daily 0-100 index with labels and explained components.
"""
from .compare import agreement, load_published_index
from .index import COMPONENTS, explain, fear_greed_index, label_for, load_config
from .link import LinkReport, link
from .news import MARKET, TagDataError, news_table
from .prices import PriceDataError, basket, close_panel, load_prices

__all__ = [
    "COMPONENTS", "MARKET", "LinkReport", "PriceDataError", "TagDataError", "agreement", "basket",
    "close_panel", "explain", "fear_greed_index", "label_for", "link", "load_config",
    "load_prices", "load_published_index", "news_table",
]
