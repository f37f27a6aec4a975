"""Made-up cases in bulk, for trying and measuring Tsunagu at scale (`tsunagu seed`, bench/list_pages.py).

The shared pieces: people with realistic Japanese names and kana search keys, seed staff (caseworkers in
teams of five, a supervisor, a coordinator of the council's coordinating body, one partner per member
body), council meetings and the rows the engine writes around them, all inserted with SQLAlchemy Core in
batches. engine.admin.seed_clone copies real template cases (processes.seeding runs them) into many.

Seeded cases carry a reference starting with `SEED-`: a municipality holding any other case is never
seeded, so made-up cases never mix with a real municipality's data.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, func, insert, or_, select, text
from sqlalchemy.orm import Session

from ..access.users import hash_password
from ..casefile.governance import CouncilMunicipalityRecord, CouncilRecord, council_of
from ..casefile.names import search_key
from ..casefile.tables import (
    CouncilMeetingRecord,
    OrganisationKind,
    OrganisationRecord,
    TeamMemberRecord,
    TeamRecord,
)
from ..errors import InvalidState
from ..models import Base, CaseRecord, UserRecord, UserRoleRecord

SEED_PREFIX = "SEED-"


class SeedRefused(InvalidState):
    """Seeding would mix made-up cases with a real municipality's data, or lacks what it needs."""

    code = "seed_refused"

CHUNK = 2000  # rows per executemany: one transaction per batch of cases
TEAM_SIZE = 5
CASELOAD = 80  # open cases per caseworker

# Surname and given name with their readings; the first 20 and 10 are bench/list_pages.py's names.
SURNAMES = [("佐藤", "さとう"), ("鈴木", "すずき"), ("高橋", "たかはし"), ("田中", "たなか"), ("伊藤", "いとう"),
            ("渡辺", "わたなべ"), ("山本", "やまもと"), ("中村", "なかむら"), ("小林", "こばやし"), ("加藤", "かとう"),
            ("吉田", "よしだ"), ("山田", "やまだ"), ("佐々木", "ささき"), ("山口", "やまぐち"), ("松本", "まつもと"),
            ("井上", "いのうえ"), ("木村", "きむら"), ("林", "はやし"), ("斎藤", "さいとう"), ("清水", "しみず"),
            ("山崎", "やまざき"), ("森", "もり"), ("池田", "いけだ"), ("橋本", "はしもと"), ("阿部", "あべ"),
            ("石川", "いしかわ"), ("山下", "やました"), ("中島", "なかじま"), ("石井", "いしい"), ("小川", "おがわ"),
            ("前田", "まえだ"), ("岡田", "おかだ"), ("長谷川", "はせがわ"), ("藤田", "ふじた"), ("後藤", "ごとう"),
            ("近藤", "こんどう"), ("村上", "むらかみ"), ("遠藤", "えんどう"), ("青木", "あおき"), ("坂本", "さかもと")]
GIVEN = [("花子", "はなこ"), ("太郎", "たろう"), ("一郎", "いちろう"), ("和子", "かずこ"), ("洋子", "ようこ"),
         ("浩", "ひろし"), ("誠", "まこと"), ("美香", "みか"), ("健一", "けんいち"), ("幸子", "さちこ"),
         ("恵子", "けいこ"), ("節子", "せつこ"), ("清", "きよし"), ("茂", "しげる"), ("勇", "いさむ"),
         ("京子", "きょうこ"), ("明美", "あけみ"), ("大輔", "だいすけ"), ("翔太", "しょうた"), ("陽菜", "ひな"),
         ("由美", "ゆみ"), ("正雄", "まさお"), ("久美子", "くみこ"), ("修", "おさむ"), ("直樹", "なおき"),
         ("千代", "ちよ"), ("進", "すすむ"), ("真由美", "まゆみ"), ("拓也", "たくや"), ("芳子", "よしこ")]


def person_row(rng: random.Random, municipality_id: int, created_at: datetime, birth_year: int,
               surnames: Sequence[tuple[str, str]] = SURNAMES, given: Sequence[tuple[str, str]] = GIVEN,
               name: tuple[str, str, str] | None = None) -> dict[str, Any]:
    """A persons row: a name drawn from `surnames` and `given` (or `name`: surname, given, kana) with its keys."""
    (surname, surname_kana), (first, first_kana) = surnames[rng.randrange(len(surnames))], given[rng.randrange(len(given))]
    kana = f"{surname_kana} {first_kana}"
    if name is not None:
        surname, first, kana = name
    return {"municipality_id": municipality_id, "name": f"{surname} {first}", "kana": kana, "birth_year": birth_year,
            "created_at": created_at, "name_key": search_key(surname + first), "kana_key": search_key(kana)}


def table_of(record: type[Base]) -> Table:
    """The Core table of an ORM class, for bulk statements."""
    return cast(Table, record.__table__)


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows in one executemany, with ids taken beforehand; their ids, in order."""
    if not rows:
        return []
    ids = new_ids(conn, table, len(rows))
    conn.execute(insert(table), [{**row, "id": new} for row, new in zip(rows, ids, strict=True)])
    return ids


def new_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """`count` fresh ids of `table`: from its sequence on PostgreSQL; on SQLite above the highest id and
    AUTOINCREMENT counter, with the database's write lock taken first so that nobody takes them meanwhile."""
    if conn.dialect.name == "postgresql":
        return list(conn.execute(text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                                 {"t": table.name, "n": count}).scalars())
    conn.execute(text("UPDATE municipalities SET id = id WHERE 0"))  # begins the write: the lock is ours
    # The table name comes from our own models, never from input.
    highest: int = conn.execute(text(
        f"SELECT max(coalesce((SELECT max(id) FROM {table.name}), 0),"  # noqa: S608
        " coalesce((SELECT seq FROM sqlite_sequence WHERE name = :t), 0))"), {"t": table.name}).scalar_one()
    return list(range(int(highest) + 1, int(highest) + 1 + count))


def insert_caseworkers(conn: Connection, *, municipality_id: int, organisation_id: int | None, count: int,
                       password_hash: str, username: Callable[[int], str], now: datetime,
                       supervisor_id: int | None) -> list[int]:
    """`count` caseworkers sharing one password hash, in teams of five; the supervisor supervises the first team."""
    ids = insert_rows(conn, table_of(UserRecord), [
        {"municipality_id": municipality_id, "username": username(n), "display_name": f"相談 員{n + 1}",
         "organisation_id": organisation_id, "password_hash": password_hash, "active": True, "failed_logins": 0,
         "totp_enabled": False, "must_change_password": False, "session_generation": 0, "created_at": now}
        for n in range(count)])
    if not ids:
        return ids
    conn.execute(insert(table_of(UserRoleRecord)), [{"user_id": w, "role": "caseworker"} for w in ids])
    taken = set(conn.execute(select(TeamRecord.name).where(TeamRecord.municipality_id == municipality_id)).scalars())
    names = [name for name in (f"第{t + 1}班" for t in range(len(taken) + len(ids))) if name not in taken]
    teams = insert_rows(conn, table_of(TeamRecord), [
        {"municipality_id": municipality_id, "name": names[t], "active": True, "created_at": now}
        for t in range(-(-count // TEAM_SIZE))])
    members = [{"team_id": teams[n // TEAM_SIZE], "user_id": w, "supervises": False} for n, w in enumerate(ids)]
    if supervisor_id is not None:
        members.append({"team_id": teams[0], "user_id": supervisor_id, "supervises": True})
    conn.execute(insert(table_of(TeamMemberRecord)), members)
    return ids


def caseworkers_for(open_cases: int) -> int:
    """One caseworker per 80 open cases, in whole teams of five."""
    return max(TEAM_SIZE, round(open_cases / CASELOAD / TEAM_SIZE) * TEAM_SIZE)


class Meetings:
    """Council meetings by day: cases tabled for the same day share one meeting, as the tabling writer does."""

    def __init__(self, conn: Connection, municipality_id: int, council_id: int | None, now: datetime):
        self.municipality_id, self.council_id, self.now = municipality_id, council_id, now
        meetings = table_of(CouncilMeetingRecord)
        self.by_day: dict[date, int] = {row[0]: row[1] for row in conn.execute(
            select(meetings.c.held_on, func.min(meetings.c.id)).where(meetings.c.municipality_id == municipality_id)
            .group_by(meetings.c.held_on))}

    def ids(self, conn: Connection, days: list[date]) -> list[int]:
        """The meeting of each day, made for the days that have none yet."""
        new = sorted({d for d in days if d not in self.by_day})
        made = insert_rows(conn, table_of(CouncilMeetingRecord), [
            {"municipality_id": self.municipality_id, "council_id": self.council_id, "kind": "case",
             "title": f"個別ケース検討会議 {d.isoformat()}", "held_on": d, "created_at": self.now} for d in new])
        self.by_day.update(zip(new, made, strict=True))
        return [self.by_day[d] for d in days]


@dataclass
class SeedStaff:
    """The seed users of a municipality: who works the made-up cases."""

    caseworkers: list[int]
    supervisor: int
    coordinator: int
    partners: dict[int, int] = field(default_factory=dict)  # member body id -> its partner user

    @property
    def caseworker(self) -> int:
        return self.caseworkers[0]


def seeded_only(session: Session, municipality_id: int) -> None:
    """Refuse a municipality holding any case that was not seeded: real data never mixes with made-up cases."""
    real = session.scalar(select(func.count()).select_from(CaseRecord).where(
        CaseRecord.municipality_id == municipality_id,
        or_(CaseRecord.reference.is_(None), CaseRecord.reference.not_like(f"{SEED_PREFIX}%"))))
    if real:
        raise SeedRefused(f"the municipality holds {real} real case(s); seeded cases are never mixed with them",
                          element="municipality", real_cases=real)


def ensure_staff(session: Session, now: datetime, municipality_id: int, code: str, caseworkers: int,
                 password: str) -> SeedStaff:
    """The council (made if missing) and the seed staff, with `caseworkers` caseworkers at least; committed."""
    prefix = f"seed-{code}-"
    bodies = list(session.scalars(select(OrganisationRecord).where(
        OrganisationRecord.municipality_id == municipality_id, OrganisationRecord.active.is_(True))
        .order_by(OrganisationRecord.id)))
    if not bodies:
        raise SeedRefused("the municipality has no member bodies; run `tsunagu municipality add` first",
                          element="municipality")
    council = council_of(session, municipality_id)
    if council is None:
        coordinating = next((b for b in bodies if b.is_coordinating_body), bodies[0])
        council = CouncilRecord(name="孤独・孤立対策地域協議会", established_on=date(2024, 4, 1),
                                coordinating_body_id=coordinating.id, coordinating_designated_on=date(2024, 4, 1))
        session.add(council)
        session.flush()
        session.add(CouncilMunicipalityRecord(council_id=council.id, municipality_id=municipality_id))
    department = council.coordinating_body_id
    existing = {u.username: u for u in session.scalars(select(UserRecord).where(
        UserRecord.municipality_id == municipality_id, UserRecord.username.like(f"{prefix}%")))}
    password_hash = hash_password(password)

    def user(name: str, display: str, roles: list[str], organisation_id: int | None) -> int:
        if name in existing:
            return existing[name].id
        row = UserRecord(municipality_id=municipality_id, username=name, display_name=display, password_hash=password_hash,
                         organisation_id=organisation_id, created_at=now, roles=[UserRoleRecord(role=r) for r in roles])
        session.add(row)
        session.flush()
        return row.id

    supervisor = user(f"{prefix}supervisor", "監督 見本", ["supervisor", "caseworker"], department)
    coordinator = user(f"{prefix}coordinator", "調整 見本", ["coordinator"], department)
    partners = {b.id: user(f"{prefix}partner-{b.id}", f"連携 見本（{b.name}）"[:200], ["partner"], b.id)
                for b in bodies if b.kind == OrganisationKind.MEMBER_BODY}
    workers = sorted((u for name, u in existing.items() if name.startswith(f"{prefix}worker-")), key=lambda u: u.id)
    ids = [w.id for w in workers]
    session.flush()
    if len(ids) < caseworkers:
        ids += insert_caseworkers(session.connection(), municipality_id=municipality_id, organisation_id=department,
                                  count=caseworkers - len(ids), password_hash=password_hash,
                                  username=lambda n: f"{prefix}worker-{n + len(workers) + 1}", now=now,
                                  supervisor_id=supervisor if not workers else None)
    session.commit()
    return SeedStaff(ids, supervisor, coordinator, partners)


def spread(rng: random.Random, count: int, shares: dict[str, float]) -> list[str]:
    """`count` positions drawn in proportion to `shares`, exactly as many of each as the shares give, shuffled."""
    total = sum(shares.values())
    names = list(shares)
    counts = [int(count * shares[n] / total) for n in names]
    for n in range(count - sum(counts)):  # the remainder goes to the largest shares
        counts[sorted(range(len(names)), key=lambda i: -shares[names[i]])[n % len(names)]] += 1
    drawn = [name for name, k in zip(names, counts, strict=True) for _ in range(k)]
    rng.shuffle(drawn)
    return drawn


# Points of the standard process an open seeded case waits at, with their share of the open cases.
OPEN_SHARES = {"intake": 0.05, "assessment": 0.05, "consent": 0.07, "tabling": 0.07, "tabled": 0.06,
               "actions": 0.1, "waiting_review": 0.32, "review": 0.1, "follow_up": 0.06, "crisis": 0.04,
               "closure": 0.08}
OPEN_POSITIONS = tuple(OPEN_SHARES)
CLOSED_SHARES = {"closed_goal": 0.8, "closed_referral": 0.2}
CLOSURE_REASONS = ("goal_reached", "goal_reached", "goal_reached", "moved_away", "declined", "died", "transferred")
CHANNELS = ("phone", "counter", "sns", "minsei", "outreach", "supporter", "other")  # the intake form's channels
YEARS_OF_HISTORY = 8


def history_span() -> timedelta:
    return timedelta(days=YEARS_OF_HISTORY * 365)
