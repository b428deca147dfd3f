"""Micro-benchmark: microseconds per ``evaluate_authorization`` call over a 6-month history.

Run from the repository root: ``python bench/bench_rules.py [iterations]``. Not a test: the
figure depends on the machine, so it is reported in bench/README.md rather than asserted.
"""

import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflows.decision import evaluate_authorization
from workflows.facts import (
    AuthorizationFact,
    CertificationFact,
    CourseFacts,
    CycleFacts,
    FillFact,
    MethodFact,
    RequestFacts,
    TestFact,
    TestKind,
    TestResult,
    TestSetting,
)
from workflows.programs import load_programs

EASTERN = ZoneInfo("America/New_York")


def six_month_history() -> tuple[CourseFacts, datetime]:
    """An iPLEDGE course in its seventh month, with its monthly tests and fills."""
    start = date(2026, 9, 1)
    tests = [
        TestFact(TestKind.SCREENING, start, TestResult.NEGATIVE, TestSetting.OFFICE, 25),
        TestFact(
            TestKind.CONFIRMATION,
            start + timedelta(days=30),
            TestResult.NEGATIVE,
            TestSetting.LABORATORY,
            25,
        ),
    ]
    fills = []
    for month in range(6):
        specimen = start + timedelta(days=30 * (month + 1))
        if month:
            tests.append(
                TestFact(TestKind.MONTHLY, specimen, TestResult.NEGATIVE, TestSetting.OFFICE, 25)
            )
        fills.append(FillFact(specimen + timedelta(days=2), 30))
    today = start + timedelta(days=30 * 7)
    tests.append(TestFact(TestKind.MONTHLY, today, TestResult.NEGATIVE, TestSetting.CLINIC, 25))
    methods = (
        MethodFact("implant", start - timedelta(days=60)),
        MethodFact("male_latex_condom", start - timedelta(days=60)),
        MethodFact("diaphragm_with_spermicide", start - timedelta(days=90), start),
    )
    confirmed = datetime.combine(today, datetime.min.time(), EASTERN) + timedelta(hours=10)
    cycle = CycleFacts(
        prescriber_confirmed_at=confirmed,
        patient_attested_at=confirmed + timedelta(hours=3),
        quiz_passed=True,
        patient_confirmed_methods=("implant", "male_latex_condom"),
        authorizations=(AuthorizationFact(today, reversed=True),),
    )
    facts = CourseFacts(
        category="can_get_pregnant",
        enrollment_signed=True,
        counseled_on=start,
        methods=methods,
        tests=tuple(tests),
        fills=tuple(fills),
        cycle=cycle,
        request=RequestFacts(days_supply=30, quantity=60),
        prescriber=CertificationFact(date(2026, 6, 1)),
        pharmacy=CertificationFact(date(2026, 6, 1), staff_trained_on=date(2026, 6, 1)),
    )
    return facts, confirmed + timedelta(hours=5)


def main(iterations: int) -> None:
    """Time many calls and print the mean in microseconds."""
    program = load_programs()["ipledge"]
    facts, now = six_month_history()
    decision = evaluate_authorization(facts, program, now)
    assert decision.authorized, decision.unmet
    for _ in range(200):  # warm up
        evaluate_authorization(facts, program, now)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(iterations):
            evaluate_authorization(facts, program, now)
        best = min(best, (time.perf_counter() - started) / iterations)
    print(
        f"evaluate_authorization ({decision.program} {decision.rule_version}, "
        f"{len(facts.fills)} fills, {len(facts.tests)} tests): "
        f"{best * 1e6:.1f} µs per call (best of 5 runs of {iterations})"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
