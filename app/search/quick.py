"""The quick search box of every back-office list: a record number, or words, on top of the list's filters.

A number of the list's own record kind (any case, leading zeros optional, or just its digits) finds that
record; words find the records whose texts hold every word: through the full-text index where the table
has one (cases, accounts, contacts, orders). Lists of millions of lines (case lines, order lines) declare
how words reach them without reading every row: the values of their coded columns (a state, a request
type) and the full text of their case or order. Other lists (a few thousand records at most: catalogue,
calendars, tasks) look in their own text columns.
"""
from __future__ import annotations

from flask import has_request_context, request
from flask_appbuilder.models.filters import BaseFilter
from sqlalchemy import and_, or_

from app.search import fulltext
from app.search.service import normalized_number


class QuickSearch(BaseFilter):
    """Applies a quick search (the view's text columns travel with the value)."""

    name = "Quick search"
    arg_name = "quick"

    def apply(self, query, value):
        text, columns, through, vocabularies = value
        return query.filter(condition(self.datamodel.obj, text, columns, through, vocabularies))


def condition(model, text: str, columns: list[str], through=None, vocabularies=None):
    parsed = normalized_number(text)
    prefix = getattr(model, "__number_prefix__", "")
    if parsed is not None and prefix and parsed[0].model is model:
        return model.number == parsed[1]
    if prefix and text.isdigit() and len(text) <= 7:
        # Just the digits of the list's own record kind.
        return model.number == f"{prefix}{int(text):07d}"
    words = fulltext.words_of(text)
    if not words:
        return model.id.is_(None)
    if model.__tablename__ in fulltext.SEARCHED_TEXTS:
        return fulltext.matches(model, words)
    if through is not None or vocabularies:
        return and_(*(_coded_or_through(model, word, through, vocabularies or {}) for word in words))
    if not columns:
        return model.id.is_(None)
    return and_(*(or_(*(getattr(model, column).ilike(f"%{word}%") for column in columns)) for word in words))


def _coded_or_through(model, word: str, through, vocabularies: dict):
    """One word on a list of millions of rows: a coded column holding a value with that word, or the
    related record (case, order) whose full text holds it; both through indexes."""
    alternatives = []
    for column, vocabulary in vocabularies.items():
        values = [value for value in vocabulary.ALL if word in fulltext.words_of(str(value))]
        if values:
            alternatives.append(getattr(model, column).in_(values))
    if through is not None:
        relationship = getattr(model, through).property
        related = relationship.mapper.class_
        (foreign_key,) = relationship.local_columns
        if related.__tablename__ in fulltext.SEARCHED_TEXTS:
            alternatives.append(fulltext.related_matches(getattr(model, foreign_key.key), related, [word]))
    return or_(*alternatives) if alternatives else model.id.is_(None)


def text_columns(view) -> list[str]:
    datamodel = view.datamodel
    shown = dict.fromkeys([*(view.list_columns or []), *(view.search_columns or [])])
    return [column for column in shown if column in datamodel.get_columns_list() and not datamodel.is_relation(column)
            and (datamodel.is_string(column) or datamodel.is_text(column))]


def quick_search(view):
    """The list refinement of ``view_support.LIST_REFINEMENTS`` for the ``q`` argument of a list URL."""
    if not has_request_context():
        return None
    text = fulltext.cleaned(request.args.get("q", ""))
    if not text:
        return None
    return view.datamodel.get_pk_name(), QuickSearch, (text, text_columns(view), view.quick_search_through,
                                                       view.quick_search_vocabularies)
