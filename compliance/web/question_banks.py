"""The administrator's question banks: versions per program and category, new drafts,
activation. A version in use or retired is never edited: there is no edit route at all.
"""

import json

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from sqlalchemy import select
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length, NoneOf

from compliance import clock
from compliance.auth import get_or_404, roles_required
from compliance.db import get_session
from compliance.models import QuestionBank
from compliance.programs import category_choices
from compliance.services import question_banks
from compliance.web.forms import REQUIRED, ActionForm, ServiceForm
from compliance.web.pages import form_page

bp = Blueprint("question_banks", __name__, url_prefix="/admin/question-banks")
admin_only = roles_required("admin")
MAX_BANK_CHARACTERS = 100_000


def bank_targets() -> dict[str, str]:
    """Every program and category a bank can be written for, {"program/category": label}."""
    targets = {"": "Choose…"}
    for code, prog in current_app.extensions["compliance_programs"].items():
        for category, label in category_choices(code).items():
            targets[f"{code}/{category}"] = f"{prog.versions[-1].program_name}: {label}"
    return targets


class BankForm(ServiceForm):
    target = SelectField("Program and category",
                         validators=[NoneOf([""], message="Choose a program and category.")])
    questions = TextAreaField(
        "Questions (JSON)", validators=[REQUIRED, Length(max=MAX_BANK_CHARACTERS)],
        description='A list of questions: {"id", "text", "choices": [{"id", "text"}], '
                    '"answer" (a choice id), "explanation"}.')


@bp.get("/")
@admin_only
def index():
    banks = get_session().scalars(select(QuestionBank).order_by(
        QuestionBank.program, QuestionBank.category, QuestionBank.version.desc())).all()
    groups: dict[str, list[QuestionBank]] = {}
    for bank in banks:
        groups.setdefault(f"{bank.program}/{bank.category}", []).append(bank)
    return render_template("admin/question_banks.html", groups=groups, targets=bank_targets(),
                           action_form=ActionForm())


@bp.route("/new", methods=["GET", "POST"])
@admin_only
def new():
    form = BankForm()
    form.target.choices = bank_targets()
    if not form.is_submitted():
        form.questions.data = json.dumps(question_banks.DEFAULT_IPLEDGE_QUESTIONS, indent=2)
    if form.validate_on_submit():
        program, category = form.target.data.split("/", 1)
        with form.refusals():
            bank = question_banks.create_version(
                get_session(), program=program, category=category,
                questions_json=form.questions.data, now=clock.now())
        if form.refused is None:
            flash(f"Version {bank.version} saved as a draft; activate it to put it in use.",
                  "success")
            return redirect(url_for("question_banks.show", bank_id=bank.id))
    return form_page("admin/question_bank_new.html", form)


@bp.get("/<int:bank_id>")
@admin_only
def show(bank_id: int):
    bank = get_or_404(get_session(), QuestionBank, bank_id)
    return render_template("admin/question_bank.html", bank=bank, targets=bank_targets(),
                           action_form=ActionForm())


@bp.post("/<int:bank_id>/activate")
@admin_only
def activate(bank_id: int):
    db = get_session()
    bank = get_or_404(db, QuestionBank, bank_id)
    form = ActionForm()
    if form.validate_on_submit():
        with form.refusals():
            question_banks.activate(db, bank=bank, now=clock.now())
        if form.refused is None:
            flash(f"Version {bank.version} is now in use; the previous one is retired.",
                  "success")
    return redirect(url_for("question_banks.index"))
