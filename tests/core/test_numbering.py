"""Human record numbers: prefix + 7 digits, consecutive when created one after another, and unique when
many sessions create records at the same moment (PostgreSQL sequences), also when reserved in bulk."""
from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select, text

from app.core.choices import CaseOrigin, Scope
from app.core.extensions import db as database
from app.core.model_base import allocate_numbers, next_number
from app.models import CustomerOrder, OrderCase, OrderLineItem
from tests import factories
from tests.conftest import IS_POSTGRES

THREADS = 8
CASES_PER_THREAD = 25
NUMBER = re.compile(r"ORDCS\d{7}")


def new_case(account_id: int, text: str) -> OrderCase:
    return OrderCase(account_id=account_id, scope=Scope.MULTIPLE_ORDERS, origin=CaseOrigin.LIST,
                     short_description=text)


def test_cases_created_one_after_another_get_consecutive_numbers(db):
    account = factories.make_account("Numbering Sequential")
    numbers = []
    for index in range(5):
        case = new_case(account.id, f"Sequential {index}")
        db.session.add(case)
        db.session.commit()
        numbers.append(case.number)
    assert all(NUMBER.fullmatch(number) for number in numbers), numbers
    values = [int(number[len("ORDCS"):]) for number in numbers]
    assert values == list(range(values[0], values[0] + 5))


def numbers_from_threads(app, take) -> list[str]:
    """Run ``take(worker, index)`` CASES_PER_THREAD times in each of THREADS threads started together,
    each thread in its own app context (session and connection), committing after every call; return
    every number the calls handed out."""
    start = threading.Barrier(THREADS)
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(worker: int):
        try:
            with app.app_context():
                start.wait(timeout=30)
                for index in range(CASES_PER_THREAD):
                    got = take(worker, index)
                    database.session.commit()
                    with lock:
                        numbers.extend(got())
                database.session.remove()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return numbers


@pytest.mark.postgres_only
@pytest.mark.skipif(not IS_POSTGRES, reason="concurrent numbering needs PostgreSQL (set TEST_DATABASE_URL)")
def test_cases_created_from_eight_threads_at_once_get_distinct_numbers(app, db):
    account_id = factories.make_account("Numbering Concurrent").id

    def create_case(worker: int, index: int):
        case = new_case(account_id, f"Worker {worker} case {index}")
        db.session.add(case)
        return lambda: [case.number]  # read after the commit that assigns it

    numbers = numbers_from_threads(app, create_case)
    assert len(numbers) == THREADS * CASES_PER_THREAD
    assert len(set(numbers)) == len(numbers), "two cases got the same number"
    assert all(NUMBER.fullmatch(number) for number in numbers)
    stored = db.session.execute(
        select(func.count(func.distinct(OrderCase.number))).where(OrderCase.account_id == account_id)
    ).scalar_one()
    assert stored == THREADS * CASES_PER_THREAD


# -- numbers reserved in bulk (an API order and all its lines in one statement) ---------------------------

ORDER_NUMBER, LINE_NUMBER = re.compile(r"ORD\d{7}"), re.compile(r"ORDL\d{7}")


def _value(number: str) -> int:
    return int(number[-7:])


def test_numbers_reserved_in_bulk_are_consecutive_and_continue_the_sequence(db):
    single = next_number(db.session.connection(), OrderLineItem)
    numbers = allocate_numbers(db.session.connection(), {CustomerOrder: 1, OrderLineItem: 5, OrderCase: 0})
    after = next_number(db.session.connection(), OrderLineItem)
    db.session.commit()
    assert set(numbers) == {CustomerOrder, OrderLineItem}, "a model asking for no number gets no entry"
    assert ORDER_NUMBER.fullmatch(numbers[CustomerOrder][0])
    lines = numbers[OrderLineItem]
    assert all(LINE_NUMBER.fullmatch(number) for number in lines)
    assert [_value(number) for number in lines] == list(range(_value(single) + 1, _value(single) + 6))
    assert _value(after) == _value(single) + 6


@pytest.mark.skipif(IS_POSTGRES, reason="the counter rows exist on SQLite only")
def test_a_bulk_reservation_starts_a_missing_counter(db):
    db.session.execute(text("DELETE FROM number_sequence WHERE name = 'order_line_item'"))
    numbers = allocate_numbers(db.session.connection(), {OrderLineItem: 3})
    db.session.commit()
    assert numbers[OrderLineItem] == ["ORDL0000001", "ORDL0000002", "ORDL0000003"]
    assert next_number(db.session.connection(), OrderLineItem) == "ORDL0000004"
    db.session.rollback()


@pytest.mark.postgres_only
@pytest.mark.skipif(not IS_POSTGRES, reason="concurrent numbering needs PostgreSQL (set TEST_DATABASE_URL)")
def test_bulk_and_single_reservations_from_eight_threads_never_collide(app, db):
    def reserve(worker: int, index: int):
        if worker % 2:
            got = [next_number(db.session.connection(), OrderLineItem)]
        else:
            got = allocate_numbers(db.session.connection(), {CustomerOrder: 1, OrderLineItem: 1 + index % 9})
            got = got[OrderLineItem]
        return lambda: got

    numbers = numbers_from_threads(app, reserve)
    assert len(set(numbers)) == len(numbers), "two reservations got the same number"
    assert all(LINE_NUMBER.fullmatch(number) for number in numbers)
