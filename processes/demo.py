"""Demo data: a fictional municipality, one user per role and a few cases in different states."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.engine import cases
from tsunagu.engine.clock import Clock
from tsunagu.engine.db import transaction
from tsunagu.engine.errors import DemoRefused
from tsunagu.engine.models import CaseRecord, MunicipalityRecord, UserRecord
from tsunagu.engine.queries import open_tasks_of_case
from tsunagu.engine.users import create_user

from .registry import deploy_folder_tree, latest_version

DEMO_PASSWORD = "tsunagu-demo"
DEMO_USERS = [
    ("caseworker", "相談 花子（相談支援員）", ["caseworker"]),
    ("supervisor", "監督 太郎（スーパーバイザー）", ["supervisor", "caseworker"]),
    ("coordinator", "調整 次郎（調整機関）", ["coordinator"]),
    ("designer", "設計 三郎（プロセス設計）", ["designer"]),
    ("partner", "連携 四郎（構成機関等）", ["partner"]),
    ("admin", "管理 五郎（システム管理者）", ["admin"]),
]
MAIN_PROCESS = "kodoku_koritsu_case"


def _intake(name: str, **overrides) -> dict:
    data = {
        "consultation_date": date.today().isoformat(), "channel": "phone", "person_name": name,
        "concern": "退職後に一人暮らしとなり、誰とも話さない日が続いている。", "loneliness_direct": 3,
        "suicidal_thoughts": False, "wishes_support": True, "special_care": [],
    }
    data.update(overrides)
    return data


def load_demo(session: Session, clock: Clock, process_dir: Path) -> bool:
    """Create the demo municipality once; return False if it is already there.

    Refuses a database that holds real data, so demo accounts never land in production.
    """
    with transaction(session):
        existing = session.scalar(select(MunicipalityRecord).where(MunicipalityRecord.is_demo.is_(True)))
        if existing is not None:
            return False
        if session.scalar(select(func.count()).select_from(MunicipalityRecord)):
            raise DemoRefused("this database already holds a real municipality; demo data is not added")
        town = MunicipalityRecord(code="999999", name="つなぐ市（デモ）", is_demo=True)
        session.add(town)
        session.flush()
        people = {
            username: create_user(session, clock, municipality_id=town.id, username=username,
                                  display_name=display, password=DEMO_PASSWORD, roles=roles,
                                  email=f"{username}@demo.tsunagu.invalid")
            for username, display, roles in DEMO_USERS
        }
        deploy_folder_tree(session, process_dir, clock)
    version = latest_version(session, MAIN_PROCESS)
    worker, supervisor = people["caseworker"], people["supervisor"]

    cases.start_case(session, clock, worker, version, "A.K. さん（電話相談）")
    second = cases.start_case(session, clock, worker, version, "M.S. さん（民生委員からのつなぎ）")
    _complete_first(session, clock, worker, second, _intake("松本 静子", channel="minsei", referrer="民生委員 田中",
                                                            loneliness_direct=4))
    third = cases.start_case(session, clock, supervisor, version, "T.Y. さん（緊急対応済み）")
    _complete_first(session, clock, supervisor, third, _intake("田村 洋一", suicidal_thoughts=True,
                                                               special_care=["suicidal_thoughts"]))
    _complete_first(session, clock, supervisor, third, {
        "action_taken": "当日中に保健師と同行訪問し、安全を確認した。", "completed_on": date.today().isoformat(),
        "shared_with": "保健センター", "life_protection_reason": "希死念慮の訴えがあり、本人の同意を得る時間がなかったため。"})
    return True


def _complete_first(session: Session, clock: Clock, actor: UserRecord, case: CaseRecord, data: dict) -> None:
    task = open_tasks_of_case(session, case.id)[0]
    cases.complete_task(session, clock, actor, task.id, data)
