"""The administrator's question banks: versions per program and category, new drafts
written in a form (or copied from an earlier version), preview, activation. A version in
use or retired is never edited: there is no edit route at all.
"""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from compliance import clock
from compliance.auth import get_or_404, roles_required
from compliance.db import get_session
from compliance.models import QuestionBank
from compliance.programs import category_choices
from compliance.services import question_banks
from compliance.web.forms import ActionForm
from compliance.web.forms_banks import (
    BankForm,
    bank_questions,
    blank_question,
    editor_data,
    rearranged,
)
from compliance.web.pages import form_page

bp = Blueprint("question_banks", __name__, url_prefix="/admin/question-banks")
admin_only = roles_required("admin")


def bank_targets() -> dict[str, str]:
    """Every program and category a bank can be written for, {"program/category": label}."""
    targets = {"": "Choose…"}
    for code, prog in current_app.extensions["compliance_programs"].items():
        for category, label in category_choices(code).items():
            targets[f"{code}/{category}"] = f"{prog.versions[-1].program_name}: {label}"
    return targets


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
    """The editor. Its buttons add, move and remove questions (the page comes back with
    the change, nothing saved), preview them as a patient sees them, or save a draft."""
    if request.method == "GET":
        return _editor(*_starting_point(request.args.get("copy", type=int)))
    form = _bank_form()
    action = request.form.get("action", "save")
    if action not in ("save", "preview"):
        questions = rearranged(form.questions.data, action)
        return _editor(form.target.data, questions or form.questions.data)
    if not form.validate_on_submit():
        return form_page("admin/question_bank_new.html", form)
    if action == "preview":
        return render_template("admin/question_bank_new.html", form=form,
                               preview=bank_questions(form))
    program, category = form.target.data.split("/", 1)
    with form.refusals():
        bank = question_banks.create_version(
            get_session(), program=program, category=category,
            questions=bank_questions(form), now=clock.now())
    if form.refused is not None:
        return form_page("admin/question_bank_new.html", form)
    flash(f"Version {bank.version} saved as a draft; activate it to put it in use.", "success")
    return redirect(url_for("question_banks.show", bank_id=bank.id))


def _starting_point(copy_id: int | None) -> tuple[str, list[dict]]:
    """A copy of the version asked for, else one blank question."""
    if copy_id is None:
        return "", [blank_question()]
    bank = get_or_404(get_session(), QuestionBank, copy_id)
    return f"{bank.program}/{bank.category}", editor_data(bank.questions)


def _bank_form(**data) -> BankForm:
    form = BankForm(formdata=None, data=data) if data else BankForm()
    form.target.choices = bank_targets()
    return form


def _editor(target: str, questions: list[dict]):
    """The editor filled with these questions, without the submitted values or errors."""
    form = _bank_form(target=target, questions=questions)
    return render_template("admin/question_bank_new.html", form=form)


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
