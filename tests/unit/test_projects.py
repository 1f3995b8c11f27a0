"""Project names (slugs) and timezones (IANA names)."""

import pytest

from pulse_common.projects import ProjectError, validate_project_name, validate_timezone


@pytest.mark.parametrize(
    "name",
    ["a", "0", "acme", "acme-prod", "0day", "a-b-c-1-2-3", "x" * 63, "a-", "9" * 63],
)
def test_valid_project_names(name: str) -> None:
    assert validate_project_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("-acme", id="leading-dash"),
        pytest.param("Acme", id="uppercase"),
        pytest.param("acme_prod", id="underscore"),
        pytest.param("acme prod", id="space"),
        pytest.param(" acme", id="leading-space"),
        pytest.param("acme.prod", id="dot"),
        pytest.param("acme/prod", id="slash"),
        pytest.param("acmé", id="non-ascii"),
        pytest.param("x" * 64, id="64-chars"),
        pytest.param("acme\n", id="trailing-newline"),
        pytest.param("acme\nprod", id="inner-newline"),
    ],
)
def test_invalid_project_names(name: str) -> None:
    with pytest.raises(ProjectError) as caught:
        validate_project_name(name)
    assert repr(name) in str(caught.value)


@pytest.mark.parametrize(
    "zone",
    ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata", "Australia/Lord_Howe", "Etc/GMT+5", "Etc/UTC"],
)
def test_valid_timezones(zone: str) -> None:
    assert validate_timezone(zone) == zone


@pytest.mark.parametrize(
    "zone",
    [
        pytest.param("", id="empty"),
        pytest.param("Mars/Olympus_Mons", id="unknown"),
        pytest.param("europe/berlin", id="wrong-case"),
        pytest.param("Europe/Berlin ", id="trailing-space"),
        pytest.param("UTC+1", id="offset"),
        pytest.param("+01:00", id="bare-offset"),
        pytest.param("CEST", id="abbreviation"),
        pytest.param("Europe", id="folder"),
        pytest.param("../etc/passwd", id="relative-path"),
        pytest.param("/etc/localtime", id="absolute-path"),
        pytest.param("posixrules", id="posixrules"),
        # Not an IANA name: the host's own zone, whatever it is (a symlink in Debian's /usr/share/zoneinfo).
        pytest.param("localtime", id="localtime"),
    ],
)
def test_invalid_timezones(zone: str) -> None:
    with pytest.raises(ProjectError) as caught:
        validate_timezone(zone)
    assert repr(zone) in str(caught.value)
    assert "IANA" in str(caught.value)


def test_project_error_is_a_value_error() -> None:
    assert issubclass(ProjectError, ValueError)
