"""What a designer does in /designer, from the command line: draft, deploy, history, rollback, download."""
from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

from sqlalchemy import select

from tsunagu.engine.models import AuditRecord, ProcessDraftRecord, ProcessVersionRecord

from .test_cli_organisations import ok, refused, run, towns  # noqa: F401  (fixtures)

STANDARD = Path(__file__).parents[2] / "bpmn" / "kodoku_koritsu_case"
KEY = "kodoku_koritsu_case"


def _variant(tmp_path, title: str):
    folder = tmp_path / title / KEY
    shutil.copytree(STANDARD, folder)
    schema = json.loads((folder / "intake-schema.json").read_text(encoding="utf-8"))
    schema["title"] = title
    (folder / "intake-schema.json").write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    return folder


def test_a_draft_is_deployed_rolled_back_listed_and_downloaded_from_the_command_line(
        run, session, towns, tmp_path):  # noqa: F811
    assert "下書きとして保存しました" in ok(run("process", "draft", str(_variant(tmp_path, "一版")),
                                             "--municipality", "131016"))
    assert "版 1 として登録しました" in ok(run("process", "deploy-draft", KEY, "--municipality", "131016",
                                             "--note", "最初の版"))
    ok(run("process", "draft", str(_variant(tmp_path, "二版")), "--municipality", "131016"))
    ok(run("process", "deploy-draft", KEY, "--municipality", "131016", "--note", "二つ目"))
    assert "版 1 を再び有効にしました" in ok(run("process", "rollback", KEY, "1", "--municipality", "131016",
                                              "--note", "二版に誤り"))
    listed = ok(run("process", "history", KEY, "--municipality", "131016"))
    assert listed.index("二版に誤り") < listed.index("二つ目") < listed.index("最初の版")
    out = tmp_path / "v2.zip"
    ok(run("process", "download", KEY, "2", str(out), "--municipality", "131016"))
    with zipfile.ZipFile(out) as archive:
        assert '"二版"' in archive.read("intake-schema.json").decode("utf-8")
    assert "not_found" in refused(run("process", "deploy-draft", KEY, "--municipality", "131016"))

    session.expire_all()
    assert session.scalar(select(ProcessDraftRecord)) is None
    numbers = [v.version_number for v in session.scalars(select(ProcessVersionRecord))]
    assert sorted(numbers) == [1, 2]
    actions = [(a.action, a.detail["via"]) for a in session.scalars(
        select(AuditRecord).where(AuditRecord.action.like("process.%")).order_by(AuditRecord.id))]
    assert actions == [("process.draft_saved", "cli"), ("process.deployed", "cli"), ("process.draft_saved", "cli"),
                       ("process.deployed", "cli"), ("process.reactivated", "cli")]


def test_a_broken_package_is_refused_and_nothing_is_stored(run, session, towns, tmp_path):  # noqa: F811
    folder = _variant(tmp_path, "壊れた版")
    (folder / f"{KEY}.bpmn").write_text("<bpmn:definitions>\n<oops\n", encoding="utf-8")
    message = refused(run("process", "draft", str(folder), "--municipality", "131016"))
    assert f"{KEY}.bpmn" in message and "何も登録していません" in message
    session.expire_all()
    assert session.scalar(select(ProcessDraftRecord)) is None
