"""`tsunagu process diff KEY FROM TO`: the page's list of changes, at the command line, audited."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from sqlalchemy import select

import tsunagu.web.cli.diff  # noqa: F401  (registers `process diff` until web/cli/__init__.py imports it)
from tsunagu.engine.models import AuditRecord
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import load_definition

from .test_cli_organisations import ok, refused, run, towns  # noqa: F401  (fixtures)

STANDARD = Path(__file__).parents[2] / "bpmn" / "kodoku_koritsu_case"
KEY = "kodoku_koritsu_case"


def _draft_folder(tmp_path: Path) -> Path:
    folder = tmp_path / KEY
    shutil.copytree(STANDARD, folder)
    bpmn = folder / f"{KEY}.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace('name="dueIn" value="P3D"', 'name="dueIn" value="P5D"',
                                                             1), encoding="utf-8")
    schema = json.loads((folder / "consent-schema.json").read_text(encoding="utf-8"))
    schema["required"].append("method")
    (folder / "consent-schema.json").write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    return folder


def test_the_changes_between_the_template_and_a_draft_are_listed_in_japanese_and_audited(
        run, session, clock, towns, tmp_path):  # noqa: F811
    deploy(session, clock, load_definition(STANDARD))
    session.commit()
    ok(run("process", "draft", str(_draft_folder(tmp_path)), "--municipality", "131016"))

    listed = ok(run("process", "diff", KEY, "template:1", "draft", "--municipality", "131016"))
    lines = listed.splitlines()
    assert lines[0] == "テンプレート第1版 → 下書き"
    assert "  変更  相談受付 (intake, userTask)" in lines
    assert "      期限: P3D → P5D" in lines
    assert "■ 入力フォーム" in lines and "          必須: いいえ → はい" in lines
    assert "決定表" not in listed and "その他のファイル" not in listed

    assert "違いはありません" in ok(run("process", "diff", KEY, "template:1", "template:1"))
    assert "selector_invalid" in refused(run("process", "diff", KEY, "v1", "draft", "--municipality", "131016"))
    assert "--municipality" in refused(run("process", "diff", KEY, "template:1", "draft"))
    assert "not_found" in refused(run("process", "diff", KEY, "template:1", "municipal:3", "--municipality", "131016"))

    session.expire_all()
    rows = list(session.scalars(select(AuditRecord).where(AuditRecord.action == "process.diff_viewed")
                                .order_by(AuditRecord.id)))
    assert [(r.municipality_id, r.detail["new"], r.detail["via"]) for r in rows] == [
        (towns[0].id, "draft", "cli"), (None, "template:1", "cli")]
