"""Money, percentages and counts as news writes them (sentiment.extract.numbers)."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentiment.extract.numbers import find_quantities, format_money, parse_money, parse_percent


@pytest.mark.parametrize("text, value", [
    ("$1.279 billion", 1.279e9),
    ("$33.9587 million", 33_958_700.0),
    ("the $110,000 mark", 110_000.0),
    ("below $105,000", 105_000.0),
    ("$0.42", 0.42),
    ("46,000 Bitcoins", 46_000.0),
    ("1.1 zettahashes", 1.1),
    ("$1.2B", 1.2e9),
    ("$946M", 946e6),
    ("1.5 million", 1.5e6),
    ("10k", 10_000.0),
    ("€2 billion", 2e9),
    ("US$5 million", 5e6),
    ("$5m in fees", 5e6),
    ("USD 3 billion", 3e9),
    ("a $2.5 trillion market", 2.5e12),
    ("Adds $765 Million in Q3", 765e6),          # headline case
    ("3 Billion Dollars", 3e9),
    ("-US$5 million", -5e6),
    ("a -$2.5M swing", -2.5e6),
])
def test_parse_money(text: str, value: float) -> None:
    assert parse_money(text) == pytest.approx(value)


def test_currency_and_kind() -> None:
    q = find_quantities("€2 billion and $5 and 9% and 300 people")
    assert [(x.kind, x.currency) for x in q] == [("money", "EUR"), ("money", "USD"), ("percent", None),
                                                   ("number", None)]


@pytest.mark.parametrize("text, value", [("nearly 9%", 9.0), ("-3.2%", -3.2), ("+5.5 %", 5.5),
                                          ("12 percent", 12.0), ("down 7.06 per cent", 7.06)])
def test_parse_percent(text: str, value: float) -> None:
    assert parse_percent(text) == pytest.approx(value)


def test_ranges_are_marked_not_negative() -> None:
    q = find_quantities("memecoins shed 30-40% of their value")
    assert [x.range for x in q] == [True, True]
    assert all(x.value > 0 for x in q)


@pytest.mark.parametrize("text", ["1INCH", "ETH2", "3x leverage", "no numbers here", "", "💥🚀"])
def test_names_and_junk_are_not_amounts(text: str) -> None:
    assert parse_money(text) is None
    assert find_quantities(text) == []


def test_lone_scale_letters_need_a_currency() -> None:
    assert parse_money("5 m away") == 5.0  # "m" is metres here, not million
    assert parse_money("$5 m") == 5.0


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, max_value=10**13, places=2, allow_nan=False, allow_infinity=False))
def test_round_trip_plain(value) -> None:  # type: ignore[no-untyped-def]
    v = float(value)
    assert parse_money(format_money(v)) == pytest.approx(v, abs=0.005)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0.01, max_value=9e14, allow_nan=False, allow_infinity=False))
def test_round_trip_compact(v: float) -> None:
    text = format_money(v, compact=True)
    assert math.isclose(parse_money(text) or 0.0, v, rel_tol=1e-9, abs_tol=0.005), text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_never_raises_on_arbitrary_text(text: str) -> None:
    for q in find_quantities(text):
        assert 0 <= q.start < q.end <= len(text)
        assert math.isfinite(q.value)
