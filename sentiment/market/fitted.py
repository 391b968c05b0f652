"""The fitted price index: a ridge regression from one asset's daily closes to the logit of the
published alternative.me Crypto Fear & Greed Index, and what each group of features adds.

The recipe (feature means and scales, weights, intercept, fit period) is the package data file
``market/data/fitted_index.json``, written by :func:`fit_recipe` (``sentiment index fit``). The
features of the value dated D come from the bars up to and including D-1: the bar of D-1 closes at
00:00 UTC of D, when alternative.me dates its value D (no look-ahead).

The value is ``100 * logistic(intercept + sum_j weight_j * z_j)`` with ``z_j`` the feature
z-scored on the fit period. Its ``baseline`` is the value with every feature at its fit-period
mean (``100 * logistic(intercept)``). A component's logit contribution is the sum of
``weight_j * z_j`` over its features; in index points it is that times the secant slope of the
logistic between the baseline and the value, so the components add up to ``value - baseline``
exactly and each keeps its sign.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RECIPE_PATH = Path(__file__).with_name("data") / "fitted_index.json"
CREDIT = ("Fitted to the Crypto Fear & Greed Index published by alternative.me "
          "(https://alternative.me/crypto/fear-and-greed-index/), the target of the fit.")

# component → its features (names parsed by _feature: kind_window)
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "trend": tuple(f"gap_sma_{n}" for n in (7, 14, 30, 50, 90, 128, 200)),
    "momentum": tuple(f"ret_{n}" for n in (1, 3, 7, 14, 30, 60, 90)),
    "drawdown": tuple(f"dd_{n}" for n in (30, 90, 365)),
    "rsi": ("rsi_14", "rsi_30"),
    "volatility": ("vol_7", "vol_30", "vol_90", "volratio_7_30", "volratio_30_90"),
}
FIT_COMPONENTS = tuple(FEATURE_GROUPS)
COMPONENT_DESCRIPTION = {
    "trend": "log gaps of the close to its 7- to 200-day averages",
    "momentum": "1- to 90-day log returns",
    "drawdown": "log distance below the 30/90/365-day highs",
    "rsi": "RSI over 14 and 30 days",
    "volatility": "7/30/90-day realised volatility and its ratios",
}
FIT_START, FIT_END = "2018-02-01", "2022-12-31"
ALPHAS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
CV_YEARS = (2020, 2021, 2022)  # each validated on a model fitted from FIT_START to the year before


class RecipeError(ValueError):
    """A fitted-index recipe file that cannot be used (the message says why)."""


# --------------------------------------------------------------------------- features
def _rsi(close: pd.Series, n: int) -> pd.Series:
    """Wilder's relative strength index, 0-100."""
    d = close.diff()
    up = d.clip(lower=0).ewm(alpha=1 / n, min_periods=n, adjust=False).mean()
    down = (-d.clip(upper=0)).ewm(alpha=1 / n, min_periods=n, adjust=False).mean()
    return 100 - 100 / (1 + up / down.replace(0, np.nan))


def _feature(name: str, close: pd.Series, r: pd.Series) -> pd.Series:
    kind, *windows = name.rsplit("_", 2) if name.startswith("volratio") else name.rsplit("_", 1)
    if kind == "gap_sma":
        n = int(windows[0])
        return np.log(close / close.rolling(n, min_periods=n).mean())
    if kind == "ret":
        return np.log(close / close.shift(int(windows[0])))
    if kind == "dd":
        n = int(windows[0])
        return np.log(close / close.rolling(n, min_periods=n).max())
    if kind == "rsi":
        return _rsi(close, int(windows[0]))
    if kind == "vol":
        n = int(windows[0])
        return r.rolling(n, min_periods=n).std()
    if kind == "volratio":
        a, b = (int(w) for w in windows)
        return np.log(r.rolling(a, min_periods=a).std() / r.rolling(b, min_periods=b).std())
    raise RecipeError(f"unknown feature {name!r}")


def features(close: pd.Series, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Feature table of a daily close series (indexed by bar day): row D holds the features of
    the bars up to D-1, so the table runs one day past the last bar."""
    names = list(names) if names is not None else [f for g in FEATURE_GROUPS.values() for f in g]
    close = close.astype(float)
    close = close.where(close > 0)
    r = np.log(close).diff()
    table = pd.DataFrame({n: _feature(n, close, r) for n in names}, index=close.index)
    table = table.replace([np.inf, -np.inf], np.nan)
    table.index = pd.DatetimeIndex(table.index) + pd.Timedelta(days=1)
    table.index.name = "date"
    return table


def component_of(feature: str) -> str:
    return next(c for c, names in FEATURE_GROUPS.items() if feature in names)


# --------------------------------------------------------------------------- the recipe
@dataclass
class Recipe:
    """A fitted index: feature names, their fit-period means and scales, ridge weights on the
    z-scores and the intercept (logit space); ``info`` holds the fit's provenance."""

    names: list[str]
    means: np.ndarray
    scales: np.ndarray
    weights: np.ndarray
    intercept: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def components(self) -> list[str]:
        """The components the recipe's features belong to, in :data:`FIT_COMPONENTS` order."""
        have = {component_of(n) for n in self.names}
        return [c for c in FIT_COMPONENTS if c in have]

    @property
    def history_days(self) -> int:
        """Days of closes the features need before the first value (the longest window)."""
        return max(int(w) for n in self.names for w in n.split("_")[1:] if w.isdigit()) + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.info,
            "intercept": round(float(self.intercept), 8),
            "features": [{"name": n, "component": component_of(n), "mean": round(float(m), 10),
                          "scale": round(float(s), 10), "weight": round(float(w), 8)}
                         for n, m, s, w in zip(self.names, self.means, self.scales, self.weights)],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "recipe") -> Recipe:
        try:
            feats = list(data["features"])
            names = [str(f["name"]) for f in feats]
            for n in names:
                if not any(n in g for g in FEATURE_GROUPS.values()):
                    raise RecipeError(f"{source}: unknown feature {n!r}")
            recipe = cls(names, np.array([float(f["mean"]) for f in feats]),
                         np.array([float(f["scale"]) for f in feats]),
                         np.array([float(f["weight"]) for f in feats]), float(data["intercept"]),
                         {k: v for k, v in data.items() if k not in ("features", "intercept")})
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, RecipeError):
                raise
            raise RecipeError(f"{source}: not a fitted-index recipe (missing or malformed {exc})") from None
        if not names or (recipe.scales <= 0).any():
            raise RecipeError(f"{source}: a recipe needs features with positive scales")
        return recipe

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        return path


def load_recipe(path: str | Path | None = None) -> Recipe:
    """The packaged recipe, or one written by ``sentiment index fit`` elsewhere."""
    path = Path(path) if path is not None else RECIPE_PATH
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipeError(f"{path}: no such recipe file") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RecipeError(f"{path}: not a JSON recipe file") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: not a fitted-index recipe")
    return Recipe.from_dict(data, str(path))


# --------------------------------------------------------------------------- applying it
def apply(recipe: Recipe, close: pd.Series) -> pd.DataFrame:
    """The fitted index of a daily close series: ``value`` (0-100, unrounded), ``baseline`` and
    one column per component with its contribution in index points (they sum to value - baseline).
    Days without every feature (warm-up, price gaps) are left out."""
    x = features(close, recipe.names).dropna()
    z = (x.to_numpy() - recipe.means) / recipe.scales
    parts = z * recipe.weights
    logit_parts = pd.DataFrame(
        {c: parts[:, [i for i, n in enumerate(recipe.names) if component_of(n) == c]].sum(axis=1)
         for c in FIT_COMPONENTS}, index=x.index)
    b0 = recipe.intercept
    eta = b0 + logit_parts.sum(axis=1).to_numpy()
    value = 100.0 / (1.0 + np.exp(-eta))
    baseline = 100.0 / (1.0 + math.exp(-b0))
    d_eta = eta - b0
    tangent = baseline * (1 - baseline / 100.0)  # d value / d eta at the baseline
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(np.abs(d_eta) > 1e-9, (value - baseline) / d_eta, tangent)
    out = pd.DataFrame({"value": value, "baseline": baseline}, index=x.index)
    for c in recipe.components:
        out[c] = logit_parts[c].to_numpy() * slope
    out.index.name = "date"
    return out


# --------------------------------------------------------------------------- fitting it
def logit_target(values: pd.Series) -> pd.Series:
    """ln(p / (1 - p)) of a published 0-100 value, p clipped to [0.01, 0.99]."""
    p = values.astype(float).clip(1, 99) / 100.0
    return np.log(p / (1 - p))


def _ridge(z: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Ridge weights on centred columns with an unpenalised intercept."""
    zm, ym = z.mean(axis=0), y.mean()
    zc, yc = z - zm, y - ym
    w = np.linalg.solve(zc.T @ zc + alpha * np.eye(z.shape[1]), zc.T @ yc)
    return w, float(ym - zm @ w)


def _fit(x: pd.DataFrame, y: pd.Series, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    means = x.mean().to_numpy()
    scales = x.std().replace(0, 1.0).to_numpy()
    w, b = _ridge((x.to_numpy() - means) / scales, y.to_numpy(), alpha)
    return means, scales, w, b


def _predict(x: pd.DataFrame, means: np.ndarray, scales: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    eta = b + ((x.to_numpy() - means) / scales) @ w
    return 100.0 / (1.0 + np.exp(-eta))


def _cv_mae(xs: pd.DataFrame, y: pd.Series, target: pd.Series, folds: Sequence[int],
            alphas: Sequence[float]) -> tuple[float, float, dict[str, float]]:
    """(best mean validation MAE, its penalty, MAE by penalty) of expanding-window year folds."""
    years = xs.index.year
    by_alpha: dict[str, float] = {}
    for alpha in alphas:
        errors = []
        for yr in folds:
            tr, va = years < yr, years == yr
            m, s, w, b = _fit(xs[tr], y[tr], alpha)
            errors.append(float(np.abs(_predict(xs[va], m, s, w, b) - target[va]).mean()))
        by_alpha[f"{alpha:g}"] = round(float(np.mean(errors)), 4)
    best = min(alphas, key=lambda a: by_alpha[f"{a:g}"])
    return by_alpha[f"{best:g}"], best, by_alpha


def fit_recipe(close: pd.Series, published: pd.DataFrame, *, asset: str = "BTC",
               start: str = FIT_START, end: str = FIT_END,
               alphas: Sequence[float] = ALPHAS, cv_years: Sequence[int] = CV_YEARS) -> Recipe:
    """Fit the index to ``published`` (columns ``date, value``) over ``start``..``end`` only.

    Choices are made by time-series cross-validation inside that period: for each year of
    ``cv_years`` a model fitted from ``start`` to the end of the year before predicts that year,
    scored by the mean absolute error in index points over those years. Starting from all five
    components, the component whose removal lowers that error most is dropped, as long as one
    does; the ridge penalty is the best of ``alphas`` for each candidate. The chosen model is
    then refitted on the whole period. Nothing after ``end`` is read."""
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    x = features(close[close.index <= hi])
    pub = published.assign(date=pd.to_datetime(published["date"])).set_index("date")["value"]
    data = x.join(pub.rename("target"), how="inner").dropna()
    data = data[(data.index >= lo) & (data.index <= hi)]
    if len(data) < 365:
        raise ValueError(f"only {len(data)} days with every feature and a published value in "
                         f"{lo.date()}..{hi.date()}: the fit needs at least a year")
    xs, y, target = data.drop(columns="target"), logit_target(data["target"]), data["target"]
    years = data.index.year
    folds = [yr for yr in cv_years if (years == yr).sum() >= 60 and (years < yr).sum() >= 365]
    if not folds:
        raise ValueError(f"no cross-validation year in {lo.date()}..{hi.date()} has a year of data before it")

    def score(components: Sequence[str]) -> tuple[float, float, dict[str, float]]:
        cols = [f for c in components for f in FEATURE_GROUPS[c]]
        return _cv_mae(xs[cols], y, target, folds, alphas)

    kept = list(FIT_COMPONENTS)
    best_mae, best_alpha, by_alpha = score(kept)
    steps = [{"components": list(kept), "cv_mae": best_mae, "alpha": best_alpha}]
    while len(kept) > 1:
        trials = {c: score([k for k in kept if k != c]) for c in kept}
        drop = min(trials, key=lambda c: trials[c][0])
        if trials[drop][0] >= best_mae:
            break
        kept.remove(drop)
        best_mae, best_alpha, by_alpha = trials[drop]
        steps.append({"dropped": drop, "components": list(kept), "cv_mae": best_mae, "alpha": best_alpha})
    cols = [f for c in kept for f in FEATURE_GROUPS[c]]
    means, scales, w, b = _fit(xs[cols], y, best_alpha)
    fit_mae = float(np.abs(_predict(xs[cols], means, scales, w, b) - target).mean())
    info = {
        "description": "Fitted Fear & Greed index: ridge regression of the logit of the published value "
                       "on one asset's daily-close features (sentiment.market.fitted).",
        "credit": CREDIT,
        "asset": asset.upper(),
        "fit_start": str(data.index.min().date()),
        "fit_end": str(data.index.max().date()),
        "fit_days": len(data),
        "target": "logit(clip(published value, 1, 99) / 100)",
        "components": kept,
        "alpha": best_alpha,
        "cv": {"years": folds, "rule": "expanding-window year folds; drop the component whose removal "
               "lowers the mean validation MAE most while one does; best ridge penalty per candidate",
               "steps": steps, "mae_by_alpha": by_alpha},
        "fit_mae": round(fit_mae, 3),
    }
    return Recipe(cols, means, scales, w, b, info)
