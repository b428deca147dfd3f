"""The pharmacist's pages: the pharmacy, its open RMAs, and the counter's tools.

The blueprint and its URL map are here; the views live by topic: `home` (the pharmacy and
its RMAs), `counter` (find a patient, ask for an RMA, record the fill, reverse) and `keys`
(the pharmacy's API keys), sharing `site`. Every view is `@pharmacist_only` and reads only
rows of `current_pharmacy()`; another pharmacy's RMA or key answers 404.
"""

from flask import Blueprint

from compliance import clock
from compliance.web import chart
from compliance.web.pharmacist import counter, home, keys
from compliance.web.pharmacist.site import grouped

bp = Blueprint("pharmacist", __name__, url_prefix="/pharmacist")

ROUTES = (
    ("/", home.home, ["GET"]),
    ("/patients/find", counter.find_patient, ["GET", "POST"]),
    ("/rma-requests", counter.request_rma, ["POST"]),
    ("/rma-requests/<string(maxlength=36):request_id>", counter.rma_request, ["GET"]),
    ("/rmas/<rma_number>", counter.rma, ["GET"]),
    ("/dispenses", counter.record_dispense, ["GET", "POST"]),
    ("/rmas/<rma_number>/reversal", counter.reverse_rma, ["POST"]),
    ("/api-keys", keys.api_keys_list, ["GET"]),
    ("/api-keys", keys.create_api_key, ["POST"]),
    ("/api-keys/<int:key_id>/revoke", keys.revoke_api_key, ["POST"]),
)
for rule, view, methods in ROUTES:
    bp.add_url_rule(rule, view_func=view, methods=methods)


@bp.context_processor
def _words() -> dict:
    """Dates in words ("Dec 3", "Dec 3, 11:59 pm Eastern") and RMA numbers in groups."""
    return {**chart.wording(), "grouped": grouped, "today": clock.today()}
