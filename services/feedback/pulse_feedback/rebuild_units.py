"""The feedback service's projections as `pulse projections rebuild` knows them. They are one unit: the usage
context projection writes the context of the responses the satisfaction projection writes, so the two are only
faithful rebuilt together (crashes come along, being read beside them)."""

from pulse_common.rebuild import RebuildUnit
from pulse_feedback.consumer import projection_factories
from pulse_feedback.settings import FeedbackSettings

FEEDBACK_TABLES = tuple(
    f"feedback.{t}"
    for t in (
        "crash_days",
        "feature_adopters",
        "responses",
        "score_days",
        "session_states",
        "term_day_vectors",
        "term_days",
        "term_days_changed",
        "terms",
        "trait_changes",
    )
)


def rebuild_units(settings: FeedbackSettings) -> list[RebuildUnit]:
    return [
        RebuildUnit(
            "feedback",
            projection_factories(settings),
            FEEDBACK_TABLES,
            inputs=("feedback.text_settings",),  # a project's comment language: a setting, not a projection
            also_named=("feedback.satisfaction", "feedback.usage_context", "feedback.crashes"),
        )
    ]
