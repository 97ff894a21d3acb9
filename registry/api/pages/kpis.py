"""KPI pages for programme managers: the registry's, an organisation's and an achievement's key
figures, with charts drawn here as SVG geometry (no JavaScript): a bar chart of credentials issued
per month, a bar chart of endorsements by the endorser's kind and the revocation rate as a figure
with a proportion bar. Every chart has a text alternative (title, description) and a table with
the same numbers. The viewBoxes are narrow enough that a 390 px phone reads their text."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timezone

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from registry.api.pages.i18n import Translator
from registry.api.pages.rendering import PREFIX, PageInputError, language_of, page
from registry.projections import Kpis, Queries

WINDOWS = (12, 24)
CACHED_PAGES = 256  # rendered pages kept per worker, the least recently used dropped first
WIDTH = 400  # every chart's viewBox width: text scales to about 0.9 on a 390 px phone


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str  # what the bar is, for people ("March 2026", "Employer")
    short: str  # the axis label ("Mar")
    note: str  # under the axis label: the year at January and at the first bar, else ""
    value_text: str


@dataclass(frozen=True)
class Tick:
    y: float
    text: str


@dataclass(frozen=True)
class MonthChart:
    width: int
    height: int
    plot_left: float
    plot_right: float
    base: float  # the y of the axis
    bars: list[Bar]
    ticks: list[Tick]
    show_values: bool
    total: int
    peak: Bar | None


@dataclass(frozen=True)
class KindChart:
    width: int
    height: int
    label_x: float
    bar_x: float
    rows: list[Bar]
    total: int


@dataclass(frozen=True)
class Share:
    x: float
    width: float
    kind: str  # revoked, suspended, standing
    value: int


def nice_step(value: float) -> int:
    """The smallest of 1, 2, 5 times a power of ten that is at least `value` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def scale(peak: int) -> tuple[int, int]:
    """(top of the axis, its step): at most four round gridlines above zero."""
    step = nice_step(peak / 4)
    return max(step * -(-peak // step), step), step


def month_chart(kpis: Kpis, t: Translator) -> MonthChart:
    height, left, right, top, base = 226, 34.0, WIDTH - 4.0, 24.0, 186.0
    months = kpis.months
    top_value, step = scale(max((m.issued for m in months), default=0))
    slot = (right - left) / max(len(months), 1)
    bar_width = slot * 0.68
    bars = []
    short_names = t("kpi_months_short").split()
    for n, m in enumerate(months):
        year, month = m.month.split("-")
        h = (base - top) * m.issued / top_value
        # More than a year of bars: a label at each quarter, so that labels never overlap.
        labelled = len(months) <= 12 or month in ("01", "04", "07", "10")
        # The year under each January, and under the first bar unless a January follows closely.
        first = n == 0 and not any(m2.month.endswith("-01") for m2 in months[1:3])
        note = year if labelled and (month == "01" or first) else ""
        bars.append(Bar(round(left + n * slot + (slot - bar_width) / 2, 2), round(base - h, 2), round(bar_width, 2),
                        round(h, 2), m.issued, t.month(m.month), short_names[int(month) - 1] if labelled else "",
                        note, t.number(m.issued)))
    ticks = [Tick(round(base - (base - top) * value / top_value, 2), t.number(value))
             for value in range(0, top_value + 1, step)]
    peak = max(bars, key=lambda b: b.value) if bars and any(b.value for b in bars) else None
    return MonthChart(WIDTH, height, left, right, base, bars, ticks, len(months) <= 12,
                      sum(m.issued for m in months), peak)


def kind_chart(kpis: Kpis, t: Translator) -> KindChart:
    row, top, label_x, bar_x, right = 30, 6, 128.0, 134.0, WIDTH - 36.0
    top_value = max((k.endorsements for k in kpis.endorsements), default=0) or 1
    rows = []
    for n, k in enumerate(kpis.endorsements):
        width = (right - bar_x) * k.endorsements / top_value
        rows.append(Bar(bar_x, top + n * row + 6, round(width, 2), row - 12, k.endorsements,
                        t(f"kpi_kind_{k.kind}"), "", "", t.number(k.endorsements)))
    return KindChart(WIDTH, top + len(rows) * row + 4, label_x, bar_x, rows, kpis.endorsements_total)


def shares(kpis: Kpis) -> list[Share]:
    """The proportion bar: revoked, suspended now and the rest, as widths of the viewBox."""
    if not kpis.issued:
        return []
    found, x = [], 0.0
    standing = kpis.issued - kpis.revoked - kpis.suspended
    for kind, value in (("revoked", kpis.revoked), ("suspended", kpis.suspended), ("standing", standing)):
        width = WIDTH * value / kpis.issued
        if value:
            found.append(Share(round(x, 2), round(width, 2), kind, value))
        x += width
    return found


def percent(rate: float | None, language: str) -> str:
    if rate is None:
        return "–"
    text = f"{rate * 100:.1f}"
    return (text.replace(".", ",") if language == "nl" else text) + "%"


def duration(seconds: float | None, t: Translator) -> str:
    """A time to earn as a person reads it: days (one decimal under ten), hours under a day."""
    if seconds is None:
        return "–"
    days = seconds / 86_400
    if days < 1:
        hours = seconds / 3600
        return t("kpi_hours", n=_decimal(hours, 1 if hours < 10 else 0, t.language))
    return t("kpi_days", n=_decimal(days, 1 if days < 10 else 0, t.language))


def duration_range(low: float | None, high: float | None, t: Translator) -> str:
    """The middle half as one range: "29–42 days"."""
    if low is None or high is None:
        return "–"
    if low < 86_400:
        return f"{duration(low, t)} – {duration(high, t)}"
    days = [_decimal(s / 86_400, 1 if s < 864_000 else 0, t.language) for s in (low, high)]
    return t("kpi_days", n="–".join(days))


def _decimal(value: float, places: int, language: str) -> str:
    text = f"{value:,.{places}f}"
    if language == "nl":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def months_asked(request: Request) -> int:
    asked = request.query_params.get("months") or "12"
    if not asked.isdigit() or int(asked) not in WINDOWS:
        raise PageInputError(f"months: one of {', '.join(map(str, WINDOWS))}")
    return int(asked)


class RenderedPages:
    """Rendered KPI pages, each kept with the log position it was read at and the month it was
    rendered in: a page is served again only while the log has not grown (and the month has not
    turned), so a write is seen at once. Rendering costs a few milliseconds; serving a kept page,
    one position lookup (bench/kpis.py)."""

    def __init__(self, size: int = CACHED_PAGES) -> None:
        self.size = size
        self.pages: OrderedDict[tuple, tuple[int, bytes, dict[str, str], int]] = OrderedDict()
        self.lock = threading.Lock()

    def serve(self, request: Request, queries: Queries, render) -> Response:
        position = queries.last_position()
        now = queries.clock().astimezone(timezone.utc)
        key = (request.url.path, str(request.url.query), language_of(request), f"{now:%Y-%m}")
        with self.lock:
            kept = self.pages.get(key)
            if kept is not None and kept[0] == position:
                self.pages.move_to_end(key)
                return self.response(*kept[1:])
        template: Template = render()
        engine = request.app.template_engine
        body = engine.get_template(template.template_name).render(**template.context).encode("utf-8")
        headers = dict(template.headers)
        with self.lock:
            self.pages[key] = (position, body, headers, template.status_code)
            self.pages.move_to_end(key)
            while len(self.pages) > self.size:
                self.pages.popitem(last=False)
        return self.response(body, headers, template.status_code)

    @staticmethod
    def response(body: bytes, headers: dict[str, str], status: int) -> Response:
        return Response(body, media_type="text/html; charset=utf-8", headers=dict(headers), status_code=status)


RENDERED = RenderedPages()


def kpi_page(request: Request, kpis: Kpis, *, current: str = "", back: tuple[str, str] | None = None) -> Template:
    t = Translator(language_of(request))
    json_path = {"registry": "/kpis", "issuer": f"/issuers/{kpis.issuer}/kpis",
                 "achievement": f"/achievements/{kpis.achievement_id}/kpis"}[kpis.scope]
    return page(request, "kpis.html", current=current, kpis=kpis, window=len(kpis.months), windows=WINDOWS,
                request_path=request.url.path, json_path=f"{json_path}?months={len(kpis.months)}",
                months_chart=month_chart(kpis, t), kinds_chart=kind_chart(kpis, t), shares=shares(kpis),
                percent=lambda rate: percent(rate, t.language), duration=lambda s: duration(s, t),
                duration_range=lambda a, b: duration_range(a, b, t), back=back)


@get(f"{PREFIX}/kpis", sync_to_thread=True, include_in_schema=False)
def registry_kpis_page(request: Request, queries: NamedDependency[Queries]) -> Response:
    return RENDERED.serve(request, queries, lambda: kpi_page(
        request, queries.kpis(months=months_asked(request)), current="kpis"))


@get(f"{PREFIX}/issuers/{{slug:str}}/kpis", sync_to_thread=True, include_in_schema=False)
def issuer_kpis_page(request: Request, queries: NamedDependency[Queries], slug: FromPath[str]) -> Response:
    def render() -> Template:
        kpis = queries.kpis(issuer=slug, months=months_asked(request))
        return kpi_page(request, kpis, back=(f"{PREFIX}/issuers/{kpis.issuer}", kpis.issuer_name or ""))

    return RENDERED.serve(request, queries, render)


@get(f"{PREFIX}/achievements/{{achievement_id:str}}/kpis", sync_to_thread=True, include_in_schema=False)
def achievement_kpis_page(request: Request, queries: NamedDependency[Queries],
                          achievement_id: FromPath[str]) -> Response:
    def render() -> Template:
        kpis = queries.kpis(achievement=achievement_id, months=months_asked(request))
        return kpi_page(request, kpis, back=(f"{PREFIX}/achievements/{kpis.achievement_id}",
                                             kpis.achievement_name or ""))

    return RENDERED.serve(request, queries, render)


HANDLERS = [registry_kpis_page, issuer_kpis_page, achievement_kpis_page]
