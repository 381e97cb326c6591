"""Tests of voc.privacy: PII redaction with typed placeholders."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voc.errors import ConfigError, InputError
from voc.privacy import KINDS, luhn_ok, redact, redact_frame


def red(text, **kw):
    """Redact one text, return (text, counts)."""
    out, counts = redact([text], **kw)
    return out[0], counts


# --------------------------------------------------------------------------
# e-mail
# --------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, expected",
    [
        ("mail me: taro@example.com.", "mail me: [EMAIL]."),
        ("taro.yamada+voc@mail.example.co.jp", "[EMAIL]"),
        ("<First.Last@sub.Example.ORG>", "<[EMAIL]>"),
        ("josé@example.es wrote", "[EMAIL] wrote"),
        ("連絡はtaro@example.comまでお願いします", "連絡は[EMAIL]までお願いします"),
        ("連絡先：ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ です", "連絡先：[EMAIL] です"),
        ("a@b.co and c_d@e-f.io", "[EMAIL] and [EMAIL]"),
    ],
)
def test_email_redacted(text, expected):
    out, counts = red(text, kinds=["email"])
    assert out == expected
    assert counts == {"email": expected.count("[EMAIL]")}


@pytest.mark.parametrize(
    "text",
    ["follow @voc_team on social", "price 3@5 each", "user@localhost", "a@b", "メールは後で送ります"],
)
def test_email_negatives(text):
    assert red(text, kinds=["email"]) == (text, {"email": 0})


# --------------------------------------------------------------------------
# phone
# --------------------------------------------------------------------------

@pytest.mark.parametrize(
    "number",
    [
        "+1 415 555 0100",
        "+44 20 7946 0958",
        "+44 (0)20 7946 0958",
        "+81 90-1234-5678",
        "+81-3-1234-5678",
        "415-555-0100",
        "(415) 555-0100",
        "415.555.0100",
        "1-800-555-0100",
        "090-1234-5678",
        "03-1234-5678",
        "0120-123-456",
        "03(1234)5678",
        "(03) 1234-5678",
        "（０３）１２３４－５６７８",
        "09012345678",
        "０９０－１２３４－５６７８",
        "090ー1234ー5678",
    ],
)
@pytest.mark.parametrize("template", ["Call me at {} please.", "お電話は{}までお願いします。", "TEL.{}"])
def test_phone_redacted(number, template):
    out, counts = red(template.format(number), kinds=["phone"])
    assert out == template.format("[PHONE]")
    assert counts == {"phone": 1}


@pytest.mark.parametrize(
    "text",
    [
        "Ordered on 2026-11-23 at 10:30, arrived 2026/11/30 09:00:15.",
        "2026年11月23日10時30分に注文しました",
        "It cost ¥1,200 (was $19.99), total ￥120,000 or １２,０００円.",
        "Order ORD-415-555-0100 and A123-456-7890 and ABC-0312345678X.",
        "注文番号：AB-090-1234-5678",
        "Updated to v2.3.1, then v10.2.3.4567 (build 1.0.1234567890).",
        "〒150-0001 東京都港区六本木6-10-1, ZIP 94105-1234",
        "ISBN 978-4-06-123456-7, pi 3.14159265358979, IP 192.168.100.200",
        "sold 100 200 3000 units, open 10:30-11:45, 11/23-11/30",
        "serial 0120-123-456-789",
    ],
)
def test_phone_negatives(text):
    assert red(text, kinds=["phone"]) == (text, {"phone": 0})


# --------------------------------------------------------------------------
# payment cards
# --------------------------------------------------------------------------

def test_luhn():
    assert luhn_ok("4111111111111111")
    assert luhn_ok("79927398713")
    assert not luhn_ok("4111111111111112")
    assert not luhn_ok("1234567812345678")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("card 4111 1111 1111 1111 thanks", "card [CARD] thanks"),
        ("4111-1111-1111-1111", "[CARD]"),
        ("カード番号4111111111111111で払いました", "カード番号[CARD]で払いました"),
        ("カード：４１１１　１１１１　１１１１　１１１１", "カード：[CARD]"),
        ("Amex 3782 822463 10005.", "Amex [CARD]."),
        ("qty 2 4111 1111 1111 1111", "qty 2 [CARD]"),
        ("4111 1111 1111 1111 090-1234-5678", "[CARD] 090-1234-5678"),
        ("4111 1111 1111 1111 2026", "[CARD] 2026"),
    ],
)
def test_card_redacted(text, expected):
    assert red(text, kinds=["card"]) == (expected, {"card": 1})


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 thanks",  # 16 digits, fails Luhn
        "ref 1234567812345678",  # 16 digits, fails Luhn
        "tracking 1Z999AA10123456784",  # letters inside
        "id 41111111111111110000000",  # 23 digits: not a card
    ],
)
def test_card_negatives(text):
    assert red(text, kinds=["card"]) == (text, {"card": 0})


# --------------------------------------------------------------------------
# URLs with tokens
# --------------------------------------------------------------------------

@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/reset?token=abc123",
        "https://api.example.com/v1/items?apiKey=zz&page=2",
        "http://example.com/login?SESSIONID=42",
        "https://s3.example.com/f.pdf?X-Amz-Signature=deadbeef",
        "https://example.com/cb#access_token=xyz&state=1",
        "https://user:secret@example.com/x",
        "https://shop.example.com/o/8f3a9c2e7b1d4f6a0e5c9b2a7d3f1e8c",
        "www.example.com/login?password=hunter2",
        "https://example.com/app;jsessionid=1A", "https://example.com/?PHPSESSID=9",
        "https://example.com/cb?oauth_token=a&apikey=b",
        "https://example.com/cb?code=4/0AX4Xf",
    ],
)
def test_url_with_token_redacted(url):
    for template in ("see {} now", "こちら{}をクリック", "({})."):
        assert red(template.format(url), kinds=["url_token"]) == (template.format("[URL]"), {"url_token": 1})


@pytest.mark.parametrize(
    "text",
    [
        "see https://example.com/products/shoes?color=red&size=42",
        "docs at https://docs.example.org/en/latest/getting-started.html",
        "ヘルプ https://example.jp/help/faq をご覧ください",
        "visit www.example.com today",
        "search https://example.com/s?keyword=shoes&author=x&passenger=2&postcode=150",
    ],
)
def test_plain_url_kept(text):
    assert red(text, kinds=["url_token"]) == (text, {"url_token": 0})


def test_email_inside_plain_url_is_redacted():
    out, counts = red("https://example.com/?email=a@b.com")
    assert out == "https://example.com/?email=[EMAIL]"
    assert counts["email"] == 1 and counts["url_token"] == 0


# --------------------------------------------------------------------------
# all kinds, counts, user patterns, API
# --------------------------------------------------------------------------

def test_all_kinds_and_counts():
    texts = [
        "I am taro@example.com, call +81 90-1234-5678 or 03-1234-5678.",
        "Card 4111 1111 1111 1111, reset link https://x.example/reset?token=a1b2",
        "配送が遅かったです。",
        "",
    ]
    out, counts = redact(texts)
    assert out == [
        "I am [EMAIL], call [PHONE] or [PHONE].",
        "Card [CARD], reset link [URL]",
        "配送が遅かったです。",
        "",
    ]
    assert counts == {"email": 1, "phone": 2, "card": 1, "url_token": 1}
    assert all(isinstance(v, int) for v in counts.values())


def test_kinds_subset_leaves_others():
    out, counts = red("taro@example.com 090-1234-5678", kinds=("phone",))
    assert out == "taro@example.com [PHONE]"
    assert counts == {"phone": 1}


def test_kinds_none_means_all():
    assert redact(["a@b.io"], kinds=None) == (["[EMAIL]"], dict.fromkeys(KINDS, 0) | {"email": 1})


def test_unknown_kind():
    with pytest.raises(ConfigError, match=r"Unknown redaction kind 'name'\. Allowed kinds: email, phone, card, url_token"):
        redact(["x"], kinds=["email", "name"])


def test_user_patterns_dict_and_list():
    text = "Order ORD-123456 and 会員番号Ｍ１２３４ from taro@example.com"
    out, counts = red(text, patterns={"order_id": r"ORD-\d{6}", "member": r"[MＭ]\d{4}"})
    assert out == "Order [ORDER_ID] and 会員番号[MEMBER] from [EMAIL]"
    assert counts == {"email": 1, "phone": 0, "card": 0, "url_token": 0, "order_id": 1, "member": 1}
    out, counts = red("ORD-123456, ORD-654321", patterns=[r"ORD-\d{6}"], kinds=())
    assert out == "[CUSTOM], [CUSTOM]"
    assert counts == {"custom": 2}


def test_user_pattern_named_like_a_kind_adds_to_it():
    out, counts = red("ORD-1 x@y.io", kinds=("email",), patterns={"email": r"ORD-\d"})
    assert out == "[EMAIL] [EMAIL]"
    assert counts == {"email": 2}


def test_user_pattern_errors():
    msg = r"Redaction pattern 'order_id' is not a valid regular expression: 'ORD-\(\\\\d': missing \), unterminated"
    with pytest.raises(ConfigError, match=msg):
        redact(["x"], patterns={"order_id": r"ORD-(\d"})
    msg = r"Redaction pattern 'custom' is not a valid regular expression: '\[a-': unterminated character set"
    with pytest.raises(ConfigError, match=msg):
        redact(["x"], patterns=["[a-"])
    with pytest.raises(ConfigError, match=r"Bad redaction pattern name 'order id': use letters, digits and underscores"):
        redact(["x"], patterns={"order id": "x"})
    with pytest.raises(ConfigError, match=r"Redaction pattern 'x' \('a\*'\) matches the empty string"):
        redact(["x"], patterns={"x": "a*"})


def test_single_string_rejected():
    with pytest.raises(InputError, match=r"got a single string; wrap it in a list: redact\(\[text\]\)"):
        redact("taro@example.com")


def test_series_in_series_out_and_missing_values():
    s = pd.Series(["taro@example.com", None, "ok"], index=[10, 20, 30], name="text")
    out, counts = redact(s)
    assert isinstance(out, pd.Series)
    assert list(out.index) == [10, 20, 30] and out.name == "text"
    assert out[10] == "[EMAIL]" and pd.isna(out[20]) and out[30] == "ok"
    assert counts["email"] == 1
    assert redact(pd.Series([], dtype=object))[0].empty


def test_redact_frame(tiny_feedback):
    df = tiny_feedback.copy()
    df.loc[0, "text"] = "Late. Mail me at taro@example.com"
    out, counts = redact_frame(df)
    assert out.loc[0, "text"] == "Late. Mail me at [EMAIL]"
    assert df.loc[0, "text"] == "Late. Mail me at taro@example.com"  # input untouched
    assert out.drop(columns="text").equals(df.drop(columns="text"))
    assert counts["email"] == 1
    with pytest.raises(InputError, match=r"Cannot redact column 'comment': not in the data\. Columns are: voc_id, text"):
        redact_frame(df, column="comment")


def test_counts_never_hold_values():
    _, counts = redact(["taro@example.com 4111 1111 1111 1111"])
    assert set(counts) == set(KINDS)
    assert "taro" not in repr(counts) and "4111" not in repr(counts)


# --------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------

PII_ALPHABET = "0123456789 -+@.()/:?=&#_abkxyzテ＠０１－ー[]"
URL_ALPHABET = "abc.@:/?=;&#%token_key0123456789 -+()[]"
texts_st = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=PII_ALPHABET, max_size=80),
    st.builds(
        lambda a, scheme, b: a + scheme + b,
        st.text(alphabet=URL_ALPHABET, max_size=20),
        st.sampled_from(["https://", "www.", "http://u@"]),
        st.text(alphabet=URL_ALPHABET, max_size=50),
    ),
)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(texts_st, max_size=5))
def test_never_raises_and_idempotent(texts):
    once, counts = redact(texts)
    assert len(once) == len(texts) and all(isinstance(t, str) for t in once)
    assert all(v >= 0 for v in counts.values())
    twice, counts2 = redact(once)
    assert twice == once
    assert not any(counts2.values())


def _luhn_complete(digits):
    for check in "0123456789":
        if luhn_ok(digits + check):
            return digits + check
    raise AssertionError  # pragma: no cover


label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
emails = st.builds(
    lambda local, sep, tag, domain, sub, tld: f"{local}{sep}{tag}@{sub + '.' if sub else ''}{domain}.{tld}",
    label, st.sampled_from(["", ".", "+", "_", "-"]), label, label,
    st.one_of(st.just(""), label), st.sampled_from(["com", "jp", "co.jp", "org", "io"]),
)
def _grouped_card(first, rest, sep):
    number = _luhn_complete(first + rest)
    return sep.join(number[i : i + 4] for i in range(0, 16, 4))


cards = st.builds(
    _grouped_card,
    st.sampled_from("3456"),
    st.text(alphabet="0123456789", min_size=14, max_size=14),
    st.sampled_from(["", " ", "-"]),
)
phones = st.builds(
    lambda a, b, c, sep: f"{a}{sep}{b}{sep}{c}",
    st.sampled_from(["070", "080", "090"]), st.text(alphabet="0123456789", min_size=4, max_size=4),
    st.text(alphabet="0123456789", min_size=4, max_size=4), st.sampled_from(["-", " ", "", "－"]),
)
context = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(emails, cards, phones, context, context, st.sampled_from([" ", "\n", "、", "。 "]))
def test_generated_pii_never_leaks(email, card, phone, before, after, sep):
    text = f"{before}{sep}{email}{sep}{card}{sep}{phone}{sep}{after}"
    out, counts = red(text)
    assert email not in out
    assert card not in out and card.replace(" ", "").replace("-", "") not in out.replace(" ", "")
    assert phone not in out
    assert counts["email"] >= 1 and counts["card"] >= 1 and counts["phone"] >= 1
