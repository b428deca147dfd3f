"""A passkey made on the account page, in Chromium with a virtual authenticator (the
DevTools WebAuthn domain: a platform authenticator that verifies its user), then signs in
from the sign-in page with no password and no code. WebAuthn takes no IP address as its
site, so the pages are opened at localhost."""

from playwright.sync_api import expect

from compliance.models import User
from tests.browser.conftest import sign_in, sign_out, urlpath
from tests.conftest import PASSWORD


def test_a_passkey_added_on_the_account_page_signs_in_alone(page, live_server, factory):
    base = live_server.url.replace("127.0.0.1", "localhost")
    live_server.app.config["PUBLIC_URL"] = base
    prescriber = factory.prescriber()
    email = factory.db.get(User, prescriber.user_id).email
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})

    sign_in(page, base, email, PASSWORD)
    page.goto(f"{base}/account/passkeys")
    page.get_by_label("Name it, so you know which device it is on").fill("Clinic laptop")
    with page.expect_navigation():
        page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator(".flashes")).to_contain_text("Passkey “Clinic laptop” added")
    expect(page.locator("ul.passkeys")).to_contain_text("Clinic laptop")
    sign_out(page)

    page.goto(f"{base}/login")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in with a passkey").click()
    assert urlpath(page.url) == "/prescriber/"
    expect(page.locator(".flashes")).to_contain_text("Signed in as")
