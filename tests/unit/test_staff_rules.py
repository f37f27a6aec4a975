"""The password policy, one-time secrets and reading a staff CSV file, without a database."""
from __future__ import annotations

import pytest

from tsunagu.engine.access.recovery import looks_like_recovery_code, normalise
from tsunagu.engine.access.users import READABLE_ALPHABET, hash_password, one_time_password, password_problems
from tsunagu.engine.admin.staff_import import MAX_ROWS, decode_csv, parse_staff_csv
from tsunagu.engine.errors import FormInvalid

HEADER = "username,display_name,email,roles,organisation,team\n"


def codes(problems):
    return [(p.field, p.code) for p in problems]


def test_a_password_of_eleven_characters_is_too_short_and_twelve_is_enough():
    assert codes(password_problems("a" * 11, username="hanako")) == [("password", "password_too_short")]
    assert password_problems("a" * 12, username="hanako") == []
    assert password_problems("ひらがなのパスワードです十二", username="hanako") == []  # characters, not bytes


def test_a_password_equal_to_the_user_name_is_refused_in_any_letter_case():
    assert codes(password_problems("Hanako.Sato.2026", username="hanako.sato.2026")) == [
        ("password", "password_is_username")]


def test_the_current_password_cannot_be_chosen_again():
    current = hash_password("kzq4-7mnp-a2rt-98vx")
    assert codes(password_problems("kzq4-7mnp-a2rt-98vx", username="hanako", current_hash=current,
                                   field="new_password")) == [("new_password", "password_unchanged")]
    assert password_problems("a different sentence", username="hanako", current_hash=current) == []


def test_an_absurdly_long_password_is_refused_rather_than_hashed():
    assert codes(password_problems("x" * 10_000, username="hanako")) == [("password", "maxLength")]


def test_a_one_time_password_is_four_groups_of_four_unambiguous_characters_and_passes_the_policy():
    seen = {one_time_password() for _ in range(50)}
    assert len(seen) == 50
    for password in seen:
        groups = password.split("-")
        assert [len(g) for g in groups] == [4, 4, 4, 4]
        assert set("".join(groups)) <= set(READABLE_ALPHABET) and not set("01ilo") & set(password)
        assert password_problems(password, username="hanako") == []


def test_recovery_codes_are_told_apart_from_six_digit_app_codes_however_they_are_typed():
    assert looks_like_recovery_code("k7pq-3mzv-a2rt")
    assert looks_like_recovery_code(" K7PQ 3MZV A2RT ")
    assert normalise(" K7PQ 3MZV-A2RT ") == "k7pq3mzva2rt"
    assert not looks_like_recovery_code("123456")


def test_a_file_from_excel_with_a_byte_order_mark_and_crlf_reads_every_person():
    text = decode_csv(("\ufeff" + HEADER + "sato,佐藤 一郎,sato@example.jp,caseworker;supervisor,福祉課,地域福祉係\r\n"
                       "suzuki,,,caseworker partner,,\r\n,,,,,\r\n").encode("utf-8"))
    rows, problems = parse_staff_csv(text)
    assert problems == []
    assert [(r.line, r.username, r.roles) for r in rows] == [
        (2, "sato", ["caseworker", "supervisor"]), (3, "suzuki", ["caseworker", "partner"])]
    assert (rows[0].display_name, rows[0].organisation, rows[0].team) == ("佐藤 一郎", "福祉課", "地域福祉係")
    assert rows[1].display_name is None and rows[1].email is None


def test_a_shift_jis_file_is_refused_with_advice_instead_of_garbled_names():
    with pytest.raises(FormInvalid) as refused:
        decode_csv((HEADER + "sato,佐藤,,caseworker,,\n").encode("shift_jis"))
    assert codes(refused.value.errors) == [("file", "encoding_not_utf8")]


def test_columns_may_come_in_any_order_and_only_username_and_roles_are_needed():
    rows, problems = parse_staff_csv("Roles , USERNAME\ncaseworker,tanaka\n")
    assert problems == [] and rows[0].username == "tanaka" and rows[0].roles == ["caseworker"]


def test_a_header_with_unknown_or_missing_columns_is_reported_on_line_1():
    rows, problems = parse_staff_csv("user,display_name,roles,roles\n")
    assert rows == []
    assert codes(problems) == [("line 1: user", "unknown_column"), ("line 1: roles", "duplicate_column"),
                               ("line 1: username", "missing_column")]


def test_every_bad_row_is_named_by_its_line_and_column_and_a_quoted_line_break_counts_as_a_line():
    text = HEADER + ('sato,"佐藤\n一郎",sato@,caseworker,,\n'  # lines 2-3: a name across two lines
                     "bad name,,,wizard,,\n"  # line 4
                     "Sato,,,caseworker,,\n"  # line 5: the same user as line 2, in other letter case
                     "okay,,,caseworker,,,extra\n"  # line 6
                     "nobody,,,,,\n")  # line 7
    _rows, problems = parse_staff_csv(text)
    assert codes(problems) == [
        ("line 2: display_name", "pattern"), ("line 2: email", "email_invalid"),
        ("line 4: username", "username_invalid"), ("line 4: roles", "enum"),
        ("line 5: username", "duplicate_in_file"),
        ("line 6", "too_many_fields"),
        ("line 7: roles", "required")]
    assert problems[4].params == {"line": 2}


def test_a_file_with_only_a_header_or_nothing_at_all_is_empty():
    assert codes(parse_staff_csv("")[1]) == [("line 1", "file_empty")]
    assert codes(parse_staff_csv(HEADER + ",,,,,\n")[1]) == [("line 2", "file_empty")]


def test_an_unclosed_quote_or_a_file_too_long_is_reported_not_crashed_on():
    long_field = HEADER + "sato," + "x" * 200_000 + ",,caseworker,,\n"
    assert codes(parse_staff_csv(long_field)[1])[0][1] == "csv_invalid"
    many = HEADER + "".join(f"user{n:04d},,,caseworker,,\n" for n in range(MAX_ROWS + 1))
    assert codes(parse_staff_csv(many)[1]) == [(f"line {MAX_ROWS + 2}", "too_many_rows")]
    with pytest.raises(FormInvalid) as refused:
        decode_csv(b"x" * 1_000_001)
    assert refused.value.errors[0].code == "file_too_large"
