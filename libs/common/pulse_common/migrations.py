"""Versioned plain-SQL migrations, applied once each, in order, under an advisory lock, checksummed.

Each component (``common``, ``metrics``, ``feedback``) keeps ``NNNN_name.sql`` files in its package's
``migrations`` folder. An applied migration whose file was edited afterwards is refused: write a new one instead.
"""

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

log = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# One lock for every Pulse component, so concurrent `migrate` runs queue instead of racing.
_LOCK_KEY = 0x50554C5345  # "PULSE"


class MigrationError(RuntimeError):
    """The migrations on disk and those applied to the database disagree."""


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(component: str, package: str) -> list[Migration]:
    """Read ``package``'s ``migrations`` folder, refusing gaps, duplicates and misnamed files."""
    folder = resources.files(package).joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        if not entry.name.lower().endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"{package}/migrations/{entry.name}: name must look like 0001_what_it_does.sql")
        found.append(Migration(component, int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"{package}/migrations: expected version {expected:04d}, found {migration.version:04d}"
            )
    return found


async def apply_migrations(conn: asyncpg.Connection, migrations: list[Migration]) -> list[Migration]:
    """Apply what is not applied yet; return what was applied now."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS public.pulse_schema_migrations (
                component  text        NOT NULL,
                version    integer     NOT NULL,
                name       text        NOT NULL,
                checksum   text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (component, version)
            )
            """
        )
        rows = await conn.fetch("SELECT component, version, name, checksum FROM public.pulse_schema_migrations")
        applied = {(r["component"], r["version"]): r for r in rows}
        done: list[Migration] = []
        for migration in migrations:
            previous = applied.get((migration.component, migration.version))
            if previous is not None:
                if previous["checksum"] != migration.checksum:
                    raise MigrationError(
                        f"{migration.component} migration {migration.version:04d}_{previous['name']} was applied "
                        "and has been edited since; add a new migration instead of changing an applied one"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO public.pulse_schema_migrations (component, version, name, checksum) "
                    "VALUES ($1, $2, $3, $4)",
                    migration.component,
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            log.info("applied migration %s %04d_%s", migration.component, migration.version, migration.name)
            done.append(migration)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


# Every component's migrations, in the order they must be applied.
COMPONENTS: tuple[tuple[str, str], ...] = (
    ("common", "pulse_common"),
    ("metrics", "pulse_metrics"),
    ("feedback", "pulse_feedback"),
)


def all_migrations() -> list[Migration]:
    return [m for component, package in COMPONENTS for m in load_migrations(component, package)]
