"""Styled error pages: the app's navigation, what happened, a way back; the APIs keep their JSON."""
from __future__ import annotations

import pytest
from werkzeug.exceptions import InternalServerError

def test_unknown_back_office_address_is_a_styled_404_with_the_menu_and_a_way_back(client_for):
    agent = client_for("agent")
    response = agent.get("/ordercases/999999", headers={"Referer": "http://localhost/ordercaseview/list/"})
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert '<html lang="en">' in html
    assert 'aria-label="Main menu"' in html and "Order Cases" in html  # the app's own menu bar
    assert "Page not found" in html and 'data-status="404"' in html
    assert 'href="http://localhost/ordercaseview/list/">Go back</a>' in html
    assert ">Home</a>" in html


def test_a_referrer_from_another_site_is_not_offered_as_the_way_back(client_for):
    response = client_for("agent").get("/nowhere", headers={"Referer": "https://elsewhere.example/x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "elsewhere.example" not in html and "Go back" not in html


def test_anonymous_visitors_get_the_page_with_a_sign_in_link(client_for):
    response = client_for(None).get("/nowhere")
    assert response.status_code == 404 and ">Sign in</a>" in response.get_data(as_text=True)


def test_portal_addresses_get_the_portal_layout(client_for):
    response = client_for("customer").get("/portal/nowhere")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert 'class="portal"' in html and "Portal home" in html and "Page not found" in html


def test_a_form_without_its_csrf_token_gets_a_readable_400(client_for):
    response = client_for("agent").post("/ordercases/1/journal", data={"text": "hi"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The request could not be read" in html and "Nothing was saved" in html


@pytest.mark.parametrize("path, key", [("/api/v1/nothing-here", "message"),
                                       ("/tmf-api/productOrderingManagement/v4/nothing", "reason")])
def test_the_apis_keep_answering_json(client_for, path, key):
    response = client_for(None).get(path)
    assert response.status_code == 404 and key in response.get_json()


def test_the_500_page_says_nothing_was_saved_and_offers_home(app):
    from app.core.error_pages import error_page

    with app.test_request_context("/ordercases/1"):
        body, status = error_page(InternalServerError())
    assert status == 500
    assert "Something went wrong on our side" in body and "nothing was saved" in body and ">Home</a>" in body
