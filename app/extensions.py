"""Flask extensions, created unbound; `create_app` binds them."""
from functools import cached_property

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints so Alembic migrations are stable across SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Migrations:
    """Flask-Migrate's entry in app.extensions without importing it: Flask-Migrate and Alembic are
    11 MB that only `quorum serve`'s start and `quorum db …` use, never a web worker or the background
    process. Its upgrade() and the `db` commands import it when they run (migrations/env.py reads
    `db` and `configure_args`, as from Flask-Migrate's own entry)."""

    def init_app(self, app, db, *, directory: str, render_as_batch: bool = True) -> None:
        app.extensions["migrate"] = _MigrationsConfig(db, directory,
                                                      {"compare_type": True, "render_as_batch": render_as_batch})


class _MigrationsConfig:
    def __init__(self, db, directory: str, configure_args: dict):
        self.db, self.directory, self.configure_args = db, directory, configure_args

    @cached_property
    def migrate(self):
        from flask_migrate import Migrate

        return Migrate(db=self.db, directory=self.directory, **self.configure_args)

    @property
    def metadata(self):
        return self.db.metadata


db = SQLAlchemy(model_class=Base)
migrate = Migrations()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
