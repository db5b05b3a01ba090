"""Extension objects shared by the app factory, models and commands (bound per app in create_app)."""
from flask_appbuilder.models.sqla import Model
from flask_appbuilder.utils.legacy import get_sqla_class
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

db = get_sqla_class()()
migrate = Migrate()
csrf = CSRFProtect()

# One metadata for FAB's security tables and ours, so a single migration history covers both.
metadata = Model.metadata
