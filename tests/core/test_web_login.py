"""The web sign-in: API-only accounts are refused with the reason, and signing in without a ``next`` target
logs no "Invalid redirect" warning (it was never asked for); a ``next`` inside the application is honoured."""
from __future__ import annotations

import logging

from tests.conftest import csrf_from


def sign_in(client, username, password, query=""):
    page = client.get("/login/" + query)
    return client.post("/login/" + query, data={"username": username, "password": password,
                                                "csrf_token": csrf_from(page.get_data(as_text=True))})


def test_the_integrator_is_refused_at_the_web_login_with_the_reason(client_for, users):
    client = client_for(None)
    response = sign_in(client, users["integrator"].username, users["integrator"].password)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/")
    page = client.get("/login/").get_data(as_text=True)
    assert "is an API-only account (integrator): it cannot sign in to the web pages" in page
    assert "POST /api/v1/auth/token" in page
    # Not signed in: the home page sends it back to the sign-in form.
    assert "/login/" in client.get("/").headers["Location"]


def test_a_wrong_password_for_the_integrator_reveals_nothing_about_the_account(client_for, users):
    client = client_for(None)
    sign_in(client, users["integrator"].username, "not-the-password")
    page = client.get("/login/").get_data(as_text=True)
    assert "Invalid login" in page and "API-only" not in page


def test_signing_in_without_a_target_goes_home_without_a_warning(client_for, users, caplog):
    client = client_for(None)
    with caplog.at_level(logging.INFO):
        response = sign_in(client, users["agent"].username, users["agent"].password)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_a_target_inside_the_application_is_honoured_and_one_outside_is_not(client_for, users):
    inside = sign_in(client_for(None), users["agent"].username, users["agent"].password,
                     "?next=/ordercaseview/list/")
    assert inside.headers["Location"] == "/ordercaseview/list/"
    outside = sign_in(client_for(None), users["agent"].username, users["agent"].password,
                      "?next=https://evil.example/")
    assert outside.headers["Location"] == "/"
