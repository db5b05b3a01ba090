"""The cyclic garbage collector's settings for a serving process, applied once the application is built.

Python's collector runs a full pass (every tracked object in the process) whenever the objects that
survived into the oldest generation grew by a quarter. A built application holds about 260,000 tracked
objects (modules, views, forms, SQLAlchemy metadata, compiled templates) that live as long as the process;
traversing them took 170 ms of CPU on this project's 2-core machine, and such a pass landed in one request
out of ten to twenty on the heavier pages (a 500-line case page or action): their p95 was p50 + ~170 ms.

Frozen (``gc.freeze``), those objects are never traversed again; the collector then only sees what
requests allocate. Under gunicorn's preload the freeze happens in the master before the workers fork,
so the workers also stop writing to (and un-sharing) the pages that hold them.

Pages, for their part, leave almost nothing for the collector: every page used to leave its template
context in a reference cycle, with all it was given (``PageTemplate``).
"""
from __future__ import annotations

import gc
from contextvars import ContextVar

from jinja2 import Template
from jinja2.runtime import Context

# Young collections run after this many tracked objects were allocated (net of those freed). CPython's 700
# suits a program that builds its data up slowly; a request builds tens of thousands of objects (a
# 500-line case page or action) and frees them all by reference counting as it returns. At 700 such a
# request ran ~13 young collections, each re-walking what the request still held, and a full one every
# few requests (measured: 5-30 ms of collector time a request on the heavier rows). At 10,000 a request
# runs at most a few, and since pages leave almost no cyclic garbage (``PageTemplate`` below) the pass that
# does run finds little to free. Far higher (the 50,000 this project's gunicorn set before) lets the
# cycles of dozens of requests pile up: one pass then frees ~45,000 objects at once, a 40-100 ms pause
# that was a tail spike of its own.
YOUNG_THRESHOLD = 10_000
MIDDLE_THRESHOLD = 10
OLD_THRESHOLD = 10


def settle_after_start() -> None:
    """Collect what building the application left behind, freeze what remains, and set the thresholds.

    Call it once per serving process, after the application (and anything else that lives as long as the
    process) is built: objects created later are collected normally. Calling it again (after closing the
    connections start-up opened, say) first returns the frozen objects to the collector, so what became
    garbage since is freed too.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)


# The template contexts created while one page renders (None outside a render: nothing is recorded).
_render_contexts: ContextVar[list | None] = ContextVar("render_contexts", default=None)


class PageContext(Context):
    """A Jinja context that the render creating it can release (see ``PageTemplate``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        created = _render_contexts.get()
        if created is not None:
            created.append(self)


class PageTemplate(Template):
    """A Jinja template whose render leaves no reference cycle behind.

    A context holds the macros its template defines, and each macro's code refers back to the context:
    every page (the layout imports its macro library with the page's variables, and includes the menu
    bar with them) left that cycle, and with it everything the page was given — rows, records, forms,
    about 600 to 2,200 objects a page — for the garbage collector to find. Emptied once the page is
    rendered, the contexts and what they held are freed by reference counting as the render returns.
    """

    def render(self, *args, **kwargs):
        created: list = []
        token = _render_contexts.set(created)
        try:
            return super().render(*args, **kwargs)
        finally:
            _render_contexts.reset(token)
            for context in created:
                context.vars.clear()
                context.exported_vars.clear()

    def _get_default_module(self, ctx=None):
        # A module imported without the page's variables is cached on the template and outlives the render.
        token = _render_contexts.set(None)
        try:
            return super()._get_default_module(ctx)
        finally:
            _render_contexts.reset(token)


def release_page_contexts(app) -> None:
    """Render the app's templates with ``PageTemplate`` (before any template is loaded)."""
    app.jinja_env.context_class = PageContext
    app.jinja_env.template_class = PageTemplate
