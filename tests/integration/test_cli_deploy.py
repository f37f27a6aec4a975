"""`tsunagu deploy` and `tsunagu processes` as an operator uses them for the template and one municipality."""
from __future__ import annotations

import getpass
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.commands import cases
from tsunagu.engine.models import AuditRecord, MunicipalityRecord, ProcessVersionRecord
from tsunagu.processes.registry import live_version
from tsunagu.web.cli import main

from .helpers import count
from .versions import changed_folder

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "bpmn"
MAIN = "kodoku_koritsu_case"
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"


@pytest.fixture
def towns(session):
    chiyoda = MunicipalityRecord(code="131016", name="千代田区")
    chuo = MunicipalityRecord(code="131024", name="中央区")
    session.add_all([chiyoda, chuo])
    session.commit()
    return chiyoda, chuo


@pytest.fixture
def tsunagu(database_url):
    """Run `tsunagu ARGS...` against the test database; returns the click result."""

    def run(*args: str):
        result = CliRunner().invoke(main, [str(a) for a in args], env={"TSUNAGU_DATABASE_URL": database_url})
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        return result

    return run


def table_row(output: str, scope: str, number: int) -> list[str]:
    """The cells of a version row of `tsunagu processes`: number, scope, date, time, open, all, note."""
    for line in output.splitlines():
        cells = line.split()
        cells = cells[1:] if cells[:1] == ["*"] else cells
        if cells[:2] == [str(number), scope]:
            return cells
    raise AssertionError(f"no row for {scope} {number} in:\n{output}")


def test_a_changed_copy_deployed_for_one_municipality_is_live_there_only_and_listed(
        tsunagu, towns, session, session_factory, clock, tmp_path, user_password):
    chiyoda, chuo = towns
    assert tsunagu("deploy", SHIPPED).output == f"{MAIN}: 全国標準テンプレート の版 1 として登録しました\n"
    folder = changed_folder(SHIPPED / MAIN, tmp_path)

    result = tsunagu("deploy", folder, "--municipality", "131016", "--note", "所見は10字まで")

    assert result.exit_code == 0
    assert result.output == f"{MAIN}: 千代田区 (131016) の版 1 として登録しました\n"
    assert live_version(session, chiyoda.id, MAIN).municipality_id == chiyoda.id
    assert live_version(session, chuo.id, MAIN).municipality_id is None
    deployed = session.scalars(select(AuditRecord).where(AuditRecord.action == "process.deployed")
                               .order_by(AuditRecord.id)).all()[-1]
    assert (deployed.detail["operator"], deployed.detail["via"], deployed.actor_id) == (getpass.getuser(), "cli", None)

    worker = users.create_user(session, clock, municipality_id=chiyoda.id, username="chiyoda", display_name="千代田",
                               password=user_password, roles=["caseworker"])
    session.commit()
    cases.start_case(session, clock, worker, live_version(session, chiyoda.id, MAIN), "千代田の相談")

    listing = tsunagu("processes", "--municipality", "131016")
    assert listing.exit_code == 0
    assert "千代田区 (131016)" in listing.output
    assert re.search(r"有効な版: 版 1（自治体独自）  登録: コマンドライン  \d{4}-\d\d-\d\d \d\d:\d\d  メモ: 所見は10字まで",
                     listing.output)
    assert table_row(listing.output, "自治体独自", 1)[4:] == ["1", "1", "所見は10字まで"]  # open, all, note
    assert table_row(listing.output, "全国標準", 1)[4:] == ["0", "0"]

    elsewhere = tsunagu("processes", "--municipality", "131024").output
    assert "有効な版: 版 1（全国標準）" in elsewhere and "自治体独自" not in elsewhere
    template = tsunagu("processes").output
    assert "全国標準テンプレート" in template and "自治体独自" not in template
    assert table_row(template, "全国標準", 1)[4:] == ["0", "0"]


def test_deploying_the_same_folder_again_says_nothing_changed(tsunagu, towns, session_factory, tmp_path):
    folder = changed_folder(SHIPPED / MAIN, tmp_path)
    tsunagu("deploy", folder, "--municipality", "131016")

    again = tsunagu("deploy", folder, "--municipality", "131016")

    assert again.exit_code == 0
    assert again.output == f"{MAIN}: 変更はありません（版 1 と同じ内容です）\n"
    assert count(session_factory, ProcessVersionRecord) == 1


def test_deploying_an_older_folder_for_a_municipality_makes_it_live_again(tsunagu, towns, session, tmp_path):
    chiyoda, _ = towns
    ten = changed_folder(SHIPPED / MAIN, tmp_path / "ten", limit=10)
    tsunagu("deploy", ten, "--municipality", "131016")
    tsunagu("deploy", changed_folder(SHIPPED / MAIN, tmp_path / "twenty", limit=20), "--municipality", "131016")

    back = tsunagu("deploy", ten, "--municipality", "131016")

    assert back.output == f"{MAIN}: 千代田区 (131016) の版 1 を再び有効にしました（新しいケースはこの版で始まります）\n"
    assert live_version(session, chiyoda.id, MAIN).version_number == 1
    listing = tsunagu("processes", "--municipality", "131016").output
    assert "有効な版: 版 1（自治体独自）" in listing


def test_a_broken_folder_is_refused_with_every_problem_listed_and_nothing_deployed(
        tsunagu, towns, session_factory, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "missing_form", tree / "missing_form")
    shutil.copytree(SHIPPED / MAIN, tree / MAIN)
    (tree / MAIN / "intake-schema.json").unlink()
    (tree / MAIN / "closure-schema.json").unlink()
    shutil.copytree(FIXTURES / "failing_script", tree / "failing_script")  # sound, yet not deployed alone

    result = tsunagu("deploy", tree, "--municipality", "131016")

    assert result.exit_code == 1
    assert "does-not-exist.json" in result.output and "[ask_name]" in result.output
    assert "intake-schema.json" in result.output and "closure-schema.json" in result.output
    assert re.search(r"(\d+) problem\(s\) found", result.output).group(1) == str(
        sum("form_file_not_found" in line for line in result.output.splitlines()))
    assert count(session_factory, ProcessVersionRecord) == 0


@pytest.mark.parametrize("args", [
    ("deploy", str(SHIPPED), "--municipality", "131032"),
    ("deploy", str(SHIPPED), "--municipality", "1310\x0016"),
    ("processes", "--municipality", "x" * 5000),
])
def test_an_unknown_municipality_is_refused_with_a_clear_message(tsunagu, towns, session_factory, args):
    result = tsunagu(*args)

    assert result.exit_code == 1
    assert "not_found" in result.output and "は登録されていません" in result.output
    assert "Traceback" not in result.output
    assert count(session_factory, ProcessVersionRecord) == 0


def test_an_over_long_or_binary_note_is_refused_naming_the_field(tsunagu, towns, session_factory):
    for note in ("長" * 2001, "見直し\x00"):
        result = tsunagu("deploy", SHIPPED / MAIN, "--note", note)
        assert result.exit_code == 1
        assert "note:" in result.output and "Traceback" not in result.output
    assert count(session_factory, ProcessVersionRecord) == 0


def test_every_command_explains_itself():
    for command in ("deploy", "processes"):
        result = CliRunner().invoke(main, [command, "--help"])
        assert result.exit_code == 0 and "--municipality" in result.output
