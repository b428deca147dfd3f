"""The pharmacy's API keys, for its dispensing system (docs/api.md, Authentication).

Only the responsible pharmacist creates or revokes keys; the other pharmacists see the
list read-only (no secret is ever listed, only the public prefix), so staff can tell which
system's key was revoked or has gone unused when the dispensing system stops working.
A POST from anyone else is 403; another pharmacy's key is 404.
"""

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from compliance import clock
from compliance.auth import owned_or_404
from compliance.db import get_session
from compliance.models import ApiKey, Pharmacy, User
from compliance.services import api_keys
from compliance.web.forms import ActionForm
from compliance.web.forms_pharmacy import ApiKeyForm
from compliance.web.pharmacist.site import current_pharmacy, is_responsible, pharmacist_only


@pharmacist_only
def api_keys_list():
    """Every key of the pharmacy; the forms only for the responsible pharmacist."""
    return keys_page(current_pharmacy(), ApiKeyForm(formdata=None))


@pharmacist_only
def create_api_key():
    """Create a key and show its secret this once (only its hash is kept)."""
    db, site = get_session(), responsible_pharmacy()
    form = ApiKeyForm()
    if form.validate_on_submit():
        with form.refusals():
            new = api_keys.create_key(db, pharmacy=site, name=form.name.data, now=clock.now(),
                                      created_by=current_user.id,
                                      valid_days=current_app.config["API_KEY_VALID_DAYS"])
        if form.refused is None:
            return render_template("pharmacist/key_created.html", key=new.row,
                                   secret=new.secret)
    return keys_page(site, form, status=422)


@pharmacist_only
def revoke_api_key(key_id: int):
    db, site = get_session(), responsible_pharmacy()
    key = db.get(ApiKey, key_id)
    owned_or_404(key, key is not None and key.pharmacy_id == site.id)
    if ActionForm().validate_on_submit():
        api_keys.revoke_key(db, pharmacy=site, key_id=key.id, now=clock.now())
        flash(f"Key “{key.name}” ({key.prefix}) revoked: systems using it are refused "
              "from now on.", "success")
    return redirect(url_for("pharmacist.api_keys_list"))


def keys_page(site: Pharmacy, form: ApiKeyForm, *, status: int = 200):
    db = get_session()
    responsible = site.responsible_pharmacist_id and db.get(User, site.responsible_pharmacist_id)
    return render_template("pharmacist/keys.html", pharmacy=site, form=form,
                           keys=api_keys.keys_of(db, site), manages=is_responsible(site),
                           responsible=responsible, action_form=ActionForm(),
                           now=clock.now()), status


def responsible_pharmacy() -> Pharmacy:
    """The pharmacy, if the signed-in pharmacist is its responsible pharmacist; else 403."""
    site = current_pharmacy()
    if not is_responsible(site):
        abort(403)
    return site
