from medgov.governance.accounts.choices import Role
from tests.conftest import TEST_PASSWORD


def test_a_user_signs_in_and_sees_the_home_page(live_server, page, make_user, screenshot):
    user = make_user(Role.CMO, display_name="Dr. Alex Morgan")
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    page.get_by_label("User name").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Cockpit"
    assert page.get_by_text("Dr. Alex Morgan · CMO").is_visible()
    assert page.get_by_role("navigation", name="Modules").is_visible()
    assert page.evaluate("typeof htmx") == "object"
    screenshot("home")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")
