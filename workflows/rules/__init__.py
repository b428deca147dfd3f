"""The checks, one module per topic.

Every check is a pure function ``check(facts, version, today) -> Findings``: it
reads plain facts and one rule version, never the clock, and returns findings (met or not)
rather than a boolean, so callers can explain any outcome. A check with nothing to say for
this patient (a rule that does not apply to the category) returns an empty tuple.
"""
