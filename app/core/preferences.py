"""My settings: the signed-in user's own preferences (the time zone the pages show times in)."""
from __future__ import annotations

from flask import flash, redirect, request, session, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_login import current_user, user_logged_in

from app.core.display import (
    SESSION_KEY,
    UserPreference,
    default_time_zone,
    remember_time_zone,
    stored_time_zone,
    time_zone_names,
)
from app.core.exceptions import InvalidInput
from app.core.extensions import db


def choose_time_zone(user_id: int, chosen: str) -> str:
    """Save the user's time zone (back office and portal alike) and show pages in it from now on."""
    if chosen not in time_zone_names():
        raise InvalidInput("Choose a time zone from the list.", {"time_zone": "Choose a time zone from the list"})
    preference = db.session.get(UserPreference, user_id) or UserPreference(user_id=user_id)
    preference.time_zone = chosen
    db.session.add(preference)
    db.session.commit()
    session[SESSION_KEY] = chosen
    return chosen


def shown_time_zone(user_id: int) -> str:
    """The zone the user's pages show times in (their choice, or the site's default)."""
    return stored_time_zone(user_id) or session.get(SESSION_KEY) or default_time_zone()


class PreferencesView(BaseView):
    route_base = "/preferences"
    default_view = "edit"

    @expose("/", methods=["GET", "POST"])
    @has_access
    def edit(self):
        zones = time_zone_names()
        if request.method == "POST":
            chosen = request.form.get("time_zone", "")
            try:
                choose_time_zone(current_user.id, chosen)
            except InvalidInput as refused:
                flash(refused.message, "danger")
                return self.render_template("views/preferences.html", zones=zones, chosen=chosen,
                                            error=refused.message), 422
            flash(f"Times are now shown in {chosen}.", "success")
            return redirect(url_for("PreferencesView.edit"))
        return self.render_template("views/preferences.html", zones=zones, chosen=shown_time_zone(current_user.id),
                                    error=None)


def remember_preferences_at_sign_in(app) -> None:
    user_logged_in.connect(lambda _sender, user, **_extra: remember_time_zone(user.id), app, weak=False)
