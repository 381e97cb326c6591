"""Redaction of personal data in feedback text.

:func:`redact` replaces e-mail addresses, phone numbers, payment card numbers,
URLs that carry secrets, and anything matched by user-supplied regular
expressions with typed placeholders (``[EMAIL]``, ``[PHONE]``, ``[CARD]``,
``[URL]``, ``[CUSTOM]`` or ``[<NAME>]``), and counts what it replaced per
type. It never returns, logs or stores the values themselves.

Matching of the built-in kinds runs on a copy of the text in which every
character whose Unicode NFKC form is a single ASCII character is folded to it
(full-width ``０９０－１２３４－５６７８`` and ``ｔａｒｏ＠example.jp`` match like
their ASCII forms); this folding keeps every character in place, so the
replacement is made in the original text and everything else stays as
written. Names and postal addresses are *not* detected (see docs/privacy.md).
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .errors import ConfigError, InputError

logger = logging.getLogger(__name__)

KINDS = ("email", "phone", "card", "url_token")
"""Built-in kinds of personal data, in the order they are applied (after any
user patterns)."""

PLACEHOLDERS = {"email": "[EMAIL]", "phone": "[PHONE]", "card": "[CARD]", "url_token": "[URL]"}
"""Placeholder written in place of each built-in kind."""

CUSTOM = "custom"
"""Count key (placeholder ``[CUSTOM]``) of user patterns given as a list."""

SECRET_WORDS = (
    "token", "secret", "key", "session", "sid", "sessid", "auth", "password",
    "passwd", "pwd", "pass", "sig", "signature", "credential", "credentials",
    "otp", "code", "jwt", "hash", "nonce", "ticket",
)
"""A URL query or fragment parameter marks the URL as carrying a secret when
a word of its name (split at ``_``, ``-``, ``.`` and camelCase) is one of
these, starts with ``session``/``token``/``secret``/``password``, or ends with
``token``/``key``/``secret``/``session``/``sessid``/``sessionid``/
``password``/``signature`` (case-insensitive: ``access_token``, ``apiKey``,
``X-Amz-Signature``, ``JSESSIONID`` count; ``keyword``, ``author``,
``passenger`` do not)."""

_SECRET_WORD = re.compile(
    "|".join(SECRET_WORDS)
    + r"|(?:session|token|secret|password)[a-z0-9]*"
    + r"|[a-z0-9]*(?:token|key|secret|session|sessid|sessionid|password|signature)"
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")


def _is_secret_name(name: str) -> bool:
    words = _WORD_SPLIT.split(_CAMEL.sub(" ", name).lower())
    return any(_SECRET_WORD.fullmatch(w) for w in words if w)


# Dash-like characters people put between digit groups (NFKC keeps them).
_DASH = "\\-\u2010-\u2015\u2212\u30fc\uff70"
_SEP = f"[{_DASH} .]"  # phone group separator
_ORDER = ("url_token", "email", "card", "phone")  # application order


# --------------------------------------------------------------------------
# compiled once, on first use
# --------------------------------------------------------------------------


@functools.cache
def _fold_table() -> dict[int, str]:
    """Characters whose NFKC form is one ASCII character, mapped to it."""
    table = {}
    for cp in range(0x80, 0x20000):  # BMP and the math alphanumerics
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        n = unicodedata.normalize("NFKC", ch)
        if len(n) == 1 and n != ch and n.isascii():
            table[cp] = n
    return table


def _fold(text: str) -> str:
    """NFKC-fold ``text`` character by character; the length never changes."""
    return text if text.isascii() else text.translate(_fold_table())


@functools.cache
def _builtin_regexes() -> dict[str, re.Pattern]:
    # no ASCII letter/digit (or joining punctuation) right before or after
    nb = r"(?<![A-Za-z0-9_+\-/@#$%])(?<![0-9][.,:])"
    na = rf"(?![A-Za-z0-9_@%+(]|[.,:/{_DASH}][0-9])"
    email = (
        r"(?<![A-Za-z0-9._%+\-\u00c0-\u024f])"
        r"[A-Za-z0-9_%+\-\u00c0-\u024f](?:[A-Za-z0-9._%+\-\u00c0-\u024f]*[A-Za-z0-9_%+\-\u00c0-\u024f])?"
        # domain labels may be internationalised (taro@例え.jp): any letter or digit
        r"@(?:[^\W_](?:[\w\-]*[^\W_])?\.)+"
        r"(?:[A-Za-z]{2,24}|xn--[A-Za-z0-9\-]{1,59})(?![A-Za-z0-9\-])"
    )
    phone = "|".join(
        [
            # international: +CC then 2-6 groups, some digit count checked later
            rf"\+[1-9][0-9]{{0,2}}(?:{_SEP}?(?:\([0-9]{{1,4}}\)|[0-9]{{1,5}})){{2,6}}",
            # North American (NANP: area code and exchange start with 2-9):
            # (415) 555-0100, 415-555-0100, 1-800-555-0100
            rf"(?:1{_SEP})?(?:\([2-9][0-9]{{2}}\) ?|[2-9][0-9]{{2}}{_SEP})[2-9][0-9]{{2}}{_SEP}[0-9]{{4}}",
            # Japanese domestic: 090-1234-5678, 03-1234-5678, 0120-123-456,
            # 03(1234)5678, (03) 1234-5678, 09012345678
            rf"(?:\(0[0-9]{{1,4}}\) ?|0[0-9]{{1,4}}(?:{_SEP}|\())[0-9]{{1,4}}(?:{_SEP}|\) ?)[0-9]{{3,4}}",
            r"0[0-9]{9,10}",
        ]
    )
    # one run of 13-19 digits, or the printed groupings 4-4-4-4(-3) and
    # 4-6-4/4-6-5 (Amex, Diners) with spaces or dashes
    cs = f"[ {_DASH}]"
    card = (
        rf"(?:[0-9]{{13,19}}|[0-9]{{4}}(?:{cs}[0-9]{{4}}){{3}}(?:{cs}[0-9]{{3}})?"
        rf"|[0-9]{{4}}{cs}[0-9]{{6}}{cs}[0-9]{{4,5}})"
    )
    url = (  # schemes and hosts are case-insensitive: HTTPS://WWW.X also counts
        r"(?<![A-Za-z0-9])(?i:(?:https?|ftp)://|www\.)"
        r"[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%]*[A-Za-z0-9\-_~/#@$&*+=%]"
    )
    return {
        "email": re.compile(email),
        "phone": re.compile(rf"{nb}(?:{phone}){na}"),
        "card": re.compile(rf"{nb}{card}{na}"),
        "url_token": re.compile(url),
    }


# --------------------------------------------------------------------------
# validators: given a candidate match, return the span to redact or None
# --------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn checksum."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _check_card(s: str) -> tuple[int, int] | None:
    groups = [m.span() for m in _DIGITS.finditer(s)]
    if len(groups) == 5 and luhn_ok(_NON_DIGIT.sub("", s[: groups[3][1]])):
        # 4-4-4-4 card followed by another number ("... 1111 090 1234"):
        # 16-digit cards are the norm, so they win over 19 digits
        return 0, groups[3][1]
    return (0, len(s)) if luhn_ok(_NON_DIGIT.sub("", s)) else None


_DIGITS = re.compile(r"[0-9]+")
_NON_DIGIT = re.compile(r"[^0-9]")


def _check_phone(s: str) -> tuple[int, int] | None:
    n = sum(c.isdigit() for c in s)
    ok = 8 <= n <= 15 if s.startswith("+") else n in (10, 11)
    return (0, len(s)) if ok else None


_RANDOM_SEGMENT = re.compile(r"[A-Za-z0-9_\-.~%+=]{20,}")


def _looks_random(segment: str) -> bool:
    """A long segment mixing letters and digits: an id, hash or token."""
    for m in _RANDOM_SEGMENT.finditer(segment):
        tok = m.group()
        if (
            sum(c.isdigit() for c in tok) >= 3
            and sum(c.isalpha() for c in tok) >= 3
            and len(set(tok)) >= 10
        ):
            return True
    return False


def _check_url(s: str) -> tuple[int, int] | None:
    try:
        parts = urlsplit(s if "://" in s else "http://" + s)
        netloc = parts.netloc
    except ValueError:  # malformed (bad IPv6 host...): redact, to be safe
        return 0, len(s)
    if "@" in netloc:  # user:password@host
        return 0, len(s)
    path_params = "&".join(parts.path.split(";")[1:])  # /app;jsessionid=...
    for chunk in (parts.query, parts.fragment, path_params):
        for name, value in parse_qsl(chunk, keep_blank_values=True):
            if _is_secret_name(name) or _looks_random(value):
                return 0, len(s)
    if any(_looks_random(x) for x in (parts.path, parts.query, parts.fragment)):
        return 0, len(s)
    return None


_VALIDATORS: dict[str, Callable[[str], tuple[int, int] | None] | None] = {
    "email": None,
    "phone": _check_phone,
    "card": _check_card,
    "url_token": _check_url,
}
_PREFILTER: dict[str, Callable[[str], bool]] = {
    "email": lambda t: "@" in t,
    "url_token": lambda t: "://" in t or "www." in t.lower(),
}


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------


def redact(
    texts: Iterable[Any],
    *,
    kinds: Iterable[str] | None = KINDS,
    patterns: Mapping[str, str] | Iterable[str] | None = None,
) -> tuple[Any, dict[str, int]]:
    """Replace personal data in texts by typed placeholders.

    Parameters
    ----------
    texts : sequence of str or pandas.Series
        The texts. Values that are not strings (``None``, ``NaN``) are
        returned unchanged.
    kinds : iterable of str or None, default all of :data:`KINDS`
        Built-in kinds to redact: ``"email"`` -> ``[EMAIL]``, ``"phone"`` ->
        ``[PHONE]``, ``"card"`` (Luhn-checked, 13-19 digits) -> ``[CARD]``,
        ``"url_token"`` (URLs carrying a token, key, session, signature,
        password or long random segment; the whole URL) -> ``[URL]``.
        ``None`` means all; ``()`` means none (only ``patterns``).
    patterns : dict of {name: regex} or list of regex, optional
        Extra regular expressions, applied first, to the text as written
        (``\\d`` also matches full-width digits). A dict entry ``{"order_id":
        r"ORD-\\d{6}"}`` is replaced by ``[ORDER_ID]`` and counted under
        ``"order_id"``; list entries by ``[CUSTOM]``, counted under
        ``"custom"``. Names are letters, digits and underscores.

    Returns
    -------
    redacted : list of str, or pandas.Series with the same index
    counts : dict of {str: int}
        Number of replacements per kind (every requested kind and pattern
        name, zeros included). Never the values.

    Raises
    ------
    ConfigError
        An unknown kind, a bad pattern name, or a regex that does not compile.
    InputError
        ``texts`` is a single string instead of a sequence.

    Examples
    --------
    >>> redact(["Mail taro+voc@example.co.jp or call 090-1234-5678"])
    (['Mail [EMAIL] or call [PHONE]'], {'email': 1, 'phone': 1, 'card': 0, 'url_token': 0})
    """
    if isinstance(texts, (str, bytes)):
        raise InputError(
            "redact() takes a sequence of texts, got a single string; "
            "wrap it in a list: redact([text])."
        )
    kinds = _check_kinds(kinds)
    custom = compile_patterns(patterns)
    regexes = _builtin_regexes()
    builtin = [
        (k, regexes[k], _VALIDATORS[k], PLACEHOLDERS[k], _PREFILTER.get(k)) for k in _ORDER if k in kinds
    ]
    counts = dict.fromkeys(kinds, 0)
    for name, *_ in custom:
        counts.setdefault(name, 0)

    def one(text: Any) -> Any:
        if not isinstance(text, str) or not text:
            return text
        for name, rx, placeholder in custom:
            text, n = rx.subn(placeholder, text)
            counts[name] += n
        folded = _fold(text)
        for name, rx, check, placeholder, pre in builtin:
            if pre is not None and not pre(folded):
                continue
            text, folded, n = _replace(rx, check, placeholder, text, folded)
            counts[name] += n
        return text

    pd = sys.modules.get("pandas")  # a Series implies pandas is imported
    if pd is not None and isinstance(texts, pd.Series):
        out = texts.map(one) if len(texts) else texts.copy()
    else:
        out = [one(t) for t in texts]
    if any(counts.values()):
        logger.info("redacted %s", ", ".join(f"{v} {k}" for k, v in counts.items() if v))
    return out, counts


def redact_frame(
    df,
    *,
    column: str = "text",
    kinds: Iterable[str] | None = KINDS,
    patterns: Mapping[str, str] | Iterable[str] | None = None,
):
    """Redact one text column of a DataFrame (see :func:`redact`).

    Returns a copy of ``df`` with ``column`` redacted, and the counts per
    kind. ``df`` itself is not changed.

    Raises
    ------
    InputError
        ``column`` is not a column of ``df``.
    """
    if column not in df.columns:
        raise InputError(
            f"Cannot redact column '{column}': not in the data. "
            f"Columns are: {', '.join(map(str, df.columns))}. Pass column=<one of them>."
        )
    redacted, counts = redact(df[column], kinds=kinds, patterns=patterns)
    out = df.copy()
    out[column] = redacted
    return out, counts


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _replace(rx, check, placeholder, text, folded):
    """Replace validated matches of ``rx`` in ``folded`` at the same places
    in ``text``; return both new strings and the number of replacements."""
    out_t, out_f, last, n = [], [], 0, 0
    for m in rx.finditer(folded):
        start, end = m.span()
        if check is not None:
            span = check(m.group())
            if span is None:
                continue
            start, end = start + span[0], start + span[1]
        out_t += (text[last:start], placeholder)
        out_f += (folded[last:start], placeholder)
        last, n = end, n + 1
    if not n:
        return text, folded, 0
    out_t.append(text[last:])
    out_f.append(folded[last:])
    return "".join(out_t), "".join(out_f), n


def _check_kinds(kinds: Iterable[str] | None) -> tuple[str, ...]:
    if kinds is None:
        return KINDS
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ConfigError(
            f"Unknown redaction kind {bad[0]!r}. Allowed kinds: {', '.join(KINDS)}. "
            "Use patterns= for anything else."
        )
    return tuple(dict.fromkeys(kinds))


_NAME = re.compile(r"[A-Za-z0-9_]+")


def compile_patterns(patterns) -> list[tuple[str, re.Pattern, str]]:
    """Analyst redaction patterns (a regex, a list, or name -> regex) as ``(name, regex, "[NAME]")``;
    :class:`ConfigError` naming a bad name, an invalid regex or one that matches the empty string."""
    if patterns is None:
        return []
    if isinstance(patterns, str):
        patterns = [patterns]
    items = list(patterns.items()) if isinstance(patterns, Mapping) else [(CUSTOM, p) for p in patterns]
    out = []
    for name, regex in items:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ConfigError(
                f"Bad redaction pattern name {name!r}: use letters, digits and "
                "underscores only, e.g. 'order_id' (it becomes the placeholder [ORDER_ID])."
            )
        if not isinstance(regex, str) or not regex:
            raise ConfigError(
                f"Redaction pattern {name!r} must be a non-empty regular expression string, got {regex!r}."
            )
        try:
            rx = re.compile(regex)
        except re.error as e:
            raise ConfigError(
                f"Redaction pattern {name!r} is not a valid regular expression: "
                f"{regex!r}: {e}. Fix the regex (Python `re` syntax)."
            ) from None
        if rx.search(""):
            raise ConfigError(
                f"Redaction pattern {name!r} ({regex!r}) matches the empty string; "
                "it would insert placeholders everywhere. Make it match at least one character."
            )
        out.append((name, rx, f"[{name.upper()}]"))
    return out
