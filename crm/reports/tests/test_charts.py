"""The SVG charts, read back as XML: geometry, text, links and escaping. No database."""

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation
from django.utils.formats import reset_format_cache
from django.utils.safestring import SafeString

from crm.reports.charts import (
    axis_ticks,
    bar_chart,
    format_value,
    funnel_chart,
    funnel_conversions,
    line_chart,
    top_series,
)
from crm.reports.selectors import Chart

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
NBSP = "\xa0"


@pytest.fixture(autouse=True)
def english():
    """The source texts ("No data"); numbers keep the project's Spanish format in English."""
    with translation.override("en"):
        yield


@pytest.fixture
def django_english_formats(settings):
    """Django's own English number formats (1,234.50) instead of the project's."""
    original = settings.FORMAT_MODULE_PATH
    settings.FORMAT_MODULE_PATH = None
    reset_format_cache()
    yield
    settings.FORMAT_MODULE_PATH = original
    reset_format_cache()


def near(value: float):
    """Coordinates are written to two decimals."""
    return pytest.approx(value, abs=0.02)


def parse(svg) -> ET.Element:
    return ET.fromstring(str(svg))  # noqa: S314 - our own output, not untrusted XML


def bars(root: ET.Element) -> list[ET.Element]:
    return [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == "chart-bar"]


def texts(root: ET.Element) -> list[str]:
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def tooltip(node: ET.Element) -> str:
    return node.find(f"{SVG}title").text


def zero_line_y(root: ET.Element) -> float:
    (line,) = [line for line in root.iter(f"{SVG}line") if line.get("class") == "chart-zero"]
    return float(line.get("y1"))


def height(rect: ET.Element) -> float:
    return float(rect.get("height"))


def top(rect: ET.Element) -> float:
    return float(rect.get("y"))


def bottom(rect: ET.Element) -> float:
    return float(rect.get("y")) + float(rect.get("height"))


def is_no_data(svg) -> bool:
    return texts(parse(svg)) == ["No data"] and not bars(parse(svg))


# Vertical bars ----------------------------------------------------------------------------


def test_bar_heights_are_proportional_to_values():
    # given two months, the second with twice the first's amount
    # when
    svg = bar_chart(title="Won", labels=["Jan", "Feb"], series=[("Won", [10, 20])])
    # then
    root = parse(svg)
    first, second = bars(root)
    assert height(second) == near(2 * height(first))
    assert bottom(first) == bottom(second) == near(zero_line_y(root))
    assert isinstance(svg, SafeString)


def test_decimal_values_draw_like_integers():
    # given the same figures as Decimal money and as integers
    # when
    money = bar_chart(
        title="T",
        labels=["a", "b"],
        series=[("S", [Decimal("1500.00"), Decimal("750.00")])],
        value_format="money",
    )
    # then
    first, second = bars(parse(money))
    assert height(first) == near(2 * height(second))


def test_grouped_bars_stand_side_by_side_one_colour_per_series():
    # given two series over three months
    # when
    root = parse(
        bar_chart(
            title="Won vs lost",
            labels=["Jan", "Feb", "Mar"],
            series=[("Won", [5, 6, 7]), ("Lost", [1, 2, 3])],
        )
    )
    # then
    drawn = bars(root)
    assert len(drawn) == 6
    colours = {rect.get("data-series"): set() for rect in drawn}
    for rect in drawn:
        colours[rect.get("data-series")].add(rect.get("fill"))
    assert all(len(fills) == 1 for fills in colours.values())
    assert colours["0"] != colours["1"]
    jan_won, jan_lost = drawn[0], drawn[1]
    assert float(jan_lost.get("x")) >= float(jan_won.get("x")) + float(jan_won.get("width"))
    # and a legend names both series
    assert {"Won", "Lost"} <= set(texts(root))


def test_stacked_bars_add_up():
    # given a month of 10 + 20 and a month of 30 + 0
    # when
    root = parse(
        bar_chart(
            title="Stacked",
            labels=["Jan", "Feb"],
            series=[("Web", [10, 30]), ("Phone", [20, 0])],
            stacked=True,
        )
    )
    # then the second part starts where the first ends, and the stack is as tall as 30
    jan_web, jan_phone, feb_web, _feb_phone = bars(root)
    assert bottom(jan_phone) == near(top(jan_web))
    assert height(jan_web) + height(jan_phone) == near(height(feb_web))
    assert jan_web.get("x") == jan_phone.get("x")


def test_negative_values_go_below_the_zero_line():
    # given a gain and a loss of half its size
    # when
    root = parse(bar_chart(title="Margin", labels=["A", "B"], series=[("Margin", [10, -5])]))
    # then
    gain, loss = bars(root)
    zero = zero_line_y(root)
    assert bottom(gain) == near(zero)
    assert top(loss) == near(zero)
    assert height(loss) == near(height(gain) / 2)
    assert "-5" in texts(root)  # a tick under zero


def test_none_leaves_a_gap_among_bars():
    # given a month without a figure
    # when
    root = parse(bar_chart(title="T", labels=["Jan", "Feb", "Mar"], series=[("S", [10, None, 20])]))
    # then no bar for February, and the others where they belong
    drawn = bars(root)
    assert [tooltip(rect) for rect in drawn] == ["Jan · S: 10", "Mar · S: 20"]
    assert height(drawn[1]) == near(2 * height(drawn[0]))


def test_every_bar_has_a_tooltip_with_label_series_and_formatted_value():
    # given
    # when
    root = parse(
        bar_chart(
            title="T",
            labels=["North", "South"],
            series=[("Won", [Decimal("1234.5"), 10]), ("Lost", [0, Decimal("2000000")])],
            value_format="money",
        )
    )
    # then
    assert [tooltip(rect) for rect in bars(root)] == [
        f"North · Won: 1.234,50{NBSP}€",
        f"North · Lost: 0,00{NBSP}€",
        f"South · Won: 10,00{NBSP}€",
        f"South · Lost: 2.000.000,00{NBSP}€",
    ]


@pytest.mark.parametrize(
    ("labels", "series"),
    [
        ([], []),
        (["Jan", "Feb"], [("S", [0, 0])]),
        (["Jan", "Feb"], [("S", [None, None])]),
        (["Jan"], []),
    ],
    ids=["empty", "all-zero", "all-none", "no-series"],
)
def test_charts_without_data_say_so(labels, series):
    # given nothing to draw
    # when
    bar = bar_chart(title="Nothing", labels=labels, series=series)
    horizontal = bar_chart(title="Nothing", labels=labels, series=series, horizontal=True)
    line = line_chart(title="Nothing", labels=labels, series=series)
    # then
    for svg in (bar, horizontal, line):
        assert is_no_data(svg)
        assert parse(svg).get("aria-label") == "Nothing"


def test_funnel_without_data_says_so():
    # given
    # when
    empty = funnel_chart(title="Funnel", steps=[])
    zeros = funnel_chart(title="Funnel", steps=[("Leads", 0), ("Won", 0)])
    # then
    assert is_no_data(empty)
    assert is_no_data(zeros)


def test_series_of_the_wrong_length_is_refused():
    # given three labels and two values
    # when / then
    with pytest.raises(ValueError, match="2 values for 3 labels"):
        bar_chart(title="T", labels=["a", "b", "c"], series=[("S", [1, 2])])
    with pytest.raises(ValueError, match="1 links for 2 labels"):
        line_chart(title="T", labels=["a", "b"], series=[("S", [1, 2])], links=["/x/"])


# Text, escaping, accessibility --------------------------------------------------------------


def test_user_text_is_escaped():
    # given a label, a series name and a title with markup
    evil = "<script>alert(1)</script>"
    # when
    svg = bar_chart(
        title=f"Owners & {evil}",
        labels=[evil, "Ann"],
        series=[(f'"{evil}', [1, 2])],
        links=['/x/?a=1&b="2"', None],
    )
    # then the markup is text, not elements
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(svg)
    assert not list(root.iter("script"))
    assert not list(root.iter(f"{SVG}script"))
    assert root.get("aria-label") == f"Owners & {evil}"
    assert evil in texts(root)
    assert tooltip(bars(root)[0]) == f'{evil} · "{evil}: 1'
    assert root.find(f"{SVG}a").get("href") == '/x/?a=1&b="2"'


def test_chart_is_an_image_named_by_its_title():
    # given
    # when
    root = parse(line_chart(title="Monthly won", labels=["Jan"], series=[("S", [1])]))
    # then
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Monthly won"
    assert root[0].tag == f"{SVG}title"
    assert root[0].text == "Monthly won"
    assert root.get("width") == "100%"
    assert root.get("class") == "chart-svg"  # static/crm/charts.css
    assert root.get("viewBox").startswith("0 0 400 ")


def test_long_label_is_cut_with_the_full_text_in_a_tooltip():
    # given an owner with a very long name, shown as a horizontal bar
    name = "María del Carmen Fernández-Villaverde Rodríguez de la Santísima Trinidad"
    # when
    root = parse(
        bar_chart(title="T", labels=[name, "Ann"], series=[("S", [5, 3])], horizontal=True)
    )
    # then
    (cut,) = [text for text in texts(root) if text.startswith("María")]
    assert cut.endswith("…")
    assert len(cut) < len(name)
    groups = [group for group in root.iter(f"{SVG}g") if group.find(f"{SVG}text") is not None]
    assert any(tooltip(group) == name for group in groups if group.find(f"{SVG}title") is not None)


def test_many_month_labels_are_thinned():
    # given 24 months on a line
    months = [f"{month} {year}" for year in (24, 25) for month in "JFMAMJJASOND"]
    # when
    root = parse(line_chart(title="T", labels=months, series=[("S", list(range(24)))]))
    # then fewer labels, evenly spaced, starting with the first month; all points drawn
    shown = [text for text in texts(root) if text in months]
    assert 3 <= len(shown) <= 12
    assert shown[0] == "J 24"
    assert len([node for node in root.iter() if node.find(f"{SVG}title") is not None]) > 24


def test_many_long_category_labels_slant():
    # given eight long sector names as vertical bars
    sectors = [f"Sector with a long name {n}" for n in range(8)]
    # when
    root = parse(bar_chart(title="T", labels=sectors, series=[("S", list(range(1, 9)))]))
    # then they are slanted, not overlapping flat
    slanted = [
        node for node in root.iter(f"{SVG}text") if "rotate(-45" in (node.get("transform") or "")
    ]
    assert len(slanted) == 8


# Ticks --------------------------------------------------------------------------------------


def test_axis_ticks_are_round_and_cover_the_values():
    # given
    # when / then
    assert axis_ticks(0, 12345) == [0, 5000, 10000, 15000]
    assert axis_ticks(0, 52000) == [0, 20000, 40000, 60000]
    assert axis_ticks(-3, 17, integer=True) == [-5, 0, 5, 10, 15, 20]
    assert axis_ticks(0, 3, integer=True) == [0, 1, 2, 3]
    assert axis_ticks(0, Decimal("0.37")) == [
        0,
        Decimal("0.1"),
        Decimal("0.2"),
        Decimal("0.3"),
        Decimal("0.4"),
    ]
    assert axis_ticks(0, 100) == [0, 25, 50, 75, 100]


def test_axis_labels_are_abbreviated():
    # given monthly money up to 52.000 €
    # when
    root = parse(
        bar_chart(
            title="T",
            labels=["a", "b"],
            series=[("S", [Decimal("12500"), Decimal("52000")])],
            value_format="money",
        )
    )
    # then
    labels = texts(root)
    for tick in (f"0{NBSP}€", f"20{NBSP}k{NBSP}€", f"40{NBSP}k{NBSP}€", f"60{NBSP}k{NBSP}€"):
        assert tick in labels


# Horizontal bars ----------------------------------------------------------------------------


def test_horizontal_bars_are_as_long_as_their_values_and_grow_downwards():
    # given three owners
    # when
    few = bar_chart(
        title="T", labels=["Ann", "Bob", "Cy"], series=[("Won", [40, 20, 10])], horizontal=True
    )
    many = bar_chart(
        title="T",
        labels=[f"Owner {n}" for n in range(15)],
        series=[("Won", list(range(15)))],
        horizontal=True,
    )
    # then
    ann, bob, cy = bars(parse(few))
    assert float(ann.get("width")) == near(2 * float(bob.get("width")))
    assert float(bob.get("width")) == near(2 * float(cy.get("width")))
    assert ann.get("x") == bob.get("x") == cy.get("x")
    assert top(ann) < top(bob) < top(cy)
    assert {"Ann", "40", "20", "10"} <= set(texts(parse(few)))

    def view_height(svg):
        return float(parse(svg).get("viewBox").split()[3])

    assert view_height(many) > 3 * view_height(few)


def test_horizontal_money_shows_whole_euros_with_cents_in_the_tooltip():
    # given
    # when
    root = parse(
        bar_chart(
            title="T",
            labels=["Ann"],
            series=[("Won", [Decimal("1234.56")])],
            horizontal=True,
            value_format="money",
        )
    )
    # then
    assert f"1.235{NBSP}€" in texts(root)
    assert tooltip(bars(root)[0]) == f"Ann · Won: 1.234,56{NBSP}€"


# Links --------------------------------------------------------------------------------------


def test_links_wrap_each_labels_bars():
    # given a drill-down URL for the first two months, none for the third
    links = ["/opportunities/?month=1&won=1", "/opportunities/?month=2", None]
    # when
    root = parse(
        bar_chart(
            title="T",
            labels=["Jan", "Feb", "Mar"],
            series=[("Won", [1, 2, 3]), ("Lost", [3, 2, 1])],
            links=links,
        )
    )
    # then
    anchors = list(root.iter(f"{SVG}a"))
    assert [a.get("href") for a in anchors] == links[:2]
    assert [a.get(f"{XLINK}href") for a in anchors] == links[:2]
    assert [tooltip(rect) for rect in bars(anchors[0])] == ["Jan · Won: 1", "Jan · Lost: 3"]
    assert [tooltip(rect) for rect in bars(anchors[1])] == ["Feb · Won: 2", "Feb · Lost: 2"]
    assert root.get("role") == "group"  # an image's children would hide the links


def test_links_on_lines_funnels_and_horizontal_bars():
    # given
    # when
    line = parse(
        line_chart(title="T", labels=["a", "b"], series=[("S", [1, 2])], links=[None, "/b/"])
    )
    funnel = parse(funnel_chart(title="T", steps=[("Leads", 10), ("Won", 2)], links=["/l/", "/w/"]))
    horizontal = parse(
        bar_chart(
            title="T",
            labels=["a", "b"],
            series=[("S", [1, 2])],
            horizontal=True,
            links=["/a/", None],
        )
    )
    # then
    assert [a.get("href") for a in line.iter(f"{SVG}a")] == ["/b/"]
    assert [a.get("href") for a in funnel.iter(f"{SVG}a")] == ["/l/", "/w/"]
    assert [a.get("href") for a in horizontal.iter(f"{SVG}a")] == ["/a/"]
    assert "a" in texts(horizontal.find(f"{SVG}a"))


def test_script_links_are_dropped():
    # given
    # when
    root = parse(
        bar_chart(title="T", labels=["a"], series=[("S", [1])], links=["javascript:alert(1)"])
    )
    # then
    assert not list(root.iter(f"{SVG}a"))
    assert len(bars(root)) == 1


# Lines --------------------------------------------------------------------------------------


def test_line_points_follow_the_values_and_none_breaks_the_line():
    # given a month without a figure in the middle
    # when
    root = parse(
        line_chart(
            title="T", labels=["a", "b", "c", "d", "e"], series=[("S", [10, 20, None, 40, 0])]
        )
    )
    # then two pieces of line, four points
    lines = [node for node in root.iter(f"{SVG}polyline") if node.get("class") == "chart-line"]
    assert len(lines) == 2
    points = [
        [tuple(map(float, p.split(","))) for p in line.get("points").split()] for line in lines
    ]
    assert [len(piece) for piece in points] == [2, 2]
    (x_a, y_a), (x_b, y_b) = points[0]
    (x_d, y_d), (x_e, y_e) = points[1]
    zero = zero_line_y(root)
    assert y_e == near(zero)
    assert zero - y_b == near(2 * (zero - y_a))
    assert zero - y_d == near(4 * (zero - y_a))
    assert x_a < x_b < x_d < x_e
    markers = list(root.iter(f"{SVG}circle"))
    assert [tooltip(m) for m in markers] == ["a · S: 10", "b · S: 20", "d · S: 40", "e · S: 0"]


def test_line_series_get_their_own_colours_and_a_legend():
    # given
    # when
    root = parse(
        line_chart(
            title="FY vs FY",
            labels=["Q1", "Q2"],
            series=[("FY 2024", [Decimal("34.5"), Decimal("28.1")]), ("FY 2025", [30, 25])],
            value_format="days",
        )
    )
    # then
    lines = [node for node in root.iter(f"{SVG}polyline") if node.get("class") == "chart-line"]
    assert len({line.get("stroke") for line in lines}) == 2
    assert {"FY 2024", "FY 2025", f"10{NBSP}d"} <= set(texts(root))


# Funnel -------------------------------------------------------------------------------------


def test_funnel_steps_narrow_with_their_values_and_show_the_conversion():
    # given 200 leads of which 50 qualified and 10 won
    # when
    root = parse(
        funnel_chart(title="Funnel", steps=[("Leads", 200), ("Qualified", 50), ("Won", 10)])
    )
    # then
    leads, qualified, won = bars(root)
    assert float(leads.get("width")) == near(4 * float(qualified.get("width")))
    assert float(qualified.get("width")) == near(5 * float(won.get("width")))
    centre = float(leads.get("x")) + float(leads.get("width")) / 2
    assert float(won.get("x")) + float(won.get("width")) / 2 == near(centre)
    conversions = [
        "".join(t.itertext())
        for t in root.iter(f"{SVG}text")
        if t.get("class") == "chart-conversion"
    ]
    assert [c.replace(NBSP, " ").split("↓ ")[1] for c in conversions] == ["25 %", "20 %"]
    assert {"Leads", "200", "Qualified", "50"} <= set(texts(root))


def test_funnel_conversion_guards_against_zero_steps():
    # given
    # when / then
    assert funnel_conversions([200, 50]) == [None, Decimal("25.0")]
    assert funnel_conversions([10, 0, 5]) == [None, Decimal("0.0"), None]
    assert funnel_conversions([3, 2]) == [None, Decimal("66.7")]
    assert funnel_conversions([]) == []
    root = parse(funnel_chart(title="F", steps=[("A", 10), ("B", 0), ("C", 5)]))
    conversions = [
        tooltip(t) for t in root.iter(f"{SVG}text") if t.get("class") == "chart-conversion"
    ]
    assert conversions == [f"0{NBSP}% of the previous step", "– of the previous step"]


# format_value -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "value_format", "short", "expected"),
    [
        (Decimal("1234.5"), "money", False, "1.234,50 €"),
        (1234, "money", False, "1.234,00 €"),
        (Decimal("0.005"), "money", False, "0,01 €"),
        (Decimal("-1234.5"), "money", False, "-1.234,50 €"),
        (1234567, "number", False, "1.234.567"),
        (Decimal("1234.50"), "number", False, "1.234,5"),
        (Decimal("45.5"), "percent", False, "45,5 %"),
        (62, "percent", False, "62 %"),
        (3, "days", False, "3,0 d"),
        (Decimal("12.345"), "days", False, "12,3 d"),
        (1234, "money", True, "1,2 k €"),
        (3_400_000, "money", True, "3,4 M €"),
        (999_950, "number", True, "1 M"),
        (-1500, "number", True, "-1,5 k"),
        (850, "money", True, "850 €"),
        (Decimal("2.5"), "number", True, "2,5"),
        (None, "money", False, ""),
    ],
)
def test_format_value_in_spanish(value, value_format, short, expected):
    # given Spanish
    with translation.override("es"):
        # when
        text = format_value(value, value_format, short=short)
    # then
    assert text.replace(NBSP, " ") == expected


def test_format_value_in_english_keeps_the_projects_spanish_numbers():
    # given English, whose format module (config/formats/en) keeps Spanish numbers
    # when / then
    assert format_value(Decimal("1234.5"), "money") == f"1.234,50{NBSP}€"
    assert format_value(Decimal("45.5"), "percent") == f"45,5{NBSP}%"


def test_format_value_follows_the_active_languages_format(django_english_formats):
    # given Django's own English formats
    # when / then
    assert format_value(Decimal("1234.5"), "money") == f"1,234.50{NBSP}€"
    assert format_value(1500, "number", short=True) == f"1.5{NBSP}k"


def test_unknown_value_format_is_refused():
    # given / when / then
    with pytest.raises(ValueError, match="Unknown value format"):
        format_value(1, "euros")
    with pytest.raises(ValueError, match="Unknown value format"):
        bar_chart(title="T", labels=[], series=[], value_format="euros")


# Template tags ------------------------------------------------------------------------------


def test_template_tags_draw_charts_and_format_values():
    # given
    template = Template(
        "{% load report_charts %}"
        '{% bar_chart title="Won" labels=labels series=series value_format="money" %}'
        '{% line_chart title="Trend" labels=labels series=series %}'
        '{% funnel_chart title="Funnel" steps=steps %}'
        '|{{ amount|report_value:"money" }}|{{ share|report_value:"percent" }}'
        "|{{ none|report_value }}|"
    )
    # when
    html = template.render(
        Context(
            {
                "labels": ["Jan", "<b>Feb</b>"],
                "series": [("Won", [10, 20])],
                "steps": [("Leads", 10), ("Won", 4)],
                "amount": Decimal("1234.5"),
                "share": Decimal("45.5"),
                "none": None,
            }
        )
    )
    # then
    assert html.count("<svg ") == 3
    assert "&lt;b&gt;Feb&lt;/b&gt;" in html
    assert "<b>" not in html
    assert f"|1.234,50{NBSP}€|45,5{NBSP}%||" in html


# Sizes and labels ---------------------------------------------------------------------------


def test_a_chart_is_drawn_at_the_width_asked_for():
    # given
    # when
    narrow = parse(bar_chart(title="T", labels=["a", "b"], series=[("S", [1, 2])], width=330))
    wide = parse(line_chart(title="T", labels=["a", "b"], series=[("S", [1, 2])], width=840))
    funnel = parse(funnel_chart(title="T", steps=[("Leads", 4), ("Won", 1)], width=540))
    empty = parse(bar_chart(title="T", labels=[], series=[], width=330))
    # then the text keeps its size and the drawing spreads over the width
    assert narrow.get("viewBox").startswith("0 0 330 ")
    assert wide.get("viewBox").startswith("0 0 840 ")
    assert funnel.get("viewBox").startswith("0 0 540 ")
    assert empty.get("viewBox").startswith("0 0 330 ")
    assert narrow.get("font-size") == wide.get("font-size") == "14"
    assert max(float(rect.get("x")) for rect in bars(narrow)) < 330
    assert float(bars(funnel)[0].get("width")) == near(540 - 12)


def test_few_long_category_labels_wrap_rather_than_thin_out():
    # given five age buckets, too long to stand side by side on a phone's chart
    buckets = ["0–30 days", "31–60 days", "61–90 days", "91–180 days", "over 180 days"]
    # when
    root = parse(bar_chart(title="T", labels=buckets, series=[("S", [5, 4, 3, 2, 9])], width=330))
    # then every bucket is named, one word a line, none cut nor slanted
    shown = texts(root)
    for first in ("0–30", "31–60", "61–90", "91–180"):
        assert first in shown
    assert shown.count("days") == 5
    assert not [node for node in root.iter(f"{SVG}text") if node.get("transform")]
    assert not [text for text in shown if text.endswith("…")]


# Top series ---------------------------------------------------------------------------------


def test_top_series_keeps_the_five_largest_and_adds_up_the_others():
    # given seven owners over two months
    series = [(f"Owner {n}", [n, None if n == 1 else 1]) for n in range(1, 8)]
    # when
    shown = top_series(series, value_format="money", keep=5, others="Others")
    # then the largest five in their order, and the two smallest added up
    assert [name for name, _values in shown] == [f"Owner {n}" for n in (3, 4, 5, 6, 7)] + ["Others"]
    assert shown[-1][1] == [Decimal(3), Decimal(1)]


def test_top_series_leaves_six_alone_and_drops_ratios_past_five():
    # given
    six = [(f"S{n}", [n]) for n in range(6)]
    nine = [(f"S{n}", [n]) for n in range(9)]
    # when / then
    assert top_series(six, value_format="number", keep=5, others="Others") == six
    rates = top_series(nine, value_format="percent", keep=5, others="Others")
    assert [name for name, _values in rates] == ["S0", "S1", "S2", "S3", "S4"]


def test_render_chart_draws_three_sizes_folds_series_and_shortens_months():
    # given a chart of nine series over the months of a year by their full names
    months = ["January", "February", "March", "April", "May", "June", "July", "August"]
    months += ["September", "October", "November", "December"]
    chart = Chart(
        "line",
        "Won",
        months,
        [(f"Owner {n}", [n] * 12) for n in range(9)],
        "money",
    )
    template = Template("{% load reports %}{% render_chart chart %}|{{ chart|chart_series_note }}")
    # when
    html = template.render(Context({"chart": chart}))
    # then
    frame, note = html.split("|")
    sizes = list(parse(frame))
    assert [size.get("class") for size in sizes] == [
        "chart-size chart-size-sm",
        "chart-size chart-size-md",
        "chart-size chart-size-lg",
    ]
    svgs = [size.find(f"{SVG}svg") for size in sizes]
    assert [svg.get("viewBox").split()[2] for svg in svgs] == ["330", "540", "840"]
    legend = set(texts(svgs[-1]))
    assert {"Owner 8", "Owner 4", "Others"} <= legend
    assert "Owner 3" not in legend
    assert "Jan" in legend
    assert "January" not in legend
    assert note == "5 of 9 — see the table"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("9000.00"), "9.000"),
        (Decimal("1500.50"), "1.500,50"),
        (Decimal("1234567.5"), "1.234.567,50"),
        (72, "72"),
        (None, ""),
        ("1.500,5x", "1.500,5x"),  # sent back as typed after an error
    ],
)
def test_a_stored_target_is_shown_as_it_is_typed(value, expected):
    # given / when / then
    assert Template("{% load reports %}{{ v|target_input }}").render(Context({"v": value})) == (
        expected
    )


def test_the_warning_tone_is_dark_enough_to_read():
    # given / when
    html = Template("{% load reports %}{% for t in tones %}[{{ t|tone_text }}]{% endfor %}").render(
        Context({"tones": ["success", "warning", "danger", ""]})
    )
    # then
    assert html == "[text-success][text-warning-emphasis][text-danger][]"


@pytest.mark.parametrize(
    ("referer", "url", "tab"),
    [
        (
            "http://testserver/reports/pipeline/?period=year",
            "/reports/pipeline/?period=year",
            "pipeline",
        ),
        ("http://testserver/?period=month", "/?period=month", "home"),
        ("http://testserver/reports/?measure=win_rate", "/reports/?measure=win_rate", "report"),
        ("http://testserver/reports/planning/targets/", "/reports/planning/targets/", "planning"),
        ("http://evil.example/reports/", "/reports/", "report"),
        ("http://testserver/accounts/", "/reports/", "report"),
        ("http://testserver/reports/records/?measure=x", "/reports/", "report"),
        ("", "/reports/", "report"),
    ],
)
def test_back_from_the_records_goes_to_the_report_the_user_came_from(rf, referer, url, tab):
    # given
    request = rf.get("/reports/records/", HTTP_REFERER=referer)
    # when
    html = Template(
        "{% load reports %}{% report_back as back %}{{ back.url }}|{{ back.tab }}"
    ).render(Context({"request": request}))
    # then
    assert html == f"{url.replace('&', '&amp;')}|{tab}"
