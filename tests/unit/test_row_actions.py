"""The row editors' posted actions: positions checked, rows moved within bounds."""
from tsunagu.web import row_actions


def test_parse_reads_the_verb_and_every_position() -> None:
    assert row_actions.parse("removechoice-2-0") == ("removechoice", [2, 0])
    assert row_actions.parse("add") == ("add", [])
    assert row_actions.parse("up-x") == ("up", [-1])
    assert row_actions.parse("up-" + "9" * 40) == ("up", [-1])
    assert row_actions.parse("up-\uff13") == ("up", [-1])  # a full-width digit is not a position


def test_rearrange_moves_within_the_rows_only() -> None:
    rows = ["a", "b", "c"]
    assert row_actions.rearrange(rows, "up", 0) and rows == ["a", "b", "c"]
    assert row_actions.rearrange(rows, "down", 0) and rows == ["b", "a", "c"]
    assert row_actions.rearrange(rows, "down", 2) and rows == ["b", "a", "c"]
    assert row_actions.rearrange(rows, "remove", 1) and rows == ["b", "c"]
    assert not row_actions.rearrange(rows, "remove", 2) and rows == ["b", "c"]
    assert not row_actions.rearrange(rows, "remove", -1) and not row_actions.rearrange(rows, "sideways", 0)


def test_posted_count_is_bounded() -> None:
    assert row_actions.posted_count({"n": "3"}, "n", 10) == 3
    assert row_actions.posted_count({"n": "99999"}, "n", 10) == 11
    assert row_actions.posted_count({"n": "-1"}, "n", 10) == 0
    assert row_actions.posted_count({}, "n", 10) == 0
