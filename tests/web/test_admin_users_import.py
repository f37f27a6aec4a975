"""An administrator imports a staff list in the pages, as `tsunagu user import` does: all rows or none."""
from __future__ import annotations

import io

from conftest import reread
from page_text import element, text
from sqlalchemy import func, select

from tsunagu.engine.access.security import LoginOutcome, check_password
from tsunagu.engine.casefile.tables import OrganisationKind, OrganisationRecord
from tsunagu.engine.models import UserRecord

GOOD = ("username,display_name,email,roles,organisation,team\r\n"
        "sato.hanako,佐藤 花子,sato@city.example.lg.jp,caseworker,福祉課,地域福祉係\r\n"
        "suzuki.ichiro,鈴木 一郎,,supervisor;caseworker,,\r\n")


def _upload(client, content: bytes, name="staff.csv"):
    return client.post("/admin/users/import", data={"file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def _staff_count(session) -> int:
    reread(session)
    return session.scalar(select(func.count()).select_from(UserRecord))


def test_a_good_staff_list_creates_everyone_and_shows_each_one_time_password_once(client, login, session, clock,
                                                                                  admin, municipality):
    session.add(OrganisationRecord(municipality_id=municipality.id, name="福祉課", kind=OrganisationKind.DEPARTMENT))
    session.commit()
    login(admin)
    assert 'href="/admin/users/import"' in client.get("/admin/users").get_data(as_text=True)

    response = _upload(client, b"\xef\xbb\xbf" + GOOD.encode())  # Excel's "CSV UTF-8" starts with a BOM

    assert response.status_code == 200
    page = element(response.get_data(as_text=True), "handover")
    assert "佐藤 花子" in page and "鈴木 一郎" in page
    reread(session)
    sato = session.scalar(select(UserRecord).where(UserRecord.username == "sato.hanako"))
    assert sato.must_change_password and sato.team == "地域福祉係" and sato.organisation_id is not None
    password = text(page).split("sato.hanako")[1].split()[0]
    assert check_password(session, clock, "sato.hanako", password).outcome == LoginOutcome.OK


def test_a_staff_list_with_bad_rows_names_each_line_and_creates_nobody(client, login, session, admin):
    login(admin)
    before = _staff_count(session)
    bad = GOOD + "x,名前なし,not-an-address,wizard,存在しない課,\r\nsato.hanako,重複,,caseworker,,\r\n"

    response = _upload(client, bad.encode())

    assert response.status_code == 422
    problems = text(element(response.get_data(as_text=True), "import-problems"))
    assert "取り込んでいません" in problems or "取り込みませんでした" in problems
    for where in ("4行目（username）", "4行目（email）", "4行目（roles）", "4行目（organisation）", "5行目（username）"):
        assert where in problems, (where, problems)
    assert _staff_count(session) == before


def test_a_shift_jis_file_or_no_file_is_refused_with_advice_not_an_error_page(client, login, session, admin):
    login(admin)
    before = _staff_count(session)
    shift_jis = _upload(client, GOOD.replace("sato.hanako", "sato").encode("shift_jis"))
    assert shift_jis.status_code == 422 and "UTF-8" in text(element(shift_jis.get_data(as_text=True),
                                                                     "import-problems"))
    empty = client.post("/admin/users/import", data={}, content_type="multipart/form-data")
    assert empty.status_code == 422
    nul = _upload(client, b"username,display_name\r\nab\x00c,x\r\n")
    assert nul.status_code == 422
    assert _staff_count(session) == before


def test_only_administrators_import_staff(client, login, session, caseworker):
    login(caseworker)
    before = _staff_count(session)
    assert client.get("/admin/users/import").status_code == 403
    assert _upload(client, GOOD.encode()).status_code == 403
    assert _staff_count(session) == before
