"""research/tools/review_sample.py: the seeded sample, the review sheet and the precision tally that the
README's extraction precision figures come from."""
from __future__ import annotations

import importlib.util
import json

from helpers import ROOT


def _module():
    path = ROOT / "research" / "tools" / "review_sample.py"
    spec = importlib.util.spec_from_file_location("review_sample", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_draw_is_seeded_distinct_and_strips_the_publisher(tmp_path):
    rs = _module()
    rows = ["title"] + [f"Headline {i} - Publisher" for i in range(30)] + ["Headline 3 - Publisher", ""]
    (tmp_path / "news.csv").write_text("\n".join(rows), encoding="utf-8")
    first = rs.draw(tmp_path / "news.csv", "title", 10, seed=7, strip_suffix=" - ")
    assert first == rs.draw(tmp_path / "news.csv", "title", 10, seed=7, strip_suffix=" - ")
    assert len(set(first)) == 10 and all(t.startswith("Headline ") and " - " not in t for t in first)
    assert first != rs.draw(tmp_path / "news.csv", "title", 10, seed=8, strip_suffix=" - ")
    assert len(rs.draw(tmp_path / "news.csv", "title", 100, seed=7)) == 30   # no more than there are
    later = rs.draw(tmp_path / "news.csv", "title", 10, seed=7, strip_suffix=" - ", exclude=set(first[:4]))
    assert later[:6] == first[4:] and not set(later) & set(first[:4])       # the same order, minus those read
    sheet = "# Extraction review\n\n## 1. Headline 3\n\n(nothing found)\n\n## 2. Headline 12\n"
    assert rs.sheet_texts(sheet) == {"Headline 3", "Headline 12"}


def test_sheet_lists_what_the_extractor_found_and_tally_counts_the_marks(tmp_path, capsys):
    rs = _module()
    text = rs.sheet(["Bitcoin fell 5% to $100,000 after ETF outflows.", "Fitch publishes a dashboard."])
    assert "- [ ] assets: BTC" in text and "- [ ] moves: BTC down -5% to 100000" in text
    assert "- [ ] causes: etf_outflow" in text and "(nothing found)" in text
    marked = (text.replace("- [ ] assets: BTC", "- [x] assets: BTC")
                  .replace("- [ ] moves: BTC", "- [-] moves: BTC")
                  .replace("- [ ] causes: etf_outflow", "- [?] causes: etf_outflow"))
    got = rs.tally(marked)
    assert got["assets"]["correct"] == 1 and got["assets"]["precision"] == 1.0
    assert got["moves"]["wrong"] == 1 and got["moves"]["precision"] == 0.0
    assert got["causes"]["debatable"] == 1 and got["causes"]["precision"] is None
    (tmp_path / "sheet.md").write_text(marked, encoding="utf-8")
    assert rs.main(["tally", str(tmp_path / "sheet.md")]) == 0
    assert json.loads(capsys.readouterr().out)["assets"]["items"] == 1
