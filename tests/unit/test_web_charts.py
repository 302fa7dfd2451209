"""The console's server-drawn SVG charts: well-formed pictures of the numbers, and honest axes."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from markupsafe import Markup

from creditflow.web.charts import PALETTE, Series, bars, daily_bars, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [date(2026, 1, 1) + timedelta(days=n) for n in range(7)]


def parse(markup: Markup) -> tuple[ET.Element, ET.Element]:
    """The chart's <svg> element and the whole fragment (the svg and its legend)."""
    assert isinstance(markup, Markup)
    fragment = ET.fromstring(f"<div>{markup}</div>")  # raises on anything not well formed
    svg = fragment[0]
    assert svg.tag in ("svg", f"{SVG}svg")
    return svg, fragment


def local(element: ET.Element) -> str:
    return element.tag.removeprefix(SVG)


def children(svg: ET.Element, tag: str) -> list[ET.Element]:
    return [e for e in svg.iter() if local(e) == tag]


def height_of(rect: ET.Element) -> float:
    return float(rect.attrib["height"])


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [
        (-5, 1),
        (0, 1),
        (1, 1),
        (2, 2),
        (3, 5),
        (5, 5),
        (6, 10),
        (10, 10),
        (11, 20),
        (20, 20),
        (21, 50),
        (51, 100),
        (101, 200),
        (999, 1000),
        (1001, 2000),
        (4_999_999, 5_000_000),
        (5_000_001, 10_000_000),
    ],
)
def test_nice_ceiling_is_the_next_one_two_or_five_times_a_power_of_ten(
    value: int, ceiling: int
) -> None:
    assert nice_ceiling(value) == ceiling


def test_nice_ceiling_is_never_below_the_value_and_never_more_than_two_and_a_half_times_it() -> (
    None
):
    for value in range(1, 5000):
        top = nice_ceiling(value)
        assert value <= top <= value * 2.5, value


def test_daily_bars_draw_one_titled_rect_per_nonzero_value_stacked_by_series() -> None:
    granted = Series("purchased", {DAYS[0]: 30, DAYS[2]: 10, DAYS[3]: 0})
    promo = Series("promo", {DAYS[0]: 10, DAYS[5]: 5})
    svg, fragment = parse(daily_bars("Credits granted per day", DAYS, [granted, promo]))
    assert svg.attrib["role"] == "img"
    assert svg.attrib["aria-label"] == "Credits granted per day"
    rects = children(svg, "rect")
    assert len(rects) == 4  # 30, 10 and 10, 5: none for the zero, none for days without data
    titles = ["".join(r.itertext()).strip() for r in rects]
    assert titles == [
        "purchased 1 Jan: 30",
        "promo 1 Jan: 10",
        "purchased 3 Jan: 10",
        "promo 6 Jan: 5",
    ]
    assert [r.attrib["fill"] for r in rects] == [PALETTE[0], PALETTE[1], PALETTE[0], PALETTE[1]]
    # Heights in proportion to the values; the stack of the first day sits bar upon bar.
    first, second, third, fourth = rects
    assert height_of(first) == pytest.approx(3 * height_of(second), rel=0.01)
    assert height_of(second) == pytest.approx(height_of(third), rel=0.01)
    assert height_of(third) == pytest.approx(2 * height_of(fourth), rel=0.01)
    assert float(second.attrib["y"]) + height_of(second) == pytest.approx(float(first.attrib["y"]))
    assert first.attrib["x"] == second.attrib["x"] != third.attrib["x"]
    # The legend names each series (outside the picture, hidden from screen readers).
    legend = fragment[1]
    assert legend.attrib["aria-hidden"] == "true"
    assert "".join(legend.itertext()) == "purchasedpromo"


def test_the_tallest_stack_reaches_the_top_of_the_axis_at_a_nice_value() -> None:
    svg, _ = parse(daily_bars("Spent", DAYS, [Series("used", {DAYS[1]: 40, DAYS[4]: 50})]))
    tallest = max(children(svg, "rect"), key=height_of)
    labels = [t for t in children(svg, "text") if t.attrib.get("text-anchor") == "end"]
    top_label = min(labels, key=lambda t: float(t.attrib["y"]))
    assert top_label.text == "50"
    grid = [float(line.attrib["y1"]) for line in children(svg, "line")]
    assert float(tallest.attrib["y"]) == pytest.approx(min(grid), abs=0.1)


def y_axis(svg: ET.Element) -> list[tuple[float, str]]:
    """(gridline height, label) from the bottom up."""
    lines = [float(line.attrib["y1"]) for line in children(svg, "line")]
    labels = [t.text or "" for t in children(svg, "text") if t.attrib.get("text-anchor") == "end"]
    assert len(lines) == len(labels)
    return sorted(zip(lines, labels, strict=True), reverse=True)


@pytest.mark.parametrize("peak", [1, 2, 3, 7, 10, 17, 20, 45, 100, 180, 500, 1234])
def test_each_gridline_is_labelled_with_the_value_it_stands_at(peak: int) -> None:
    svg, _ = parse(daily_bars("Jobs", DAYS, [Series("jobs", {DAYS[0]: peak})]))
    axis = y_axis(svg)
    values = [int(label.replace(",", "")) for _, label in axis]
    assert values[0] == 0 and values[-1] == nice_ceiling(peak)
    assert len(set(values)) == len(values), f"a value labelled twice: {values}"
    steps = {b - a for a, b in itertools.pairwise(values)}
    assert len(steps) == 1, f"gridlines unevenly labelled: {values}"
    bottom, top = axis[0][0], axis[-1][0]
    for y, label in axis:  # each line as high up as its value is
        value = int(label.replace(",", ""))
        assert (bottom - y) / (bottom - top) == pytest.approx(value / values[-1], abs=0.002)


def test_money_axes_and_titles_are_written_by_the_label_function() -> None:
    def dollars(cents: int) -> str:
        return f"${cents / 100:,.2f}"

    svg, _ = parse(daily_bars("Revenue", DAYS, [Series("revenue", {DAYS[2]: 1999})], label=dollars))
    (rect,) = children(svg, "rect")
    assert "".join(rect.itertext()) == "revenue 3 Jan: $19.99"
    assert [label for _, label in y_axis(svg)][-1] == "$20.00"


def test_big_numbers_are_shortened_on_the_axis() -> None:
    svg, _ = parse(daily_bars("Spent", DAYS, [Series("used", {DAYS[0]: 1_500_000})]))
    assert [label for _, label in y_axis(svg)][-1] == "2M"
    svg, _ = parse(daily_bars("Spent", DAYS, [Series("used", {DAYS[0]: 42_000})]))
    assert [label for _, label in y_axis(svg)][-1] == "50k"


def test_an_empty_chart_is_still_a_valid_picture_with_no_bars() -> None:
    svg, fragment = parse(daily_bars("Nothing yet", DAYS, []))
    assert children(svg, "rect") == [] and len(fragment) == 1  # and no legend
    svg, _ = parse(daily_bars("Nothing yet", [], [Series("x", {})]))
    assert children(svg, "rect") == []
    svg, _ = parse(bars("Nothing yet", []))
    assert children(svg, "rect") == []


def test_names_are_escaped_not_injected() -> None:
    name = '<script>alert("x")</script> & co'
    svg, fragment = parse(daily_bars(name, DAYS, [Series(name, {DAYS[0]: 3})]))
    assert svg.attrib["aria-label"] == name
    (rect,) = children(svg, "rect")
    assert "".join(rect.itertext()).startswith(name)
    assert children(fragment, "script") == []
    svg, fragment = parse(bars(name, [(name, 2)]))
    assert children(fragment, "script") == []
    assert name in ["".join(t.itertext()) for t in children(svg, "text")]


def test_bars_draw_one_rect_per_nonzero_count_with_its_label_and_count() -> None:
    rows = [("under a day", 12), ("1-3 days", 0), ("over 3 days", 3), ("overdue", 20)]
    svg, fragment = parse(bars("Open refund requests by age", rows))
    assert svg.attrib["aria-label"] == "Open refund requests by age"
    assert len(fragment) == 1  # no legend
    rects = children(svg, "rect")
    assert len(rects) == 3  # a count of 0 is written, not drawn
    texts = [t.text for t in children(svg, "text")]
    assert texts == ["under a day", "12", "1-3 days", "0", "over 3 days", "3", "overdue", "20"]
    widths = [float(r.attrib["width"]) for r in rects]
    assert widths[0] == pytest.approx(4 * widths[1], rel=0.05)
    assert widths[2] > widths[0]
    # Rows go down the picture one under the other, and the picture is tall enough for them.
    ys = [float(r.attrib["y"]) for r in rects]
    assert ys == sorted(ys)
    assert float(svg.attrib["viewBox"].split()[3]) > max(ys) + 18


def test_a_tiny_count_beside_a_huge_one_still_shows_a_bar() -> None:
    svg, _ = parse(bars("Outcomes", [("approved", 100_000), ("denied", 1)]))
    widths = [float(r.attrib["width"]) for r in children(svg, "rect")]
    assert len(widths) == 2 and widths[1] >= 1
