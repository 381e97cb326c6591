"""Layout and callbacks of the dashboard (imported only when Dash is installed)."""

from __future__ import annotations

import atexit
import io
import logging
import math
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from .. import columns as C
from ..errors import VocError
from ..store import Store
from ..charts import heatmap_grid, heatmap_svg, svg_data_uri, trend_svg

log = logging.getLogger(__name__)

ASSETS = Path(__file__).with_name("assets")
ANY = "__any__"
KPI_LABELS = {"volume": "Records", "nps": "NPS", "csat": "CSAT", "ces": "CES"}
TOP_PER_TOUCHPOINT = 3
HEATMAP_ROWS = 15
CHOOSE = "Choose a pain point."
POOL = ThreadPoolExecutor(4, thread_name_prefix="voc-dashboard-reads")
CSP = ("default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
"""Content-Security-Policy of every response: nothing from any other origin."""


# ------------------------------------------------------------------ snapshots
class Snapshots:
    """The store as the dashboard sees it: a snapshot copy, re-taken in the
    background when the store file changes and no writer holds it.

    A run in progress keeps the old snapshot (the last complete run); the
    next check after the run has committed takes the new one.
    """

    def __init__(self, store: Store, *, refresh: float = 5.0, warm: Any = None) -> None:
        self.source = store
        self.refresh = refresh
        self.warm = warm
        self.folder = Path(tempfile.mkdtemp(prefix="voc-dashboard-"))
        atexit.register(shutil.rmtree, self.folder, True)
        self._lock = threading.Lock()
        self._stamp = self._file_stamp()
        self.current = self._warmed(store.snapshot(self.folder))  # waits for a writer up to store.timeout
        self.taken_at = time.time()
        if refresh and refresh > 0:
            threading.Thread(target=self._loop, name="voc-dashboard-snapshots", daemon=True).start()

    def _file_stamp(self) -> tuple:
        p = self.source.path
        wal = p.with_name(p.name + ".wal")
        return tuple((f.stat().st_mtime_ns, f.stat().st_size) if f.exists() else None for f in (p, wal))

    def _loop(self) -> None:
        while True:
            time.sleep(self.refresh)
            try:
                self.check()
            except Exception as e:  # never kill the thread; the old snapshot keeps serving
                log.warning("snapshot refresh failed: %s", e)

    def check(self) -> bool:
        """Take a new snapshot if the store changed and is not being written; True if taken."""
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return False
        try:
            new = self.source.snapshot(self.folder, timeout=0.5)
        except VocError:
            return False  # a writer holds the store: keep the last complete run
        self._warmed(new)
        with self._lock:
            old, self.current, self._stamp, self.taken_at = self.current, new, stamp, time.time()
        threading.Timer(60.0, _retire, [old]).start()  # after in-flight reads ended
        return True

    def _warmed(self, snap: Any) -> Any:
        """Answer the first page's reads on a new snapshot before it serves (they are then remembered)."""
        if self.warm is not None:
            try:
                self.warm(snap)
            except Exception as e:  # a failed warm-up only costs speed
                log.warning("snapshot warm-up failed: %s", e)
        return snap

    def store(self) -> Store:
        with self._lock:
            return self.current


def _retire(old: Any) -> None:
    old.close()
    path = old.path
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            p.unlink()
        except OSError:
            pass


# ----------------------------------------------------------------- formatting
SLIDER_PRELOAD = '<link rel="preload" as="script" href="{prefix}_dash-component-suites/dash/dcc/async-slider.js">'


def fmt_value(metric: str, v: Any) -> str:
    """A KPI or impact as the page shows it (NPS/CSAT 1 decimal, CES 2, records 0)."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or pd.isna(v):
        return "–"
    if metric == "volume":
        return f"{int(v):,}"
    if metric == "ces":
        return f"{float(v):.2f}"
    if metric == "csat":
        return f"{float(v):.1f}%"
    return f"{float(v):.1f}"


def fmt_delta(metric: str, v: Any) -> str:
    if v is None or pd.isna(v):
        return "–"
    digits = {"volume": 0, "ces": 2}.get(metric, 1)
    return f"{float(v):+.{digits}f}"


def fmt_impact(v: Any, lo: Any, hi: Any) -> str:
    if v is None or pd.isna(v):
        return "–"
    return f"{v:+.1f} [{lo:+.1f}, {hi:+.1f}]"


def fmt_share(v: Any) -> str:
    return "–" if v is None or pd.isna(v) else f"{100 * float(v):.0f}%"


def filters_from(weeks_idx: Any, week_list: list[str], touchpoint: str, channel: str, language: str,
                 sentiment: str) -> dict[str, Any]:
    """The Store filters of the filter widgets' values."""
    out: dict[str, Any] = {}
    if week_list and weeks_idx:
        lo, hi = int(weeks_idx[0]), int(weeks_idx[-1])
        out["weeks"] = (week_list[max(lo, 0)], week_list[min(hi, len(week_list) - 1)])
    for key, value in (("touchpoint", touchpoint), ("channel", channel), ("language", language),
                       ("sentiment", sentiment)):
        if value not in (None, ANY, ""):
            out[key] = value
    return out


def first_page_reads(s: Store) -> None:
    """The Store reads of the page as it first opens (every week, no filter), so a
    snapshot can answer them before it serves: the page load then costs no query."""
    opts = s.filter_options()
    s.latest_run()
    level = "topic" if len(s.topics()) else "theme"
    s.themes()
    weeks = opts["weeks"]
    f = filters_from([0, max(len(weeks) - 1, 0)], weeks, ANY, ANY, ANY, ANY)
    s.kpi_summary(**f)
    s.alerts(**f)
    s.heatmap(**f)
    top_pains(s, level, f, TOP_PER_TOUCHPOINT)
    dtp = opts["touchpoints"][0] if opts["touchpoints"] else C.ALL_TOUCHPOINTS
    pain_choices(s, level, f if dtp == C.ALL_TOUCHPOINTS else {**f, "touchpoint": dtp})


def top_pains(s: Store, level: str, f: dict[str, Any], top: int) -> pd.DataFrame:
    """The first ``top`` pain points of each touchpoint. One Store read per filter set
    (not one per ``top``), so the overview and the drill-down share a remembered answer."""
    df = s.pain_table(level=level, **f)
    return df[df["rank"] <= top].reset_index(drop=True)


def pain_choices(s: Store, level: str, f: dict[str, Any]) -> list[dict[str, Any]]:
    """The drill-down's pain points: the top 10 of its touchpoint, as radio options."""
    df = top_pains(s, level, f, 10)
    key = C.THEME if level == "theme" else C.TOPIC
    df = df[df[C.TOUCHPOINT] == f.get("touchpoint", C.ALL_TOUCHPOINTS)]
    return [{"label": f"{r['rank']}. {r['label']}", "value": int(r[key])} for _, r in df.iterrows()]


def csv_bytes(df: pd.DataFrame) -> str:
    """CSV text of a table with the CLI's formula-cell protection (:func:`voc.pipeline.csv_safe`)."""
    from ..outputs import csv_safe

    buf = io.StringIO()
    csv_safe(df).to_csv(buf, index=False)
    return buf.getvalue()


PAIN_EXPORT = ["touchpoint", "rank", "theme", "topic", "label", "topic_label", "keywords", "records",
               "mentions", "negative_share", "complaint_records", "nps_impact", "nps_impact_ci_low",
               "nps_impact_ci_high", "nps_n", "reliable"]
QUOTE_EXPORT = ["date", "touchpoint", "channel", "language", "sentiment", "sentiment_label", "nps", "csat",
                "ces", "text", "voc_id"]


# --------------------------------------------------------------------- app
def build_app(store: Any, *, refresh: float = 5.0) -> Any:
    import dash
    from dash import Input, Output, State, dcc, html

    from scipy import stats  # noqa: F401  (imported now, not by the first page's callbacks)

    store = store if isinstance(store, Store) else Store(store)
    snaps = Snapshots(store, refresh=refresh, warm=first_page_reads)
    app = dash.Dash(__name__, assets_folder=str(ASSETS), serve_locally=True, title="voc dashboard",
                    update_title=None, suppress_callback_exceptions=True)
    app.snapshots = snaps  # for tests and the benchmark
    # The week slider is one of dcc's lazily loaded chunks: without this hint the browser asks
    # for it only after the layout has arrived, and the page waits one more round trip.
    app.index_string = app.index_string.replace("{%metas%}", "{%metas%}" + SLIDER_PRELOAD.format(
        prefix=app.config.requests_pathname_prefix))

    hashes = " ".join(app.csp_hashes())  # already quoted: 'sha256-...'

    @app.server.after_request
    def _headers(resp):  # noqa: ANN001
        resp.headers["Content-Security-Policy"] = CSP.format(hashes=hashes)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        return resp

    def radio(id_: str, values: list[str], *, any_label: str | None = "any", value: str | None = None):
        opts = ([{"label": any_label, "value": ANY}] if any_label else []) + [
            {"label": v, "value": v} for v in values]
        return dcc.RadioItems(id=id_, options=opts, value=value if value is not None else opts[0]["value"],
                              inline=True, className="radio")

    def layout():
        s = snaps.store()
        opts = s.filter_options()
        weeks = opts["weeks"]
        run = s.latest_run()
        marks = {i: w for i, w in enumerate(weeks)} if len(weeks) <= 14 else {
            i: w for i, w in enumerate(weeks) if i % max(1, len(weeks) // 8) == 0 or i == len(weeks) - 1}
        has_topics = len(s.topics()) > 0
        tps = [t for t in opts["touchpoints"] if t != C.ALL_TOUCHPOINTS]
        dtp = opts["touchpoints"][0] if opts["touchpoints"] else C.ALL_TOUCHPOINTS
        first = filters_from([0, max(len(weeks) - 1, 0)], weeks, ANY, ANY, ANY, ANY)
        level = "topic" if has_topics else "theme"
        choices = pain_choices(s, level, first if dtp == C.ALL_TOUCHPOINTS else {**first, "touchpoint": dtp})
        k, a, p, h = overview([0, max(len(weeks) - 1, 0)], weeks, ANY, ANY, ANY, ANY, level)
        return html.Div(className="page", children=[
            dcc.Store(id="week-list", data=weeks),
            html.Header([
                html.H1("Voice of the customer"),
                html.Span([f"run {run} · {len(weeks)} weeks · snapshot ",
                           time.strftime("%H:%M:%S", time.localtime(snaps.taken_at))], id="run-info"),
            ]),
            html.Section(id="filters", className="filters", children=[
                html.Div([html.Label("Weeks"), dcc.RangeSlider(
                    id="f-weeks", min=0, max=max(len(weeks) - 1, 0), step=1, marks=marks,
                    value=[0, max(len(weeks) - 1, 0)], allowCross=False, allow_direct_input=False)], className="weeks"),
                html.Div([html.Label("Touchpoint"), radio("f-touchpoint", tps)]),
                html.Div([html.Label("Channel"), radio("f-channel", opts["channels"])]),
                html.Div([html.Label("Language"), radio("f-language", opts["languages"])]),
                html.Div([html.Label("Sentiment"), radio("f-sentiment", opts["sentiments"])]),
                html.Div([html.Label("Pain points by"), radio(
                    "f-level", ["topic", "theme"] if has_topics else ["theme"], any_label=None,
                    value="topic" if has_topics else "theme")]),
            ]),
            html.Section(id="kpis", className="kpis", children=k),
            html.Section(id="alerts", className="alerts", children=a),
            html.Section(className="pains-section", children=[
                html.Div([html.H2("Top pain points per touchpoint"),
                          html.Button("Export CSV", id="export-pains", className="export"),
                          dcc.Download(id="download-pains")], className="section-head"),
                html.P("Complaint impact on NPS (records with a negative mention), 95% interval; "
                       "unreliable = fewer than the run's min_n respondents.", className="note"),
                html.Div(id="pain-points", children=p),
            ]),
            html.Section(className="heatmap-section", children=[
                html.H2("Touchpoint × theme"),
                html.P("Colour: negative share of the mentions; number: records.", className="note"),
                html.Div(id="heatmap", children=h),
            ]),
            html.Section(id="drill", className="drill", children=[
                html.H2("Drill-down"),
                html.Div([html.Label("Touchpoint"), radio("d-touchpoint", opts["touchpoints"], any_label=None,
                                                          value=dtp)]),
                html.Div([html.Label("Pain point"), dcc.RadioItems(id="d-pain", options=choices,
                                                                   className="radio pains")]),
                html.Div(id="d-detail", children=[html.P(CHOOSE, className="empty")]),
                html.Div(id="d-trend"),
                html.Div([html.H3("Quotes (most negative first)"),
                          html.Button("Export CSV", id="export-quotes", className="export"),
                          dcc.Download(id="download-quotes")], className="section-head"),
                html.Div(id="quotes"),
            ]),
        ])

    F = [Input("f-weeks", "value"), State("week-list", "data"), Input("f-touchpoint", "value"),
         Input("f-channel", "value"), Input("f-language", "value"), Input("f-sentiment", "value")]
    FS = [State(d.component_id, d.component_property) for d in F]  # the filters, not triggering

    def kpis(w, wl, tp, ch, lang, sent):
        f = filters_from(w, wl, tp, ch, lang, sent)
        k = snaps.store().kpi_summary(**f)
        if k.empty:
            return [html.P("No dated records for these filters.", className="empty")]
        from ..trends import week_label

        period, prev = k["period"].iloc[0], k["previous_period"].iloc[0]
        cards = []
        for r in k.itertuples():
            interval = ("" if pd.isna(r.ci_low) else
                        f"[{fmt_value(r.metric, r.ci_low)}, {fmt_value(r.metric, r.ci_high)}]")
            cards.append(html.Div(id=f"kpi-{r.metric}", className="kpi", children=[
                html.Div(KPI_LABELS[r.metric], className="name"),
                html.Div(fmt_value(r.metric, r.value), className="value"),
                html.Div(interval, className="interval"),
                html.Div([f"{fmt_delta(r.metric, r.delta)} vs "
                          f"{week_label(prev) if prev is not None and not pd.isna(prev) else '–'}"],
                         className="delta"),
                html.Div(f"n={r.n}", className="n"),
                html.Div("unreliable" if not r.reliable else "", className="flag"),
            ]))
        return [html.H2(f"Week {week_label(period)}", id="kpi-week"), html.Div(cards, className="cards")]

    def alerts(w, wl, tp, ch, lang, sent):
        from ..trends import week_label

        a = snaps.store().alerts(**filters_from(w, wl, tp, ch, lang, sent))
        if a["period"] is None:
            return []
        items = [html.Li([html.Strong("New: "), r.label, f" ({r.volume} records, "
                          f"{fmt_share(r.negative_share)} negative)"], className="new")
                 for r in a["new_themes"].itertuples()]
        for r in a["spikes"].itertuples():
            what = (f"{int(r.observed)} records, expected {r.expected:.1f}" if r.kind == "volume" else
                    f"negative share {fmt_share(r.observed)}, was {fmt_share(r.expected)}")
            items.append(html.Li([html.Strong("Spike: "), r.label, f" ({what}, p={r.p_value:.2g})"],
                                 className="spike"))
        return [html.H2(f"Emerging themes and spikes, {week_label(a['period'])}"),
                html.Ul(items) if items else html.P("None this week.", className="empty")]

    def pain_rows(df: pd.DataFrame, level: str):
        head = html.Tr([html.Th(h) for h in ("#", "pain point", "records", "negative", "NPS impact", "n")])
        out = []
        for tp, g in df.groupby(C.TOUCHPOINT, sort=False):
            rows = [head]
            for r in g.itertuples():
                sub = (getattr(r, "themes", None) if level == "topic" else getattr(r, "topic_label", None))
                sub = sub if isinstance(sub, str) and sub else None
                label = [html.Span(r.label, className="label")]
                if sub:
                    label.append(html.Div(("themes: " if level == "topic" else "topic: ") + sub, className="sub"))
                rows.append(html.Tr([
                    html.Td(str(r.rank)), html.Td(label), html.Td(f"{r.records:,}", className="num"),
                    html.Td(fmt_share(r.negative_share), className="num"),
                    html.Td(fmt_impact(r.nps_impact, r.nps_impact_ci_low, r.nps_impact_ci_high), className="num"),
                    html.Td([f"{r.nps_n}", html.Span(" unreliable", className="flag")] if not r.reliable
                            else f"{r.nps_n}", className="num"),
                ], className="pain"))
            out.append(html.Div([html.H3(tp), html.Table(rows, className="pains")],
                                className="touchpoint", **{"data-touchpoint": str(tp)}))
        return out or [html.P("No pain points for these filters.", className="empty")]

    def pains(w, wl, tp, ch, lang, sent, level):
        df = top_pains(snaps.store(), level, filters_from(w, wl, tp, ch, lang, sent), TOP_PER_TOUCHPOINT)
        return pain_rows(df, level)

    @app.callback(Output("download-pains", "data"), Input("export-pains", "n_clicks"), *FS,
                  State("f-level", "value"), prevent_initial_call=True)
    def export_pains(_n, w, wl, tp, ch, lang, sent, level):
        df = top_pains(snaps.store(), level, filters_from(w, wl, tp, ch, lang, sent), TOP_PER_TOUCHPOINT)
        return {"content": csv_bytes(df[[c for c in PAIN_EXPORT if c in df]]), "filename": "pain_points_view.csv",
                "type": "text/csv"}

    def heatmap(w, wl, tp, ch, lang, sent):
        h = snaps.store().heatmap(**filters_from(w, wl, tp, ch, lang, sent))
        order, records, share = heatmap_grid(h, rows=HEATMAP_ROWS)
        if order.empty:
            return [html.P("No themes for these filters.", className="empty")]
        return [html.Img(src=svg_data_uri(heatmap_svg(order, records, share)), className="heatmap",
                         alt="Touchpoint by theme: negative share (colour) and records (number)")]

    @app.callback(Output("kpis", "children"), Output("alerts", "children"), Output("pain-points", "children"),
                  Output("heatmap", "children"), *F, Input("f-level", "value"), prevent_initial_call=True)
    def overview(w, wl, tp, ch, lang, sent, level):
        """The overview in one response (the page renders it in one pass, not four); its
        four reads run side by side (DuckDB releases the GIL while it computes). The
        page's layout carries the first overview (every week, no filter), so opening
        the page waits for no callback; this runs when a filter changes."""
        args = (w, wl, tp, ch, lang, sent)
        jobs = [(kpis, args), (alerts, args), (pains, (*args, level)), (heatmap, args)]
        return tuple(f.result() for f in [POOL.submit(fn, *a) for fn, a in jobs])

    @app.callback(Output("d-pain", "options"), Output("d-pain", "value"), Input("d-touchpoint", "value"), *F,
                  Input("f-level", "value"), State("d-pain", "value"), prevent_initial_call=True)
    def pain_options(dtp, w, wl, tp, ch, lang, sent, level, current):
        opts = pain_choices(snaps.store(), level, drill_filters(dtp, w, wl, tp, ch, lang, sent))
        values = [o["value"] for o in opts]
        return opts, (current if current in values else None)

    def drill_filters(dtp, w, wl, tp, ch, lang, sent):
        f = filters_from(w, wl, tp, ch, lang, sent)
        if tp in (None, ANY) and dtp not in (None, C.ALL_TOUCHPOINTS):
            f["touchpoint"] = dtp
        return f

    @app.callback(Output("d-detail", "children"), Output("d-trend", "children"), Output("quotes", "children"),
                  Input("d-pain", "value"), State("d-touchpoint", "value"), *F, State("f-level", "value"),
                  prevent_initial_call=True)
    def detail(item, dtp, w, wl, tp, ch, lang, sent, level):
        if item is None:
            return [html.P(CHOOSE, className="empty")], [], []
        s = snaps.store()
        f = drill_filters(dtp, w, wl, tp, ch, lang, sent)
        kw = {"theme": int(item)} if level == "theme" else {"topic": int(item)}
        tr = s.pain_trend(**kw, **f)
        q = s.quotes(**kw, **f)
        labels = s.topics() if level == "topic" else s.themes()
        key = C.THEME if level == "theme" else C.TOPIC
        row = labels[labels[key] == int(item)] if len(labels) and key in labels else labels.iloc[:0]
        label = str(row["label"].iloc[0]) if len(row) and "label" in row else f"{level} {item}"
        keywords = str(row["keywords"].iloc[0]) if len(row) and "keywords" in row and pd.notna(row["keywords"].iloc[0]) else ""
        detail = [html.H3(label, id="d-label"),
                  html.P([html.Strong("Keywords: "), html.Span(keywords, id="d-keywords")])]
        if level == "theme" and len(row) and "topic_label" in row and pd.notna(row["topic_label"].iloc[0]):
            detail.append(html.P([html.Strong("Topic: "), str(row["topic_label"].iloc[0])]))
        trend = [html.Img(src=svg_data_uri(trend_svg(tr)), className="trend",
                          alt=f"Weekly records, negative share and NPS impact of {label}")]
        head = html.Tr([html.Th(h) for h in ("date", "channel", "score", "sentiment", "quote")])
        rows = [head]
        for r in q.itertuples():
            score = " · ".join(f"{k.upper()} {float(getattr(r, k)):g}" for k in ("nps", "csat", "ces")
                               if pd.notna(getattr(r, k)))
            rows.append(html.Tr([
                html.Td(pd.Timestamp(r.date).strftime("%Y-%m-%d") if pd.notna(r.date) else "–"),
                html.Td(str(r.channel) if pd.notna(r.channel) else "–"), html.Td(score),
                html.Td(f"{r.sentiment:+.2f} {r.sentiment_label}"),
                html.Td(str(r.text), lang=str(r.language) if r.language in C.LANGUAGES else None, className="text"),
            ], className="quote"))
        quotes = [html.Table(rows, className="quotes")] if len(q) else [html.P("No quotes for these filters.",
                                                                                className="empty")]
        return detail, trend, quotes

    @app.callback(Output("download-quotes", "data"), Input("export-quotes", "n_clicks"), State("d-pain", "value"),
                  State("d-touchpoint", "value"), *FS, State("f-level", "value"), prevent_initial_call=True)
    def export_quotes(_n, item, dtp, w, wl, tp, ch, lang, sent, level):
        if item is None:
            return dash.no_update
        kw = {"theme": int(item)} if level == "theme" else {"topic": int(item)}
        q = snaps.store().quotes(**kw, **drill_filters(dtp, w, wl, tp, ch, lang, sent))
        return {"content": csv_bytes(q[[c for c in QUOTE_EXPORT if c in q]]), "filename": "quotes_view.csv",
                "type": "text/csv"}

    app.layout = layout  # last: the layout calls the overview defined above
    return app
