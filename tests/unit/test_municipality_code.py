"""The 全国地方公共団体コード is checked to its check digit, so a mistyped code is caught at set-up."""
from __future__ import annotations

import pytest

from tsunagu.engine.admin.municipalities import check_digit, code_problem


@pytest.mark.parametrize("code, town", [
    ("131016", "千代田区"), ("131024", "中央区"), ("131041", "新宿区（余り0: 検査数字1）"),
    ("131130", "渋谷区（余り1: 検査数字0）"), ("011002", "札幌市"), ("141003", "横浜市"), ("472018", "那覇市"),
    ("130001", "東京都"),
])
def test_real_municipality_codes_pass_the_check(code, town):
    assert code_problem(code) is None, town
    assert check_digit(code[:5]) == int(code[5])


@pytest.mark.parametrize("code, problem", [
    ("131017", "check_digit_wrong"),  # 千代田区 with the last digit mistyped
    ("131061", "check_digit_wrong"),  # two digits swapped
    ("13101", "municipality_code_format"),  # the five-digit form without the check digit
    ("1310166", "municipality_code_format"),
    ("13101a", "municipality_code_format"),
    ("１３１０１６", "municipality_code_format"),  # full-width digits are not accepted silently
    ("", "municipality_code_format"),
    ("481009", "prefecture_code_unknown"),
    ("001007", "prefecture_code_unknown"),
])
def test_a_mistyped_code_is_refused_with_the_reason(code, problem):
    assert code_problem(code) == problem
