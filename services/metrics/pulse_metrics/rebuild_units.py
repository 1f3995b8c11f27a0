"""The metrics service's projections as `pulse projections rebuild` knows them: each with the tables it alone
writes (a rebuild replaces them whole; one the list misses makes the rebuild refuse)."""

from pulse_common.rebuild import RebuildUnit
from pulse_metrics.consumer import named_factories
from pulse_metrics.settings import MetricsSettings

ADOPTION_TABLES = tuple(
    f"metrics.{t}"
    for t in (
        "activity_links",
        "adoption_delays",
        "cohort_periods",
        "feature_adopters",
        "feature_day_events",
        "feature_links",
        "identity_links",
        "segment_activity_links",
        "segment_adoption_delays",
        "segment_cohort_periods",
        "segment_feature_day_events",
        "segment_feature_links",
        "trait_history",
        "user_days",
        "user_feature_days",
        "user_traits",
        "users",
    )
)
RELEASE_HEALTH_TABLES = tuple(
    f"metrics.{t}"
    for t in (
        "environment_recent_user_links",
        "release_hours",
        "release_recent_user_links",
        "release_user_hours",
        "release_user_links",
        "session_aggregates",
        "sessions",
    )
)


def rebuild_units(settings: MetricsSettings) -> list[RebuildUnit]:
    factories = named_factories(settings)
    return [
        RebuildUnit(
            "metrics.daily_events",
            [factories["metrics.daily_events"]],
            ("metrics.daily_event_counts", "metrics.user_event_days"),
        ),
        RebuildUnit("metrics.rejections", [factories["metrics.rejections"]], ("metrics.rejections",)),
        # The declared segment traits are settings: kept, and the replay rebuilds their rollups.
        RebuildUnit(
            "metrics.adoption", [factories["metrics.adoption"]], ADOPTION_TABLES, inputs=("metrics.segment_traits",)
        ),
        RebuildUnit("metrics.release_health", [factories["metrics.release_health"]], RELEASE_HEALTH_TABLES),
    ]
