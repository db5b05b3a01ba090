"""The web sign-in form: Flask-AppBuilder's, minus two faults.

API-only accounts (the integrator) are refused with a message that says why, instead of being signed in
to pages they may not see; and a sign-in without a ``next`` target goes to the home page without logging
an "Invalid redirect detected" warning for the redirect that was never asked for.
"""
from __future__ import annotations

from flask import flash, g, redirect, request
from flask_appbuilder import expose
from flask_appbuilder._compat import as_unicode
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.forms import LoginForm_db
from flask_appbuilder.security.views import AuthDBView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_login import login_user

from app.core.roles import is_api_only

API_ONLY_MESSAGE = (
    "{username} is an API-only account ({roles}): it cannot sign in to the web pages. Call the REST or TMF "
    "APIs with an API key or a token from POST /api/v1/auth/token instead."
)


class WebLoginView(AuthDBView):
    def _next_url(self) -> str:
        wanted = request.args.get("next", "")
        return get_safe_redirect(wanted) if wanted else self.appbuilder.get_url_for_index

    @expose("/login/", methods=["GET", "POST"])
    @no_cache
    def login(self):
        if g.user is not None and g.user.is_authenticated:
            return redirect(self._next_url())
        form = LoginForm_db()
        if form.validate_on_submit():
            next_url = self._next_url()
            user = self.appbuilder.sm.auth_user_db(form.username.data, form.password.data)
            if not user:
                flash(as_unicode(self.invalid_login_message), "warning")
                return redirect(self.appbuilder.get_url_for_login_with(next_url))
            if is_api_only(user):
                roles = ", ".join(sorted(role.name for role in user.roles))
                flash(API_ONLY_MESSAGE.format(username=user.username, roles=roles), "danger")
                return redirect(self.appbuilder.get_url_for_login)
            login_user(user, remember=False)
            return redirect(next_url)
        return self.render_template(self.login_template, title=self.title, form=form, appbuilder=self.appbuilder)
