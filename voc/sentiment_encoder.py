"""The old path of :mod:`voc.sentiment.encoder` (the fine-tuned English sentiment encoder): the same module object.

``import voc.sentiment_encoder`` gives :mod:`voc.sentiment.encoder` itself
(this module replaces itself in ``sys.modules``), so every name, and a
monkeypatch of one, is shared; new code imports ``voc.sentiment.encoder``.
"""

from __future__ import annotations

import sys

from voc.sentiment import encoder

sys.modules[__name__] = encoder
