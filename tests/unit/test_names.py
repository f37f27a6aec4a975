"""The person search key: one key however a name was typed."""
from __future__ import annotations

import pytest

from tsunagu.engine.casefile.names import search_key


@pytest.mark.parametrize("typed", ["ヤマダ ハナコ", "ﾔﾏﾀﾞ ﾊﾅｺ", "やまだ　はなこ", "ヤマダ・ハナコ", "ﾔﾏﾀﾞﾊﾅｺ"])
def test_every_way_of_writing_the_kana_gives_one_key(typed):
    assert search_key(typed) == "やまだはなこ"


def test_full_width_latin_and_case_fold_and_nothing_is_none():
    assert search_key("ＹＡＭＡＤＡ Hanako") == "yamadahanako"
    assert search_key("") is None and search_key(None) is None and search_key(" ・ ") is None
    assert len(search_key("あ" * 500)) == 200
