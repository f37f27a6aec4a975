"""Template cases for `tsunagu seed`: one real case per point of the standard process, run through the
engine's own commands with valid form data, which engine.admin.seed_clone then copies in bulk.

Each template runs on a clock of its own, set back from `now` so that its dates fall where the point
lies in a real office (a decided case met weeks ago, a closed one months ago). Templates use the seed
staff engine.admin.seed made; the municipality's catalogue is installed if `municipality add` did not.
"""
from __future__ import annotations

import random
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.engine import audit
from tsunagu.engine.admin.municipalities import find_municipality
from tsunagu.engine.admin.seed import (
    CLOSED_SHARES,
    OPEN_SHARES,
    SEED_PREFIX,
    SeedStaff,
    caseworkers_for,
    ensure_staff,
    history_span,
    seeded_only,
    spread,
)
from tsunagu.engine.admin.seed_clone import Template, capture, clone_cases
from tsunagu.engine.admin.staff_directory import user_by_username
from tsunagu.engine.casefile.governance import council_of
from tsunagu.engine.casefile.tables import (
    ActionTypeRecord,
    AgendaItemRecord,
    OrganisationKind,
    OrganisationRecord,
)
from tsunagu.engine.clock import FixedClock
from tsunagu.engine.commands import cases, council, events
from tsunagu.engine.commands.queries import open_tasks_of_case, view_case
from tsunagu.engine.commands.versions import live_version
from tsunagu.engine.db import transaction
from tsunagu.engine.errors import FieldError, FormInvalid
from tsunagu.engine.models import CaseRecord, ProcessVersionRecord, UserRecord
from tsunagu.engine.runtime.forms import today_in_japan

from .catalogue import install_catalogue

STANDARD_PROCESS = "kodoku_koritsu_case"


def ensure_catalogue(session: Session, municipality_id: int) -> None:
    """Install the shipped member bodies and support actions if the municipality has none."""
    if session.scalar(select(OrganisationRecord.id).where(OrganisationRecord.municipality_id == municipality_id,
                                                           OrganisationRecord.kind == OrganisationKind.MEMBER_BODY)
                      .limit(1)) is None:
        install_catalogue(session, municipality_id)
        session.commit()


def standard_version(session: Session, municipality_id: int) -> ProcessVersionRecord:
    """The municipality's live version of the standard process (NotFound if it was never deployed)."""
    return live_version(session, municipality_id, STANDARD_PROCESS)


class _Driver:
    """One template case driven step by step, each step a command in a fresh session, on its own clock."""

    def __init__(self, factory: sessionmaker[Session], staff: SeedStaff, version_id: int, start: datetime):
        self.factory, self.staff, self.version_id = factory, staff, version_id
        self.clock = FixedClock(start)
        self.case_id = 0

    def user(self, session: Session, user_id: int) -> UserRecord:
        return session.get_one(UserRecord, user_id)

    def start(self, title: str) -> None:
        with self.factory() as session:
            version = session.get_one(ProcessVersionRecord, self.version_id)
            self.case_id = cases.start_case(session, self.clock, self.user(session, self.staff.caseworker),
                                            version, title).id

    def today(self) -> str:
        return today_in_japan(self.clock()).isoformat()

    def step(self, element: str, data: dict[str, Any], user_id: int | None = None, days: float = 1) -> None:
        """Complete the case's open task of `element` (the first, if several), then let `days` pass."""
        with self.factory() as session:
            task = next(t for t in open_tasks_of_case(session, self.case_id) if t.element_id == element)
            cases.complete_task(session, self.clock, self.user(session, user_id or self.staff.caseworker), task.id,
                                data)
        self.clock.advance(timedelta(days=days))

    def act(self, command: Callable[[Session, FixedClock], object], days: float = 0) -> None:
        with self.factory() as session:
            command(session, self.clock)
        self.clock.advance(timedelta(days=days))


def _intake(today: str, **overrides: Any) -> dict[str, Any]:
    data = {"consultation_date": today, "channel": "phone", "person_name": "見本 花子", "person_kana": "ミホン ハナコ",
            "birth_year": 1956, "household": "alone", "concern": "一人暮らしで話し相手がいない。",
            "wishes": "近所で気軽に話せる場がほしい。", "special_care": [], "immediate_danger": False,
            "existing_scheme": "none"}
    data.update(overrides)
    return data


def _assessment(today: str, lonely: int = 4, ucla: tuple[int, int, int] = (3, 3, 2)) -> dict[str, Any]:
    return {"assessed_on": today, "respondent": "self", "loneliness_direct": lonely, "ucla_1": ucla[0],
            "ucla_2": ucla[1], "ucla_3": ucla[2], "contact_frequency": "monthly", "participation": "no",
            "support_received": "no", "helps_others": "no"}


class _Story:
    """The paths of the standard process a template walks, on one driver."""

    def __init__(self, driver: _Driver, bodies: dict[str, int], action_types: list[int]):
        self.d, self.bodies, self.action_types = driver, bodies, action_types
        self.review_in_days = REVIEW_IN_DAYS[0]

    def to_consent(self, **intake: Any) -> None:
        d = self.d
        d.step("intake", _intake(d.today(), **intake))
        d.step("baseline_assessment", _assessment(d.today()), days=3)

    def to_tabling(self) -> None:
        self.to_consent()
        d = self.d
        d.step("consent_capture", {"consent_decision": "given", "consent_date": d.today(), "method": "written",
                                   "purposes": ["support_planning", "information_sharing", "council", "statistics"],
                                   "recipient_body_ids": [self.bodies["shakyo"], self.bodies["npo_ibasho"]]}, days=2)

    def to_council(self) -> date:
        self.to_tabling()
        d = self.d
        meeting_on = today_in_japan(d.clock()) + timedelta(days=7)
        d.step("table_case", {"meeting_date": meeting_on.isoformat(), "basis": "consent",
                              "issues": "家族以外との交流がなく、外出が減っている。",
                              "wishes_summary": "同世代と話せる場所に行ってみたい。"}, user_id=d.staff.coordinator, days=0)
        return meeting_on

    def decide(self, review_in_days: int) -> None:
        """Tabled, then decided at the meeting a week later with two support actions."""
        d = self.d
        meeting_on = self.to_council()
        d.clock.advance(timedelta(days=7, hours=2))
        with d.factory() as session:
            meeting_id = session.scalars(select(AgendaItemRecord.meeting_id).where(AgendaItemRecord.case_id == d.case_id)).one()
        d.act(lambda s, c: council.record_decision(s, c, d.user(s, d.staff.coordinator), meeting_id, d.case_id, {
            "situation": "退職後に一人暮らしとなり、社会的な接点がほぼない。", "risk": "high",
            "plan": "社会福祉協議会が訪問で関係をつくり、居場所につなぐ。", "lead_body_id": self.bodies["shakyo"],
            "key_person": "長女（県外在住）",
            "next_review_on": (meeting_on + timedelta(days=review_in_days)).isoformat(),
            "actions": [{"action_type_id": a} for a in self.action_types]}), days=1)

    def deliver_actions(self) -> None:
        d = self.d
        for element, data in (("action_response", {"response": "accept", "planned_start": d.today()}),
                              ("action_first_contact", {"contacted_on": d.today(), "first_contact_method": "visit",
                                                        "first_contact_note": "玄関先で話せた。"}),
                              ("action_outcome", {"outcome": "delivered", "outcome_note": "毎週の訪問を実施した。",
                                                  "completed_on": d.today()})):
            for partner in self._partners_of(element):
                d.step(element, data, user_id=partner, days=0)
            d.clock.advance(timedelta(days=5))

    def _partners_of(self, element: str) -> list[int]:
        """The seed partner of each open task of `element`, in task order."""
        d = self.d
        with d.factory() as session:
            return [d.staff.partners[t.candidate_body_id] for t in open_tasks_of_case(session, d.case_id)
                    if t.element_id == element and t.candidate_body_id in d.staff.partners]

    def request_review(self) -> None:
        d = self.d
        d.act(lambda s, c: events.request_review(s, c, d.user(s, d.staff.caseworker), d.case_id), days=2)

    def review(self, decision: str) -> None:
        d = self.d
        d.step("review_assessment", _assessment(d.today(), 3, (2, 2, 2)), days=2)
        d.step("follow_up_review", {"reviewed_on": d.today(), "progress_note": "訪問を重ね、居場所に2回参加した。",
                                    "review_decision": decision}, days=2)


def _walk(story: _Story, position: str) -> None:
    """Run a started template to `position` (engine.admin.seed.OPEN_SHARES)."""
    d = story.d
    if position == "assessment":
        d.step("intake", _intake(d.today()))
    elif position == "consent":
        story.to_consent()
    elif position == "tabling":
        story.to_tabling()
    elif position == "tabled":
        story.to_council()
    elif position == "actions":
        story.decide(review_in_days=90)
    elif position == "waiting_review":
        story.decide(review_in_days=story.review_in_days)
        story.deliver_actions()
    elif position in ("review", "follow_up", "closure", "closed_goal"):
        story.decide(review_in_days=120)
        story.deliver_actions()
        story.request_review()
        if position != "review":
            d.step("review_assessment", _assessment(d.today(), 3, (2, 2, 2)), days=2)
        if position in ("closure", "closed_goal"):
            d.step("follow_up_review", {"reviewed_on": d.today(), "progress_note": "居場所に定着した。",
                                        "review_decision": "close"}, days=2)
        if position == "closed_goal":
            d.step("closure", {"closure_reason": "goal_reached", "closed_on": d.today(),
                               "closure_note": "居場所に定着し、支援を終結した。"})
    elif position == "crisis":
        d.step("intake", _intake(d.today(), channel="sns", birth_year=2003,
                                 special_care=["suicidal_thoughts", "mental_health"]))
        d.step("baseline_assessment", _assessment(d.today(), 5, (4, 4, 4)), days=0)
        d.step("crisis_safety_action", {"action_taken": "保健師と同行訪問し、安全を確認した。",
                                        "bodies_informed": "保健センター",
                                        "life_protection_reason": "希死念慮の訴えがあり、同意を得る時間がなかったため。",
                                        "action_date": d.today()})
    elif position == "closed_referral":
        story.to_consent(existing_scheme="seikatsu_konkyu")
        d.step("referral_out", {"scheme": "seikatsu_konkyu", "receiving_body": "自立相談支援機関",
                                "referral_basis": "no_sharing", "referred_on": d.today()})
    elif position != "intake":
        raise ValueError(f"unknown seed position '{position}'")


# Days from the council meeting to the next review: a waiting case's templates take turns with these.
REVIEW_IN_DAYS = (120, 45, 200)
# How long before `now` each template starts: where its point lies in a real office's calendar.
# An open one ends a day or two before `now` (its path takes up to 37 days), so its open task is fresh.
STARTS = {"intake": 2, "assessment": 3, "consent": 6, "tabling": 8, "tabled": 8, "actions": 16,
          "waiting_review": 40, "review": 33, "follow_up": 35, "crisis": 3, "closure": 39,
          "closed_goal": 400, "closed_referral": 500}


def make_templates(factory: sessionmaker[Session], staff: SeedStaff, municipality_id: int, version_id: int,
                   now: datetime, wanted: dict[str, int]) -> dict[str, list[int]]:
    """`wanted[position]` real cases per position, each run to its point and read once; their ids."""
    with factory() as session:
        keyed = _bodies_by_key(session, municipality_id)
        action_types = [t.id for t in session.scalars(select(ActionTypeRecord).where(
            ActionTypeRecord.municipality_id == municipality_id, ActionTypeRecord.active.is_(True),
            ActionTypeRecord.default_owner_body_id.in_([keyed["shakyo"], keyed["npo_ibasho"]]))
            .order_by(ActionTypeRecord.id))][:2]
    made: dict[str, list[int]] = {}
    for position, count in wanted.items():
        for variant in range(count):
            start = now - timedelta(days=STARTS[position])
            driver = _Driver(factory, staff, version_id, start)
            driver.start("見本ケース")
            story = _Story(driver, keyed, action_types)
            story.review_in_days = REVIEW_IN_DAYS[variant % len(REVIEW_IN_DAYS)]
            _walk(story, position)
            driver.act(lambda s, c, d=driver: view_case(s, c, d.user(s, d.staff.caseworker), d.case_id))
            made.setdefault(position, []).append(driver.case_id)
    return made


def _bodies_by_key(session: Session, municipality_id: int) -> dict[str, int]:
    """The member bodies the templates name, found by the shipped catalogue's names, else any two bodies."""
    members = list(session.scalars(select(OrganisationRecord).where(
        OrganisationRecord.municipality_id == municipality_id, OrganisationRecord.kind == OrganisationKind.MEMBER_BODY,
        OrganisationRecord.active.is_(True)).order_by(OrganisationRecord.id)))
    if len(members) < 2:
        raise ValueError("the municipality needs at least two active member bodies to seed cases")
    owners = {t.default_owner_body_id for t in session.scalars(select(ActionTypeRecord).where(
        ActionTypeRecord.municipality_id == municipality_id, ActionTypeRecord.active.is_(True)))}
    with_actions = [m.id for m in members if m.id in owners] or [m.id for m in members]
    first = with_actions[0]
    second = next((m for m in with_actions if m != first), next(m.id for m in members if m.id != first))
    return {"shakyo": first, "npo_ibasho": second}


@dataclass(frozen=True)
class SeedResult:
    """What `seed_municipality` made, for the command to report."""

    cases: int
    open: int
    closed: int
    templates: int
    by_position: dict[str, int]
    caseworkers: int
    password: str | None  # the seed staff's password when this run made them, else None
    seconds: float


def seed_municipality(factory: sessionmaker[Session], *, code: str, cases: int, open_share: float = 0.3,
                      seed: int = 1, now: datetime, operator: str | None = None, by: str | None = None,
                      password: str | None = None, open_shares: dict[str, float] | None = None,
                      progress: Callable[[int], None] = lambda n: None) -> SeedResult:
    """Fill a municipality with `cases` made-up cases: templates run through the engine, then copied in bulk.

    Refuses (SeedRefused) a municipality holding any case that was not seeded. `progress` hears how many
    cases each batch added. One audit row `seed.cases` records the counts.
    """
    started = time.perf_counter()
    if cases < 1 or not 0 <= open_share <= 1:
        raise FormInvalid([FieldError("cases" if cases < 1 else "open_share", "range")], element="seed")
    if open_shares is not None and (unknown := set(open_shares) - set(OPEN_SHARES)):
        raise FormInvalid([FieldError("open_shares", "enum", {"unknown": sorted(unknown)})], element="seed")
    rng = random.Random(seed)  # noqa: S311 - made-up cases, not secrets
    with factory() as session:
        town = find_municipality(session, code)
        seeded_only(session, town.id)
        actor = user_by_username(session, by) if by else None
        if actor is not None and actor.municipality_id != town.id:
            raise FormInvalid([FieldError("by", "not_found")], element="seed")
        ensure_catalogue(session, town.id)
        version = standard_version(session, town.id)
        open_count = round(cases * open_share)
        fresh = password or secrets.token_urlsafe(12)
        made_staff = session.scalar(select(UserRecord.id).where(
            UserRecord.username == f"seed-{town.code}-coordinator")) is None
        staff = ensure_staff(session, now, town.id, town.code, caseworkers_for(open_count), fresh)
        town_id, town_code, version_id = town.id, town.code, version.id
        already = session.scalar(select(func.count()).select_from(CaseRecord).where(
            CaseRecord.municipality_id == town_id)) or 0
        council = council_of(session, town_id)
        council_id = council.id if council is not None else None
    positions = spread(rng, open_count, open_shares or OPEN_SHARES) + spread(rng, cases - open_count, CLOSED_SHARES)
    counts = Counter(positions)
    wanted = {p: min(counts[p], 3 if p == "waiting_review" else 1) for p in (*OPEN_SHARES, *CLOSED_SHARES) if counts[p]}
    made = make_templates(factory, staff, town_id, version_id, now, wanted)
    progress(sum(wanted.values()))
    engine = factory.kw["bind"]
    templates: dict[str, list[Template]] = {}
    with engine.begin() as conn:
        for number, (position, case_id) in enumerate((p, i) for p, ids in made.items() for i in ids):
            conn.execute(update(CaseRecord.__table__).where(CaseRecord.__table__.c.id == case_id).values(
                reference=f"{SEED_PREFIX}{town_code}-{already + number:08d}"))
            templates.setdefault(position, []).append(capture(conn, case_id, position, staff.caseworker))
    copies = list(positions)
    for position, count in wanted.items():  # the templates are cases of their positions too
        for _ in range(count):
            copies.remove(position)
    clone_cases(engine, templates, copies, caseworkers=staff.caseworkers, municipality_id=town_id, code=town_code,
                council_id=council_id, now=now, rng=rng, first_number=already + sum(wanted.values()), span=history_span(),
                progress=progress)
    with factory() as session:
        with transaction(session):
            audit.record(session, lambda: now, actor, "seed.cases", municipality=town_id, via="cli", operator=operator,
                         cases=cases, open=open_count, closed=cases - open_count, seed=seed,
                         positions=dict(sorted(counts.items())))
    return SeedResult(cases, open_count, cases - open_count, sum(wanted.values()), dict(sorted(counts.items())),
                      len(staff.caseworkers), fresh if made_staff else None, time.perf_counter() - started)
