"""Server-rendered SVG charts for the reports: the same markup in a page and in a WeasyPrint PDF.

Plain SVG 1.1 with presentation attributes (fill, stroke, font-size, text-anchor): no script,
no CSS variables, no foreignObject. A chart is drawn on a viewBox `width` units wide (400 by
default, the PDF's) at `width="100%"`, so its 14-unit text is 14 × (shown width / `width`) px on
screen: a page draws each chart at a few widths and shows the one that suits its column (see
templatetags/reports.py render_chart and static/crm/charts.css). Every user-given text is
escaped; a truncated label keeps its full text in a <title> tooltip, and every bar and point
has one with its label, series and value.

`format_value` is the single number format of the reports (charts and tables alike).
"""

import math
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from urllib.parse import urlsplit

from django.utils.formats import number_format
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

VALUE_FORMATS = ("number", "money", "percent", "days")

# Bootstrap 5 tones, each at least 3:1 against white (WCAG 1.4.11), in an order where
# neighbours differ in lightness as well as hue.
PALETTE = (
    "#0d6efd",  # blue
    "#ca6510",  # orange 600
    "#198754",  # green
    "#6f42c1",  # purple
    "#087990",  # cyan 700
    "#ab296a",  # pink 600
    "#997404",  # yellow 700
    "#495057",  # gray 700
)
TEXT = "#212529"
MUTED = "#6c757d"
GRID = "#dee2e6"
AXIS = "#6c757d"
FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

WIDTH = 400  # default viewBox width; see the module docstring
FONT = 14  # every text
LINE = FONT + 2  # between the lines of a wrapped label
PAD = 6
PLOT_HEIGHT = 190  # default height of the plot of bars and lines
MAX_LINES = 3  # of a wrapped category label
TICK_GAP = 6  # between a tick label and the plot
LEGEND_SWATCH = 12
MAX_SLANTED = 130  # about 16 characters

Number = int | float | Decimal


# Formatting ---------------------------------------------------------------------------------


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def _fixed(number: Decimal, places: int) -> str:
    """number rounded half up to places decimals, grouped in the active language."""
    number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if number == 0:
        number = abs(number)  # no "-0"
    return number_format(number, decimal_pos=places, use_l10n=True, force_grouping=True)


def _compact(number: Decimal, max_places: int) -> str:
    """number with at most max_places decimals and no useless zeros: 2,50 -> 2,5; 3,0 -> 3."""
    number = number.quantize(Decimal(1).scaleb(-max_places), rounding=ROUND_HALF_UP)
    places = 0
    if number != number.to_integral_value():
        places = max(0, -number.normalize().as_tuple().exponent)
    return _fixed(number, places)


def _abbreviated(number: Decimal, max_places: int) -> str:
    """1.234 -> 1,2 k; 3.400.000 -> 3,4 M; below a thousand as it is."""
    if abs(number) >= 1_000:
        thousands = (number / 1_000).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        if abs(thousands) < 1_000:
            suffix = pgettext("thousands, after a number", "k")
            return f"{_compact(thousands, 1)}\xa0{suffix}"
        millions = (number / 1_000_000).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        suffix = pgettext("millions, after a number", "M")
        return f"{_compact(millions, 1)}\xa0{suffix}"
    return _compact(number, max_places)


def format_value(value, value_format: str = "number", *, short: bool = False) -> str:
    """A report figure as text in the active language's number format; "" for None.

    number: 1.234 (decimals only when there are some, at most 2); money: 1.234,50 €;
    percent (of 100): 45,5 %; days: 3,5 d. short=True is for axes: 1,2 k / 3,4 M €,
    no useless decimals.
    """
    _check_format(value_format)
    number = _decimal(value)
    if number is None:
        return ""
    if value_format == "money":
        text = _abbreviated(number, 2) if short else _fixed(number, 2)
        return f"{text}\xa0€"
    if value_format == "percent":
        return f"{_abbreviated(number, 1) if short else _compact(number, 1)}\xa0%"
    if value_format == "days":
        text = _abbreviated(number, 1) if short else _fixed(number, 1)
        suffix = pgettext("days, after a number", "d")
        return f"{text}\xa0{suffix}"
    return _abbreviated(number, 1) if short else _compact(number, 2)


def _check_format(value_format: str) -> None:
    if value_format not in VALUE_FORMATS:
        raise ValueError(f"Unknown value format {value_format!r}")


# Axis ---------------------------------------------------------------------------------------


def axis_ticks(low, high, *, integer: bool = False, intervals: int = 4) -> list[Decimal]:
    """Round ticks (…, 0, 5 k, 10 k, …) from at or below min(low, 0) to at or above max(high, 0).

    The step is 1, 2, 2,5 or 5 times a power of ten, chosen for about `intervals` intervals;
    integer=True (counts) never steps by less than 1 nor by 2,5.
    """
    low = min(_decimal(low) or Decimal(0), Decimal(0))
    high = max(_decimal(high) or Decimal(0), Decimal(0))
    if low == high:
        high = Decimal(1)
    raw = (high - low) / intervals
    magnitude = Decimal(1).scaleb(raw.adjusted())
    step = magnitude * 10
    for factor in ("1", "2", "2.5", "5"):
        candidate = magnitude * Decimal(factor)
        if integer and candidate != candidate.to_integral_value():
            continue
        if candidate >= raw:
            step = candidate
            break
    if integer:
        step = max(step, Decimal(1))
    first = (low / step).to_integral_value(rounding=ROUND_FLOOR) * step
    last = (high / step).to_integral_value(rounding=ROUND_CEILING) * step
    count = int((last - first) / step)
    return [_plain(first + step * i) for i in range(count + 1)]


def _plain(number: Decimal) -> Decimal:
    """10 rather than 1E+1 or 10.0; 2.5 rather than 2.50."""
    if number == number.to_integral_value():
        return number.quantize(Decimal(1))
    return number.normalize()


# SVG building -------------------------------------------------------------------------------


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _el(name: str, attrs: dict | None = None, *children) -> SafeString:
    """One SVG element; attribute values and text children are escaped, elements are not."""
    parts = [f"<{name}"]
    for key, value in (attrs or {}).items():
        if value is None:
            continue
        text = _num(value) if isinstance(value, float | int) else str(value)
        parts.append(f' {key}="{escape(text)}"')
    if not children:
        return mark_safe("".join(parts) + "/>")  # noqa: S308 - every piece escaped above
    inner = "".join(conditional_escape(child) for child in children if child is not None)
    return mark_safe(f"{''.join(parts)}>{inner}</{name}>")  # noqa: S308 - escaped above


def _title(text: str) -> SafeString:
    return _el("title", None, text)


def _text_width(text: str, size: float = FONT) -> float:
    """An estimate of the width of text in a sans-serif font (no font metrics on the server),
    calibrated on DejaVu Sans, wider than most user interface fonts."""
    width = 0.0
    for char in text:
        if char in "il.,:;|!'’ ()[]" or char == "\xa0":
            width += 0.32
        elif char in "MWmw@%€":
            width += 0.88
        elif char.isupper():
            width += 0.68
        elif char.isdigit():
            width += 0.64
        else:
            width += 0.56
    return width * size


def _fit(text: str, width: float, size: float = FONT) -> str:
    """text cut with an ellipsis to fit width."""
    text = " ".join(str(text).split())
    if _text_width(text, size) <= width:
        return text
    while text and _text_width(text + "…", size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _label(
    text: str, x: float, y: float, *, width: float, anchor="start", fill=TEXT, **attrs
) -> SafeString:
    """A text cut to width; when cut, the full text is its tooltip."""
    shown = _fit(text, width)
    node = _el("text", {"x": x, "y": y, "text-anchor": anchor, "fill": fill, **attrs}, shown)
    if shown == " ".join(str(text).split()):
        return node
    return _el("g", None, _title(str(text)), node)


def _safe_href(url: str | None) -> str | None:
    """Only relative, http(s) and mailto links: a chart never carries a javascript: URL."""
    if not url:
        return None
    scheme = urlsplit(str(url).strip()).scheme.lower()
    return str(url) if scheme in ("", "http", "https", "mailto") else None


def _tap_band(x: float, y: float, width: float, height: float) -> SafeString:
    """An invisible rectangle over a whole linked label: a tap target however small (or
    zero) its bar is."""
    return _el(
        "rect",
        {"x": x, "y": y, "width": width, "height": height, "fill": "#fff", "fill-opacity": 0},
    )


def _link(url: str | None, name: str, *children) -> SafeString:
    href = _safe_href(url)
    if href is None:
        return _el("g", None, *children)
    return _el("a", {"href": href, "xlink:href": href, "aria-label": name}, *children)


def _svg(
    title: str, height: float, *children, interactive: bool = False, width: float = WIDTH
) -> SafeString:
    # role="img" makes the children presentational for assistive technology, which would hide
    # drill-down links: a chart with links is a labelled group instead.
    return _el(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "xmlns:xlink": "http://www.w3.org/1999/xlink",
            "version": "1.1",
            "class": "chart-svg",
            "viewBox": f"0 0 {_num(width)} {_num(height)}",
            "width": "100%",
            "preserveAspectRatio": "xMidYMid meet",
            "role": "group" if interactive else "img",
            "aria-label": title,
            "font-family": FONT_FAMILY,
            "font-size": FONT,
        },
        _title(title),
        *children,
    )


def _no_data(title: str, width: float = WIDTH) -> SafeString:
    return _svg(
        title,
        44,
        _el(
            "text",
            {"x": width / 2, "y": 27, "text-anchor": "middle", "fill": MUTED},
            _("No data"),
        ),
        width=width,
    )


def _color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _marker(shape: int, x: float, y: float, color: str, *children) -> SafeString:
    """Point markers differ by shape as well as colour (circle, square, diamond, triangle)."""
    attrs = {"fill": color, "stroke": "#fff", "stroke-width": 1}
    shape %= 4
    if shape == 0:
        return _el("circle", {"cx": x, "cy": y, "r": 4, **attrs}, *children)
    if shape == 1:
        return _el(
            "rect", {"x": x - 3.5, "y": y - 3.5, "width": 7, "height": 7, **attrs}, *children
        )
    if shape == 2:
        corners = [(0, -5), (5, 0), (0, 5), (-5, 0)]
    else:
        corners = [(0, -5), (4.5, 3.5), (-4.5, 3.5)]
    points = " ".join(f"{_num(x + dx)},{_num(y + dy)}" for dx, dy in corners)
    return _el("polygon", {"points": points, **attrs}, *children)


def _legend(
    names: list[str], top: float, *, lines: bool = False, width: float = WIDTH
) -> tuple[list, float]:
    """Swatch and name of each series, wrapping into rows; returns the nodes and their height."""
    nodes = []
    x, y = PAD, top
    row = FONT + 6
    for index, name in enumerate(names):
        shown = _fit(name, width / 2)
        used = LEGEND_SWATCH + 5 + _text_width(shown) + 14
        if x > PAD and x + used > width - PAD:
            x, y = PAD, y + row
        middle = y + row / 2 - 2
        if lines:
            swatch = _el(
                "g",
                None,
                _el(
                    "line",
                    {
                        "x1": x,
                        "y1": middle,
                        "x2": x + LEGEND_SWATCH + 2,
                        "y2": middle,
                        "stroke": _color(index),
                        "stroke-width": 2.5,
                    },
                ),
                _marker(index, x + LEGEND_SWATCH / 2 + 1, middle, _color(index)),
            )
        else:
            swatch = _el(
                "rect",
                {
                    "x": x,
                    "y": middle - LEGEND_SWATCH / 2,
                    "width": LEGEND_SWATCH,
                    "height": LEGEND_SWATCH,
                    "rx": 2,
                    "fill": _color(index),
                },
            )
        nodes.append(swatch)
        nodes.append(_label(name, x + LEGEND_SWATCH + 5, middle + FONT * 0.35, width=width / 2))
        x += used
    return nodes, (y - top) + row + 4


def _clean_series(labels, series) -> tuple[list[str], list[tuple[str, list[Decimal | None]]]]:
    labels = [str(label) for label in labels]
    cleaned = []
    for name, values in series:
        values = list(values)
        if len(values) != len(labels):
            raise ValueError(f"Series {name!r} has {len(values)} values for {len(labels)} labels")
        cleaned.append((str(name), [_decimal(value) for value in values]))
    return labels, cleaned


def _clean_links(links, count: int) -> list[str | None]:
    if links is None:
        return [None] * count
    links = list(links)
    if len(links) != count:
        raise ValueError(f"{len(links)} links for {count} labels")
    return links


def _has_data(series) -> bool:
    return any(value for _name, values in series for value in values if value is not None)


def _extent(series, stacked: bool) -> tuple[Decimal, Decimal]:
    """The lowest and highest values to draw (stack sums when stacked), zero included."""
    low = high = Decimal(0)
    if stacked:
        for index in range(len(series[0][1])):
            column = [values[index] for _name, values in series if values[index] is not None]
            high = max(high, sum((v for v in column if v > 0), Decimal(0)))
            low = min(low, sum((v for v in column if v < 0), Decimal(0)))
    else:
        for _name, values in series:
            for value in values:
                if value is not None:
                    high, low = max(high, value), min(low, value)
    return low, high


def _all_integers(series) -> bool:
    return all(
        value == value.to_integral_value()
        for _name, values in series
        for value in values
        if value is not None
    )


class _Scale:
    """Maps values between the first and last tick onto [start, end] (end may be < start)."""

    def __init__(self, ticks: list[Decimal], start: float, end: float):
        self.low, self.high = float(ticks[0]), float(ticks[-1])
        self.start, self.end = start, end

    def __call__(self, value) -> float:
        share = (float(value) - self.low) / (self.high - self.low)
        return self.start + share * (self.end - self.start)


def _tooltip(label: str, name: str, value: Decimal | None, value_format: str) -> SafeString:
    return _title(f"{label} · {name}: {format_value(value, value_format)}")


def _wrap(text: str, width: float, max_lines: int = MAX_LINES) -> list[str] | None:
    """text one word a line (Mar / 2026, 31–60 / days: the labels of an axis alike), words
    joined only when there are more than max_lines of them; None when a line is wider than
    width."""
    words = str(text).split()
    lines = words if len(words) <= max_lines else []
    if not lines:
        for word in words:
            if lines and _text_width(f"{lines[-1]} {word}") <= width:
                lines[-1] = f"{lines[-1]} {word}"
            else:
                lines.append(word)
    if not lines or len(lines) > max_lines or any(_text_width(line) > width for line in lines):
        return None
    return lines


def _x_axis_labels(
    labels: list[str],
    centers: list[float],
    slot: float,
    top: float,
    *,
    rotate_allowed: bool,
    width: float = WIDTH,
) -> tuple[list, float]:
    """Category labels under a plot: all of them flat when they fit, else all of them wrapped
    between words onto a few lines when that fits (31–60 / days), else every n-th flat (lines,
    or bars when every other one fits), else slanted at 45°. Returns nodes and height used."""
    widest = max(_text_width(_fit(label, width / 3)) for label in labels)
    flat_step = max(1, math.ceil((widest + 6) / slot))
    nodes = []
    wrapped = [_wrap(label, slot - 4) for label in labels] if flat_step > 1 else []
    if wrapped and all(wrapped):
        baseline = top + FONT + 4
        for lines, x in zip(wrapped, centers, strict=True):
            nodes.append(
                _el(
                    "g",
                    None,
                    *(
                        _el(
                            "text",
                            {
                                "x": x,
                                "y": baseline + LINE * row,
                                "text-anchor": "middle",
                                "fill": MUTED,
                            },
                            line,
                        )
                        for row, line in enumerate(lines)
                    ),
                )
            )
        return nodes, FONT + 8 + LINE * (max(len(lines) for lines in wrapped) - 1)
    rotate = rotate_allowed and flat_step > 2
    if not rotate:
        room = flat_step * slot - 6
        baseline = top + FONT + 4
        for index in range(0, len(labels), flat_step):
            label, x = labels[index], centers[index]
            shown = _text_width(_fit(label, room))
            anchor = "middle"
            if x + shown / 2 > width - 1:
                x, anchor = width - 1, "end"
            elif x - shown / 2 < 1:
                x, anchor = 1, "start"
            nodes.append(_label(label, x, baseline, width=room, anchor=anchor, fill=MUTED))
        return nodes, FONT + 8
    step = max(1, math.ceil(FONT * 1.5 / slot))
    used = 0.0
    for index in range(0, len(labels), step):
        x, y = centers[index] + FONT * 0.35, top + 8
        # A slanted label runs down to the left: cut it before it leaves the chart.
        room = min(MAX_SLANTED, (x - 2) / 0.71 - FONT * 0.3)
        node = _label(
            labels[index],
            x,
            y,
            width=room,
            anchor="end",
            fill=MUTED,
            transform=f"rotate(-45 {_num(x)} {_num(y)})",
        )
        used = max(used, _text_width(_fit(labels[index], room)))
        nodes.append(node)
    return nodes, used * 0.71 + FONT + 8


def _y_grid(ticks, scale: _Scale, left: float, right: float, value_format: str) -> list:
    nodes = []
    for tick in ticks:
        y = scale(tick)
        nodes.append(
            _el(
                "line",
                {
                    "x1": left,
                    "y1": y,
                    "x2": right,
                    "y2": y,
                    "stroke": AXIS if tick == 0 else GRID,
                    "stroke-width": 1.2 if tick == 0 else 1,
                    "class": "chart-zero" if tick == 0 else None,
                },
            )
        )
        nodes.append(
            _el(
                "text",
                {"x": left - TICK_GAP, "y": y + FONT * 0.35, "text-anchor": "end", "fill": MUTED},
                format_value(tick, value_format, short=True),
            )
        )
    return nodes


def _shown_value(value: Decimal, value_format: str) -> str:
    """A value written next to its bar: money in whole euros (the tooltip has the cents)."""
    if value_format == "money":
        return f"{_fixed(value, 0)}\xa0€"
    return format_value(value, value_format)


def _tick_gutter(ticks, value_format: str) -> float:
    return max(_text_width(format_value(t, value_format, short=True)) for t in ticks) + TICK_GAP + 2


# Series -------------------------------------------------------------------------------------

RATIO_FORMATS = ("percent", "days")  # figures that do not add up across series


def top_series(
    series: Sequence[tuple[str, Sequence]], *, value_format: str, keep: int, others: str
) -> list[tuple[str, list]]:
    """At most `keep` series and one more, for a chart that stays readable: the `keep` largest
    by their total (in their given order) and `others` adding up the rest, when there are two
    or more of them. Ratios (percent, days) do not add up: their first `keep` series only."""
    _check_format(value_format)
    series = [(name, list(values)) for name, values in series]
    if value_format in RATIO_FORMATS:
        return series[:keep]
    if len(series) <= keep + 1:
        return series

    def total(item) -> Decimal:
        return sum((v for v in map(_decimal, item[1][1]) if v is not None), Decimal(0))

    ranked = sorted(enumerate(series), key=lambda item: -total(item))
    kept = sorted(index for index, _item in ranked[:keep])
    rest = [series[index][1] for index, _item in ranked[keep:]]
    folded = []
    for column in zip(*rest, strict=True):
        known = [value for value in map(_decimal, column) if value is not None]
        folded.append(sum(known, Decimal(0)) if known else None)
    return [series[index] for index in kept] + [(others, folded)]


# Charts -------------------------------------------------------------------------------------


def bar_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence]],
    stacked: bool = False,
    horizontal: bool = False,
    value_format: str = "number",
    links: Sequence[str | None] | None = None,
    width: int = WIDTH,
    plot_height: int = PLOT_HEIGHT,
) -> SafeString:
    """Bars per label, one per series side by side (or stacked); horizontal=True puts them one
    row per label, label above its bar (for many or long categories: the chart grows taller).
    links: one URL (or None) per label; its bars become a link to the records behind them.
    width: of the viewBox (see the module docstring); plot_height: of vertical bars."""
    _check_format(value_format)
    labels, cleaned = _clean_series(labels, series)
    links = _clean_links(links, len(labels))
    if not labels or not cleaned or not _has_data(cleaned):
        return _no_data(title, width)
    stacked = stacked and len(cleaned) > 1
    low, high = _extent(cleaned, stacked)
    ticks = axis_ticks(low, high, integer=value_format == "number" and _all_integers(cleaned))
    if horizontal:
        return _horizontal_bars(
            title, labels, cleaned, ticks, stacked, value_format, links, width=width
        )
    return _vertical_bars(
        title,
        labels,
        cleaned,
        ticks,
        stacked,
        value_format,
        links,
        width=width,
        plot_height=plot_height,
    )


def _bar_segments(values: list[Decimal | None], stacked: bool) -> list[tuple[int, float, float]]:
    """(series index, from, to) of each bar of one label: from zero, or on top of the stack."""
    segments = []
    up = down = 0.0
    for index, value in enumerate(values):
        if value is None:
            continue
        value = float(value)
        if not stacked:
            segments.append((index, 0.0, value))
        elif value >= 0:
            segments.append((index, up, up + value))
            up += value
        else:
            segments.append((index, down, down + value))
            down += value
    return segments


def _vertical_bars(
    title, labels, series, ticks, stacked, value_format, links, *, width, plot_height
) -> SafeString:
    nodes: list = []
    top = PAD
    if len(series) > 1:
        legend, used = _legend([name for name, _values in series], top, width=width)
        nodes += legend
        top += used
    top += FONT / 2  # room for the top tick label
    left = _tick_gutter(ticks, value_format)
    right = width - PAD
    bottom = top + plot_height
    scale = _Scale(ticks, bottom, top)
    slot = (right - left) / len(labels)
    centers = [left + slot * (i + 0.5) for i in range(len(labels))]
    group = min(slot * 0.75, 56.0 if stacked else 28.0 * len(series))
    bar = group if stacked else group / len(series)

    nodes += _y_grid(ticks, scale, left, right, value_format)
    for index, label in enumerate(labels):
        values = [values[index] for _name, values in series]
        bars = [
            _tap_band(centers[index] - slot / 2, top, slot, plot_height) if links[index] else None
        ]
        start = centers[index] - group / 2
        for serie, low, high in _bar_segments(values, stacked):
            y1, y2 = scale(low), scale(high)
            bars.append(
                _el(
                    "rect",
                    {
                        "x": start + (0 if stacked else bar * serie) + 0.5,
                        "y": min(y1, y2),
                        "width": max(bar - 1, 1),
                        "height": abs(y1 - y2),
                        "fill": _color(serie),
                        "class": "chart-bar",
                        "data-series": serie,
                    },
                    _tooltip(label, series[serie][0], values[serie], value_format),
                )
            )
        nodes.append(_link(links[index], label, *bars))
    # The zero line again, over the bars.
    nodes.append(
        _el(
            "line",
            {"x1": left, "y1": scale(0), "x2": right, "y2": scale(0), "stroke": AXIS},
        )
    )
    axis, used = _x_axis_labels(labels, centers, slot, bottom, rotate_allowed=True, width=width)
    nodes += axis
    return _svg(title, bottom + used + PAD, *nodes, interactive=any(links), width=width)


def _horizontal_bars(
    title, labels, series, ticks, stacked, value_format, links, *, width
) -> SafeString:
    nodes: list = []
    top = PAD
    if len(series) > 1:
        legend, used = _legend([name for name, _values in series], top, width=width)
        nodes += legend
        top += used
    first, last = (
        format_value(ticks[0], value_format, short=True),
        format_value(ticks[-1], value_format, short=True),
    )
    left = PAD + _text_width(first) / 2 if ticks[0] < 0 else PAD
    right = width - PAD - _text_width(last) / 2
    scale = _Scale(ticks, left, right)
    thickness = 16.0 if stacked or len(series) == 1 else 11.0
    bars_height = thickness if stacked else thickness * len(series)
    row_height = FONT + 4 + bars_height + 10
    plot_top = top
    show_value = stacked or len(series) == 1

    rows = []
    for index, label in enumerate(labels):
        values = [values[index] for _name, values in series]
        y = top + index * row_height
        value_text = ""
        if show_value:
            known = [value for value in values if value is not None]
            value_text = _shown_value(sum(known, Decimal(0)), value_format) if known else "–"
        value_width = _text_width(value_text)
        row = [
            _tap_band(0, y, width, row_height - 2) if links[index] else None,
            _label(label, PAD, y + FONT, width=width - 2 * PAD - value_width - 14),
            _el(
                "text",
                {"x": width - PAD, "y": y + FONT, "text-anchor": "end", "fill": TEXT},
                value_text,
            )
            if value_text
            else None,
        ]
        bar_top = y + FONT + 4
        for serie, low, high in _bar_segments(values, stacked):
            x1, x2 = scale(low), scale(high)
            row.append(
                _el(
                    "rect",
                    {
                        "x": min(x1, x2),
                        "y": bar_top + (0 if stacked else thickness * serie),
                        "width": abs(x2 - x1),
                        "height": thickness - 1,
                        "fill": _color(serie),
                        "class": "chart-bar",
                        "data-series": serie,
                    },
                    _tooltip(label, series[serie][0], values[serie], value_format),
                )
            )
        rows.append(_link(links[index], label, *row))
    bottom = top + len(labels) * row_height

    for tick in ticks:
        x = scale(tick)
        nodes.append(
            _el(
                "line",
                {
                    "x1": x,
                    "y1": plot_top,
                    "x2": x,
                    "y2": bottom,
                    "stroke": AXIS if tick == 0 else GRID,
                    "stroke-width": 1.2 if tick == 0 else 1,
                    "class": "chart-zero" if tick == 0 else None,
                },
            )
        )
        text = format_value(tick, value_format, short=True)
        anchor = "start" if x - _text_width(text) / 2 < 1 else "middle"
        nodes.append(
            _el(
                "text",
                {"x": x, "y": bottom + FONT + 2, "text-anchor": anchor, "fill": MUTED},
                text,
            )
        )
    nodes += rows
    return _svg(title, bottom + FONT + 2 + PAD, *nodes, interactive=any(links), width=width)


def line_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence]],
    value_format: str = "number",
    links: Sequence[str | None] | None = None,
    width: int = WIDTH,
    plot_height: int = PLOT_HEIGHT,
) -> SafeString:
    """One line per series with a marker per point; a None value leaves a gap in its line.
    links: one URL (or None) per label; the label's column becomes a link.
    width: of the viewBox (see the module docstring); plot_height: of the plot."""
    _check_format(value_format)
    labels, cleaned = _clean_series(labels, series)
    links = _clean_links(links, len(labels))
    if not labels or not cleaned or not _has_data(cleaned):
        return _no_data(title, width)
    low, high = _extent(cleaned, stacked=False)
    ticks = axis_ticks(low, high, integer=value_format == "number" and _all_integers(cleaned))

    nodes: list = []
    top = PAD
    if len(cleaned) > 1:
        legend, used = _legend([name for name, _values in cleaned], top, lines=True, width=width)
        nodes += legend
        top += used
    top += FONT / 2
    left = _tick_gutter(ticks, value_format)
    right = width - PAD
    bottom = top + plot_height
    scale = _Scale(ticks, bottom, top)
    slot = (right - left) / len(labels)
    centers = [left + slot * (i + 0.5) for i in range(len(labels))]

    nodes += _y_grid(ticks, scale, left, right, value_format)
    for serie, (_name, values) in enumerate(cleaned):
        # One polyline per run of known values: a None breaks the line.
        run: list[str] = []
        for index, value in enumerate([*values, None]):
            if value is not None:
                run.append(f"{_num(centers[index])},{_num(scale(value))}")
                continue
            if len(run) > 1:
                nodes.append(
                    _el(
                        "polyline",
                        {
                            "points": " ".join(run),
                            "fill": "none",
                            "stroke": _color(serie),
                            "stroke-width": 2.5,
                            "stroke-linejoin": "round",
                            "stroke-linecap": "round",
                            "class": "chart-line",
                            "data-series": serie,
                        },
                    )
                )
            run = []
    for index, label in enumerate(labels):
        points = [
            _tap_band(centers[index] - slot / 2, top, slot, plot_height) if links[index] else None
        ]
        for serie, (name, values) in enumerate(cleaned):
            if values[index] is None:
                continue
            points.append(
                _marker(
                    serie,
                    centers[index],
                    scale(values[index]),
                    _color(serie),
                    _tooltip(label, name, values[index], value_format),
                )
            )
        nodes.append(_link(links[index], label, *points))
    axis, used = _x_axis_labels(labels, centers, slot, bottom, rotate_allowed=False, width=width)
    nodes += axis
    return _svg(title, bottom + used + PAD, *nodes, interactive=any(links), width=width)


def funnel_conversions(values: Sequence) -> list[Decimal | None]:
    """Each step as a percentage of the previous one, to one decimal: None for the first step
    and after a step of zero (or unknown)."""
    numbers = [_decimal(value) for value in values]
    conversions: list[Decimal | None] = [None]
    for previous, current in zip(numbers, numbers[1:], strict=False):
        if not previous or current is None:
            conversions.append(None)
        else:
            share = current * 100 / previous
            conversions.append(share.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    return conversions[: len(numbers)]


def funnel_chart(
    *,
    title: str,
    steps: Sequence[tuple[str, Number | None]],
    value_format: str = "number",
    links: Sequence[str | None] | None = None,
    width: int = WIDTH,
) -> SafeString:
    """One centred bar per step, as wide as its value against the largest one, with its label,
    value and, between two steps, the percentage of the previous step that reached the next.
    width: of the viewBox (see the module docstring)."""
    _check_format(value_format)
    labels = [str(label) for label, _value in steps]
    values = [_decimal(value) for _label, value in steps]
    links = _clean_links(links, len(labels))
    largest = float(max((value for value in values if value is not None), default=0))
    if largest <= 0:
        return _no_data(title, width)
    conversions = funnel_conversions(values)
    full = width - 2 * PAD
    middle = width / 2
    thickness = 22
    connector = FONT + 8
    nodes: list = []
    y = PAD
    for index, label in enumerate(labels):
        value = values[index]
        if index:
            percent = conversions[index]
            text = format_value(percent, "percent") if percent is not None else "–"
            nodes.append(
                _el(
                    "text",
                    {
                        "x": middle,
                        "y": y + FONT,
                        "text-anchor": "middle",
                        "fill": MUTED,
                        "class": "chart-conversion",
                    },
                    _title(_("%(percent)s of the previous step") % {"percent": text}),
                    f"↓ {text}",
                )
            )
            y += connector
        value_text = _shown_value(value, value_format) if value is not None else "–"
        bar = full * max(float(value or 0), 0) / largest
        row = [
            _tap_band(0, y, width, FONT + 4 + thickness) if links[index] else None,
            _label(label, PAD, y + FONT, width=full - _text_width(value_text) - 14),
            _el(
                "text",
                {"x": width - PAD, "y": y + FONT, "text-anchor": "end", "fill": TEXT},
                value_text,
            ),
            _el(
                "rect",
                {
                    "x": middle - bar / 2,
                    "y": y + FONT + 4,
                    "width": bar,
                    "height": thickness,
                    "rx": 2,
                    "fill": _color(0),
                    "class": "chart-bar",
                },
                _title(f"{label}: {format_value(value, value_format) or '–'}"),
            ),
        ]
        nodes.append(_link(links[index], label, *row))
        y += FONT + 4 + thickness + 4
    return _svg(title, y + PAD, *nodes, interactive=any(links), width=width)
