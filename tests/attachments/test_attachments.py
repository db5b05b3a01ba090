"""Attachments through the back office: several files at once, downloads that are never rendered, the
refusals (empty, too big, forbidden or disguised type, over the record's total) that store nothing,
deletion by the uploader or a manager, and the audit trail."""
from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from sqlalchemy import select

from app.core.choices import CaseState
from app.core.extensions import db
from app.models import Attachment, AuditEvent, CaseTask, OrderCase, Quote
from tests import factories
from tests.attachments import files
from tests.attachments.conftest import stored, upload


def case_page(case) -> str:
    return f"/ordercases/{case.id}"


def test_an_agent_attaches_several_files_and_downloads_the_same_bytes(client_for, users, desk):
    agent = client_for("agent")
    invoice, photo = files.pdf(), files.png()
    response = upload(agent, case_page(desk), f"/attachments/cases/{desk.id}", ("invoice.pdf", invoice),
                      ("wrong item.png", photo))
    assert response.status_code == 302 and response.location.endswith(case_page(desk))
    page = agent.get(case_page(desk)).get_data(as_text=True)
    assert "Attached: invoice.pdf, wrong item.png." in page
    assert "invoice.pdf" in page and "wrong item.png" in page and "Agent Tester" in page
    rows = db.session.scalars(select(Attachment).order_by(Attachment.id)).all()
    assert [(a.filename, a.content_type, a.size, a.created_by_id) for a in rows] == [
        ("invoice.pdf", "application/pdf", len(invoice), users["agent"].id),
        ("wrong item.png", "image/png", len(photo), users["agent"].id)]
    download = agent.get(f"/attachments/{rows[0].id}/download")
    assert download.status_code == 200 and download.data == invoice
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith('attachment; filename="invoice.pdf"')
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert hashlib.sha256(download.data).hexdigest() == rows[0].sha256
    # The addition is on the case's audit trail and in its activity.
    actions = db.session.scalars(select(AuditEvent.new_value).where(AuditEvent.action == "Attach file")).all()
    assert sorted(actions)[0].startswith("invoice.pdf")
    assert "Attach file" in page


def test_when_a_file_was_added_is_shown_in_the_readers_time_zone(client_for, desk):
    agent = client_for("agent")
    assert agent.submit("/preferences/", {"time_zone": "Asia/Tokyo"}).status_code == 302
    upload(agent, case_page(desk), f"/attachments/cases/{desk.id}", ("invoice.pdf", files.pdf()))
    added = db.session.scalars(select(Attachment.created_on)).one()
    tokyo = (added + dt.timedelta(hours=9)).strftime("%Y-%m-%d %H:%M")
    assert re.search(r'class="attachment-when"><time datetime="[^"]+\+09:00">' + tokyo + " JST</time>",
                     agent.get(case_page(desk)).get_data(as_text=True))
    customer = client_for("customer")
    utc = added.strftime("%Y-%m-%d %H:%M")
    assert f"{utc} UTC</time>" in customer.get(f"/portal/cases/{desk.id}/").get_data(as_text=True)


def test_a_file_goes_to_the_line_chosen_in_attach_to(client_for, desk):
    agent = client_for("agent")
    line = desk.lines[1]
    response = upload(agent, case_page(desk), f"/attachments/cases/{desk.id}", ("photo.png", files.png()),
                      target=f"/attachments/case-lines/{line.id}")
    assert response.status_code == 302
    attachment = db.session.scalars(select(Attachment)).one()
    assert (attachment.record_type, attachment.record_id, attachment.case_id) == ("order_case_line", line.id, desk.id)
    assert line.number in agent.get(case_page(desk)).get_data(as_text=True)


@pytest.mark.parametrize("name, data, message", [
    ("empty.pdf", b"", "empty.pdf is empty"),
    ("invoice.pdf", files.png(), "its name says a PDF document, but its content is a PNG image"),
    ("invoice.pdf", files.EXE, "its content is a Windows program"),
    ("setup.exe", files.pdf(), ".exe files are not accepted"),
    ("page.txt", files.HTML, "a web page or image with markup"),
    ("logo.svg", files.SVG, ".svg files are not accepted"),
    ("data.bin", bytes(range(256)) * 4, "a file of a type that is not recognised"),
])
def test_refused_files_store_nothing_and_say_why(client_for, desk, name, data, message):
    agent = client_for("agent")
    response = upload(agent, case_page(desk), f"/attachments/cases/{desk.id}", (name, data))
    assert response.status_code == 302
    assert message in agent.get(case_page(desk)).get_data(as_text=True)
    assert stored() == (0, 0)
    assert db.session.query(AuditEvent).filter(AuditEvent.action == "Attach file").count() == 0


def test_one_refused_file_refuses_the_whole_batch(client_for, desk):
    agent = client_for("agent")
    upload(agent, case_page(desk), f"/attachments/cases/{desk.id}", ("good.pdf", files.pdf()),
           ("bad.pdf", files.EXE))
    page = agent.get(case_page(desk)).get_data(as_text=True)
    assert "nothing was stored" in page
    assert stored() == (0, 0)


def test_the_file_and_record_limits_are_configurable(app, client_for, desk):
    agent = client_for("agent")
    saved = app.config["ATTACHMENT_MAX_FILE_MB"], app.config["ATTACHMENT_MAX_RECORD_MB"]
    app.config.update(ATTACHMENT_MAX_FILE_MB=0.01, ATTACHMENT_MAX_RECORD_MB=0.02)
    try:
        upload(agent, case_page(desk), f"/attachments/cases/{desk.id}", ("big.pdf", files.pdf(padding=20_000)))
        assert "big.pdf is larger than the limit of 10 KB a file" in agent.get(case_page(desk)).get_data(as_text=True)
        assert stored() == (0, 0)
        for number in range(2):
            upload(agent, case_page(desk), f"/attachments/cases/{desk.id}", (f"part{number}.pdf",
                                                                              files.pdf(padding=7_000)))
        assert stored() == (2, 2)
        upload(agent, case_page(desk), f"/attachments/cases/{desk.id}", ("third.pdf", files.pdf(padding=7_000)))
        assert "pass the limit of 20 KB a record" in agent.get(case_page(desk)).get_data(as_text=True)
        assert stored() == (2, 2)
    finally:
        app.config.update(ATTACHMENT_MAX_FILE_MB=saved[0], ATTACHMENT_MAX_RECORD_MB=saved[1])


def test_a_request_over_the_size_limit_is_refused_unread(app, client_for, desk):
    agent = client_for("agent")
    saved = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    try:
        response = upload(agent, case_page(desk), f"/attachments/cases/{desk.id}", ("huge.pdf",
                                                                                     files.pdf(padding=60_000)))
        assert response.status_code in (302, 413)
        assert "nothing was stored" in agent.get(case_page(desk)).get_data(as_text=True)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = saved
    assert stored() == (0, 0)


def test_malformed_uploads_never_fail_the_server(client_for, desk):
    agent = client_for("agent")
    token_page = agent.get(case_page(desk)).get_data(as_text=True)
    from tests.conftest import csrf_from

    token = csrf_from(token_page)
    bodies = [
        (b"--xyz\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.pdf\"\r\n\r\n%PDF-1.4", "xyz"),
        (b"not multipart at all", "boundary"),
        (b"--b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n" + token.encode() +
         b"\r\n--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\"\r\n\r\n\r\n--b--\r\n", "b"),
        (b"--b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n" + token.encode() +
         b"\r\n--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"../../etc/passwd\x00.pdf\"\r\n\r\n"
         b"%PDF-1.4 tiny\r\n--b--\r\n", "b"),
    ]
    for body, boundary in bodies:
        response = agent.post(f"/attachments/cases/{desk.id}", data=body,
                              content_type=f"multipart/form-data; boundary={boundary}")
        assert response.status_code < 500, body
    for pk in ("0", "99999999999", "abc"):
        assert agent.get(f"/attachments/{pk}/download").status_code == 404
    assert agent.post(f"/attachments/unknown/{desk.id}", data={"csrf_token": token}).status_code == 404
    names = [a.filename for a in db.session.scalars(select(Attachment))]
    assert all("/" not in name and "\x00" not in name for name in names)


def test_only_the_uploader_or_a_manager_deletes_and_it_is_audited(app, client_for, users, desk):
    agent = client_for("agent")
    upload(agent, case_page(desk), f"/attachments/cases/{desk.id}", ("mine.pdf", files.pdf()))
    attachment = db.session.scalars(select(Attachment)).one()
    with app.app_context():
        other = factories.make_user("agent", username="tmp_agent_other")
    from tests.conftest import UserClient, log_in

    colleague = UserClient(app.test_client(), other)
    log_in(colleague, other)
    response = upload  # noqa: F841  (the colleague has the same page, without a Delete button)
    assert f"/attachments/{attachment.id}/delete" not in colleague.get(case_page(desk)).get_data(as_text=True)
    refused = colleague.submit(case_page(desk), {"next": case_page(desk)},
                               post_url=f"/attachments/{attachment.id}/delete")
    assert refused.status_code == 302
    assert "only the person who attached mine.pdf or a manager" in colleague.get(case_page(desk)).get_data(as_text=True)
    assert stored() == (1, 1)
    manager = client_for("manager")
    manager.submit(case_page(desk), {"next": case_page(desk)}, post_url=f"/attachments/{attachment.id}/delete")
    assert stored() == (0, 0)
    deleted = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "Delete attachment")).one()
    assert deleted.old_value.startswith("mine.pdf") and deleted.user_id == users["manager"].id


def test_a_closed_case_takes_no_files(client_for, desk):
    desk.state = CaseState.CLOSED
    db.session.commit()
    agent = client_for("agent")
    assert "attachment-upload" not in agent.get(case_page(desk)).get_data(as_text=True)
    # The form is gone; a hand-made request with a token from another page is refused by the operation.
    response = upload(agent, f"/customerorderview/show/{desk.order.id}", f"/attachments/cases/{desk.id}",
                      ("late.pdf", files.pdf()))
    assert response.status_code == 302
    assert "closed and cancelled cases are read-only" in agent.get(case_page(desk)).get_data(as_text=True)
    assert stored() == (0, 0)


def test_tasks_orders_and_quotes_take_files_on_their_pages(client_for, desk):
    task = CaseTask(case=desk, subject="Check the stock")
    db.session.add(task)
    quote = Quote(account=desk.account, contact=desk.contact)
    db.session.add(quote)
    db.session.commit()
    agent = client_for("agent")
    for page, action in ((f"/tasks/case/{task.id}/", f"/attachments/case-tasks/{task.id}"),
                         (f"/customerorderview/show/{desk.order.id}", f"/attachments/orders/{desk.order.id}"),
                         (f"/quoteview/show/{quote.id}", f"/attachments/quotes/{quote.id}")):
        assert 'data-attachment-upload' in agent.get(page).get_data(as_text=True), page
        name = action.split("/")[2] + ".docx"
        assert upload(agent, page, action, (name, files.docx())).status_code == 302
        html = agent.get(page).get_data(as_text=True)
        assert name in html, page
    kinds = {a.record_type: a.content_type for a in db.session.scalars(select(Attachment))}
    assert kinds == {"case_task": files_docx_type(), "customer_order": files_docx_type(), "quote": files_docx_type()}
    # The task's file is part of the case, so the case page lists it too.
    assert "case-tasks.docx" in agent.get(case_page(desk)).get_data(as_text=True)


def files_docx_type() -> str:
    return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_a_customer_attaches_in_the_portal_and_sees_only_shared_files(client_for, users, desk):
    customer = client_for("customer")
    portal_case = f"/portal/cases/{desk.id}/"
    response = upload(customer, portal_case, f"/portal/attachments/cases/{desk.id}", ("receipt.pdf", files.pdf()))
    assert response.status_code == 302
    page = customer.get(portal_case).get_data(as_text=True)
    assert "receipt.pdf" in page and "Attached: receipt.pdf." in page
    mine = db.session.scalars(select(Attachment)).one()
    assert customer.get(f"/portal/attachments/{mine.id}").data == files.pdf()
    # A task's file is the desk's own: not listed, not downloadable in the portal.
    task = CaseTask(case=desk, subject="Internal check", visible_to_customer=True)
    db.session.add(task)
    db.session.commit()
    agent = client_for("agent")
    upload(agent, f"/tasks/case/{task.id}/", f"/attachments/case-tasks/{task.id}", ("internal.pdf", files.pdf()))
    internal = db.session.scalars(select(Attachment).where(Attachment.record_type == "case_task")).one()
    assert "internal.pdf" not in customer.get(portal_case).get_data(as_text=True)
    assert customer.get(f"/portal/attachments/{internal.id}").status_code == 404
    # The customer deletes their own file; not the agent's.
    order_file = upload(agent, f"/customerorderview/show/{desk.order.id}", f"/attachments/orders/{desk.order.id}",
                        ("confirmation.pdf", files.pdf()))
    assert order_file.status_code == 302
    assert "confirmation.pdf" in customer.get(f"/portal/orders/{desk.order.id}/").get_data(as_text=True)
    agents_file = db.session.scalars(select(Attachment).where(Attachment.record_type == "customer_order")).one()
    customer.submit(portal_case, {"next": portal_case}, post_url=f"/portal/attachments/{agents_file.id}/delete")
    customer.submit(portal_case, {"next": portal_case}, post_url=f"/portal/attachments/{mine.id}/delete")
    remaining = {a.filename for a in db.session.scalars(select(Attachment))}
    assert remaining == {"internal.pdf", "confirmation.pdf"}
    # Back office cannot be reached by the customer.
    assert customer.get(f"/attachments/{agents_file.id}/download").status_code in (302, 403, 404)


def test_the_rest_api_uploads_lists_downloads_and_deletes(client_for, users, desk):
    client = client_for(None)
    token = client.post("/api/v1/auth/token", json={"username": users["agent"].username,
                                                    "password": users["agent"].password}).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    import io

    created = client.post(f"/api/v1/cases/{desk.id}/attachments", headers=headers, content_type="multipart/form-data",
                          data={"files": [(io.BytesIO(files.pdf()), "api.pdf"), (io.BytesIO(files.png()), "a.png")]})
    assert created.status_code == 201, created.get_json()
    items = created.get_json()["items"]
    assert [(i["filename"], i["content_type"]) for i in items] == [("api.pdf", "application/pdf"), ("a.png", "image/png")]
    listed = client.get(f"/api/v1/cases/{desk.id}/attachments", headers=headers).get_json()
    assert listed["count"] == 2
    content = client.get(items[0]["content_url"], headers=headers)
    assert content.data == files.pdf() and content.headers["X-Content-Type-Options"] == "nosniff"
    assert content.headers["Content-Disposition"].startswith("attachment")
    refused = client.post(f"/api/v1/cases/{desk.id}/attachments", headers=headers, content_type="multipart/form-data",
                          data={"files": [(io.BytesIO(files.EXE), "x.pdf")]})
    assert refused.status_code == 422 and "Windows program" in refused.get_json()["message"]
    not_multipart = client.post(f"/api/v1/cases/{desk.id}/attachments", headers=headers, json={"files": "x"})
    assert not_multipart.status_code == 422
    assert client.delete(f"/api/v1/attachments/{items[1]['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/attachments/{items[1]['id']}", headers=headers).status_code == 404
    assert stored() == (1, 1)
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "multipart/form-data" in spec["paths"]["/cases/{case_id}/attachments"]["post"]["requestBody"]["content"]


def test_stored_bytes_live_in_the_database(desk):
    from app.attachments import store

    case = db.session.get(OrderCase, desk.id)
    data = files.pdf(padding=3 * store.CHUNK_BYTES // 2)
    kinds = store.check_uploads(case, [store.Upload("big.pdf", data)])
    (attachment,) = store.store(case, [store.Upload("big.pdf", data)], kinds, None)
    db.session.commit()
    assert b"".join(store.content_chunks(attachment.id, attachment.size)) == data
    assert store.content(attachment.id) == data
