"""The health endpoint answers without a login and reports the database."""
from sqlalchemy.exc import OperationalError


def test_health_reports_a_working_database(client_for):
    response = client_for(None).get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_health_reports_an_unreachable_database(client_for, monkeypatch):
    from app.core.extensions import db

    def refuse(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", refuse)
    response = client_for(None).get("/health")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
