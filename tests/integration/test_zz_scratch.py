from datetime import timedelta
from tests.integration.scenario import *

def test_scratch(story):
    s = story
    case = s.start()
    print(s.open_elements(case))
    s.to_council(case)
    print(s.open_elements(case), s.case(case).status)
    hv = s.action_type("home_visit"); ib = s.action_type("ibasho_referral")
    s.decide(case, [{"action_type_id": hv.id, "due_on": "2026-12-20", "note": "週1回"},
                    {"action_type_id": ib.id, "due_on": "2027-01-31", "note": "居場所"}])
    c = s.case(case)
    print(s.open_elements(case), c.status, c.next_timer_at)
    for t in s.tasks(case, TaskStatus.OPEN):
        print(t.element_id, t.role, t.candidate_body_id, t.subject_id)
    print(s.workflow_data(case))
    assert 0
