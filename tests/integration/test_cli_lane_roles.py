"""A lane's role from the command line, as the modeller's lane panel sets it: kept in tsunagu.json of a draft
validated like an upload, audited, and unknown lanes or roles refused with nothing stored."""
from __future__ import annotations

import json

from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.models import AuditRecord, ProcessDraftRecord

from .test_cli_organisations import ok, refused, run, towns  # noqa: F401  (fixtures)

KEY = "kodoku_koritsu_case"


def _draft(session) -> ProcessDraftRecord | None:
    session.expire_all()
    return session.scalar(select(ProcessDraftRecord))


def test_a_designer_maps_a_lane_to_a_role_into_a_draft_and_removes_it_again(
        run, session, clock, towns, standard_version):  # noqa: F811
    chiyoda, _ = towns
    users.create_user(session, clock, municipality_id=chiyoda.id, username="designer", display_name="設計 太郎",
                      password="tsunagu-test-password", roles=["designer"])
    session.commit()

    message = refused(run("process", "set-lane-role", KEY, "caseworker", "mayor", "--by", "designer"))
    assert "lane_mapping_unknown_role" in message and "caseworker" in message and "何も登録していません" in message
    message = refused(run("process", "set-lane-role", KEY, "窓口", "supervisor", "--by", "designer"))
    assert "lane_mapping_unknown_lane" in message and "窓口" in message
    assert _draft(session) is None
    assert "変更はありません" in ok(run("process", "set-lane-role", KEY, "caseworker", "-", "--by", "designer"))

    saved = ok(run("process", "set-lane-role", KEY, "Lane_caseworker", "supervisor", "--by", "designer",
                   "--municipality", "131016"))
    assert "— → supervisor" in saved and "下書きとして保存しました" in saved
    draft = _draft(session)
    assert json.loads(draft.files["tsunagu.json"]) == {"lane_roles": {"caseworker": "supervisor"}}
    assert "変更はありません" in ok(run("process", "set-lane-role", KEY, "caseworker", "supervisor", "--by", "designer"))

    removed = ok(run("process", "set-lane-role", KEY, "caseworker", "-", "--by", "designer"))
    assert "supervisor → —" in removed
    assert "tsunagu.json" not in _draft(session).files
    audited = [(a.detail["lane"], a.detail["role"], a.detail["previous"], a.detail["via"]) for a in session.scalars(
        select(AuditRecord).where(AuditRecord.action == "process.lane_role_set").order_by(AuditRecord.id))]
    assert audited == [("caseworker", "supervisor", None, "cli"), ("caseworker", None, "supervisor", "cli")]
