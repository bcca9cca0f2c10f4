"""The dashboard's SVG charts: well-formed, accessible, escaped, CSP-safe, values to scale."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ledger.api.dashboard.svg import BAR_WIDTH, LEFT, RIGHT, Series, bar_chart, line_chart

NS = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_a_bar_chart_draws_each_value_to_scale_with_its_label_and_text_alternative():
    svg = bar_chart("Recovery rate", [("cards", 0.5), ("loans", 0.25), ("auto", None)],
                    ident="r", maximum=1.0)
    root = _parse(svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "r-t r-d"
    assert root.find(f"{NS}title").text == "Recovery rate"
    assert root.find(f"{NS}desc").text == "cards: 50.0%; loans: 25.0%; auto: n/a"
    widths = [float(r.get("width")) for r in root.iter(f"{NS}rect")]
    span = BAR_WIDTH - LEFT - RIGHT
    assert widths == [span * 0.5, span * 0.25]
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert {"cards", "loans", "auto", "50.0%", "25.0%", "n/a"} <= set(texts)


def test_chart_text_is_escaped_and_nothing_needs_inline_style_or_script():
    evil = '<script>alert(1)</script>" onload="x'
    for svg in (bar_chart(evil, [(evil, 1.0)], ident="e"),
                line_chart(evil, [Series(evil, [(0, 0.1), (1, 0.2)])], ident="l", x_label=evil)):
        _parse(svg)  # still well-formed XML
        assert "<script" not in svg and "style=" not in svg and "onload=\"x" not in svg


def test_a_line_chart_places_points_by_value_and_breaks_at_gaps():
    svg = line_chart("Liquidation", [Series("2026-01", [(0, 0.0), (1, 0.1), (2, None), (3, 0.2)]),
                                     Series("2026-02", [(0, 0.05)])],
                     ident="c", x_label="months since placement")
    root = _parse(svg)
    lines = list(root.iter(f"{NS}polyline"))
    assert len(lines) == 1  # the gap splits 2026-01; (3, 0.2) alone and 2026-02 alone are dots
    assert len(list(root.iter(f"{NS}circle"))) == 4  # one per known value
    ys = [float(c.get("cy")) for c in root.iter(f"{NS}circle")]
    assert ys[0] > ys[1] > ys[2]  # higher rates are drawn higher up
    assert "2026-01: 0→0.0%, 1→10.0%, 2→n/a, 3→20.0%" in root.find(f"{NS}desc").text


def test_empty_charts_say_there_is_no_data():
    for svg in (bar_chart("x", [], ident="a"), line_chart("y", [], ident="b", x_label="m")):
        assert re.search(r">no data<", svg)
        _parse(svg)
