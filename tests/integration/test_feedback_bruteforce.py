"""Every feedback endpoint against a brute-force recomputation from the raw events of a random history: responses
of three kinds with and without comments, features, releases, channels and surveys; identify traits that change
over time (one arriving after the responses it restates); feature use; sessions that crash, exit, or crash after
exiting; a DST change; then a user's deletion and a change of the comments' language."""

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from pulse_common.events import FeedbackResponded, SessionUpdated, UsageEventRecorded, UserDeleted
from pulse_common.periods import local_midnight, period_start
from pulse_common.settings import CommonSettings
from pulse_feedback.app import create_app
from pulse_feedback.figures import figures
from pulse_feedback.language import set_language
from pulse_feedback.projections.crashes import CrashesProjection
from pulse_feedback.projections.satisfaction import SatisfactionProjection
from pulse_feedback.projections.term_packer import pack_changed_days
from pulse_feedback.projections.usage_context import UsageContextProjection
from pulse_feedback.queries import themes as queries_themes
from pulse_feedback.routes.satisfaction import SIDES
from pulse_feedback.scores import Kind
from pulse_feedback.settings import FeedbackSettings
from pulse_feedback.themes import top_terms, weighted_log_odds
from tests.helpers import create_topic, produce_events
from tests.integration.harness import running, wait_applied
from tests.integration.ingest_app import new_project

ZONE = ZoneInfo("America/New_York")  # DST ends on 2026-11-01
START = datetime(2026, 10, 28, 3, tzinfo=UTC)
FIRST, LAST = date(2026, 10, 28), date(2026, 11, 4)
WORDS = ("crash", "crashes", "slow", "login", "fast", "love", "export", "easy", "the", "sync", "fails")
FEATURES = ("export", "search", None)
SCALES: dict[Kind, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


@dataclass
class History:
    responses: list[FeedbackResponded]
    usage: list[UsageEventRecorded]
    sessions: list[SessionUpdated]


def random_history(project: str, seed: int = 11, count: int = 360) -> History:
    rng = random.Random(seed)
    users = [f"u{i}" for i in range(25)]
    span = (datetime(2026, 11, 5, 4, tzinfo=UTC) - START).total_seconds()

    def when() -> datetime:
        return START + timedelta(seconds=rng.random() * span)

    responses = []
    for i in range(count):
        kind: Kind = rng.choice(("nps", "nps", "csat", "ces"))
        low, high = SCALES[kind]
        comment = " ".join(rng.choices(WORDS, k=rng.randrange(1, 5))) if rng.random() < 0.7 else None
        at = when()
        responses.append(
            FeedbackResponded(
                event_id=uuid.uuid4(),
                project=project,
                received_at=at,
                message_id=f"m{i}",
                distinct_id=rng.choice(users),
                kind=kind,
                score=rng.randint(low, high),
                comment=comment,
                feature=rng.choice(FEATURES),
                release=rng.choice(("1.0", "2.0", None)),
                channel=rng.choice(("in_app", "email")),
                survey=rng.choice(("q4", None)),
                timestamp=at,
            )
        )
    usage = []
    for user in users:
        for _ in range(rng.randrange(0, 3)):
            at = when()
            usage.append(
                UsageEventRecorded(
                    event_id=uuid.uuid4(),
                    project=project,
                    received_at=at,
                    type="identify",
                    distinct_id=user,
                    user_id=user,
                    timestamp=at,
                    traits={"plan": rng.choice(("free", "pro")), "seats": rng.randrange(1, 4)},
                )
            )
        if rng.random() < 0.6:
            at = when()
            usage.append(
                UsageEventRecorded(
                    event_id=uuid.uuid4(),
                    project=project,
                    received_at=at,
                    type="track",
                    name="Clicked",
                    distinct_id=user,
                    user_id=user,
                    timestamp=at,
                    properties={"feature": rng.choice(("export", "search"))},
                )
            )
    sessions = []
    for s in range(60):
        user = rng.choice(users)
        started = when()
        final = rng.choice(("exited", "crashed", "exited"))
        updates = [("ok", started), (final, started + timedelta(minutes=3))]
        if final == "exited" and rng.random() < 0.4:
            updates.append(("crashed", started + timedelta(minutes=4)))  # after exit: ignored
        for status, at in updates:
            sessions.append(
                SessionUpdated(
                    event_id=uuid.uuid4(),
                    project=project,
                    received_at=at,
                    session_id=f"s{s}",
                    distinct_id=user,
                    init=status == "ok",
                    started=started,
                    timestamp=at,
                    status=status,  # type: ignore[arg-type]
                    release="1.0",
                )
            )
    return History(responses, usage, sessions)


def day_of(at: datetime) -> date:
    return at.astimezone(ZONE).date()


def day_end(at: datetime) -> datetime:
    return local_midnight(day_of(at) + timedelta(days=1), ZONE)


class Reference:
    """The figures recomputed from the raw events."""

    def __init__(self, history: History, deleted: frozenset[str] = frozenset()) -> None:
        self.responses = [r for r in history.responses if r.distinct_id not in deleted]
        self.identifies = [u for u in history.usage if u.type == "identify" and u.distinct_id not in deleted]
        self.first_use: dict[tuple[str, str], datetime] = {}
        for u in history.usage:
            if u.type == "track" and u.distinct_id not in deleted:
                key = (u.distinct_id, u.properties["feature"])
                self.first_use[key] = min(self.first_use.get(key, u.timestamp), u.timestamp)
        # Sentry semantics: the first terminal state is final.
        final: dict[str, tuple[str, SessionUpdated]] = {}
        for s in history.sessions:
            if s.status != "ok" and s.session_id not in final:
                final[s.session_id] = (s.status, s)
        self.crash_days = {
            (s.distinct_id, day_of(s.started))
            for status, s in final.values()
            if status == "crashed" and s.distinct_id not in deleted
        }

    def traits_of(self, response: FeedbackResponded) -> dict[str, Any]:
        latest: dict[str, tuple[datetime, Any]] = {}
        end = day_end(response.timestamp)
        for u in self.identifies:
            if u.distinct_id == response.distinct_id and u.timestamp < end:
                for trait, value in u.traits.items():
                    if trait not in latest or latest[trait][0] < u.timestamp:
                        latest[trait] = (u.timestamp, value)
        return {trait: value for trait, (_, value) in latest.items()}

    def chosen(self, kind: str, keep: Callable[[FeedbackResponded], bool]) -> list[FeedbackResponded]:
        return [r for r in self.responses if r.kind == kind and FIRST <= day_of(r.timestamp) <= LAST and keep(r)]

    def histogram(self, responses: list[FeedbackResponded]) -> Counter[int]:
        return Counter(r.score for r in responses)

    def group_of(self, by: str, r: FeedbackResponded) -> Any:
        if by in ("feature", "release", "channel", "survey"):
            return getattr(r, by)
        if by.startswith("trait:"):
            value = self.traits_of(r).get(by.removeprefix("trait:"))
            return None if value is None else str(value)
        if by == "experience:crash":
            crashed = any(u == r.distinct_id and FIRST <= d <= LAST for u, d in self.crash_days)
            return "crashed" if crashed else "not_crashed"
        feature = by.removeprefix("experience:adopted:")
        first = self.first_use.get((r.distinct_id, feature))
        return "adopters" if first is not None and first < day_end(r.timestamp) else "non_adopters"


def series_of(ref: Reference, kind: Kind, interval: str, responses: list[FeedbackResponded]) -> dict[str, Any]:
    periods: dict[date, Counter[int]] = {}
    for r in responses:
        periods.setdefault(period_start(day_of(r.timestamp), interval), Counter())[r.score] += 1  # type: ignore[arg-type]
    return {p.isoformat(): figures(kind, h) for p, h in periods.items()}


async def check_everything(client: httpx.AsyncClient, project: str, ref: Reference) -> None:
    window = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
    base = f"/v1/projects/{project}"

    async def get(path: str, **params: Any) -> dict[str, Any]:
        answer = await client.get(base + path, params={**window, **params})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    filters: list[tuple[dict[str, str], Callable[[FeedbackResponded], bool]]] = [
        ({}, lambda r: True),
        ({"feature": "export"}, lambda r: r.feature == "export"),
        ({"release": "2.0"}, lambda r: r.release == "2.0"),
        ({"survey": "q4"}, lambda r: r.survey == "q4"),
        ({"channel": "email", "feature": "search"}, lambda r: r.channel == "email" and r.feature == "search"),
        ({"segment": "plan:pro"}, lambda r: ref.traits_of(r).get("plan") == "pro"),
        ({"segment": "seats:2", "release": "1.0"}, lambda r: ref.traits_of(r).get("seats") == 2 and r.release == "1.0"),
    ]
    for kind in ("nps", "csat", "ces"):
        for params, keep in filters:
            chosen = ref.chosen(kind, keep)
            for interval in ("day", "week"):
                body = await get(f"/satisfaction/{kind}", interval=interval, **params)
                assert body["window"] == figures(kind, ref.histogram(chosen)), (kind, params)
                got = {
                    p["period"]: {k: v for k, v in p.items() if k not in ("period", "complete")} for p in body["series"]
                }
                expected = series_of(ref, kind, interval, chosen)
                assert {p: f for p, f in got.items() if f["n"]} == expected, (kind, params, interval)
        bys = ["feature", "release", "channel", "survey", "trait:plan", "trait:seats", "trait:tier", "experience:crash"]
        bys += ["experience:adopted:export", "experience:adopted:search"]
        for by in bys:
            groups: dict[Any, list[FeedbackResponded]] = {}
            for r in ref.chosen(kind, lambda r: True):
                groups.setdefault(ref.group_of(by, r), []).append(r)
            body = await get(f"/satisfaction/{kind}/breakdown", by=by, min_n=10)
            got_groups = {
                g["group"]: {k: v for k, v in g.items() if k not in ("group", "small")} for g in body["groups"]
            }
            assert got_groups == {g: figures(kind, ref.histogram(rs)) for g, rs in groups.items()}, (kind, by)
            assert [g["n"] for g in body["groups"]] == sorted((g["n"] for g in body["groups"]), reverse=True)
            assert all(g["small"] == (g["n"] < 10) for g in body["groups"])

    # Verbatims: every page of a filtered listing, newest first, without gaps or repeats.
    expected = sorted(
        (r for r in ref.responses if r.comment and 3 <= r.score <= 8 and FIRST <= day_of(r.timestamp) <= LAST),
        key=lambda r: (r.timestamp, str(r.event_id)),
        reverse=True,
    )
    seen: list[str] = []
    cursor = None
    while True:
        page = await get("/responses", min_score=3, max_score=8, limit=7, **({"cursor": cursor} if cursor else {}))
        for item in page["responses"]:
            assert item["traits"] == ref.traits_of(
                next(r for r in ref.responses if str(r.event_id) == item["response_id"])
            )
        seen += [item["response_id"] for item in page["responses"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(r.event_id) for r in expected]


async def check_rollups_match_rows(pool: asyncpg.Pool, project: str) -> None:
    """The score-day and term-day rollups equal their recomputation from the stored responses."""
    mismatched = await pool.fetchval(
        """
        WITH expected AS (
            SELECT kind, d.dimension, d.value, day, score, count(*) AS responses FROM feedback.responses r,
            LATERAL (VALUES ('', ''), ('feature', coalesce(feature, '')), ('release', coalesce(release, '')),
                            ('channel', coalesce(channel, '')), ('survey', coalesce(survey, ''))
                     UNION ALL SELECT 'trait:' || key, value #>> '{}' FROM jsonb_each(r.traits)
                     UNION ALL SELECT 'adopted', f FROM unnest(r.adopted) AS f) AS d(dimension, value)
            WHERE project = $1 GROUP BY 1, 2, 3, 4, 5
        )
        SELECT count(*) FROM expected e
        FULL JOIN (SELECT * FROM feedback.score_days WHERE project = $1 AND responses <> 0) s
          USING (kind, dimension, value, day, score)
        WHERE e.responses IS DISTINCT FROM s.responses
        """,
        project,
    )
    assert mismatched == 0
    terms = await pool.fetchval(
        """
        WITH words AS (
            SELECT r.response_id, r.kind, r.day, r.side, w.lexeme, p.pos
            FROM feedback.responses r, unnest(r.comment_search) w, unnest(w.positions) p(pos) WHERE r.project = $1
        ), expected AS (
            SELECT kind, day, side, term, count(*) AS responses FROM (
                SELECT response_id, kind, day, side, lexeme AS term FROM words
                UNION SELECT a.response_id, a.kind, a.day, a.side, a.lexeme || ' ' || b.lexeme
                FROM words a JOIN words b ON b.response_id = a.response_id AND b.pos = a.pos + 1
            ) t GROUP BY 1, 2, 3, 4
        )
        SELECT count(*) FROM expected e
        FULL JOIN (SELECT * FROM feedback.term_days WHERE project = $1 AND responses <> 0) s
          USING (kind, day, side, term)
        WHERE e.responses IS DISTINCT FROM s.responses
        """,
        project,
    )
    assert terms == 0


async def check_themes(client: httpx.AsyncClient, pool: asyncpg.Pool, project: str) -> None:
    """Themes equal the definition (themes.weighted_log_odds, top_terms) applied to term counts recomputed from the
    stored comments, whatever mix of packed and changed days the window holds."""
    checked = 0
    for kind in ("nps", "csat", "ces"):
        for first, last in ((FIRST, LAST), (FIRST + timedelta(days=2), LAST - timedelta(days=1))):
            rows = await pool.fetch(
                """
                WITH words AS (
                    SELECT r.response_id, r.responded_at, r.side, w.lexeme, p.pos
                    FROM feedback.responses r, unnest(r.comment_search) w, unnest(w.positions) p(pos)
                    WHERE r.project = $1 AND r.kind = $2 AND r.day BETWEEN $3 AND $4
                )
                SELECT response_id, responded_at, side, lexeme AS term FROM words
                UNION SELECT a.response_id, a.responded_at, a.side, a.lexeme || ' ' || b.lexeme
                FROM words a JOIN words b ON b.response_id = a.response_id AND b.pos = a.pos + 1
                """,
                project,
                kind,
                first,
                last,
            )
            sides: dict[str, Counter[str]] = {"bad": Counter(), "neutral": Counter(), "good": Counter()}
            newest: dict[tuple[str, str], list[tuple[datetime, str]]] = {}
            for r in rows:
                sides[r["side"]][r["term"]] += 1
                newest.setdefault((r["side"], r["term"]), []).append((r["responded_at"], str(r["response_id"])))
            prior = sides["bad"] + sides["neutral"] + sides["good"]
            scores = weighted_log_odds(sides["bad"], sides["good"], prior)
            for limit, min_count in ((15, 3), (100, 1)):
                bad, good = top_terms(scores, limit=limit, min_count=min_count)
                answer = await client.get(
                    f"/v1/projects/{project}/satisfaction/{kind}/themes",
                    params={"from": first.isoformat(), "to": last.isoformat(), "limit": limit, "min_count": min_count},
                )
                assert answer.status_code == 200, answer.text
                body = answer.json()
                bad_name, good_name = SIDES[kind]
                assert [(t["term"], t["z"]) for t in body[bad_name]] == [(t.term, round(t.z, 3)) for t in bad]
                assert [(t["term"], t["z"]) for t in body[good_name]] == [(t.term, round(-t.z, 3)) for t in good]
                assert [t[bad_name] for t in body[bad_name]] == [t.count for t in bad]
                for side, name, chosen in (("bad", bad_name, bad), ("good", good_name, good)):
                    for listed, term in zip(body[name], chosen, strict=True):
                        expected = [i for _, i in sorted(newest[(side, term.term)], reverse=True)[:2]]
                        assert [e["response_id"] for e in listed["examples"]] == expected, (side, term.term)
                checked += len(bad) + len(good)
    assert checked > 0


async def pack_everything(pool: asyncpg.Pool) -> None:
    while await pack_changed_days(pool):
        pass
    assert await pool.fetchval("SELECT count(*) FROM feedback.term_days_changed") == 0


async def stop_word_counted(pool: asyncpg.Pool, project: str) -> int:
    count: int = await pool.fetchval(
        "SELECT coalesce(sum(responses), 0) FROM feedback.term_days WHERE project = $1 AND term = 'the'", project
    )
    return count


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


async def test_feedback_endpoints_equal_a_brute_force_recomputation(
    settings: CommonSettings, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = await new_project(pool, timezone="America/New_York")
    history = random_history(project.project)
    # Sent once everything else is applied: it sets a trait before every response of its user.
    late_identify = UsageEventRecorded(
        event_id=uuid.uuid4(),
        project=project.project,
        received_at=START,
        type="identify",
        distinct_id=history.responses[5].distinct_id,
        timestamp=START,
        traits={"tier": "gold"},
    )
    feedback_topic, usage_topic, sessions_topic = [
        await create_topic(settings.kafka_bootstrap, partitions=3) for _ in range(3)
    ]
    app = create_app(FeedbackSettings(database_url=settings.database_url, kafka_bootstrap=settings.kafka_bootstrap))
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(
            running(
                settings,
                pool,
                feedback_topic,
                group="fb-sat",
                projection=SatisfactionProjection(pool, topic=feedback_topic),
            )
        )
        await stack.enter_async_context(
            running(
                settings,
                pool,
                usage_topic,
                group="fb-usage",
                projection=UsageContextProjection(pool, topic=usage_topic),
            )
        )
        await stack.enter_async_context(
            running(
                settings,
                pool,
                sessions_topic,
                group="fb-crash",
                projection=CrashesProjection(pool, topic=sessions_topic),
            )
        )
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://feedback",
                headers={"Authorization": f"Bearer {project.read_key}"},
            )
        )
        # A repeated messageId is one response: the retry carries the same event id.
        retried = history.responses[0]
        await asyncio.gather(
            produce_events(settings.kafka_bootstrap, feedback_topic, [*history.responses, retried]),
            produce_events(settings.kafka_bootstrap, usage_topic, history.usage),
            produce_events(settings.kafka_bootstrap, sessions_topic, history.sessions),
        )
        await wait_applied(pool, SatisfactionProjection.name, feedback_topic, len(history.responses) + 1)
        await wait_applied(pool, UsageContextProjection.name, usage_topic, len(history.usage))
        await wait_applied(pool, CrashesProjection.name, sessions_topic, len(history.sessions))
        await check_everything(
            client, project.project, Reference(History(history.responses, history.usage, history.sessions))
        )
        # Themes from term_days alone (nothing packed yet), then from packed days alone.
        await check_themes(client, pool, project.project)
        await pack_everything(pool)
        await check_themes(client, pool, project.project)
        # Examples a few newest comments do not hold come from all of the window's.
        monkeypatch.setattr(queries_themes, "RECENT_COMMENTS", 3)
        await check_themes(client, pool, project.project)
        monkeypatch.undo()

        # An identify arriving after the responses it concerns restates their traits.
        await produce_events(settings.kafka_bootstrap, usage_topic, [late_identify])
        history.usage.append(late_identify)
        await wait_applied(pool, UsageContextProjection.name, usage_topic, len(history.usage))
        await check_everything(client, project.project, Reference(history))
        await check_rollups_match_rows(pool, project.project)

        # A deletion removes the user from every figure, rollups included.
        gone = history.responses[1].distinct_id
        deletion = UserDeleted(
            event_id=uuid.uuid4(), project=project.project, received_at=datetime.now(UTC), distinct_id=gone
        )
        for topic in (feedback_topic, usage_topic, sessions_topic):
            await produce_events(settings.kafka_bootstrap, topic, [deletion])
        await wait_applied(pool, SatisfactionProjection.name, feedback_topic, len(history.responses) + 2)
        await wait_applied(pool, UsageContextProjection.name, usage_topic, len(history.usage) + 1)
        await wait_applied(pool, CrashesProjection.name, sessions_topic, len(history.sessions) + 1)
        await check_everything(client, project.project, Reference(history, frozenset({gone})))
        await check_rollups_match_rows(pool, project.project)
        # The deleted user's days changed since packed: themes from a mix of packed and changed days.
        changed = "SELECT count(*) FROM feedback.term_days_changed WHERE project = $1"
        packed = "SELECT count(*) FROM feedback.term_day_vectors WHERE project = $1"
        assert 0 < await pool.fetchval(changed, project.project) < await pool.fetchval(packed, project.project)
        await check_themes(client, pool, project.project)
        for table in ("responses", "trait_changes", "feature_adopters", "crash_days", "session_states"):
            assert await pool.fetchval(f"SELECT count(*) FROM feedback.{table} WHERE distinct_id = $1", gone) == 0

        # English stems "crashes" to "crash"; the simple configuration does not: search follows the language.
        params = {"from": FIRST.isoformat(), "to": LAST.isoformat(), "q": "crashes", "limit": 500}

        def mentioning(words: set[str]) -> set[str]:
            return {
                str(r.event_id)
                for r in Reference(history, frozenset({gone})).responses
                if r.comment and words & set(r.comment.split()) and FIRST <= day_of(r.timestamp) <= LAST
            }

        found = (await client.get(f"/v1/projects/{project.project}/responses", params=params)).json()["responses"]
        assert {r["response_id"] for r in found} == mentioning({"crash", "crashes"})
        assert await stop_word_counted(pool, project.project) == 0
        async with pool.acquire() as conn:
            await set_language(conn, project.project, "simple")
        found = (await client.get(f"/v1/projects/{project.project}/responses", params=params)).json()["responses"]
        assert {r["response_id"] for r in found} == mentioning({"crashes"})
        await check_rollups_match_rows(pool, project.project)
        # ... and so do themes: "the" is a stop word in English, a word like any other in the simple configuration.
        assert await stop_word_counted(pool, project.project) > 0
        await check_themes(client, pool, project.project)
        await pack_everything(pool)
        await check_themes(client, pool, project.project)
