"""load_migrations: NNNN_name.sql files of a package, in order, checksummed; gaps and misnamed files refused."""

import hashlib
import sys
import uuid
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import pytest

from pulse_common.migrations import COMPONENTS, Migration, MigrationError, all_migrations, load_migrations

MakePackage = Callable[[dict[str, str]], str]


@pytest.mark.parametrize(("component", "package"), COMPONENTS)
def test_shipped_migrations_are_numbered_from_one(component: str, package: str) -> None:
    migrations = load_migrations(component, package)
    assert migrations, f"{package} has no migrations"
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    folder = resources.files(package).joinpath("migrations")
    for migration in migrations:
        assert migration.component == component
        source = folder.joinpath(f"{migration.version:04d}_{migration.name}.sql").read_text(encoding="utf-8")
        assert migration.sql == source
        assert migration.checksum == hashlib.sha256(source.encode()).hexdigest()
        assert len(migration.checksum) == 64


def test_common_first_migration() -> None:
    first = load_migrations("common", "pulse_common")[0]
    assert (first.component, first.version, first.name) == ("common", 1, "control_and_tracking")
    assert first.sql.strip()


def test_all_migrations_in_component_order() -> None:
    components = [m.component for m in all_migrations()]
    assert components == sorted(components, key=["common", "metrics", "feedback"].index)
    assert set(components) == {"common", "metrics", "feedback"}


@pytest.mark.parametrize(
    ("sql", "checksum"),
    [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ],
)
def test_checksum_is_sha256_of_the_sql(sql: str, checksum: str) -> None:
    assert Migration("common", 1, "x", sql).checksum == checksum


@pytest.mark.parametrize(
    "edited",
    [
        "CREATE TABLE t (id int);\n",
        "CREATE TABLE t (id bigint);",
        "create table t (id int);",
        "CREATE TABLE t (id int) ;",
    ],
)
def test_checksum_changes_when_the_sql_changes(edited: str) -> None:
    original = Migration("common", 1, "t", "CREATE TABLE t (id int);")
    assert Migration("common", 1, "t", edited).checksum != original.checksum


def test_checksum_depends_only_on_the_sql() -> None:
    sql = "CREATE TABLE t (id int);"
    assert Migration("common", 1, "t", sql).checksum == Migration("metrics", 7, "other", sql).checksum


@pytest.fixture
def make_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakePackage]:
    """A throw-away package on sys.path whose migrations folder holds the given files."""
    monkeypatch.syspath_prepend(str(tmp_path))
    names: list[str] = []

    def make(files: dict[str, str]) -> str:
        name = f"pulse_tmp_{uuid.uuid4().hex}"
        package = tmp_path / name
        (package / "migrations").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        for file_name, sql in files.items():
            (package / "migrations" / file_name).write_text(sql, encoding="utf-8")
        names.append(name)
        return name

    yield make
    for name in names:
        sys.modules.pop(name, None)


def test_temporary_package_loads_in_version_order(make_package: MakePackage) -> None:
    package = make_package(
        {
            "0002_add_index.sql": "CREATE INDEX i ON t (id);",
            "0001_create_table.sql": "CREATE TABLE t (id int);",
            "0003_add_column.sql": "ALTER TABLE t ADD COLUMN x text;",
            "README.md": "not a migration",
            "notes.txt": "ignored",
        }
    )
    migrations = load_migrations("tmp", package)
    assert [(m.component, m.version, m.name) for m in migrations] == [
        ("tmp", 1, "create_table"),
        ("tmp", 2, "add_index"),
        ("tmp", 3, "add_column"),
    ]
    assert migrations[1].sql == "CREATE INDEX i ON t (id);"


def test_empty_migrations_folder_loads_nothing(make_package: MakePackage) -> None:
    assert load_migrations("tmp", make_package({})) == []


@pytest.mark.parametrize(
    ("files", "message"),
    [
        pytest.param(["0001_a.sql", "0003_c.sql"], "expected version 0002, found 0003", id="gap"),
        pytest.param(["0002_b.sql"], "expected version 0001, found 0002", id="does-not-start-at-one"),
        pytest.param(["0001_a.sql", "0001_b.sql"], "expected version 0002, found 0001", id="duplicate-version"),
        pytest.param(["0000_zero.sql", "0001_a.sql"], "expected version 0001, found 0000", id="version-zero"),
    ],
)
def test_numbering_errors(make_package: MakePackage, files: list[str], message: str) -> None:
    package = make_package(dict.fromkeys(files, "SELECT 1;"))
    with pytest.raises(MigrationError, match=message):
        load_migrations("tmp", package)


@pytest.mark.parametrize(
    "bad_name",
    [
        pytest.param("1_short.sql", id="short-number"),
        pytest.param("0002-dash.sql", id="dash-separator"),
        pytest.param("0002_Upper.sql", id="uppercase"),
        pytest.param("0002_with-dash.sql", id="dash-in-name"),
        pytest.param("0002_.sql", id="empty-name"),
        pytest.param("00002_five_digits.sql", id="five-digits"),
        pytest.param("add_table.sql", id="no-number"),
        pytest.param("0002_upper_suffix.SQL", id="uppercase-suffix"),
    ],
)
def test_misnamed_file_is_refused(make_package: MakePackage, bad_name: str) -> None:
    package = make_package({"0001_a.sql": "SELECT 1;", bad_name: "SELECT 2;"})
    with pytest.raises(MigrationError) as caught:
        load_migrations("tmp", package)
    assert bad_name in str(caught.value)
    assert "0001_what_it_does.sql" in str(caught.value)


def test_migration_error_is_a_runtime_error() -> None:
    assert issubclass(MigrationError, RuntimeError)
