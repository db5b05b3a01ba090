"""A serving process keeps its start-up objects out of the garbage collector, and pages leave no reference
cycle behind for it (app/core/garbage_collection.py): the two causes of the benchmark's ~170 ms tail."""
from __future__ import annotations

import gc
from types import SimpleNamespace

import pytest
from jinja2 import DictLoader, Environment
from jinja2.runtime import Context

from app.core import garbage_collection
from app.core.extensions import db
from tests import factories


@pytest.fixture
def collector_restored():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    gc.enable()


def cyclic_garbage_of(call) -> list:
    """The objects *call* left that only the cyclic collector can free."""
    call()  # warm: first renders compile templates and fill per-process caches
    gc.collect()
    gc.disable()
    try:
        call()
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        return list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_settling_freezes_what_start_up_built_and_collects_the_rest(collector_restored):
    class StartUpLeftover:
        pass

    leftover = StartUpLeftover()
    leftover.cycle = leftover
    kept = {"lives": "as long as the process"}
    del leftover
    garbage_collection.settle_after_start()
    assert gc.get_freeze_count() > 1000
    assert gc.get_threshold() == (garbage_collection.YOUNG_THRESHOLD, garbage_collection.MIDDLE_THRESHOLD,
                                  garbage_collection.OLD_THRESHOLD)
    # The cycle start-up left was freed before the freeze (a frozen cycle could never be freed).
    assert not any(isinstance(obj, StartUpLeftover) for obj in gc.get_objects())
    # Frozen objects are no longer in the collector's generations: a full pass does not walk them.
    assert not any(obj is kept for obj in gc.get_objects())


def test_settling_again_frees_what_became_garbage_since(collector_restored):
    class ClosedAtStartUp:
        pass

    closed = ClosedAtStartUp()
    closed.cycle = closed
    garbage_collection.settle_after_start()
    del closed
    garbage_collection.settle_after_start()
    gc.unfreeze()
    assert not any(isinstance(obj, ClosedAtStartUp) for obj in gc.get_objects())


def test_the_test_app_is_not_frozen(app):
    # A test process builds several apps and drops them; frozen, they could never be freed.
    assert app.testing
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("page", ["list", "case", "order"])
def test_pages_leave_no_template_context_for_the_collector(client_for, page):
    account = factories.make_account("Cycle Free Account")
    order = factories.make_order(account)
    case = factories.make_case(account=account, order=order)
    db.session.commit()
    url = {"list": "/ordercaseview/list/", "case": f"/ordercases/{case.id}",
           "order": f"/customerorderview/show/{order.id}"}[page]
    agent = client_for("agent")

    def get():
        response = agent.get(url)
        assert response.status_code == 200
        assert "Cycle Free Account" in response.get_data(as_text=True)

    garbage = cyclic_garbage_of(get)
    assert [obj for obj in garbage if isinstance(obj, Context)] == []
    # What is left is the framework's own small cycles (the request and its headers, SQL parameters);
    # a page's context used to take its records, rows and forms with it (600-2,200 objects).
    assert len(garbage) < 200, sorted({type(obj).__name__ for obj in garbage})


def test_macros_keep_working_across_renders_and_imports():
    # A library imported without the page's variables is cached on its template and used by later pages:
    # its context must survive the first page's release (its macros call each other through it).
    environment = Environment(loader=DictLoader({
        "library.html": "{% macro inner(x) %}<{{ x }}>{% endmacro %}{% macro outer(x) %}[{{ inner(x) }}]{% endmacro %}",
        "part.html": "{% macro here() %}here {{ who }}{% endmacro %}{{ here() }}",
        "page.html": "{% import 'library.html' as lib %}{% import 'library.html' as own with context %}"
                     "{{ lib.outer(who) }}{{ own.outer(who) }} {% include 'part.html' %}",
    }))
    garbage_collection.release_page_contexts(SimpleNamespace(jinja_env=environment))
    page = environment.get_template("page.html")
    assert isinstance(page, garbage_collection.PageTemplate)
    assert page.render(who="Ada") == "[<Ada>][<Ada>] here Ada"
    assert page.render(who="Bob") == "[<Bob>][<Bob>] here Bob"
