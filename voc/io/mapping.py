"""Map the input columns onto voc's column vocabulary (explicit names, common names in English and Japanese, and guesses from the values)."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from .. import columns as C
from ..errors import InputError
from ..script import JA_CLASS


AUTO_NAMES: dict[str, tuple[str, ...]] = {
    C.TEXT: ("text", "comment", "comments", "review", "review_text", "body", "verbatim",
             "feedback", "feedback_text", "message", "content", "comment_text", "open_text",
             "response", "answer", "description"),
    C.VOC_ID: ("id", "voc_id", "review_id", "ticket_id", "response_id", "record_id",
               "feedback_id", "comment_id", "uuid"),
    C.DATE: ("date", "created_at", "timestamp", "submitted_at", "created", "datetime",
             "date_time", "response_date", "review_date", "submitted", "created_date"),
    C.TOUCHPOINT: ("touchpoint", "touch_point", "journey_stage", "stage", "journey_step",
                   "step"),
    C.CHANNEL: ("channel", "source", "medium", "platform"),
    C.NPS: ("nps", "nps_score", "likelihood_to_recommend", "ltr", "recommend",
            "recommendation", "net_promoter_score"),
    C.CES: ("ces", "ces_score", "effort", "customer_effort", "customer_effort_score",
            "effort_score", "ease"),
    C.CSAT: ("csat", "csat_score", "satisfaction", "customer_satisfaction",
             "satisfaction_score"),
}
"""Input names recognised per vocabulary column (case, spaces and punctuation
ignored), in order of preference."""

_OPTION = {v: f"{'id' if v == C.VOC_ID else v}_col=" for v in C.MAPPABLE}
"""The keyword argument that maps each column. Messages name keyword arguments
(``text_col=``, ``on_error='skip'``); the CLI shows them as its flags
(``--text-col``, ``--on-error skip``), see :func:`voc.cli.as_flags`."""


# --------------------------------------------------------------------------- mapping

_CJK = JA_CLASS  # voc.script: the one definition of Japanese script
_GENERIC_TAIL = {"name", "names", "label", "labels", "value", "values"}
"""Trailing tokens that do not change what a header is about ("Department Name")."""

GUESS_HEADS: dict[str, tuple[str, ...]] = {
    C.TEXT: ("text", "comment", "comments", "review", "reviews", "body", "verbatim", "verbatims",
             "feedback", "message", "content", "remark", "remarks", "answer", "response",
             "description", "opinion"),
    C.DATE: ("date", "timestamp", "datetime"),
    C.TOUCHPOINT: ("touchpoint", "stage", "step", "journey"),
    C.CHANNEL: ("channel", "source", "medium", "platform"),
}
"""Compound headers: a header whose last token (after a trailing name/label/value)
is one of these is guessed for the column ("ReviewText", "Customer Comments",
"review_date", "Traffic Source")."""

GUESS_KEYWORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    C.NPS: (("nps", "ltr"), ("score", "rating", "ratings", "rate", "points", "level")),
    C.CES: (("ces", "effort"), ("score", "rating", "ratings", "rate", "points", "level")),
    C.CSAT: (("csat", "satisfaction"), ("score", "rating", "ratings", "rate", "points", "level")),
}
"""Survey compounds: (keywords, score words). A header is guessed when its last
token is a keyword, or it holds a keyword and ends in a score word ("NPSRating",
"Overall Satisfaction", "effort_rating")."""

ID_OWNERS = ("review", "ticket", "response", "record", "feedback", "comment", "survey", "case",
             "submission", "message", "interaction", "conversation", "answer", "回答", "レビュー",
             "投稿", "問い合わせ", "お問い合わせ", "チケット", "受付", "口コミ")
"""``<owner> id`` headers guessed as the record id ("SurveyID", "Case Id", "回答ID").
A bare product or customer id ("Clothing ID") is not: it repeats across records."""

JA_NAMES: dict[str, tuple[str, ...]] = {
    C.TEXT: ("本文", "コメント", "内容", "自由回答", "自由記述", "ご意見", "意見", "感想", "レビュー",
             "口コミ", "クチコミ", "お客様の声", "フィードバック", "テキスト", "回答"),
    C.VOC_ID: (),
    C.DATE: ("日付", "日時", "年月日", "タイムスタンプ", "投稿日", "回答日", "作成日", "受付日", "登録日",
             "送信日", "記入日", "レビュー日"),
    C.TOUCHPOINT: ("接点", "顧客接点", "タッチポイント", "ジャーニー", "ステージ", "段階"),
    C.CHANNEL: ("チャネル", "チャンネル", "経路", "流入元", "媒体", "情報源"),
    C.NPS: ("推奨度", "おすすめ度", "お勧め度", "オススメ度", "推奨意向"),
    C.CES: ("努力", "努力度", "手間", "容易さ", "簡単さ", "負担度"),
    C.CSAT: ("満足度", "満足"),
}
"""Japanese headers: a header equal to one of these, or ending in one
("レビュー本文", "問い合わせ内容", "投稿日時" is not: 日時 alone is), maps to the
column. Ids are guessed only as ``<owner>ID`` / ``<owner>番号`` with an owner of
:data:`ID_OWNERS` ("回答番号", "レビューID"); a bare ``ID`` is a known name."""

CANDIDATES: dict[str, tuple[str, ...]] = {
    C.TOUCHPOINT: ("department", "departments", "category", "categories", "product_category",
                   "部門", "部署", "カテゴリ", "カテゴリー", "分類"),
    C.CSAT: ("rating", "ratings", "stars", "star", "star_rating", "score", "review_rating",
             "overall_rating", "評価", "点数", "評点", "星", "スコア", "レーティング"),
}
"""Last-resort guesses, checked against the values: a touchpoint candidate
("Department Name", "Product Category", "カテゴリ") needs at most
:data:`MAX_TOUCHPOINTS` distinct values; a CSAT candidate ("Rating", "Stars",
"評価", "点数") needs every answer to be a number on the CSAT scale (1..5 by
default)."""

MAX_TOUCHPOINTS = 50


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).lower()).strip("_")


def _tokens(name: str) -> list[str]:
    """Lower-case words of a header: split on separators, case changes and
    script changes ("ReviewText" -> review, text; "レビューID" -> レビュー, id)."""
    s = unicodedata.normalize("NFKC", str(name))
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", s)
    s = re.sub(rf"(?<=[{_CJK}])(?=[0-9A-Za-z])|(?<=[0-9A-Za-z])(?=[{_CJK}])", " ", s)
    return [t for t in re.split(rf"[^0-9a-z{_CJK}]+", s.lower()) if t]


def _head(tokens: list[str]) -> list[str]:
    """Tokens without trailing generic words and numbers ("NPS (0-10)", "Class Name")."""
    out = list(tokens)
    while len(out) > 1 and (out[-1] in _GENERIC_TAIL or out[-1].isdigit()):
        out.pop()
    return out


def _ja_match(token: str, names: tuple[str, ...]) -> bool:
    return any(token == n or token.endswith(n) for n in names)


def _guess(vocab: str, tokens: list[str]) -> bool:
    """Whether a header (its :func:`_head` tokens) is a compound or Japanese name
    of ``vocab`` (no values needed)."""
    if not tokens:
        return False
    last = tokens[-1]
    if vocab == C.VOC_ID:
        if last in ("id", "uuid", "番号") or last.endswith("番号"):
            owner = tokens[-2] if len(tokens) > 1 else last.removesuffix("番号")
            return owner in ID_OWNERS
        return False
    if re.search(f"[{_CJK}]", last) and _ja_match(last, JA_NAMES[vocab]):
        return True
    if vocab in GUESS_HEADS:
        if vocab == C.DATE and (tokens[0] in GUESS_HEADS[C.DATE] or (last == "at" and len(tokens) > 1)):
            return True
        return last in GUESS_HEADS[vocab]
    keywords, score_words = GUESS_KEYWORDS[vocab]
    return last in keywords or (last in score_words and any(t in keywords for t in tokens))


def _is_candidate(vocab: str, tokens: list[str]) -> bool:
    """Whether a header (its :func:`_head` tokens) names a candidate of ``vocab``."""
    if not tokens:
        return False
    names, last = CANDIDATES[vocab], tokens[-1]
    return ("_".join(tokens) in names or last in names
            or bool(re.search(f"[{_CJK}]", last) and _ja_match(last, names)))


def _candidate(vocab: str, values: pd.Series, csat_scale: tuple[int, int]) -> str | None:
    """Why a candidate column fits ``vocab`` by its values, or None."""
    s = as_str(values).dropna()
    if s.empty:
        return None
    if vocab == C.TOUCHPOINT:
        n = s.nunique()
        return f"{n} distinct values" if n <= MAX_TOUCHPOINTS else None
    num = pd.to_numeric(s, errors="coerce")
    lo, hi = csat_scale
    if num.notna().all() and num.between(lo, hi).all():
        return f"values {num.min():g}..{num.max():g} fit the CSAT scale {lo}..{hi}"
    return None


def resolve_mapping(available: list[str], explicit: dict[str, str | None],
                     frame: pd.DataFrame | None = None,
                     csat_scale: tuple[int, int] = (1, 5)) -> tuple[dict[str, str], dict[str, str]]:
    """The mapping {vocab: input column} and, for guessed columns, how they were guessed.

    Explicit columns first, then in three passes over every vocabulary column
    (so a guess never takes a column that another one names exactly): known
    names (:data:`AUTO_NAMES`, also after splitting CamelCase), compound and
    Japanese names (:data:`GUESS_HEADS`, :data:`GUESS_KEYWORDS`,
    :data:`ID_OWNERS`, :data:`JA_NAMES`), then candidates checked against
    their values (:data:`CANDIDATES`).
    """
    mapping: dict[str, str] = {}
    notes: dict[str, str] = {}
    for vocab, col in explicit.items():
        if col is None:
            continue
        if col not in available:
            folded = [a for a in available if a.lower() == str(col).lower()]
            if len(folded) != 1:
                raise InputError(
                    f"Column '{col}' not found. Available: {', '.join(available)}. Use {_OPTION[vocab]}."
                )
            col = folded[0]
        mapping[vocab] = col
    used = set(mapping.values())
    by_norm: dict[str, str] = {}
    by_words: dict[str, str] = {}  # CamelCase split: "ReviewText" -> review_text
    heads: dict[str, list[str]] = {}
    for a in available:
        words = _tokens(a)
        by_norm.setdefault(_norm(a), a)
        by_words.setdefault("_".join(words), a)
        heads[a] = _head(words)

    def known(vocab: str) -> tuple[str, str] | None:
        for candidate in AUTO_NAMES[vocab] + JA_NAMES[vocab]:
            col = by_norm.get(candidate)
            if col is not None and col not in used:
                return col, ""
            col = by_words.get(candidate)
            if col is not None and col not in used:
                return col, f"guessed from header '{col}'"
        return None

    def compound(vocab: str) -> tuple[str, str] | None:
        for col in available:
            if col not in used and _guess(vocab, heads[col]):
                return col, f"guessed from header '{col}'"
        return None

    def by_values(vocab: str) -> tuple[str, str] | None:
        if vocab not in CANDIDATES or frame is None:
            return None
        for col in available:
            if col in used or not _is_candidate(vocab, heads[col]):
                continue
            why = _candidate(vocab, frame[col], csat_scale)
            if why:
                return col, f"guessed from header '{col}': {why}"
        return None

    for find in (known, compound, by_values):
        for vocab in C.MAPPABLE:
            if vocab in mapping:
                continue
            found = find(vocab)
            if found is not None:
                mapping[vocab], note = found
                used.add(found[0])
                if note:
                    notes[vocab] = note
    if C.TEXT not in mapping:
        raise InputError(
            f"No text column found. Available: {', '.join(available) or 'none'}. "
            f"Use {_OPTION[C.TEXT]} to name it."
        )
    order = [v for v in C.MAPPABLE if v in mapping]
    return {v: mapping[v] for v in order}, {v: notes[v] for v in order if v in notes}


def as_str(s: pd.Series) -> pd.Series:
    """Values as stripped strings; missing or blank -> <NA>."""
    out = s.astype("string").str.strip()
    return out.mask(out == "")
