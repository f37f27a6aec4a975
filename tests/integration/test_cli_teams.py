"""The operator sets up teams with `tsunagu team`, and the access periods with `tsunagu settings`."""
from __future__ import annotations

from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.casefile.tables import TeamMemberRecord, TeamRecord
from tsunagu.engine.models import AuditRecord, MunicipalityRecord

from .test_cli_organisations import ok, refused, run, towns  # noqa: F401  (fixtures)


def test_teams_are_added_given_members_and_a_supervisor_listed_and_retired(run, session, clock, towns,  # noqa: F811
                                                                           user_password):
    chiyoda, _chuo = towns
    for name, roles in (("worker", ["caseworker"]), ("boss", ["supervisor"])):
        users.create_user(session, clock, municipality_id=chiyoda.id, username=name, display_name=name,
                          password=user_password, roles=roles)
    session.commit()

    assert "追加しました" in ok(run("team", "add", "相談第1班", "--municipality", "131016"))
    ok(run("team", "member", "相談第1班", "worker", "--municipality", "131016"))
    out = ok(run("team", "member", "相談第1班", "boss", "--supervisor", "--municipality", "131016"))
    assert "スーパーバイザー  boss" in out and "担当職員  worker" in out
    assert "not_supervisor" in refused(run("team", "member", "相談第1班", "worker", "--supervisor",
                                           "--municipality", "131016"))
    assert "相談第1班" in ok(run("team", "list", "--municipality", "131016"))
    out = ok(run("team", "remove", "相談第1班", "worker", "--municipality", "131016"))
    assert "worker" not in out
    ok(run("team", "retire", "相談第1班", "--municipality", "131016"))
    assert "廃止" in ok(run("team", "list", "--municipality", "131016"))

    session.expire_all()
    team = session.scalar(select(TeamRecord))
    assert not team.active
    assert [(m.supervises) for m in session.scalars(select(TeamMemberRecord))] == [True]
    actions = session.scalars(select(AuditRecord).where(AuditRecord.action.like("team.%")).order_by(AuditRecord.id))
    assert [(a.action, a.detail["via"]) for a in actions] == [
        ("team.added", "cli"), ("team.member_added", "cli"), ("team.member_added", "cli"),
        ("team.member_removed", "cli"), ("team.retired", "cli")]


def test_the_access_periods_are_shown_and_set_within_their_range(run, session, towns):  # noqa: F811
    out = ok(run("settings", "set", "--municipality", "131016", "--closure-grace-days", "14",
                 "--council-window-days", "60"))
    assert "終結後、同意・協議会・主担当機関による閲覧が終わるまで: 14 日" in out and "会議後 60 日" in out
    assert "closure_grace_days: maximum" in refused(run("settings", "set", "--municipality", "131016",
                                                        "--closure-grace-days", "3651"))
    session.expire_all()
    town = session.scalar(select(MunicipalityRecord).where(MunicipalityRecord.code == "131016"))
    assert (town.closure_grace_days, town.council_window_days) == (14, 60)
