"""Liveness/readiness endpoint for load balancers and orchestration: is the database answering?"""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.core.extensions import db

log = logging.getLogger(__name__)
health = Blueprint("health", __name__)


@health.get("/health")
def check():
    try:
        db.session.execute(text("SELECT 1"))
        return jsonify({"status": "ok", "database": "ok"})
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("health check: database unavailable: %s", exc)
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
