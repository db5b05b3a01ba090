"""url_pattern builds an endpoint's address once and fills in each record's values: the addresses must be
exactly url_for's, for int and string values, under an application root too."""
from __future__ import annotations

from flask import url_for

from app.core import url_patterns
from app.core.url_patterns import url_pattern


def test_a_pattern_gives_the_address_url_for_gives(app):
    with app.test_request_context("/"):
        line_action = url_pattern("OrderCasePageView.line_action", "pk", "name")
        upload = url_pattern("AttachmentView.upload", "kind", "pk")
        for pk, name in ((1, "accept"), (7306419285, "start-work"), (42, "a b/c")):
            assert line_action(pk, name) == url_for("OrderCasePageView.line_action", pk=pk, name=name)
        assert upload("case-lines", 12) == url_for("AttachmentView.upload", kind="case-lines", pk=12)


def test_a_pattern_follows_the_application_root(app):
    with app.test_request_context("/", base_url="http://desk.example/orderdesk"):
        edit_line = url_pattern("OrderCasePageView.edit_line", "pk")
        assert edit_line(5) == url_for("OrderCasePageView.edit_line", pk=5)
        assert edit_line(5).startswith("/orderdesk/ordercases/")


def test_a_marker_found_elsewhere_in_the_address_falls_back_to_url_for(app):
    # A fixed value that happens to contain the marker: filling in by text would be wrong, so each call asks url_for.
    with app.test_request_context("/"):
        line_action = url_pattern("OrderCasePageView.line_action", "name", pk=url_patterns._FIRST_MARKER)
        assert line_action("accept") == url_for("OrderCasePageView.line_action", pk=url_patterns._FIRST_MARKER,
                                                name="accept")
