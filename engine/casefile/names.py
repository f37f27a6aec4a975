"""Names as people type them, made comparable: a search key that matches 'ﾔﾏﾀﾞ ﾊﾅｺ', 'やまだ はなこ' and
'ヤマダ　ハナコ' alike, so a returning person is found however their name was written before."""
from __future__ import annotations

import unicodedata

_KATAKANA_TO_HIRAGANA = {code: code - 0x60 for code in range(ord("ァ"), ord("ヶ") + 1)}
_IGNORED = {ord(c): None for c in " \t\r\n・･.,、。-‐ー－"}  # separators and the long-vowel mark


def search_key(text: str | None) -> str | None:
    """NFKC (full/half width), katakana as hiragana, lower case, without spaces and separators."""
    if not text:
        return None
    normal = unicodedata.normalize("NFKC", text).translate(_KATAKANA_TO_HIRAGANA).lower().translate(_IGNORED)
    return normal[:200] or None
