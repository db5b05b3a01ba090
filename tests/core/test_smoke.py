"""The app boots from migrations and an agent reaches the Order Cases list through a real login."""
from tests import factories


def test_agent_lists_order_cases(client_for):
    account = factories.make_account("Smoke Co")
    order = factories.make_order(account, lines=2)
    case = factories.make_case(account, order=order)
    response = client_for("agent").get("/ordercaseview/list/")
    assert response.status_code == 200
    assert case.number in response.get_data(as_text=True)


def test_anonymous_is_sent_to_login(client_for):
    response = client_for(None).get("/ordercaseview/list/")
    assert response.status_code == 302
    assert "/login/" in response.headers["Location"]


def test_two_users_in_one_test_do_not_share_a_login(client_for):
    agent = client_for("agent")
    customer = client_for("customer")
    assert agent.get("/ordercaseview/list/").status_code == 200
    assert customer.get("/ordercaseview/list/").status_code == 403
    assert agent.get("/ordercaseview/list/").status_code == 200
