"""The one migration system of the station's SQLite files (`gcs.db`, `objects/meta.db`).

Each file has a named set of migrations (sqlite-utils `Migrations`: a function per step,
registered in order, applied once each inside its own transaction together with the record of
having been applied, in the `_sqlite_migrations` table). `apply()` runs the pending ones and
turns any failure into `MigrationError` with what to do; a failed step is rolled back and stays
pending.

Files made before a set used this system counted their steps in `PRAGMA user_version`
(`objects/meta.db` did): `apply(..., adopt_user_version=True)` takes such a count as "the first N
steps are applied" the first time it meets the file.
"""

from __future__ import annotations

import datetime

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations


class MigrationError(RuntimeError):
    """A schema migration failed; the database is left at the last good version."""


def _adopt_user_version(db: Database, migrations: Migrations) -> None:
    if migrations.applied(db):
        return
    count = int(db.execute("PRAGMA user_version").fetchone()[0])
    if count <= 0:
        return
    migrations.ensure_migrations_table(db)
    names = [m.name for m in migrations.pending(db)][:count]
    now = str(datetime.datetime.now(datetime.UTC))
    with db.atomic():
        for name in names:
            db["_sqlite_migrations"].insert(  # type: ignore[union-attr]
                {"migration_set": migrations.name, "name": name, "applied_at": now}
            )


def apply(
    db: Database, migrations: Migrations, what: str, *, adopt_user_version: bool = False
) -> list[str]:
    """Apply the pending migrations of `migrations` to `db`; returns the names applied.

    Raises:
        MigrationError: one failed (it was rolled back; earlier ones stay applied).
    """
    try:
        if adopt_user_version:
            _adopt_user_version(db, migrations)
        pending = [m.name for m in migrations.pending(db)]
        migrations.apply(db)
    except Exception as exc:
        raise MigrationError(
            f"could not upgrade {what}: {exc}. Nothing more was changed; keep the file and "
            "start the previous version of gcs, or move the file away to start afresh."
        ) from exc
    return pending


def run_script(db: Database, script: str) -> None:
    """Run `;`-separated SQL statements one by one (inside the migration's transaction;
    `executescript` would commit it)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)
