"""The ``voc`` command line: a thin layer over the library.

Commands call one library function each. Options shared by several commands
are decorators (:func:`input_options`, :func:`scale_options`), and
:class:`VocGroup` is the one place where a :class:`~voc.errors.VocError`
becomes ``Error: <message>`` on stderr with exit code 2 and no traceback.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Callable

import click

from . import __version__
from .errors import VocError

INPUT_OPTION_NAMES = ("text_col", "id_col", "date_col", "touchpoint_col", "channel_col", "nps_col",
                      "ces_col", "csat_col", "format", "encoding", "on_error", "rejects_path")
"""Keyword arguments of :func:`voc.io.load_feedback` set by :func:`input_options`."""


_FLAGS = {name: "--" + name.replace("_", "-") for name in INPUT_OPTION_NAMES + ("ces_scale", "csat_scale")}
_FLAGS.update(rejects_path="--rejects", date_format="--date-format")
_KWARG = re.compile(r"\b(" + "|".join(_FLAGS) + r")=(?:'([^'\s]*)'|\((\w+), (\w+)\))?")


def as_flags(message: str) -> str:
    """A library message with its keyword arguments spelled as this CLI's flags.

    The library names what a Python caller passes (``text_col=``,
    ``on_error='skip'``, ``ces_scale=(LOW, HIGH)``); the command line shows
    ``--text-col``, ``--on-error skip``, ``--ces-scale LOW HIGH``.
    """
    def flag(m: re.Match) -> str:
        values = [v for v in m.groups()[1:] if v]
        return " ".join([_FLAGS[m[1]], *values])

    return _KWARG.sub(flag, message)
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """``text`` with control characters escaped (``\\x1b``), so printed data cannot drive the terminal.

    Customer data reaches the terminal in touchpoint names, labels and the
    bad values quoted in error messages; an ANSI/OSC escape sequence there
    could recolour, retitle or rewrite the screen. C0 and C1 control
    characters (except the newline), DEL and the bidirectional overrides
    (U+202A-U+202E, U+2066-U+2069) are printed as Python-style escapes.
    """
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def echo(text: str, *, err: bool = False) -> None:
    """``click.echo`` through :func:`terminal_safe`: the CLI's only way to print."""
    click.echo(terminal_safe(text), err=err)


class _WarningFormatter(logging.Formatter):
    """Library warnings as the CLI prints them: flags for keyword arguments, control characters escaped."""

    def format(self, record: logging.LogRecord) -> str:
        return terminal_safe(as_flags(super().format(record)))


class VocGroup(click.Group):
    """A click group that turns any VocError into a one-line error, exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        # the library's warnings (a column that does not fit its scale, ...) go to stderr
        # as they happen, before the long stages
        handler = logging.StreamHandler()
        handler.setLevel(logging.WARNING)
        handler.setFormatter(_WarningFormatter("Warning: %(message)s"))
        logger = logging.getLogger("voc")
        logger.addHandler(handler)
        try:
            return super().invoke(ctx)
        except VocError as e:
            message = as_flags(" ".join(str(e).split("\n")))
            echo(f"Error: {message}", err=True)
            ctx.exit(2)
        finally:
            logger.removeHandler(handler)


def input_options(func: Callable) -> Callable:
    """Add the column-mapping and reading options of :func:`voc.io.load_feedback`."""
    options = [
        click.option("--text-col", metavar="COL", help="Column with the feedback text (default: auto, e.g. text, comment, review)."),
        click.option("--id-col", metavar="COL", help="Column with record ids (default: auto, e.g. id; else a content hash)."),
        click.option("--date-col", metavar="COL", help="Column with dates (default: auto, e.g. date, created_at)."),
        click.option("--touchpoint-col", metavar="COL", help="Column with the journey touchpoint (default: auto, e.g. touchpoint, stage)."),
        click.option("--channel-col", metavar="COL", help="Column with the channel (default: auto, e.g. channel, source)."),
        click.option("--nps-col", metavar="COL", help="Column with NPS answers 0-10 (default: auto, e.g. nps, likelihood_to_recommend)."),
        click.option("--ces-col", metavar="COL", help="Column with CES answers (default: auto, e.g. ces, effort)."),
        click.option("--csat-col", metavar="COL", help="Column with CSAT answers (default: auto, e.g. csat, satisfaction)."),
        click.option("--format", type=click.Choice(["csv", "tsv", "jsonl", "json", "parquet"]),
                     help="Input format (default: from the suffix; .gz is read as gzip)."),
        click.option("--encoding", metavar="NAME", help="Text encoding of the input (default: utf-8)."),
        click.option("--on-error", type=click.Choice(["fail", "skip"]), default="fail", show_default=True,
                     help="Rows with bad values: fail, or skip them into the rejects table."),
        click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False), metavar="PATH",
                     help="Write the problem rows (line, reason, fields) to this CSV."),
        click.option("--date-format", metavar="FORMAT",
                     help="Dates: auto (one format detected per column, the default), dmy or mdy (order of "
                          "03/04/2026), or a strptime format such as %d.%m.%Y."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def scale_options(func: Callable) -> Callable:
    """Add --ces-scale and --csat-scale (LOW HIGH)."""
    func = click.option("--csat-scale", nargs=2, type=int, default=None, metavar="LOW HIGH",
                        help="Allowed CSAT answers (default: 1 5).")(func)
    func = click.option("--ces-scale", nargs=2, type=int, default=None, metavar="LOW HIGH",
                        help="Allowed CES answers (default: 1 7).")(func)
    return func


def load_kwargs(options: dict[str, Any], *, scales: bool = True) -> dict[str, Any]:
    """The :func:`voc.io.load_feedback` keyword arguments among click ``options``.

    ``scales=False`` leaves out ``ces_scale``/``csat_scale`` (for commands that
    pass them through a :class:`~voc.config.Config` instead); the same holds
    for ``date_format``.
    """
    kwargs = {k: options[k] for k in INPUT_OPTION_NAMES if options.get(k) is not None}
    for name in ("ces_scale", "csat_scale") if scales else ():
        if options.get(name):
            kwargs[name] = tuple(options[name])
    if scales and options.get("date_format") is not None:
        kwargs["date_format"] = options["date_format"]
    return kwargs


@click.group(cls=VocGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="voc", message="%(prog)s %(version)s")
def main() -> None:
    """voc: themes, sentiment and NPS/CES/CSAT impact from customer feedback."""


@main.command()
@click.argument("input", type=click.Path(dir_okay=False))
@input_options
@scale_options
def validate(input: str, **options: Any) -> None:
    """Check INPUT and summarise it: rows, languages, mapping, scores, dates, problems."""
    from .io import validate_feedback

    report = validate_feedback(input, **load_kwargs(options))
    echo(report.summary())


def analysis_options(func: Callable) -> Callable:
    """Options of an analysis run; each maps onto a :class:`voc.config.Config` field."""
    options = [
        click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), metavar="TOML",
                     help="Read options from a TOML file; flags override it."),
        click.option("--unit", type=click.Choice(["sentence", "record"]),
                     help="What a mention is: sentences/clauses (default) or whole records."),
        click.option("--embedder", metavar="NAME",
                     help="minilm, use-multilingual, or any sentence-transformers model name or path "
                          "(default: minilm for English-only data, else use-multilingual)."),
        click.option("--sentiment", metavar="NAME",
                     help="Sentiment scorer: default (English: fine-tuned MiniLM; Japanese: multilingual head), "
                          "head (embedding heads only, faster), vader, or hf:MODEL (default: default)."),
        click.option("--min-theme-size", type=int, metavar="N",
                     help="Smallest cluster called a theme (default: derived from the data size)."),
        click.option("--split-polarity", type=float, metavar="SHARE",
                     help="Split a theme both praised and criticised (each side at least SHARE of it, "
                          "e.g. 0.25) into its negative mentions and the rest (default: off)."),
        click.option("--random-state", type=int, metavar="SEED", help="Seed of every stochastic step (default: 0)."),
        click.option("--edits", type=click.Path(dir_okay=False, exists=True), metavar="YAML",
                     help="Analyst theme edits (rename/merge/delete) replayed on this run."),
        click.option("--taxonomy", type=click.Path(dir_okay=False, exists=True), metavar="YAML",
                     help="The analysts' code frame: named themes with seed phrases (docs/taxonomy.md)."),
        click.option("--ces-direction", type=click.Choice(["higher_is_easier", "lower_is_easier"]),
                     help="CES direction (default: higher_is_easier, the 1-7 'it was easy' item)."),
        click.option("--csat-threshold", type=int, metavar="N",
                     help="Lowest CSAT answer counted as satisfied (default: top two boxes)."),
        click.option("--min-n", type=int, metavar="N",
                     help="Respondents below which a metric is flagged unreliable (default: 30)."),
        click.option("--batch-date", metavar="YYYY-MM-DD",
                     help="Date of this batch, given to every record without a date (e.g. a weekly "
                          "dump with no date column)."),
        click.option("--redact", is_flag=True, default=None,
                     help="Replace e-mails, phones, card numbers and token URLs by placeholders "
                          "before anything is embedded, stored or reported."),
    ]
    for option in reversed(options):
        func = option(func)
    return scale_options(func)


def build_config(options: dict[str, Any]) -> Any:
    """A :class:`voc.config.Config` from a TOML file (if any) and the flags."""
    from .config import Config

    path = options.pop("config_path", None)
    config = Config.from_toml(path) if path else Config()
    fields = {
        "unit": options.pop("unit", None),
        "embedder": options.pop("embedder", None),
        "sentiment": options.pop("sentiment", None),
        "min_theme_size": options.pop("min_theme_size", None),
        "split_polarity": options.pop("split_polarity", None),
        "random_state": options.pop("random_state", None),
        "edits": options.pop("edits", None),
        "taxonomy": options.pop("taxonomy", None),
        "ces_direction": options.pop("ces_direction", None),
        "csat_threshold": options.pop("csat_threshold", None),
        "min_n": options.pop("min_n", None),
        "redact": options.pop("redact", None),
        "batch_date": options.pop("batch_date", None),
        "ces_scale": tuple(options.pop("ces_scale", None) or ()) or None,
        "csat_scale": tuple(options.pop("csat_scale", None) or ()) or None,
        "date_format": options.pop("date_format", None),
    }
    return config.replace(**fields)


@main.command()
@click.argument("input", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Output folder (records.parquet, mentions.parquet, themes.csv, topics.csv, touchpoints.csv, "
                   "pain_points.csv, run.json). Required unless --store is given.")
@click.option("--store", is_flag=False, flag_value="voc.duckdb", default=None, metavar="PATH",
              help="Weekly mode: add only records the run store has not seen, keep theme ids stable, "
                   "find emerging themes (PATH defaults to ./voc.duckdb).")
@click.option("--report", "report_dir", is_flag=False, flag_value=".", default=None, metavar="DIR",
              help="With --store: also write report.html and report.md (into DIR, default: here).")
@click.option("--model", "model_path", type=click.Path(exists=True), metavar="PATH",
              help="Assign to this saved theme model (same theme ids) instead of fitting a new one.")
@click.option("--save-model", type=click.Path(file_okay=False), metavar="PATH",
              help="Also save the theme model to this folder.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default=None,
              help="Stream the input in chunks with bounded memory (local), or over a Dask cluster "
                   "(dask). Default: in memory, fine up to a few hundred thousand rows.")
@click.option("--scheduler", metavar="ADDRESS", help="With --engine dask: an existing Dask scheduler "
                                                     "(default: a local 2-worker cluster).")
@click.option("--chunk-size", type=int, default=50_000, show_default=True,
              help="Records per chunk with --engine.")
@click.option("--top", type=int, default=3, show_default=True, help="Pain points printed per touchpoint.")
@click.option("--quiet", is_flag=True, help="No progress lines or tables (progress shows only when stderr "
                                           "is a terminal, or with VOC_PROGRESS=1).")
@input_options
@analysis_options
def run(input: str, out_dir: str | None, store: str | None, report_dir: str | None,
        model_path: str | None, save_model: str | None, engine: str | None, scheduler: str | None,
        chunk_size: int, top: int, quiet: bool, **options: Any) -> None:
    """Find themes, sentiment and pain points in INPUT; write the tables to --out."""
    from . import progress as P
    from .errors import ConfigError
    from .pipeline import run_file, run_store

    config = build_config(options)
    progress = P.wanted(quiet)
    if scheduler and engine != "dask":
        raise ConfigError("--scheduler goes with --engine dask.")
    if store is None:
        if out_dir is None or report_dir is not None:
            raise ConfigError("Missing --out DIR (or use --store PATH for weekly runs; --report needs --store).")
        if engine:
            from .engine import run_streaming

            analysis = run_streaming(input, out_dir, config=config, chunk_size=chunk_size, engine=engine,
                                     scheduler=scheduler, model_path=model_path, save_model=save_model,
                                     progress=progress, **load_kwargs(options, scales=False))
        else:
            analysis = run_file(input, out_dir, config=config, model_path=model_path,
                                save_model=save_model, progress=progress,
                                **load_kwargs(options, scales=False))
    else:
        if model_path or save_model:
            raise ConfigError("--model and --save-model do not go with --store: the store keeps its own model.")
        if engine:
            from .stream_store import run_store_streaming

            analysis = run_store_streaming(input, store, config=config, engine=engine, chunk_size=chunk_size,
                                           scheduler=scheduler, out_dir=out_dir, report_dir=report_dir,
                                           progress=progress, **load_kwargs(options, scales=False))
        else:
            analysis = run_store(input, store, config=config, out_dir=out_dir, report_dir=report_dir,
                                 progress=progress, **load_kwargs(options, scales=False))
        if analysis is None:
            echo(f"No new records: the store '{store}' already holds every record of {input}.")
            return
    if not quiet:
        echo(summary_text(analysis, out_dir, top=top))
        if report_dir is not None:
            echo(f"Wrote {report_dir}/report.html and {report_dir}/report.md")


@main.command()
@click.option("--store", default="voc.duckdb", show_default=True, metavar="PATH", help="The run store.")
@click.option("--week", metavar="YYYY-Www", help="Week to report on (default: the latest week with data).")
@click.option("--out", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder for report.html and report.md.")
def report(store: str, week: str | None, out_dir: str) -> None:
    """Write the weekly meeting report (report.html, report.md) from a run store."""
    from .report import write_report

    paths = write_report(store, out_dir, week=week)
    echo(f"Wrote {paths['html']} and {paths['md']}")


@main.command()
@click.option("--store", default="voc.duckdb", show_default=True, metavar="PATH", help="The run store.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only).")
@click.option("--port", default=8050, show_default=True, type=click.IntRange(0, 65535), help="Port.")
def dashboard(store: str, host: str, port: int) -> None:
    """Open the dashboard over a run store (needs: pip install "voc[dashboard]")."""
    from .dashboard import serve

    serve(store, host=host, port=port, ready=lambda url: echo(f"voc dashboard on {url} (Ctrl+C to stop)"))


@main.command()
@click.option("--out", "out_dir", default="voc-demo", show_default=True, type=click.Path(file_okay=False),
              help="Output folder.")
@click.option("--top", type=int, default=3, show_default=True, help="Pain points printed per touchpoint.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
def demo(out_dir: str, top: int, quiet: bool) -> None:
    """Run the shipped bilingual sample as weekly runs; print the top pain points."""
    from . import progress as P
    from .pipeline import run_demo

    analysis, steps = run_demo(out_dir, progress=P.wanted(quiet))
    for step in steps:
        echo(f"weeks {step['weeks']:>4}: dump {step['dump_records']:>4} records, "
             f"{step['new_records']:>4} new, emerging themes: {emerging_text(step['emerging_themes'])}")
    echo(summary_text(analysis, out_dir, top=top))
    echo(f"Wrote {out_dir}/report.html and {out_dir}/report.md (open the HTML in a browser).")


IMPACT_METRICS = (("nps", "NPS", "+.1f"), ("csat", "CSAT", "+.1f"), ("ces", "CES", "+.2f"))
"""Survey metrics whose impact columns the console prints (when the table has them)."""
LABEL_WIDTH = 48


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: 2 per wide (CJK) character, 0 per combining mark."""
    import unicodedata

    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


def fit_width(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` terminal columns (ending in '…' if cut), padded to ``width``."""
    if display_width(text) > width:
        out, used = "", 0
        for ch in text:
            w = display_width(ch)
            if used + w > width - 1:
                break
            out, used = out + ch, used + w
        text = out + "…"
    return text + " " * (width - display_width(text))


def emerging_text(ids: list[int]) -> str:
    """``"none"``, or how many emerging themes and their ids: ``"2 (ids 87, 88)"``."""
    if not ids:
        return "none"
    return f"{len(ids)} ({'id' if len(ids) == 1 else 'ids'} {', '.join(str(int(t)) for t in ids)})"


def _impact_text(row: dict, metrics: list[tuple[str, str, str]], *, min_n: int) -> str:
    """The complaint impact (what ranks, see voc.rank) of each present metric, with its interval.

    Flagged unreliable under ``min_n`` respondents. Tables from before
    complaint impact (no ``complaint_*`` columns) show the whole-theme impact.
    """
    from .rank import impact_column

    parts = []
    for m, name, fmt in metrics:
        col = impact_column(row, m)
        value = row.get(col, float("nan"))
        if value != value:
            parts.append(f"{name} n/a")
            continue
        lo, hi = row[f"{col}_ci_low"], row[f"{col}_ci_high"]
        part = f"{name} {value:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"
        n = row.get(col.replace("_impact", "_with_n"))
        if n is not None and n == n and n < min_n:
            part += f" (n={int(n)}, unreliable)"
        parts.append(part)
    return "  ".join(parts)


def summary_text(analysis: Any, out_dir: str | None, *, top: int) -> str:
    """What ``voc run`` prints: counts, where the files are, top pain points per touchpoint.

    ``out_dir=None`` (a store run without ``--out``) names the store and the
    run instead of output files, since none were written.
    """
    counts = analysis.run["counts"]
    seconds = analysis.run.get("seconds", {}).get("total")
    lines = [
        f"{counts['records']} records, {counts['mentions']} mentions, {counts['themes']} themes "
        f"({counts['unassigned_mentions']} mentions unassigned)" + (f" in {seconds:.1f}s" if seconds else ""),
    ]
    if out_dir is not None:
        lines.append(f"Wrote {out_dir}/: records.parquet mentions.parquet themes.csv topics.csv touchpoints.csv "
                     "pain_points.csv run.json")
    stored = analysis.run.get("store") or {}
    if stored.get("run_id"):
        lines.append(f"Stored run {stored['run_id']} in {stored.get('path', 'the store')}")
    mapping = analysis.run.get("mapping", {})
    lines += [f"Mapped {vocab} <- {mapping.get(vocab, '?')} ({note})"
              for vocab, note in analysis.run.get("mapping_guesses", {}).items()]
    if "emerging_themes" in analysis.run:
        lines.append(f"Emerging themes: {emerging_text(analysis.run['emerging_themes'])}")
    from .rank import rank_metric_used, theme_rows

    pp = theme_rows(analysis.pain_points)
    if pp.empty:
        return "\n".join(lines + ["No pain points found."])
    ranked_by = rank_metric_used(pp)
    metrics = sorted((spec for spec in IMPACT_METRICS
                      if f"{spec[0]}_impact" in pp.columns and pp[f"{spec[0]}_impact"].notna().any()),
                     key=lambda spec: spec[0] != ranked_by)
    min_n = analysis.run.get("config", {}).get("min_n", 30)
    level = analysis.run.get("config", {}).get("confidence", 0.95)
    lines.append("")
    if metrics:
        rank_note = f"ranked by {ranked_by.upper()}; " if ranked_by else ""
        lines.append(f"Top {top} pain points per touchpoint (complaint impact on "
                     f"{', '.join(name for _, name, _ in metrics)}, {100 * level:g}% CI; {rank_note}unreliable = fewer "
                     f"than {min_n} respondents):")
    else:
        lines.append(f"Top {top} pain points per touchpoint (no NPS, CSAT or CES scores: ranked by "
                     "volume x negativity):")
    for touchpoint, group in pp.groupby("touchpoint", sort=False):
        lines.append(f"  {touchpoint}")
        for row in group.sort_values("rank").head(top).itertuples():
            line = (f"    {int(row.rank)}. {fit_width(str(row.label), LABEL_WIDTH)} {int(row.records):>4} records  "
                    f"{100 * row.negative_share:3.0f}% negative")
            impact = _impact_text(row._asdict(), metrics, min_n=min_n)
            lines.append(f"{line}  {impact}" if impact else line)
    return "\n".join(lines)
