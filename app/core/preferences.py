"""My settings: the signed-in user's own preferences (the time zone the pages show times in)."""
from __future__ import annotations

from flask import flash, redirect, request, session, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_login import current_user, user_logged_in

from app.core.display import SESSION_KEY, UserPreference, remember_time_zone, stored_time_zone, time_zone_names
from app.core.extensions import db


class PreferencesView(BaseView):
    route_base = "/preferences"
    default_view = "edit"

    @expose("/", methods=["GET", "POST"])
    @has_access
    def edit(self):
        zones = time_zone_names()
        if request.method == "POST":
            chosen = request.form.get("time_zone", "")
            if chosen not in zones:
                flash("Choose a time zone from the list.", "danger")
                return self.render_template("views/preferences.html", zones=zones, chosen=chosen,
                                            error="Choose a time zone from the list."), 422
            preference = db.session.get(UserPreference, current_user.id) or UserPreference(user_id=current_user.id)
            preference.time_zone = chosen
            db.session.add(preference)
            db.session.commit()
            session[SESSION_KEY] = chosen
            flash(f"Times are now shown in {chosen}.", "success")
            return redirect(url_for("PreferencesView.edit"))
        chosen = stored_time_zone(current_user.id) or session.get(SESSION_KEY) or "UTC"
        return self.render_template("views/preferences.html", zones=zones, chosen=chosen, error=None)


def remember_preferences_at_sign_in(app) -> None:
    user_logged_in.connect(lambda _sender, user, **_extra: remember_time_zone(user.id), app, weak=False)
