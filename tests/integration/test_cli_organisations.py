"""The operator sets up a municipality's bodies, councils, catalogue, security settings and pledge with `tsunagu`."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tsunagu.engine.casefile.governance import CouncilRecord, PledgeTextRecord
from tsunagu.engine.casefile.tables import ActionTypeRecord, OrganisationRecord
from tsunagu.engine.models import AuditRecord, MunicipalityRecord


@pytest.fixture
def towns(session):
    """千代田区 and 中央区, created directly as rows."""
    chiyoda = MunicipalityRecord(code="131016", name="千代田区")
    chuo = MunicipalityRecord(code="131024", name="中央区")
    session.add_all([chiyoda, chuo])
    session.commit()
    return chiyoda, chuo


@pytest.fixture
def run(database_url):
    from tsunagu.web.cli import main

    def invoke(*args):
        result = CliRunner().invoke(main, list(args), env={"TSUNAGU_DATABASE_URL": database_url})
        assert "Traceback" not in result.output
        return result

    return invoke


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def refused(result) -> str:
    assert result.exit_code == 1, result.output
    return result.output


def test_organisations_are_added_listed_renamed_and_retired_by_name(run, session, towns):
    ok(run("organisation", "add", "千代田区社会福祉協議会", "--municipality", "131016"))
    ok(run("organisation", "add", "地域振興課", "--municipality", "131016", "--kind", "department"))
    listed = ok(run("organisation", "list", "--municipality", "131016"))
    assert "構成機関等  有効  千代田区社会福祉協議会" in listed and "庁内部署  有効  地域振興課" in listed

    ok(run("organisation", "rename", "地域振興課", "地域振興部", "--municipality", "131016"))
    ok(run("organisation", "set-kind", "地域振興部", "member_body", "--municipality", "131016"))
    ok(run("organisation", "retire", "地域振興部", "--municipality", "131016"))
    listed = ok(run("organisation", "list", "--municipality", "131016"))
    assert "構成機関等  廃止  地域振興部" in listed and "地域振興課" not in listed
    ok(run("organisation", "reactivate", "地域振興部", "--municipality", "131016"))

    rows = session.scalars(select(AuditRecord).order_by(AuditRecord.id)).all()
    assert [r.action for r in rows] == ["organisation.added", "organisation.added", "organisation.renamed",
                                        "organisation.kind_changed", "organisation.retired",
                                        "organisation.reactivated"]
    assert all(r.actor_id is None and r.detail["via"] == "cli" and r.detail["operator"] for r in rows)


def test_bad_input_exits_1_naming_the_problem_and_writes_nothing(run, session, towns):
    ok(run("organisation", "add", "保健所", "--municipality", "131016"))
    out = refused(run("organisation", "add", "保健所", "--municipality", "131016", "--kind", "club"))
    assert "name: name_taken" in out and "kind: enum" in out
    assert "999999" in refused(run("organisation", "list", "--municipality", "999999"))
    assert "存在しない機関" in refused(run("organisation", "retire", "存在しない機関", "--municipality", "131016"))
    # Bodies are named within the municipality: 千代田区's body does not exist for 中央区.
    assert "保健所" in refused(run("organisation", "rename", "保健所", "新保健所", "--municipality", "131024"))
    out = refused(run("council", "add", "協議会", "--municipality", "131016", "--established", "2024/04/01",
                      "--joint-with", "131032"))
    assert "established_on: format" in out and "joint_with: unknown_municipality" in out
    assert "not_found" in refused(run("council", "add-member", "abc", "--body", "保健所", "--municipality", "131016"))
    assert "not_found" in refused(run("council", "designate", "99999999999999999999", "--body", "保健所", "--on",
                                      "2024-04-01", "--municipality", "131016"))
    out = refused(run("catalogue", "add", "Home Visit", "訪問", "--owner", "保健所", "--days", "400",
                      "--municipality", "131016"))
    assert "code: pattern" in out and "service_days: maximum" in out
    assert "idle_minutes: minimum" in refused(run("settings", "set", "--municipality", "131016", "--idle-minutes", "1"))
    assert refused(run("settings", "set", "--municipality", "131016"))
    assert len(session.scalars(select(AuditRecord)).all()) == 1
    assert session.scalar(select(CouncilRecord)) is None


def test_a_joint_council_gets_members_from_both_municipalities_and_one_coordinating_body(run, session, towns):
    ok(run("organisation", "add", "千代田区社会福祉協議会", "--municipality", "131016"))
    ok(run("organisation", "add", "中央区社会福祉協議会", "--municipality", "131024"))
    ok(run("organisation", "add", "千代田区福祉課", "--municipality", "131016"))
    out = ok(run("council", "add", "千代田・中央孤独・孤立対策地域協議会", "--municipality", "131016",
                 "--established", "2024-04-01", "--joint-with", "131024"))
    council = session.scalar(select(CouncilRecord))
    assert f"協議会を登録しました: {council.id}" in out
    cid = str(council.id)
    for name, town in (("千代田区社会福祉協議会", "131016"), ("中央区社会福祉協議会", "131016"),
                       ("千代田区福祉課", "131024")):
        ok(run("council", "add-member", cid, "--body", name, "--municipality", town))
    ok(run("council", "designate", cid, "--body", "千代田区福祉課", "--on", "2024-04-01", "--municipality", "131016"))
    out = ok(run("council", "designate", cid, "--body", "中央区社会福祉協議会", "--on", "2025-04-01",
                 "--municipality", "131024"))
    assert "調整機関に指定しました: 中央区社会福祉協議会（2025-04-01 指定）" in out
    out = refused(run("council", "remove-member", cid, "--body", "中央区社会福祉協議会", "--municipality", "131016"))
    assert "in_use [中央区社会福祉協議会]" in out and "coordinating body" in out
    ok(run("council", "remove-member", cid, "--body", "千代田区福祉課", "--municipality", "131016"))

    listed = ok(run("council", "list", "--municipality", "131024"))
    assert "千代田区(131016)・中央区(131024)" in listed
    assert "調整機関: 中央区社会福祉協議会（2025-04-01 指定）" in listed
    assert "構成機関等: 中央区社会福祉協議会、千代田区社会福祉協議会" in listed
    marked = session.scalars(select(OrganisationRecord.name).where(OrganisationRecord.is_coordinating_body)).all()
    assert marked == ["中央区社会福祉協議会"]
    assert "★調整機関" in ok(run("organisation", "list", "--municipality", "131024"))
    actions = [r.action for r in session.scalars(select(AuditRecord).order_by(AuditRecord.id))]
    assert actions.count("council.coordinating_body_designated") == 2 and actions.count("council.member_removed") == 1


def test_the_catalogue_is_managed_by_code_and_a_retired_owner_is_refused(run, session, towns):
    ok(run("organisation", "add", "千代田区社会福祉協議会", "--municipality", "131016"))
    ok(run("organisation", "add", "NPO法人 居場所", "--municipality", "131016"))
    out = ok(run("catalogue", "add", "home_visit", "訪問による見守り", "--owner", "千代田区社会福祉協議会", "--days", "14",
                 "--municipality", "131016"))
    assert "home_visit" in out and "14日" in out
    ok(run("catalogue", "rename", "home_visit", "訪問による見守り・相談", "--municipality", "131016"))
    ok(run("catalogue", "set-owner", "home_visit", "--owner", "NPO法人 居場所", "--municipality", "131016"))
    ok(run("catalogue", "set-days", "home_visit", "21", "--municipality", "131016"))
    assert "action_type_owner" in refused(run("organisation", "retire", "NPO法人 居場所", "--municipality", "131016"))
    ok(run("catalogue", "retire", "home_visit", "--municipality", "131016"))
    listed = ok(run("catalogue", "list", "--municipality", "131016"))
    assert "home_visit" in listed and "廃止   21日  NPO法人 居場所  訪問による見守り・相談" in listed
    ok(run("organisation", "retire", "NPO法人 居場所", "--municipality", "131016"))
    assert "owner_body_id: owner_retired" in refused(run("catalogue", "reactivate", "home_visit",
                                                         "--municipality", "131016"))
    assert "code_taken" in refused(run("catalogue", "add", "home_visit", "別名", "--owner", "千代田区社会福祉協議会",
                                       "--days", "7", "--municipality", "131016"))
    kind = session.scalar(select(ActionTypeRecord))
    assert (kind.name, kind.service_days, kind.active) == ("訪問による見守り・相談", 21, False)


def test_security_settings_are_shown_and_changed_one_at_a_time(run, session, towns):
    out = ok(run("settings", "show", "--municipality", "131016"))
    assert "全職員の2段階認証: 任意" in out and "既定値" in out
    ok(run("settings", "set", "--municipality", "131016", "--require-second-factor"))
    out = ok(run("settings", "set", "--municipality", "131016", "--idle-minutes", "20"))
    assert "全職員の2段階認証: 必須" in out and "無操作時のサインアウト: 20 分" in out
    ok(run("settings", "set", "--municipality", "131016", "--idle-minutes", "default"))
    session.expire_all()
    town = session.scalar(select(MunicipalityRecord).where(MunicipalityRecord.code == "131016"))
    assert (town.require_second_factor, town.idle_minutes) == (True, None)
    changes = session.scalars(select(AuditRecord).where(AuditRecord.action == "settings.changed")).all()
    assert [c.detail["after"]["idle_minutes"] for c in changes] == [None, 20, None]


def test_a_pledge_is_published_from_a_file_and_prints_its_version(run, session, towns, tmp_path):
    assert "まだありません" in ok(run("pledge", "show", "--municipality", "131016"))
    text = tmp_path / "pledge.txt"
    text.write_text("第18条の守秘義務を守ります。\n退職後も同様です。\n", encoding="utf-8")
    assert "第 1 版を公開しました" in ok(run("pledge", "publish", "--municipality", "131016", str(text)))
    assert "第 2 版を公開しました" in ok(run("pledge", "publish", "--municipality", "131016", str(text)))
    out = ok(run("pledge", "show", "--municipality", "131016"))
    assert out.startswith("第 2 版") and "退職後も同様です。" in out

    assert "cannot read" in refused(run("pledge", "publish", "--municipality", "131016", str(tmp_path / "none.txt")))
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    assert "text: required" in refused(run("pledge", "publish", "--municipality", "131016", str(empty)))
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00")
    assert refused(run("pledge", "publish", "--municipality", "131016", str(binary)))
    versions = session.scalars(select(PledgeTextRecord.version).order_by(PledgeTextRecord.version)).all()
    assert versions == [1, 2]
    published = session.scalars(select(AuditRecord).where(AuditRecord.action == "pledge.published")).all()
    assert [p.detail["via"] for p in published] == ["cli", "cli"]


def test_every_command_explains_itself(run):
    for noun, verbs in {"organisation": ["list", "add", "rename", "set-kind", "retire", "reactivate"],
                        "council": ["list", "add", "add-member", "remove-member", "designate"],
                        "catalogue": ["list", "add", "rename", "set-owner", "set-days", "retire", "reactivate"],
                        "settings": ["show", "set"], "pledge": ["show", "publish"]}.items():
        for verb in verbs:
            out = ok(run(noun, verb, "--help"))
            assert "--municipality CODE" in out
