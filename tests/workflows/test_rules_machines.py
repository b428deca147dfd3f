"""The course and cycle machines: shared, wrapped around a row, refusing with findings."""

from dataclasses import dataclass, replace
from datetime import date
from types import SimpleNamespace

import pytest

from tests.workflows.rules_builders import (
    IPLEDGE,
    LENALIDOMIDE,
    a_test,
    days,
    eastern,
    first_fill,
    later_fill,
    lenalidomide_first_fill,
)
from workflows.facts import (
    AuthorizationFact,
    CycleFacts,
    DispenseFacts,
    FillFact,
    TestKind,
    TestResult,
)
from workflows.findings import ReasonCode
from workflows.flow import Context, InvalidTransition
from workflows.machines import (
    COURSE_MACHINE,
    CYCLE_MACHINE,
    CourseFlow,
    CourseState,
    CycleFlow,
    CycleState,
    mermaid,
)

DAY = date(2026, 9, 1)


@dataclass
class Row:
    """Stands in for a persisted row: anything with a ``state`` string."""

    state: str


def context(facts, at=None, **more) -> Context:
    """A guard context on DAY at 16:00 Eastern unless told otherwise."""
    return Context(facts, IPLEDGE, at or eastern(DAY, 16), **more)


def test_one_machine_per_workflow_built_once_and_never_bound():
    """Are the machines module-level, shared by every flow, and free of models?"""
    flows = [CycleFlow(Row("open")) for _ in range(3)]
    for flow in flows:
        flow.fire("authorize", context(first_fill(DAY)))
    assert all(flow.machine is CYCLE_MACHINE for flow in flows)
    assert CourseFlow.machine is COURSE_MACHINE
    assert CYCLE_MACHINE.models == [] and COURSE_MACHINE.models == []
    assert not CYCLE_MACHINE.auto_transitions and CYCLE_MACHINE.send_event


def test_a_loaded_state_is_kept():
    """Does wrapping a row in the middle of its life leave its state alone?"""
    row = Row("patient_attested")
    assert CycleFlow(row).state == "patient_attested"


def test_the_month_from_open_to_dispensed():
    """Prescriber confirms, patient attests, pharmacy authorizes and dispenses?"""
    row, audit = Row("open"), []
    flow = CycleFlow(row, on_transition=audit.append)
    facts = first_fill(DAY)
    assert flow.fire("confirm", context(facts)).accepted
    assert flow.fire("attest", context(facts)).accepted
    result = flow.fire("authorize", context(facts))
    assert result.accepted and result.decision.do_not_dispense_after == DAY + days(6)
    rma = AuthorizationFact(result.decision.do_not_dispense_after)
    dispense = DispenseFacts(eastern(DAY, 17), 30, medication_guide_given=True)
    assert flow.fire("dispense", context(facts, authorization=rma, dispense=dispense)).accepted
    assert row.state == CycleState.DISPENSED
    assert [(r.event, r.source, r.dest) for r in audit] == [
        ("confirm", "open", "prescriber_confirmed"),
        ("attest", "prescriber_confirmed", "patient_attested"),
        ("authorize", "patient_attested", "authorized"),
        ("dispense", "authorized", "dispensed"),
    ]
    assert audit[2].at == eastern(DAY, 16) and audit[2].findings == result.findings


def test_a_refused_trigger_returns_its_findings_and_keeps_the_state():
    """Does a denied authorization come back with the reasons, and the row stay put?"""
    row, audit = Row("prescriber_confirmed"), []
    facts = first_fill(DAY, cycle=CycleFacts(prescriber_confirmed_at=eastern(DAY, 10)))
    result = CycleFlow(row, on_transition=audit.append).fire("authorize", context(facts))
    assert not result.accepted
    assert row.state == "prescriber_confirmed" and result.dest == "prescriber_confirmed"
    assert [f.code for f in result.findings if not f.met] == [
        ReasonCode.PATIENT_ATTESTATION_MISSING
    ]
    assert result.decision is not None and not result.decision.authorized
    assert audit == []


def test_an_event_the_state_does_not_allow_raises():
    """Is dispensing an open cycle a conflict rather than a quiet False?"""
    with pytest.raises(InvalidTransition) as conflict:
        CycleFlow(Row("open")).fire("dispense", context(first_fill(DAY)))
    assert (conflict.value.event, conflict.value.state) == ("dispense", "open")
    with pytest.raises(InvalidTransition):
        CycleFlow(Row("open")).fire("teleport", context(first_fill(DAY)))


def test_the_patient_cannot_attest_wrong_methods():
    """Is an attestation with the wrong methods refused with CONTRACEPTION_MISMATCH?"""
    facts = first_fill(DAY)
    facts = replace(facts, cycle=replace(facts.cycle, patient_confirmed_methods=("implant",)))
    result = CycleFlow(Row("prescriber_confirmed")).fire("attest", context(facts))
    assert [f.code for f in result.findings if not f.met] == [ReasonCode.CONTRACEPTION_MISMATCH]


def test_the_prescriber_cannot_confirm_without_a_test():
    """Is the confirmation refused while the month's test is missing?"""
    facts = first_fill(DAY)
    result = CycleFlow(Row("open")).fire("confirm", context(replace(facts, tests=facts.tests[:1])))
    assert ReasonCode.PREGNANCY_TEST_MISSING in {f.code for f in result.findings if not f.met}


def test_reversal_returns_to_ready_while_the_window_is_open():
    """After a reversal, can the same cycle be authorized again, but not after day 7?"""
    facts = first_fill(DAY)
    row = Row("authorized")
    flow = CycleFlow(row)
    assert flow.fire("reverse", context(facts)).accepted
    assert row.state == "reversed"
    late = flow.fire("authorize", context(facts, at=eastern(DAY + days(7), 0)))
    assert not late.accepted
    assert {f.code for f in late.findings if not f.met} == {ReasonCode.WINDOW_EXPIRED}
    assert flow.fire("authorize", context(facts, at=eastern(DAY + days(6), 23, 59, 59))).accepted


@pytest.mark.parametrize(
    ("at", "expires"),
    [(eastern(DAY + days(6), 23, 59, 59), False), (eastern(DAY + days(7), 0), True)],
)
def test_an_unused_rma_expires_after_its_dndpa_date(at, expires):
    """Is expiry refused until day 8, with the date it becomes possible?"""
    rma = AuthorizationFact(DAY + days(6))
    result = CycleFlow(Row("authorized")).fire(
        "expire", context(first_fill(DAY), at=at, authorization=rma)
    )
    assert result.accepted is expires
    if not expires:
        assert result.findings[0].eligible_on == DAY + days(7)


def test_a_dispense_after_the_dndpa_date_is_refused():
    """Is a dispense on day 8 refused even though the cycle is authorized?"""
    rma = AuthorizationFact(DAY + days(6))
    dispense = DispenseFacts(eastern(DAY + days(7), 9), 30, medication_guide_given=True)
    flow = CycleFlow(Row("authorized"))
    result = flow.fire("dispense", context(first_fill(DAY), authorization=rma, dispense=dispense))
    assert not result.accepted
    assert [f.code for f in result.findings if not f.met] == [ReasonCode.WINDOW_EXPIRED]


def test_the_course_from_enrollment_to_completion():
    """Enrolled, qualifying, active, post-treatment, completed, with the guards in the way?"""
    row = Row(CourseState.ENROLLED.value)
    flow = CourseFlow(row)
    unsigned = first_fill(DAY, enrollment_signed=False)
    refused = flow.fire("start_qualifying", context(unsigned))
    assert [f.code for f in refused.findings if not f.met] == [ReasonCode.ENROLLMENT_NOT_SIGNED]
    assert flow.fire("start_qualifying", context(first_fill(DAY))).accepted
    assert not flow.fire("activate", context(first_fill(DAY))).accepted
    treated = later_fill(DAY + days(30), last_fill_on=DAY + days(32))
    assert flow.fire("activate", context(treated, at=eastern(DAY + days(40)))).accepted
    assert not flow.fire("end_treatment", context(treated, at=eastern(DAY + days(40)))).accepted
    last = DAY + days(60)
    ended = replace(treated, last_dose_on=last)
    assert flow.fire("end_treatment", context(ended, at=eastern(last))).accepted
    early = flow.fire("complete", context(ended, at=eastern(last + days(29))))
    assert [f.code for f in early.findings if not f.met] == [ReasonCode.POST_TREATMENT_TEST_MISSING]
    tested = replace(ended, tests=(*ended.tests, a_test(TestKind.POST_TREATMENT, last + days(30))))
    assert flow.fire("complete", context(tested, at=eastern(last + days(30)))).accepted
    assert row.state == "completed"
    with pytest.raises(InvalidTransition):
        flow.fire("withdraw", context(tested))


def test_a_lenalidomide_course_completes_when_the_period_after_has_run():
    """With no post-treatment test, does completion wait 4 weeks, saying until when?"""
    last = date(2026, 6, 1)
    facts = lenalidomide_first_fill(
        date(2026, 3, 2), fills=(FillFact(date(2026, 3, 2), 28),), last_dose_on=last
    )
    flow = CourseFlow(Row("post_treatment"))
    early = flow.fire("complete", Context(facts, LENALIDOMIDE, eastern(last + days(27))))
    assert early.findings[0].eligible_on == last + days(28)
    assert flow.fire("complete", Context(facts, LENALIDOMIDE, eastern(last + days(28)))).accepted


def test_a_positive_test_suspends_the_course():
    """Is suspension refused without a positive test and accepted with one?"""
    facts = later_fill(DAY, last_fill_on=DAY - days(20))
    flow = CourseFlow(SimpleNamespace(state="active"))  # any object with a state will do
    assert not flow.fire("suspend", context(facts)).accepted
    positive = replace(
        facts, tests=(*facts.tests, a_test(TestKind.MONTHLY, DAY, TestResult.POSITIVE))
    )
    assert flow.fire("suspend", context(positive)).accepted
    assert flow.possible_events() == ("resume", "withdraw")


@pytest.mark.parametrize(("negative_gap", "ok"), [(0, False), (1, True)])
def test_a_suspended_course_resumes_only_on_a_later_negative_test(negative_gap, ok):
    """A negative test of the positive's own day does not answer it; the day after does [P]."""
    facts = later_fill(DAY, last_fill_on=DAY - days(20))
    tests = (*facts.tests, a_test(TestKind.MONTHLY, DAY + days(1), TestResult.POSITIVE),
             a_test(TestKind.MONTHLY, DAY + days(1 + negative_gap)))
    flow = CourseFlow(SimpleNamespace(state="suspended"))
    result = flow.fire("resume", context(replace(facts, tests=tests), eastern(DAY + days(2), 16)))
    assert result.accepted is ok
    assert flow.state == ("enrolled" if ok else "suspended")


def test_mermaid_draws_every_transition():
    """Does the diagram show each declared transition once, with start and end states?"""
    diagram = mermaid(CYCLE_MACHINE)
    assert diagram.startswith("stateDiagram-v2\n    [*] --> open")
    assert "    reversed --> authorized: authorize" in diagram
    assert "    dispensed --> [*]" in diagram
    edges = sum(len(t) for e in CYCLE_MACHINE.events.values() for t in e.transitions.values())
    assert diagram.count(": ") == edges
