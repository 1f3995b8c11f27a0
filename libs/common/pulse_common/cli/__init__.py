"""The ``pulse`` command: projects and keys, migrations, projection rebuilds, and the local stack."""

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import date

from pulse_common.cli import generate, projects, rebuild, roles, stack
from pulse_common.db import DatabaseUnavailable
from pulse_common.migrations import MigrationError
from pulse_common.projects import ProjectError
from pulse_common.rebuild import RebuildFailed, RebuildRefused
from pulse_common.settings import CommonSettings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pulse", description="Pulse command-line tool")
    commands = parser.add_subparsers(dest="command", required=True)

    project = commands.add_parser("project", help="projects (tenants)").add_subparsers(dest="action", required=True)
    create = project.add_parser("create", help="create a project and print its keys once, as JSON")
    create.add_argument("name", help="slug: lowercase letters, digits and '-'")
    create.add_argument("--timezone", default="UTC", help="IANA timezone, fixed at creation (default UTC)")

    key = commands.add_parser("key", help="API keys").add_subparsers(dest="action", required=True)
    rotate = key.add_parser("rotate", help="issue a new key of a kind and print it once")
    rotate.add_argument("project")
    rotate.add_argument("kind", choices=["write", "read", "admin"])
    rotate.add_argument("--revoke-previous", action="store_true", help="revoke the project's other keys of the kind")
    revoke_key = key.add_parser("revoke", help="revoke a key, named by itself or by its id (pulse key list)")
    revoke_key.add_argument("project")
    revoke_key.add_argument("key", help="the key, or its id")
    listing = key.add_parser("list", help="a project's keys: id, kind, created, revoked")
    listing.add_argument("project")

    user = commands.add_parser("user", help="erased users").add_subparsers(dest="action", required=True)
    unsuppress = user.add_parser("unsuppress", help="accept an erased user's events again")
    unsuppress.add_argument("project")
    unsuppress.add_argument("distinct_id")

    feature = commands.add_parser("feature", help="features").add_subparsers(dest="action", required=True)
    mapping = feature.add_parser("map", help="count an event name as a feature, for events received from now on")
    mapping.add_argument("project")
    mapping.add_argument("event")
    mapping.add_argument("feature")

    segment = commands.add_parser("segment", help="traits with segment rollups").add_subparsers(
        dest="action", required=True
    )
    declare = segment.add_parser(
        "declare", help="keep rollups per value of a trait, so segment=<trait>:<value> reads are as fast as unsegmented"
    )
    drop = segment.add_parser("drop", help="stop keeping a trait's rollups (its segments are counted from the rows)")
    segment_list = segment.add_parser("list", help="the traits a project keeps rollups for")
    for command in (declare, drop, segment_list):
        command.add_argument("project")
    for command in (declare, drop):
        command.add_argument("trait")

    feedback = commands.add_parser("feedback", help="feedback").add_subparsers(dest="action", required=True)
    language = feedback.add_parser(
        "language", help="index a project's comments with a Postgres text search configuration (re-indexes them)"
    )
    language.add_argument("project")
    language.add_argument("language", help="e.g. english (default), german, french, simple")

    grafana = commands.add_parser("grafana", help="Grafana database roles").add_subparsers(dest="action", required=True)
    grant = grafana.add_parser("grant", help="let a database role read the grafana views of these projects")
    grant.add_argument("role")
    grant.add_argument("projects", nargs="+")
    grant.add_argument("--create", action="store_true", help="create the role (LOGIN, no password) if missing")
    revoke = grafana.add_parser("revoke", help="stop showing these projects to the role")
    revoke.add_argument("role")
    revoke.add_argument("projects", nargs="+")

    projections = commands.add_parser("projections", help="projections").add_subparsers(dest="action", required=True)
    projections.add_parser("list", help="the projections that can be rebuilt, and their tables")
    rebuild_cmd = projections.add_parser(
        "rebuild",
        help="replay the log from its beginning into a fresh copy and swap it in atomically (the live copy serves "
        "meanwhile); refused when the log no longer holds every event applied",
    )
    rebuild_cmd.add_argument("name", help="a projection, e.g. metrics.adoption (pulse projections list)")

    gen = commands.add_parser(
        "generate",
        help="a realistic, deterministic product history (users, features, releases with one bad one, sessions, "
        "NPS/CSAT/CES with comments) for a project",
    )
    gen.add_argument("project")
    gen.add_argument("--days", type=int, default=90, help="days of history, ending today (default 90)")
    gen.add_argument("--users", type=int, default=2000, help="users arriving over the window (default 2000)")
    gen.add_argument("--seed", type=int, default=1, help="the same seed gives the same events and ids (default 1)")
    gen.add_argument("--end", type=date.fromisoformat, default=None, help="last day, YYYY-MM-DD (default today)")
    gen.add_argument(
        "--to",
        choices=["topics", "ingest"],
        default="topics",
        help="topics: written straight to the event topics (any window); ingest: sent through the ingest API as "
        "apps send them (its horizons refuse sessions older than 5 days)",
    )
    gen.add_argument("--ingest-url", default="http://127.0.0.1:8000")
    gen.add_argument("--write-key", help="the project's write key (--to ingest)")

    commands.add_parser("migrate", help="create the database if missing and apply every migration")
    run = commands.add_parser("run", help="run one role (the container image's command)")
    run.add_argument("role", choices=roles.ROLES)

    stack_cmd = commands.add_parser("stack", help="the local stack").add_subparsers(dest="action", required=True)
    stack_up = stack_cmd.add_parser("up", help="start broker and services in the background, create the demo project")
    stack_up.add_argument("--prometheus", action="store_true", help="also run Prometheus on 127.0.0.1:9090")
    stack_cmd.add_parser("down", help="stop what `up` started")
    stack_cmd.add_parser("status", help="what is running")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = CommonSettings()
    try:
        if args.command == "project":
            created = asyncio.run(projects.create(settings, args.name, args.timezone))
            print(json.dumps(created, indent=2))
            return 0
        if args.command == "key":
            argument = getattr(args, "kind", None) or getattr(args, "key", None)
            revoke = getattr(args, "revoke_previous", False)
            print(
                json.dumps(asyncio.run(projects.keys(settings, args.action, args.project, argument, revoke)), indent=2)
            )
            return 0
        if args.command == "user":
            asyncio.run(projects.unsuppress_user(settings, args.project, args.distinct_id))
            print(json.dumps({"project": args.project, "distinct_id": args.distinct_id, "suppressed": False}))
            return 0
        if args.command == "feature":
            mapped_at = asyncio.run(projects.map_feature(settings, args.project, args.event, args.feature))
            print(
                json.dumps(
                    {
                        "project": args.project,
                        "event": args.event,
                        "feature": args.feature,
                        "from": mapped_at.isoformat(),
                    }
                )
            )
            return 0
        if args.command == "segment":
            print(
                json.dumps(
                    asyncio.run(projects.segments(settings, args.action, args.project, args.__dict__.get("trait")))
                )
            )
            return 0
        if args.command == "feedback":
            reindexed = asyncio.run(projects.set_feedback_language(settings, args.project, args.language))
            print(json.dumps({"project": args.project, "language": args.language, "comments_reindexed": reindexed}))
            return 0
        if args.command == "grafana":
            create = getattr(args, "create", False)
            removed = asyncio.run(projects.grafana_access(settings, args.action, args.role, args.projects, create))
            print(json.dumps({"role": args.role, "projects": args.projects, "action": args.action, "removed": removed}))
            return 0
        if args.command == "generate":
            summary = asyncio.run(
                generate.generate(
                    settings,
                    args.project,
                    days=args.days,
                    users=args.users,
                    seed=args.seed,
                    last_day=args.end,
                    to=args.to,
                    ingest_url=args.ingest_url,
                    write_key=args.write_key,
                )
            )
            print(json.dumps(summary, indent=2))
            return 0
        if args.command == "projections":
            if args.action == "list":
                print(json.dumps(rebuild.listing(), indent=2))
                return 0
            print(json.dumps(asyncio.run(rebuild.rebuild(settings, args.name)), indent=2))
            return 0
        if args.command == "run" and args.role != "migrate":
            roles.exec_service(args.role)
        if args.command in ("migrate", "run"):
            for line in asyncio.run(projects.migrate(settings)):
                print(line)
            return 0
        if args.command == "stack":
            if args.action == "up":
                return stack.up(settings, prometheus=args.prometheus)
            return {"down": stack.down, "status": stack.status}[args.action](settings)
    except (ProjectError, DatabaseUnavailable, MigrationError, stack.StackError, RebuildRefused, RebuildFailed) as exc:
        print(f"pulse: {exc}", file=sys.stderr)
        return 1
    return 2
