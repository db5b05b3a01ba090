"""Order Operations Case Management: the application factory."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, g
from flask_appbuilder import AppBuilder
from flask_login import current_user

from app.core.cursor_description import describe_columns_on_demand
from app.core.extensions import csrf, db, migrate
from app.core.logging_config import configure_logging
from app.core.input_guard import init_input_guard
from app.core.prepared_statements import keep_prepared_statements
from app.core.request_logging import init_request_logging
from app.core.security_headers import init_security_headers
from app.core.sessions import init_sessions

MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")

log = logging.getLogger(__name__)


def create_app(config_overrides: dict | None = None) -> Flask:
    """Build one application: config, database, migrations, security, views, roles, demo data.

    Each call creates its own AppBuilder, so tests can build several apps in one process.
    """
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object("config.Config")
    if config_overrides:
        app.config.update(config_overrides)
    app.config.setdefault("FAB_INDEX_VIEW", "app.home.page.HomeView")
    configure_logging(app.config["LOG_LEVEL"])
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)

    describe_columns_on_demand()
    db.init_app(app)
    keep_prepared_statements(app)  # after db.init_app: its teardown must run before the session's removal
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    init_request_logging(app)  # before CSRF, so refused requests are logged too
    init_security_headers(app)
    csrf.init_app(app)

    from app import models  # noqa: F401  (register every table on the shared metadata)
    from app.core.model_base import acting_user_id

    with app.app_context():
        if app.config["AUTO_MIGRATE"]:
            from flask_migrate import upgrade

            upgrade(directory=MIGRATIONS_DIR)

        from app.core.roles import ensure_role_rows, sync_roles

        ensure_role_rows(db.session, app.config["AUTH_ROLE_PUBLIC"])
        appbuilder = AppBuilder(update_perms=app.config.get("FAB_UPDATE_PERMS", True))
        appbuilder.init_app(app, db.session)
        init_sessions(app)
        from app.core.garbage_collection import release_page_contexts
        from app.core.view_support import install_page_rendering

        release_page_contexts(app)
        install_page_rendering(app)
        from app.core.display import install_display_filters
        from app.core.preferences import remember_preferences_at_sign_in

        install_display_filters(app)
        remember_preferences_at_sign_in(app)

        from app.core.errors import register_error_handlers
        from app.core.health import health
        from app.api.routes import register_rest_api
        from app.tmf.api import register_tmf_apis
        from app.views import register_views

        register_views(appbuilder)
        from app.portal.routes import register_portal

        register_portal(appbuilder)
        # After CSRF (a forged request is refused as forged) and FAB's own set-up of the signed-in user.
        init_input_guard(app, appbuilder)
        if appbuilder.sm.is_auth_limited:
            # FAB limits its login form only; its JWT login API is a second door to the same passwords.
            appbuilder.sm.limiter.limit(appbuilder.sm.auth_rate_limit, methods=["POST"])(
                app.blueprints["SecurityApi"]
            )
        register_error_handlers(app)
        register_tmf_apis(app)
        register_rest_api(app)  # after the TMF APIs: it chains their 404/405 handler
        from app.exchange.setup import register_exchange

        register_exchange(app)
        from app.core.error_pages import register_error_pages

        register_error_pages(app)  # last: the machine interfaces' handlers keep answering for their paths
        app.register_blueprint(health)
        if app.config.get("FAB_UPDATE_PERMS", True):
            sync_roles(appbuilder.sm)

        if app.config["LOAD_DEMO_DATA"]:
            from app.demo.loader import load_demo_data_if_empty

            load_demo_data_if_empty(app)

    @app.before_request
    def _bind_acting_user():
        g.acting_user_token = acting_user_id.set(
            current_user.id if current_user and current_user.is_authenticated else None
        )

    @app.teardown_request
    def _unbind_acting_user(exc):
        token = g.pop("acting_user_token", None)
        if token is not None:
            acting_user_id.reset(token)

    from app.cli import register_cli

    register_cli(app)
    from app.operations.periodic import register_periodic_cli

    register_periodic_cli(app)
    if not app.testing:
        # A serving process keeps this application for its lifetime (a test process builds several and
        # drops them: frozen, they could never be freed).
        from app.core.garbage_collection import settle_after_start

        settle_after_start()
    return app
