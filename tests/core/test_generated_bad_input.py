"""Generated bad input over every back-office list and every form a user can reach.

Hypothesis builds the requests: list addresses with paging, sorting and filter parameters of every kind
(non-numeric, negative, huge, unknown columns, NUL and control characters), and submissions of every
form found by crawling the back office and the portal as an administrator, an agent and a customer,
with text fields replaced by NUL, control characters, over-long text, numbers out of range and
garbage. No answer may be a 5xx, and a refused request (a list address answered 4xx, a submission
answered 4xx or with an error message) leaves every table exactly as it was. The number of requests is
bounded (LIST_FUZZ_EXAMPLES, FORM_FUZZ_EXAMPLES); run with -s, each test prints its count by status.
"""
from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text as sql
from werkzeug.datastructures import MultiDict

from app.core.extensions import db
from app.core.input_guard import MAX_TEXT
from app.models import CaseTask
from tests.conftest import changed_tables, database_fingerprint
from tests.api.test_rest_api_properties import RefusalsWriteNothing
from tests.api.test_rest_api_properties import world  # noqa: F401  (the shared world of every state)

LIST_EXAMPLES = int(os.environ.get("LIST_FUZZ_EXAMPLES", 250))
FORM_EXAMPLES = int(os.environ.get("FORM_FUZZ_EXAMPLES", 300))
SETTINGS = dict(deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=list(HealthCheck))

BAD_TEXT = st.sampled_from([
    "\x00", "a\x00b", "\x01", "note\x1b[31m", "\x7f", "x" * (MAX_TEXT + 1), "y" * 300, "", " ", "-1", "0",
    "99999999999999999999", "abc", "1.5", "1e309", "NaN", "2024-02-30", "9999-12-31", "<script>alert(1)</script>",
    "'; drop table order_case; --", "Ω≈ç√", "None", "__proto__",
]) | st.text(max_size=20)
LIST_VALUE = BAD_TEXT | st.integers(-2**40, 2**40).map(str) | st.sampled_from(["asc", "desc", "name", "id"])

# Never followed while crawling: signing out, downloads, and FAB's GET actions.
SKIPPED_LINKS = re.compile(r"/logout|/static/|/download/|^/\w+/action/|/api/|/tmf-api/|/lang/|/resetmypassword|"
                           r"/resetpasswords|\.json|/health")
# Forms that would lock the session's users out of later tests (their names, passwords, roles, rights).
SKIPPED_FORMS = re.compile(r"^/(users|roles|groups)/(edit|delete|action_post)|^/(roles|groups)/add|"
                           r"^/(resetmypassword|resetpasswords|userinfoeditview)|/logout|^/login")


# ----------------------------------------------------------------------------------------------------
# What the database holds


def fingerprint() -> dict[str, str]:
    return database_fingerprint(db)


def refused(client, response) -> bool:
    """A 4xx, an error flashed for the next page, or the form shown again with field errors."""
    if 400 <= response.status_code < 500:
        return True
    with client.session_transaction() as session:
        # Taken out, so that the next request's verdict is its own.
        flashes = session.pop("_flashes", [])
    if any(category in ("danger", "error") for category, _message in flashes):
        return True
    return response.status_code == 200 and b"has-error" in response.data


# ----------------------------------------------------------------------------------------------------
# Lists


def test_generated_list_parameters_never_fail(app, client_for, world):  # noqa: F811
    admin = client_for("admin")
    lists = sorted(app.extensions["list_views"].items())
    sent = {"requests": 0, "statuses": {}}
    unchanged = RefusalsWriteNothing()

    @settings(max_examples=LIST_EXAMPLES, **SETTINGS)
    @given(data=st.data())
    def send(data):
        name, view = data.draw(st.sampled_from(lists), label="list")
        search = sorted(view.search_columns or []) or ["name"]
        parameters = data.draw(st.lists(st.one_of(
            st.tuples(st.sampled_from([f"page_{name}", f"psize_{name}"]), LIST_VALUE),
            st.tuples(st.just(f"_oc_{name}"), st.sampled_from(sorted(view.order_columns or ["id"])) | BAD_TEXT),
            st.tuples(st.just(f"_od_{name}"), st.sampled_from(["asc", "desc"]) | BAD_TEXT),
            st.tuples(st.builds(lambda index, column: f"_flt_{index}_{column}", st.integers(0, 9),
                                st.sampled_from(search) | st.sampled_from(["bogus", "id"])), LIST_VALUE),
        ), max_size=4), label="parameters")
        unchanged.before()
        response = admin.get(f"{view.route_base}/list/", query_string=parameters)
        unchanged.after(response, f"GET {view.route_base}/list/ {parameters}")
        sent["requests"] += 1
        sent["statuses"][response.status_code] = sent["statuses"].get(response.status_code, 0) + 1
        assert response.status_code < 500, f"{view.route_base}/list/ {parameters} answered {response.status_code}"
        if response.status_code == 400:
            assert b"could not be used" in response.data

    send()
    print(f"\nlist fuzz: {sent['requests']} requests, {unchanged.checked} refusals checked for writes, "
          f"statuses {sorted(sent['statuses'].items())}")
    refusals = sum(count for status, count in sent["statuses"].items() if status >= 400)
    assert sent["requests"] >= LIST_EXAMPLES and unchanged.checked == refusals > 0, (unchanged.checked, sent)
    assert {200, 400} <= set(sent["statuses"]), sent["statuses"]


# ----------------------------------------------------------------------------------------------------
# Forms


class FormParser(HTMLParser):
    """Every POST form of a page (action, fields with their current values) and every link."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.links: list[str] = []
        self._form: dict | None = None
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag == "form":
            self._form = {"action": attrs.get("action") or "", "method": (attrs.get("method") or "get").lower(),
                          "fields": []}
            self.forms.append(self._form)
        elif self._form is None or not attrs.get("name"):
            return
        elif tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "file", "reset"):
                if kind == "submit":
                    self._form["fields"].append((attrs["name"], attrs.get("value") or "", "submit"))
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self._form["fields"].append((attrs["name"], attrs.get("value") or "", kind))
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self._form["fields"].append((attrs["name"], "", "textarea"))
        elif tag == "select":
            self._select = attrs["name"]
            self._form["fields"].append((attrs["name"], "", "select"))
        elif tag == "option" and self._select and ("selected" in attrs or not self._current(self._select)):
            self._set(self._select, attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._set(self._textarea, data)

    def _current(self, name):
        return next((value for field, value, _kind in self._form["fields"] if field == name), "")

    def _set(self, name, value):
        fields = self._form["fields"]
        for position, (field, _old, kind) in enumerate(fields):
            if field == name:
                fields[position] = (field, value, kind)


def crawl(client, seeds: list[str], follow: re.Pattern) -> list[dict]:
    """POST forms on *seeds* and on the pages their links matching *follow* lead to (one page per address
    pattern, ids replaced), one form per action pattern."""
    queue, seen_pages, forms = [(url, 0) for url in seeds], set(), {}
    while queue:
        url, depth = queue.pop(0)
        pattern = re.sub(r"\d+", "N", urlsplit(url).path)
        if pattern in seen_pages:
            continue
        seen_pages.add(pattern)
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        parser = FormParser()
        parser.feed(response.get_data(as_text=True))
        for form in parser.forms:
            action = urlsplit(urljoin(url, form["action"] or url))
            key = re.sub(r"\d+", "N", action.path)
            names = {name for name, _value, _kind in form["fields"]}
            if form["method"] != "post" or key in forms or "csrf_token" not in names \
                    or SKIPPED_FORMS.search(action.path):
                continue
            forms[key] = {"url": action.path + (f"?{action.query}" if action.query else ""), **form}
        for link in parser.links if depth < 2 else ():
            target = urlsplit(urljoin(url, link))
            if target.netloc not in ("", "localhost") or SKIPPED_LINKS.search(target.path) \
                    or not follow.search(target.path):
                continue
            queue.append((target.path + (f"?{target.query}" if target.query else ""), depth + 1))
    return list(forms.values())


@pytest.fixture
def reachable_forms(app, client_for, users, world):  # noqa: F811
    task = CaseTask(case=world["cases"][1], subject="Fuzz task")
    db.session.add(task)
    db.session.commit()
    lists = [f"{view.route_base}/list/" for _name, view in sorted(app.extensions["list_views"].items())]
    adds = [f"{view.route_base}/add" for _name, view in sorted(app.extensions["list_views"].items())]
    records = [f"/ordercases/{case.id}" for case in world["cases"]] + [f"/tasks/case/{task.id}/"]
    orders = [f"/customerorderview/show/{order.id}" for order in world["orders"]] + ["/quoteview/add"]
    seeds = {
        "admin": ["/", *adds, *lists, *records[:1], *orders],
        "agent": ["/", *records, *orders, "/mytasksview/list/"],
        "customer": ["/portal/", "/portal/cases", "/portal/cases/new", "/portal/orders", "/portal/catalog",
                     *(f"/portal/cases/{case.id}" for case in world["cases"])],
    }
    follow = {"admin": re.compile(r"/edit/\d+$"), "agent": re.compile(r"^/(ordercases|tasks)/|/line/\d+/edit/"),
              "customer": re.compile(r"^/portal/")}
    found = []
    for role, role_seeds in seeds.items():
        client = client_for(role)
        for form in crawl(client, role_seeds, follow[role]):
            found.append((role, client, form))
    return found


def test_generated_form_submissions_never_fail_and_refusals_write_nothing(app, users, reachable_forms):
    from flask_appbuilder.security.sqla.models import User

    known_users = {user_id for (user_id,) in db.session.query(User.id)}
    actions = sorted({form["url"] for _role, _client, form in reachable_forms})
    # The crawl reaches the back office's add and edit forms, the case and order pages and the portal.
    assert any(url.startswith("/portal/") for url in actions), actions
    assert any("/add" in url for url in actions) and any("/edit/" in url for url in actions), actions
    assert any(url.startswith("/ordercases/") for url in actions), actions
    sent = {"requests": 0, "statuses": {}, "refused": 0}

    @settings(max_examples=FORM_EXAMPLES, **SETTINGS)
    @given(data=st.data())
    def send(data):
        role, client, form = data.draw(st.sampled_from(reachable_forms), label="form")
        payload = []
        for name, value, kind in form["fields"]:
            if name == "csrf_token" or kind == "submit" and name != "operation":
                payload.append((name, value))
            elif data.draw(st.integers(0, 2), label=f"change {name}") == 0:
                payload.append((name, data.draw(BAD_TEXT, label=name)))
            else:
                payload.append((name, value))
        before = fingerprint()
        response = client.post(form["url"], data=MultiDict(payload))
        sent["requests"] += 1
        sent["statuses"][response.status_code] = sent["statuses"].get(response.status_code, 0) + 1
        assert response.status_code < 500, (
            f"{role} POST {form['url']} {[(k, v[:40]) for k, v in payload]} answered {response.status_code}")
        if refused(client, response):
            sent["refused"] += 1
            assert changed_tables(before, fingerprint()) == [], (
                f"{role} POST {form['url']} was refused ({response.status_code}) but wrote to the database")

    try:
        send()
    finally:
        # Users the generated add forms created must not outlive the test.
        with db.engine.begin() as connection:
            created = [user_id for (user_id,) in connection.execute(sql("SELECT id FROM ab_user"))
                       if user_id not in known_users]
            for table in ("ab_api_key", "ab_user_role", "ab_user_group"):
                connection.execute(sql(f"DELETE FROM {table} WHERE user_id = :id"), [{"id": i} for i in created]) \
                    if created else None
            if created:
                connection.execute(sql("DELETE FROM ab_user WHERE id = :id"), [{"id": i} for i in created])
    print(f"\nform fuzz: {len(actions)} forms, {sent['requests']} requests, {sent['refused']} refused, "
          f"statuses {sorted(sent['statuses'].items())}")
    assert sent["requests"] >= FORM_EXAMPLES
    assert 422 in sent["statuses"], sent["statuses"]
