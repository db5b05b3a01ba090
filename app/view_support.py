"""Building blocks shared by the back-office views."""
from __future__ import annotations

from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface

from .roles import CRU, DELETE, READ


class BackOfficeModelView(ModelView):
    """A FAB model view with explicit permissions (no implicit can_download) and 20-row pages."""

    base_permissions = list(CRU)
    page_size = 20

    @classmethod
    def for_model(cls, model):
        return SQLAInterface(model)


class ReadOnlyModelView(BackOfficeModelView):
    base_permissions = list(READ)


class DeletableModelView(BackOfficeModelView):
    base_permissions = list(CRU + DELETE)
