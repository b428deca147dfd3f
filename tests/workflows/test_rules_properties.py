"""Properties of every decision, over facts hypothesis spoils at random."""

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.workflows.rules_builders import (
    IPLEDGE,
    LENALIDOMIDE,
    a_test,
    cannot_get_pregnant,
    eastern,
    first_fill,
    later_fill,
    lenalidomide_first_fill,
)
from workflows.decision import evaluate_authorization
from workflows.facts import (
    CertificationFact,
    CycleFacts,
    MethodFact,
    RequestFacts,
    TestKind,
    TestResult,
    TestSetting,
)
from workflows.programs import CategoryKind, program_version_for

SETTINGS = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
METHODS = ["implant", "male_latex_condom", "intrauterine_device", "progestin_only_pill",
           "diaphragm_with_spermicide", "abstinence", "diaphragm", "crystals"]  # fmt: skip

days = st.integers(min_value=-40, max_value=40).map(lambda n: timedelta(days=n))


@st.composite
def extra_tests(draw, around: date):
    """Extra test results near a date, mostly negative."""
    return a_test(
        draw(st.sampled_from(TestKind)),
        around + draw(days),
        draw(
            st.sampled_from([TestResult.NEGATIVE] * 6 + [TestResult.POSITIVE, TestResult.INVALID])
        ),
        draw(st.sampled_from(TestSetting)),
        draw(st.sampled_from([10, 25, 50, 100])),
        draw(st.booleans()),
    )


@st.composite
def cycles(draw, around: date):
    """A cycle in any stage of the monthly order."""
    confirmed = draw(st.none() | days.map(lambda d: eastern(around + d, 10)))
    attested = draw(st.none() | days.map(lambda d: eastern(around + d, 11)))
    return CycleFacts(
        prescriber_confirmed_at=confirmed,
        patient_attested_at=attested,
        quiz_passed=draw(st.booleans()),
        patient_confirmed_methods=tuple(draw(st.lists(st.sampled_from(METHODS), max_size=3))),
    )


@st.composite
def situations(draw):
    """A ready patient of some program and version, then a few things changed at random."""
    base = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)))
    builder = draw(
        st.sampled_from([first_fill, later_fill, cannot_get_pregnant, lenalidomide_first_fill])
    )
    if builder is later_fill:
        facts, program = later_fill(base, last_fill_on=base - timedelta(days=24)), IPLEDGE
    else:
        facts = builder(base)
        program = LENALIDOMIDE if builder is lenalidomide_first_fill else IPLEDGE
    changes = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "tests": st.lists(extra_tests(base), max_size=4).map(
                    lambda extra: (*facts.tests, *extra)
                ),
                "methods": st.lists(
                    st.builds(MethodFact, st.sampled_from(METHODS), days.map(lambda d: base + d)),
                    max_size=3,
                ).map(tuple),
                "cycle": st.none() | cycles(base),
                "request": st.builds(
                    RequestFacts, st.integers(20, 35), st.just(30), st.integers(0, 1)
                ),
                "prescriber": st.none() | days.map(lambda d: CertificationFact(base + d * 10)),
                "category": st.sampled_from(
                    [
                        c.code
                        for p in (IPLEDGE, LENALIDOMIDE)
                        for v in p.versions
                        for c in v.categories.value
                    ]
                ),
                "home_testing_enabled": st.booleans(),
            },
        )
    )
    moment = time(draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59)))
    now = datetime.combine(base + timedelta(days=draw(st.integers(-3, 9))), moment, tzinfo=UTC)
    return replace(facts, **changes), program, now


@SETTINGS
@given(situations())
def test_an_authorization_has_no_unmet_finding(situation):
    """Is every finding of an approval met, with a DNDPA date and its closing instant?"""
    facts, program, now = situation
    decision = evaluate_authorization(facts, program, now)
    if decision.authorized:
        assert decision.unmet == ()
        closes = decision.window_closes_at.astimezone(decision.window_closes_at.tzinfo)
        assert closes.date() == decision.do_not_dispense_after
        assert closes.time() == time(23, 59, 59)
        assert now <= decision.window_closes_at


@SETTINGS
@given(situations())
def test_a_denial_has_an_unmet_finding_with_an_actor(situation):
    """Does every denial name at least one unmet requirement and who must act on it?"""
    facts, program, now = situation
    decision = evaluate_authorization(facts, program, now)
    if not decision.authorized:
        assert any(f.actor is not None for f in decision.unmet)
        assert decision.do_not_dispense_after is None


@SETTINGS
@given(situations())
def test_dndpa_never_after_day_7_of_the_latest_negative_test(situation):
    """Can get pregnant: is the DNDPA at most day 7 of the latest negative test?"""
    facts, program, now = situation
    decision = evaluate_authorization(facts, program, now)
    version = program_version_for(program, decision.decided_on)
    category = version.category(facts.category)
    if decision.authorized and category.kind is CategoryKind.CAN_GET_PREGNANT:
        latest = max(
            t.specimen_on
            for t in facts.tests
            if t.result is TestResult.NEGATIVE and t.specimen_on <= decision.decided_on
        )
        assert decision.do_not_dispense_after <= latest + timedelta(
            days=version.window_days.value - 1
        )


@SETTINGS
@given(situations())
def test_waiting_dates_are_in_the_future_and_only_on_unmet_findings(situation):
    """Is ``eligible_on`` only ever a later date on a requirement that is not yet met?"""
    facts, program, now = situation
    decision = evaluate_authorization(facts, program, now)
    for finding in decision.findings:
        assert finding.message.endswith(".")
        if finding.eligible_on is not None:
            assert not finding.met
            assert finding.eligible_on > decision.decided_on
