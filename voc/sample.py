"""Seeded bilingual sample feedback with planted pain points.

In the spirit of scikit-learn's ``make_blobs``: :func:`make_feedback` writes
realistic-looking English and Japanese customer feedback (reviews, support
tickets, social posts, survey verbatims) whose ground truth is known, so the
demo, the docs and the tests can check that voc finds what was planted.
The shipped file ``voc/data/sample_feedback.csv`` is
``make_feedback(2000, random_state=0)``; ``python -m voc.sample [--out PATH]``
regenerates it byte for byte.

Columns
-------
id (``R00001``...), date (``YYYY-MM-DD HH:MM``, sorted), touchpoint
(website, app, checkout, delivery, support), channel (review, ticket,
social, survey), text, nps (0-10, ~92% of rows), ces (1-7 agreement with
"it was easy to ...", higher is easier, ~85%), csat (1-5, ~40%).

How a record is made
--------------------
1. A date uniformly in ``weeks`` weeks from ``start`` (week 1 = the first
   seven days), a touchpoint, a channel and a language (Japanese with
   probability ``ja_share``).
2. A theme drawn from the touchpoint's theme mix (:data:`TOUCHPOINT_THEMES`).
   Pain points occur only at their touchpoint; ``battery_drain`` only from
   week 7 on (an emerging theme). About 20% of pain-point records also praise
   something ("delivery was late but the product is great" /
   「配送は遅かったけど商品は最高」), 4% of records have no text, and a
   few are generic ("ok", 「特になし」).
3. The text is composed from parts: a channel-specific opener (tickets
   greet, social posts tag and use emoji), one of >= 8 phrasings of the
   theme per language, an optional detail, a closer; then typos (English
   letter swaps/drops) and emoji at random.
4. Scores: NPS = round(N(8.2, 1.4) + sum of the themes' ``nps_shift``),
   clipped to 0..10; CES and CSAT likewise with ``ces_shift``/``csat_shift``.

Planted pain points (:data:`PAIN_POINTS`)
-----------------------------------------
=============  ==========  ==========  ==========================================
key            touchpoint  first week  description (NPS shift)
=============  ==========  ==========  ==========================================
app_crash      app         1           app crashes on login (-4.0)
late_delivery  delivery    1           late delivery (-3.0)
promo_code     checkout    1           promo code rejected at checkout (-2.5)
support_wait   support     1           long wait for support (-3.5)
battery_drain  app         7           new app update drains the battery (-3.0)
=============  ==========  ==========  ==========================================

Positive and neutral themes surround them: fast delivery, friendly support,
good quality, easy website, feature requests, generic remarks.
:func:`planted_truth` gives, per pain point, the realised NPS impact on the
generated data: ``NPS(all) - NPS(all without the records that carry it)``,
computed from the hidden gold labels (``make_feedback(...,
return_truth=True)``).

>>> from voc.sample import make_feedback, planted_truth
>>> df = make_feedback(300, random_state=1)
>>> sorted(df.columns)
['ces', 'channel', 'csat', 'date', 'id', 'nps', 'text', 'touchpoint']
>>> planted_truth(df, random_state=1)["key"].tolist()[:2]
['app_crash', 'late_delivery']
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError

TOUCHPOINTS = ("website", "app", "checkout", "delivery", "support")
CHANNELS = ("review", "ticket", "social", "survey")


@dataclass(frozen=True)
class Theme:
    key: str
    polarity: str               # "pain", "praise" or "neutral"
    en: tuple[str, ...]         # clause phrasings, no final punctuation
    ja: tuple[str, ...]
    details_en: tuple[str, ...] = ()
    details_ja: tuple[str, ...] = ()
    nps_shift: float = 0.0
    ces_shift: float = 0.0
    csat_shift: float = 0.0
    touchpoint: str | None = None     # pain points: the one touchpoint
    first_week: int = 1
    description: str = ""
    keywords_en: str = ""
    keywords_ja: str = ""


THEMES = {t.key: t for t in (
    Theme("app_crash", "pain", (
        "the app crashes every time I try to log in", "app keeps crashing on the login screen",
        "can't even log in, the app just closes", "the app froze and crashed when I signed in",
        "logging in makes the app crash instantly", "every login attempt ends with the app crashing",
        "the app crashed three times before I could log in", "app crashes right after I enter my password",
        "the iPhone app force-closes at login", "tried to sign in and the app crashed again"), (
        "ログインしようとするとアプリが落ちる", "アプリがログイン画面でクラッシュします",
        "ログインするたびにアプリが強制終了する", "アプリにログインできず、すぐ落ちてしまう",
        "パスワードを入れた瞬間アプリが落ちた", "ログイン時にアプリが固まって落ちます",
        "アプリが何度もクラッシュしてログインできない", "サインインするとアプリが閉じてしまう"),
        ("I reinstalled it twice", "I'm on Android 14", "it started yesterday", "it happens every morning"),
        ("再インストールしても同じです", "iPhoneを使っています", "昨日からずっとです"),
        nps_shift=-4.0, ces_shift=-2.5, csat_shift=-1.5, touchpoint="app",
        description="app crashes on login", keywords_en="app; crash; login",
        keywords_ja="アプリ; 落ちる; ログイン"),
    Theme("late_delivery", "pain", (
        "my delivery was a week late", "the package arrived late", "delivery took way longer than promised",
        "my order showed up five days after the estimated date", "still waiting for my parcel, it's late",
        "shipping was really slow and the box came late", "the courier was late again",
        "my order arrived two days late", "delivery was delayed without any notice"), (
        "配送は遅かった", "荷物が予定より一週間遅れて届いた", "注文した商品がなかなか届かない",
        "配達が予定日より遅れた", "発送から到着までがとても遅い", "届くのが3日も遅れました",
        "配送が遅れて連絡もなかった", "お届け予定日を過ぎても届かない"),
        ("the tracking page said nothing", "I needed it for a birthday", "I had to stay home all day"),
        ("追跡ページも更新されません", "誕生日に間に合いませんでした", "一日中家で待っていました"),
        nps_shift=-3.0, ces_shift=-1.5, csat_shift=-1.2, touchpoint="delivery",
        description="late delivery", keywords_en="late; delivery; arrived",
        keywords_ja="遅れ; 配送; 届く"),
    Theme("promo_code", "pain", (
        "the promo code was rejected at checkout", "my discount code didn't work at checkout",
        "checkout said the coupon is invalid", "the promo code gave an error when I paid",
        "couldn't apply the voucher at checkout", "the coupon code kept getting declined",
        "checkout refused my promo code", "the discount code was not accepted even though it's valid"), (
        "クーポンコードが決済で使えなかった", "プロモコードが無効と表示された", "レジでクーポンが適用されない",
        "割引コードを入れてもエラーになる", "決済時にクーポンが弾かれた", "クーポンが使えずに定価で買うことになった",
        "プロモーションコードが反映されない", "有効なはずのクーポンが拒否された"),
        ("it was from your own newsletter", "I tried three times", "I ended up paying full price"),
        ("メルマガで届いたコードです", "3回試しました", "結局定価で払いました"),
        nps_shift=-2.5, ces_shift=-2.0, csat_shift=-1.0, touchpoint="checkout",
        description="promo code rejected at checkout", keywords_en="promo; code; coupon; checkout",
        keywords_ja="クーポン; コード; 決済"),
    Theme("support_wait", "pain", (
        "I waited over an hour for support", "support took forever to answer",
        "I've been on hold with customer service for 45 minutes", "no reply from support after three days",
        "the support chat queue is ridiculously long", "it took a week to hear back from support",
        "I waited ages for an agent to pick up", "customer service never answers the phone"), (
        "サポートの返信が遅すぎる", "問い合わせの電話が1時間つながらなかった",
        "カスタマーサービスから3日経っても返事がない", "チャットの待ち時間が長すぎる",
        "サポートにつながるまでずっと待たされた", "問い合わせてから一週間返信なし",
        "オペレーターにつながるまで40分かかった", "サポートの対応待ちが長い"),
        ("my question was simple", "I sent two emails as well", "the bot just repeats itself"),
        ("簡単な質問なのに", "メールも2回送りました", "チャットボットは同じことしか言わない"),
        nps_shift=-3.5, ces_shift=-2.5, csat_shift=-1.5, touchpoint="support",
        description="long wait for support", keywords_en="wait; support; hold; reply",
        keywords_ja="サポート; 待ち; 返信"),
    Theme("battery_drain", "pain", (
        "since the new update the app drains my battery", "the latest app update kills my phone battery",
        "after updating, the app eats battery in the background",
        "my battery drops fast since the last app version", "the new version of the app is draining my battery",
        "the app update made my phone battery die by noon",
        "my battery goes from full to half because of the updated app",
        "the update makes the app use tons of battery"), (
        "アップデート後、アプリの電池消費が激しい", "新しいバージョンでバッテリーがすぐ減る",
        "最新のアプデからバッテリーの減りが早い", "アプリを更新したら電池がすぐなくなる",
        "アップデートしてからスマホが熱くなって電池が減る", "新バージョンのアプリがバッテリーを食う",
        "更新後にバックグラウンドで電池を消耗している", "アプデ以降、充電がもたない"),
        ("the phone gets hot too", "I had to uninstall it"),
        ("スマホも熱くなります", "アンインストールしました"),
        nps_shift=-3.0, ces_shift=-1.5, csat_shift=-1.0, touchpoint="app", first_week=7,
        description="new app update drains the battery", keywords_en="battery; update; drain",
        keywords_ja="バッテリー; 電池; アップデート"),
    Theme("fast_delivery", "praise", (
        "delivery was super fast", "my order arrived the next day", "shipping was quicker than expected",
        "the parcel came in two days", "I got my package really quickly", "fast delivery as always",
        "it arrived a day earlier than promised", "the courier came early and was polite"), (
        "配送がとても早かった", "翌日に届きました", "思ったより早く届いた", "注文から2日で到着",
        "発送が迅速でした", "いつも通り配達が早い", "予定より一日早く届いた", "すぐに届いて助かりました"),
        nps_shift=1.0, ces_shift=0.5, csat_shift=0.4),
    Theme("friendly_support", "praise", (
        "support was friendly and helpful", "the agent solved my issue in minutes",
        "customer service was really kind", "support answered quickly and fixed everything",
        "the support team was polite and patient", "I got great help from the chat agent",
        "the staff on the phone were lovely", "support sorted out my refund right away"), (
        "サポートの対応がとても丁寧でした", "問い合わせにすぐ対応してもらえた", "カスタマーサービスが親切だった",
        "スタッフの方が優しく説明してくれた", "チャットのオペレーターが丁寧で助かった",
        "返金の手続きをすぐにしてくれました", "電話の対応が感じよかった", "サポートの方が問題をすぐ解決してくれた"),
        nps_shift=1.0, ces_shift=0.6, csat_shift=0.4),
    Theme("good_quality", "praise", (
        "the product quality is great", "the jacket is really well made", "great quality for the price",
        "the material feels premium", "the product is great", "I'm really happy with the quality",
        "the shoes fit perfectly and feel solid", "excellent quality, exactly as described"), (
        "商品の品質が最高です", "商品は最高", "作りがしっかりしている", "値段の割に質がいい",
        "素材がとても良い", "説明通りの良い商品でした", "サイズもぴったりで品質も満足", "品質にとても満足しています"),
        nps_shift=0.8, ces_shift=0.2, csat_shift=0.4),
    Theme("easy_website", "praise", (
        "the website is easy to use", "finding products on the site was simple",
        "the site is clean and easy to navigate", "ordering online took two minutes",
        "paying on the website was smooth", "the search on the website works well",
        "it's a really intuitive website", "the site makes it easy to compare items"), (
        "サイトが使いやすい", "ウェブサイトで商品が探しやすい", "サイトがシンプルで見やすい",
        "ネットでの注文が簡単でした", "サイトの検索が便利", "画面がわかりやすくて迷わない",
        "購入手続きがスムーズだった", "ホームページが見やすい"),
        nps_shift=0.6, ces_shift=0.8, csat_shift=0.3),
    Theme("feature_request", "neutral", (
        "it would be nice to have a dark mode", "please add a wishlist to the app",
        "I'd like more payment options", "could you add size charts for every item",
        "I would love an order tracking map", "an option to save my favourite items would help",
        "please add gift wrapping", "it would be great to filter by colour"), (
        "ダークモードがあると嬉しいです", "お気に入り機能を追加してほしい", "支払い方法をもっと増やしてほしい",
        "全商品にサイズ表がほしい", "配送状況を地図で見たい", "ギフト包装ができるといいな",
        "色で絞り込めるようにしてほしい", "ポイント制度があると嬉しい")),
    Theme("generic", "neutral", (
        "ok", "fine", "good", "nothing to add", "all good", "as expected", "no complaints", "decent"), (
        "特になし", "普通です", "まあまあ", "問題なし", "いいと思います", "特にありません", "ふつう", "満足")),
)}

PAIN_POINTS = tuple(k for k, t in THEMES.items() if t.polarity == "pain")
"""Keys of the planted pain points, in :func:`planted_truth` order."""

TOUCHPOINT_WEIGHTS = {"website": 0.19, "app": 0.23, "checkout": 0.18, "delivery": 0.22, "support": 0.18}
CHANNEL_WEIGHTS = {"review": 0.35, "ticket": 0.2, "social": 0.2, "survey": 0.25}
TOUCHPOINT_THEMES = {
    "website": {"easy_website": 0.5, "good_quality": 0.2, "feature_request": 0.2, "generic": 0.1},
    "app": {"app_crash": 0.35, "good_quality": 0.15, "feature_request": 0.35, "generic": 0.15},
    "checkout": {"promo_code": 0.4, "easy_website": 0.35, "good_quality": 0.15, "generic": 0.1},
    "delivery": {"late_delivery": 0.4, "fast_delivery": 0.4, "good_quality": 0.15, "generic": 0.05},
    "support": {"support_wait": 0.4, "friendly_support": 0.45, "feature_request": 0.05, "generic": 0.1},
}
"""Theme mix per touchpoint; from week 7 on, 45% of app records are
``battery_drain`` (the other app themes are scaled down)."""
MIXED_SHARE = 0.2      # pain-point records that also praise something
EMPTY_SHARE = 0.04     # records without text

_OPEN = {
    ("en", "review"): ("", "", "Ordered last week.", "Second order here.", "Honest review:",
                       "Been a customer for years.", "Bought a jacket."),
    ("en", "ticket"): ("Hi,", "Hello team,", "Hi there,", "Hello,", "Good morning,"),
    ("en", "social"): ("", "@shop", "ugh", "PSA:", "so", "@shop_help"),
    ("en", "survey"): ("",),
    ("ja", "review"): ("", "", "先週注文しました。", "リピーターです。", "正直な感想です。", "2回目の購入です。"),
    ("ja", "ticket"): ("お世話になっております。", "すみません、", "問い合わせです。", "こんにちは。"),
    ("ja", "social"): ("", "うーん", "まじか", "ねえ", "@shop"),
    ("ja", "survey"): ("",),
}
_CLOSE = {
    ("en", "pain"): ("", "Very disappointed.", "Not happy.", "Please fix this.",
                     "Won't order again unless this is fixed.", "So frustrating."),
    ("en", "praise"): ("", "Will order again!", "Highly recommend.", "Love it.", "Keep it up!", "Thanks!"),
    ("en", "neutral"): ("", "", "Thanks."),
    ("ja", "pain"): ("", "がっかりです。", "残念です。", "改善してほしいです。", "もう使わないかも。"),
    ("ja", "praise"): ("", "また買います！", "おすすめです。", "最高です。", "ありがとうございました。"),
    ("ja", "neutral"): ("", "", "よろしくお願いします。"),
}
_TICKET_CLOSE = {"en": ("Please help.", "Can someone look into this?", "Thanks.", "Order #{order}.",
                        "Please advise."),
                 "ja": ("対応をお願いします。", "確認してください。", "よろしくお願いします。", "注文番号は{order}です。")}
_JOIN = {"en": ("{a} but {b}", "{a}, although {b}", "{a}. On the other hand, {b}", "{a}... still, {b}",
                "{a}, but {b}"),
         "ja": ("{a}けど、{b}", "{a}が、{b}", "{a}。でも{b}", "{a}。ただ、{b}", "{a}けど{b}")}
_EMOJI = {"pain": ("😡", "😞", "🙄", "😤", "💢", "😭"), "praise": ("😍", "👍", "🙌", "✨", "😊", "💯"),
          "neutral": ("🤔", "🙂", "👀")}
_TAGS = {"pain": ("#fail", "#disappointed", "#最悪"), "praise": ("#happycustomer", "#love", "#最高"),
         "neutral": ("",)}


def make_feedback(
    n: int = 2000,
    *,
    random_state: int = 0,
    start: str = "2026-09-07",
    weeks: int = 10,
    ja_share: float = 0.35,
    return_truth: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Generate ``n`` bilingual feedback records with planted pain points.

    Parameters
    ----------
    n : int
        Number of records.
    random_state : int
        Seed; the same arguments give the same frame.
    start : str
        First day (week 1 starts here).
    weeks : int
        Number of weeks the dates span.
    ja_share : float
        Probability that a record is in Japanese.
    return_truth : bool
        Also return the hidden gold labels: a frame aligned with the records
        with ``id``, ``week``, ``language``, ``themes`` (list of theme keys in
        the text) and ``planted`` (list of pain-point keys in the text).

    Returns
    -------
    DataFrame or (DataFrame, DataFrame)
        Raw input columns: id, date, touchpoint, channel, text, nps, ces, csat.
    """
    if not isinstance(n, int) or n < 1:
        raise InputError(f"make_feedback: n must be a positive integer. Got {n!r}.")
    if not 0 <= ja_share <= 1:
        raise InputError(f"make_feedback: ja_share must be in [0, 1]. Got {ja_share!r}.")
    rng = np.random.default_rng(random_state)
    t0 = pd.Timestamp(start)
    minutes = np.sort(rng.integers(0, weeks * 7 * 24 * 60, size=n))
    touchpoints = rng.choice(list(TOUCHPOINT_WEIGHTS), size=n, p=list(TOUCHPOINT_WEIGHTS.values()))
    channels = rng.choice(list(CHANNEL_WEIGHTS), size=n, p=list(CHANNEL_WEIGHTS.values()))
    langs = np.where(rng.random(n) < ja_share, "ja", "en")
    rows, gold = [], []
    for i in range(n):
        when = t0 + pd.Timedelta(minutes=int(minutes[i]))
        week = int(minutes[i] // (7 * 24 * 60)) + 1
        tp, ch, lang = str(touchpoints[i]), str(channels[i]), str(langs[i])
        themes = _pick_themes(rng, tp, week)
        text = _compose(rng, themes, lang, ch) if themes else ""
        nps = 8.2 + rng.normal(0, 1.4) - (0.5 if ch == "ticket" else 0.0)
        ces = 5.6 + rng.normal(0, 0.9)
        csat = 4.3 + rng.normal(0, 0.6)
        for key in themes:
            nps += THEMES[key].nps_shift
            ces += THEMES[key].ces_shift
            csat += THEMES[key].csat_shift
        rows.append({
            "id": f"R{i + 1:05d}", "date": when.strftime("%Y-%m-%d %H:%M"), "touchpoint": tp,
            "channel": ch, "text": text,
            "nps": int(np.clip(round(nps), 0, 10)) if rng.random() < 0.92 else None,
            "ces": int(np.clip(round(ces), 1, 7)) if rng.random() < 0.85 else None,
            "csat": int(np.clip(round(csat), 1, 5)) if rng.random() < 0.40 else None,
        })
        gold.append({"id": f"R{i + 1:05d}", "week": week, "language": lang, "themes": themes,
                     "planted": [k for k in themes if k in PAIN_POINTS]})
    df = pd.DataFrame(rows)
    for col in ("nps", "ces", "csat"):
        df[col] = df[col].astype("Int64")
    return (df, pd.DataFrame(gold)) if return_truth else df


def _pick_themes(rng: np.random.Generator, touchpoint: str, week: int) -> list[str]:
    if rng.random() < EMPTY_SHARE:
        return []
    mix = dict(TOUCHPOINT_THEMES[touchpoint])
    if touchpoint == "app" and week >= THEMES["battery_drain"].first_week:
        mix = {k: v * 0.55 for k, v in mix.items()} | {"battery_drain": 0.45}
    keys = list(mix)
    p = np.array(list(mix.values()))
    first = str(rng.choice(keys, p=p / p.sum()))
    themes = [first]
    if THEMES[first].polarity == "pain" and rng.random() < MIXED_SHARE:
        praise = ["good_quality", "good_quality", "fast_delivery", "friendly_support", "easy_website"]
        themes.append(str(rng.choice(praise)))
        if rng.random() < 0.4:  # praise first: "great product but late delivery"
            themes.reverse()
    return themes


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _compose(rng: np.random.Generator, themes: list[str], lang: str, channel: str) -> str:
    clauses = [_pick(rng, getattr(THEMES[k], lang)) for k in themes]
    polarity = THEMES[themes[0]].polarity if len(themes) == 1 else "pain"
    if len(clauses) == 2:
        b = clauses[1] if lang == "ja" else clauses[1][0].lower() + clauses[1][1:]
        core = _pick(rng, _JOIN[lang]).format(a=clauses[0], b=b)
    else:
        core = clauses[0]
    pain = next((THEMES[k] for k in themes if THEMES[k].polarity == "pain"), None)
    opener = _pick(rng, _OPEN[(lang, channel)])
    if lang == "en":
        first = core[0].lower() if opener.endswith(",") or opener.startswith("@") else core[0].upper()
        ends = (".", ".", "!", "", "!!") if polarity == "pain" else (".", ".", "!", "")
        core = first + core[1:] + _pick(rng, ends)
    else:
        core += _pick(rng, ("。", "。", "！", "…"))
    parts = [opener, core]
    if pain is not None and channel != "social" and rng.random() < 0.35:
        details = pain.details_en if lang == "en" else pain.details_ja
        if details:
            d = _pick(rng, details)
            parts.append(d[0].upper() + d[1:] + "." if lang == "en" else d + "。")
    if channel == "ticket":
        parts.append(_pick(rng, _TICKET_CLOSE[lang]).format(order=int(rng.integers(100000, 999999))))
    elif channel != "survey" or rng.random() < 0.5:
        parts.append(_pick(rng, _CLOSE[(lang, polarity)]))
    if channel == "social":
        if rng.random() < 0.6:
            parts.append(_pick(rng, _EMOJI[polarity]))
        if rng.random() < 0.3:
            parts.append(_pick(rng, _TAGS[polarity]))
    elif rng.random() < 0.1:
        parts.append(_pick(rng, _EMOJI[polarity]))
    text = (" " if lang == "en" else "").join(p for p in parts if p)
    if lang == "en" and rng.random() < 0.12:
        text = _typo(rng, text)
    if channel == "social" and lang == "en" and rng.random() < 0.4:
        text = text.lower()
    return text


def _typo(rng: np.random.Generator, text: str) -> str:
    """Swap, drop or double a letter in one longer word."""
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long:
        return text
    i = long[int(rng.integers(len(long)))]
    w = words[i]
    j = int(rng.integers(1, len(w) - 2))
    kind = int(rng.integers(3))
    words[i] = (w[:j] + w[j + 1] + w[j] + w[j + 2:], w[:j] + w[j + 1:], w[:j] + w[j] + w[j:])[kind]
    return " ".join(words)


def planted_truth(df: pd.DataFrame | None = None, *, random_state: int = 0, **options) -> pd.DataFrame:
    """The planted pain points and their realised effect on NPS.

    Parameters
    ----------
    df : DataFrame or None
        Output of ``make_feedback(len(df), random_state=random_state,
        **options)`` (for example the shipped sample read with pandas).
        ``None`` generates the default 2,000 records.
    random_state : int
        Seed ``df`` was generated with.
    **options
        Other :func:`make_feedback` arguments ``df`` was generated with.

    Returns
    -------
    DataFrame
        One row per planted pain point: key, touchpoint, first_week,
        description, keywords_en, keywords_ja ("; "-joined), nps_shift (the
        generator's shift of the latent score), records (how many records
        carry it) and nps_impact = NPS(all) - NPS(all without those records),
        in NPS points.
    """
    n = 2000 if df is None else len(df)
    generated, gold = make_feedback(n, random_state=random_state, return_truth=True, **options)
    if df is not None and not (
        list(df["id"].astype(str)) == list(generated["id"])
        and list(df["text"].fillna("").astype(str)) == list(generated["text"])
    ):
        raise InputError(
            f"planted_truth: df is not the output of make_feedback({n}, random_state={random_state}). "
            f"Pass the random_state and options it was generated with."
        )
    from .survey import nps  # the one NPS definition

    overall = nps(generated["nps"]).value
    out = []
    for key in PAIN_POINTS:
        t = THEMES[key]
        carries = gold["planted"].map(lambda ks: key in ks).to_numpy()
        out.append({
            "key": key, "touchpoint": t.touchpoint, "first_week": t.first_week,
            "description": t.description, "keywords_en": t.keywords_en, "keywords_ja": t.keywords_ja,
            "nps_shift": t.nps_shift, "records": int(carries.sum()),
            "nps_impact": round(overall - nps(generated.loc[~carries, "nps"]).value, 2),
        })
    return pd.DataFrame(out)


def sample_path() -> Path:
    """Path of the shipped sample, ``make_feedback(2000, random_state=0)``."""
    return Path(__file__).resolve().parent / "data" / "sample_feedback.csv"


def write_sample(path: str | Path | None = None) -> Path:
    """Write ``make_feedback()`` as UTF-8 CSV (the shipped sample by default)."""
    from ._atomic import atomic_path

    path = Path(path) if path is not None else sample_path()
    with atomic_path(path) as tmp:
        make_feedback().to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
    return path


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m voc.sample", description=write_sample.__doc__)
    parser.add_argument("--out", default=None, help="output CSV (default: the shipped sample)")
    print(write_sample(parser.parse_args(argv).out))


if __name__ == "__main__":
    _main()
