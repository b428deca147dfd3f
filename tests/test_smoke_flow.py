"""Does each role reach its home page after signing in?"""

import pytest

from tests.conftest import sign_in


@pytest.mark.parametrize("role,home", [
    ("admin", "/admin/"), ("prescriber", "/prescriber/"), ("pharmacist", "/pharmacist/"),
    ("patient", "/patient/"),
])
def test_each_role_signs_in_and_lands_on_its_home(client, factory, role, home):
    prescriber = factory.prescriber()
    if role == "admin":
        user = factory.user("admin")
    elif role == "prescriber":
        from compliance.models import User
        user = factory.db.get(User, prescriber.user_id)
    elif role == "pharmacist":
        user = factory.pharmacist(factory.pharmacy())
    else:
        from compliance.models import User
        user = factory.db.get(User, factory.patient(prescriber).user_id)
    response = sign_in(client, user.email)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(home)
    page = client.get(home)
    assert page.status_code == 200
