"""The pages that pick a process version follow the user's municipality: its own live version, else the
national template."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tsunagu.engine.access import users
from tsunagu.engine.models import CaseRecord, MunicipalityRecord
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import build_definition

OWN_TITLE = "気がかりなこと（つながり市の書き方）"
CONCERN = {"referred_on": "2026-11-26", "person_name": "近所 太郎", "concern": "最近姿を見かけない。",
           "person_aware": "on"}


@pytest.fixture
def other_town(session):
    town = MunicipalityRecord(code="131024", name="中央区")
    session.add(town)
    session.commit()
    return town


def person(session, clock, town, username, role, password):
    user = users.create_user(session, clock, municipality_id=town.id, username=username, display_name=username,
                             password=password, roles=[role])
    session.commit()
    return user


@pytest.fixture
def own_version(session, clock, municipality, standard_definition, standard_version):
    """The municipality's own copy of the standard process: its concern form words one field its own way."""
    schema = json.loads(standard_definition.files["concern-schema.json"])
    schema["properties"]["concern"]["title"] = OWN_TITLE
    files = {**standard_definition.files, "concern-schema.json": json.dumps(schema, ensure_ascii=False)}
    version = deploy(session, clock, build_definition(files, standard_definition.process_id),
                     municipality_id=municipality.id).version
    session.commit()
    return version


def options(html: str) -> list[str]:
    select_box = html.split('<select id="version_id"', 1)[1].split("</select>", 1)[0]
    return [part.split('"', 1)[0] for part in select_box.split('<option value="')[1:]]


def test_the_new_case_page_offers_the_municipality_s_own_version_and_elsewhere_the_template(
        client, login, session, clock, caseworker, other_town, user_password, standard_version, own_version):
    login(caseworker)
    assert options(client.get("/cases/new").get_data(as_text=True)) == [str(own_version.id)]
    client.post("/logout")

    neighbour = person(session, clock, other_town, "chuo-worker", "caseworker", user_password)
    login(neighbour)
    assert options(client.get("/cases/new").get_data(as_text=True)) == [str(standard_version.id)]
    refused = client.post("/cases/new", data={"version_id": own_version.id, "title": "よその版"})
    assert refused.status_code in (400, 404)
    assert session.scalar(select(func.count()).select_from(CaseRecord)) == 0


def test_the_concern_form_follows_the_municipality_s_own_version(
        client, login, session, clock, municipality, other_town, user_password, standard_version, own_version):
    referrer = person(session, clock, municipality, "supporter", "referrer", user_password)
    login(referrer)
    assert OWN_TITLE in client.get("/concern").get_data(as_text=True)
    assert client.post("/concern", data=CONCERN).status_code == 302
    assert session.scalar(select(CaseRecord.process_version_id)) == own_version.id
    client.post("/logout")

    neighbour = person(session, clock, other_town, "chuo-supporter", "referrer", user_password)
    login(neighbour)
    html = client.get("/concern").get_data(as_text=True)
    assert OWN_TITLE not in html and "気がかりなこと" in html
