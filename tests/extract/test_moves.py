"""Price moves, price levels and sector moves (crypto_moves, crypto_sectors)."""
from __future__ import annotations

import pytest

from sentiment.extract import Extractor
from sentiment.schema import Move


@pytest.fixture(scope="module")
def ex() -> Extractor:
    return Extractor()


def moves(ex: Extractor, text: str) -> set[tuple]:
    return {(m.asset, m.direction, m.change_pct, m.from_price, m.to_price, m.change_abs) for m in ex(text).moves}


def test_list_of_assets_shares_a_move(ex: Extractor) -> None:
    got = moves(ex, "As of the time of writing, XRP was down 7.5%, while BNB, Cardano, and Dogecoin were down "
                    "over 8%, and Solana was down over 11%.")
    assert got == {("XRP", "down", -7.5, None, None, None), ("BNB", "down", -8.0, None, None, None),
                   ("ADA", "down", -8.0, None, None, None), ("DOGE", "down", -8.0, None, None, None),
                   ("SOL", "down", -11.0, None, None, None)}


def test_from_to_and_absolute_change(ex: Extractor) -> None:
    got = moves(ex, "Bitcoin plummeted from the $110,000 mark to below $105,000, falling over $5,000 in a single day.")
    assert got == {("BTC", "down", None, 110000.0, 105000.0, -5000.0)}


def test_move_relative_to_a_high(ex: Extractor) -> None:
    e = ex("Ethereum was down about 25% from its high of $4,885 on August 22.")
    assert [(m.asset, m.change_pct, m.from_price) for m in e.moves] == [("ETH", -25.0, 4885.0)]
    assert [(lv.asset, lv.price, lv.kind) for lv in e.levels] == [("ETH", 4885.0, "high")]


def test_asset_inside_a_sector_sentence(ex: Extractor) -> None:
    e = ex("The SocialFi sector led the decline with a drop of 10.1%, with Toncoin (TON) within that sector "
           "falling by 10.67%.")
    assert [(m.asset, m.change_pct) for m in e.moves] == [("TON", -10.67)]
    assert [(s.name, s.change_pct) for s in e.sectors] == [("SocialFi", -10.1)]


@pytest.mark.parametrize("text, expected", [
    ("Solana surged 12% on Monday.", ("SOL", "up", 12.0)),
    ("Dogecoin slid 4.2% overnight.", ("DOGE", "down", -4.2)),
    ("XRP rallied 6%.", ("XRP", "up", 6.0)),
    ("Cardano tumbled 9% after the news.", ("ADA", "down", -9.0)),
    ("Ether edged up 0.4% in Asian hours.", ("ETH", "up", 0.4)),
    ("Bitcoin was unchanged on the day.", ("BTC", "flat", 0.0)),
    ("BNB -3.1% on the day.", ("BNB", "down", -3.1)),
    ("AVAX +5.6% after the upgrade.", ("AVAX", "up", 5.6)),
    ("Litecoin posted a 7% gain.", ("LTC", "up", 7.0)),
    ("A 5% drop in Bitcoin rattled traders.", ("BTC", "down", -5.0)),
    ("BTC fell 3%, ETH 5% and SOL 8%.", ("SOL", "down", -8.0)),
])
def test_direction_words_and_signs(ex: Extractor, text: str, expected: tuple) -> None:
    got = {(m.asset, m.direction, m.change_pct) for m in ex(text).moves}
    assert expected in got


@pytest.mark.parametrize("text, expected", [
    ("Ethereum prices soar over $3,200 on Monday.", ("ETH", "up", None, 3200.0, None)),
    ("Bitcoin drops below $54K as stocks sell off.", ("BTC", "down", None, 54000.0, None)),
    ("Bitcoin fell from $87,000 to $84,500, shedding over $2,500 in an hour.", ("BTC", "down", 87000.0, 84500.0, -2500.0)),
])
def test_crossing_a_level_or_changing_by_an_amount(ex: Extractor, text: str, expected: tuple) -> None:
    assert {(m.asset, m.direction, m.from_price, m.to_price, m.change_abs) for m in ex(text).moves} == {expected}


@pytest.mark.parametrize("text, expected", [
    ("Solana tumbled after the outage.", ("SOL", "down")),
    ("Ethereum, despite its robust ecosystem, saw significant losses.", ("ETH", "down")),
    ("Cardano and Polkadot rallied on the news.", ("DOT", "up")),
])
def test_direction_only_move_from_the_parse(ex: Extractor, text: str, expected: tuple) -> None:
    got = {(m.asset, m.direction) for m in ex(text).moves}
    assert expected in got
    assert all(m.change_pct is None for m in ex(text).moves)


@pytest.mark.parametrize("text", [
    "If selling pressure increases, Bitcoin may drop 10%.",
    "Analysts expect Ether could rally 20% by year end.",
    "Bitcoin did not fall after the report.",
    "Circle closed down over 7% on Monday, Coinbase down nearly 4%.",
    "Over 90% of whom were long positions.",
    "Meme coins shed 30-40% of their value.",
    "Ripple adds $700 million to the stablecoin supply.",
    "The Blast team shuts down its network next month.",
    "The XRP Ledger's activity metric shows a 55% increase.",
    "Aave posts a huge 40% volume increase.",
    "Dogecoin gains more ground with new apps.",
    "Bitcoin shrugs off the sell-off as 7.5% US inflation fails to keep it down.",
    "Tether's stablecoin dominance drops below 80% as questions linger.",
    "Ethereum dapp volume rises 2,853%, a new report claims.",
])
def test_not_moves(ex: Extractor, text: str) -> None:
    assert ex(text).moves == []


def test_another_subjects_move_is_not_the_assets(ex: Extractor) -> None:
    e = ex("Bitcoin dropped 2.7% after the consumer price index rose 3.4%, hotter than the 3.1% expected.")
    assert [(m.asset, m.change_pct) for m in e.moves] == [("BTC", -2.7)]


def test_change_pct_is_signed_and_moves_are_records(ex: Extractor) -> None:
    e = ex("Bitcoin fell 4% while Ether rose 2%.")
    assert all(isinstance(m, Move) for m in e.moves)
    assert {(m.asset, m.change_pct) for m in e.moves} == {("BTC", -4.0), ("ETH", 2.0)}
    assert all(m.text == "Bitcoin fell 4% while Ether rose 2%." for m in e.moves)


@pytest.mark.parametrize("text, expected", [
    ("Ethereum fell, breaking below the critical support level of $3,600.", ("ETH", 3600.0, "support")),
    ("The 200-day moving average at $109,800 had served as support for Bitcoin.", ("BTC", 109800.0, "moving_average")),
    ("She added that Bitcoin's next support level is around $94,200.", ("BTC", 94200.0, "support")),
    ("If selling pressure increases further, Bitcoin's price may drop towards $100,000.", ("BTC", 100000.0, "target")),
    ("Bitcoin was down over 3%, priced at $106,200.", ("BTC", 106200.0, "price")),
    ("Ether faces resistance at $4,100.", ("ETH", 4100.0, "resistance")),
    ("Bitcoin hit a low below $105,000.", ("BTC", 105000.0, "low")),
    ("Solana set a new all-time high at $295.", ("SOL", 295.0, "high")),
    ("Ether's next support sits at $2,900; a break below it would open the way to $2,650.", ("ETH", 2650.0, "target")),
])
def test_levels(ex: Extractor, text: str, expected: tuple) -> None:
    assert expected in {(lv.asset, lv.price, lv.kind) for lv in ex(text).levels}


def test_level_asset_carries_from_the_previous_sentence(ex: Extractor) -> None:
    e = ex("Bitcoin fluctuated around $105,000 all day. If the support at $105,000 is breached, losses may deepen.")
    assert ("BTC", 105000.0, "support") in {(lv.asset, lv.price, lv.kind) for lv in e.levels}


def test_large_amounts_are_not_levels(ex: Extractor) -> None:
    e = ex("Bitcoin ETFs saw outflows of $946 million, and the largest liquidation was valued at $33.9 million.")
    assert e.levels == []


def test_sector_list(ex: Extractor) -> None:
    e = ex("The PayFi sector dropped 5.55%, the CeFi sector fell 6.54%, the Meme sector decreased by 6.92%, the "
           "Layer1 sector was down 7.06%, the DeFi sector fell 7.66%, and the Layer2 sector dropped 8.48%.")
    assert [(s.name, s.change_pct) for s in e.sectors] == [
        ("PayFi", -5.55), ("CeFi", -6.54), ("Meme", -6.92), ("Layer1", -7.06), ("DeFi", -7.66), ("Layer2", -8.48)]
    assert e.moves == []


@pytest.mark.parametrize("text, name", [
    ("Layer-2 tokens rallied 4%.", "Layer2"), ("L2 tokens rallied 4%.", "Layer2"),
    ("Memecoins rallied 4%.", "Meme"), ("AI tokens rallied 4%.", "AI"), ("RWA tokens rallied 4%.", "RWA"),
    ("GameFi tokens rallied 4%.", "GameFi"), ("DePIN tokens rallied 4%.", "DePIN"),
])
def test_sector_aliases(ex: Extractor, text: str, name: str) -> None:
    assert [(s.name, s.change_pct) for s in ex(text).sectors] == [(name, 4.0)]


def test_weak_sector_words_need_context(ex: Extractor) -> None:
    assert ex("AI is changing how traders read the news; an NFT was sold.").sectors == []


# ------------------------------------------------------------------ real headlines once misread
# (rss_feeds_real, CryptoPanic and DS4A headlines, reviewed 2026-12-06)
@pytest.mark.parametrize("text", [
    "The U.S. Unemployment Rate comes in at 4.2% as Bitcoin waits",        # a ratio's reading
    "Bitcoin dominance is closing in on 60% while USDT's has slipped to 6.3%",
    "ChainLink (LINK) Drops 58% in Volume as traders wait",                # a metric, not the price
    "Stellar (XLM), XRP Rallies Are Ending: 160% in Exchange Deposits",
    "Will Cardano fall by 20% soon?",                                       # questions and forecasts
    "Bitcoin Risks 20% Drop as miners sell",
    "Cardano (ADA) Set for 42% Rally",
    "ETH held in accumulation wallets jumps 65%",                           # the holdings move
    "Bitcoin, Ethereum and Tether witness drop in whale transactions",
    "Why a Bitcoin Crash May Be Imminent",                                   # headline nouns and modals
    "Bitcoin Rally Fades as Traders Take Profit",
    "MakerDAO's DAI Fell Behind Terra's UST Months Ago",
    "The Bitcoin crash of 2018 taught traders a lesson.",
    "Dogecoin Gains More US Ground: Fully Regulated Perps Now Live",
])
def test_real_headlines_that_are_not_price_moves(ex: Extractor, text: str) -> None:
    assert ex(text).moves == []


@pytest.mark.parametrize("text, expected", [
    ("Ethereum Price Drop By 15%, While Bitgert Price Has Risen 60%", {("ETH", -15.0)}),
    ("Near Protocol has slipped about 15% this month after a 200%+ August surge", {("NEAR", -15.0)}),
    ("Cardano Midnight (NIGHT) Rallies 86%", {("NIGHT", 86.0)}),
    ("Santiment tied SKY's 14% weekly gain to whale buying", {("SKY", 14.0)}),
    ("Cardano (ADA) Skyrockets 8% on the day", {("ADA", 8.0)}),
])
def test_real_headlines_whose_move_belongs_to_the_right_asset(ex: Extractor, text: str, expected: set) -> None:
    assert {(m.asset, m.change_pct) for m in ex(text).moves if m.change_pct is not None} == expected


@pytest.mark.parametrize("text, expected", [
    # direction-only moves in headlines the parse misses (title case, lists, "(TICKER)", "Price")
    ("Cardano, Dogecoin and XRP Surge Overnight", {("ADA", "up"), ("DOGE", "up"), ("XRP", "up")}),
    ("Ripple Partners with Bhutan's Central Bank, XRP Jumps", {("XRP", "up")}),
    ("XRP tumbles despite former Amazon exec joining Ripple as engineering lead", {("XRP", "down")}),
    ("Chainlink (LINK) Rallies as Market Cap Surpasses Litecoin", {("LINK", "up")}),
    ("Bitcoin (BTC) Price Spikes As Elon Musk Changes Twitter Bio", {("BTC", "up")}),
])
def test_headline_direction_moves(ex: Extractor, text: str, expected: set) -> None:
    assert {(m.asset, m.direction) for m in ex(text).moves} == expected


@pytest.mark.parametrize("text, expected", [
    ("Bitcoin briefly tops $86,000 after the jobs report", ("BTC", 86000.0, "price")),
    ("Analysts expect XRP to hit $9 next year", ("XRP", 9.0, "target")),
    ("Cardano Bulls Aim For $1.26", ("ADA", 1.26, "target")),
])
def test_real_headline_levels(ex: Extractor, text: str, expected: tuple) -> None:
    assert expected in {(lv.asset, lv.price, lv.kind) for lv in ex(text).levels}


@pytest.mark.parametrize("text", [
    "Near fell from its $5.58 local high to $4.78 on Friday",                # 4.78 is not a high
    "Top cryptocurrency prices today: Bitcoin near $44,000",
])
def test_a_level_kind_comes_from_its_own_phrase(ex: Extractor, text: str) -> None:
    kinds = {(lv.price, lv.kind) for lv in ex(text).levels}
    assert not any(kind == "high" and price in (4.78, 44000.0) for price, kind in kinds)


def test_a_level_is_not_carried_into_an_unrelated_sentence(ex: Extractor) -> None:
    e = ex("Bitcoin rose 2% on Monday. Nvidia said demand is strong. B300 prices climbed toward $69,000.")
    assert not [lv for lv in e.levels if lv.price == 69000.0 and lv.asset == "BTC"]
