"""The generated product's vocabulary: features, pages, traits, and the comment themes of each score class."""

from __future__ import annotations

_OBJECTS = ("Dashboard", "Report", "Chart", "Filter", "Alert", "Export", "Segment", "Funnel", "Cohort", "Annotation")
_ACTIONS = ("Viewed", "Created", "Shared", "Edited", "Scheduled")

# 50 features: every object with every action, the most used first (Zipf popularity by this order).
FEATURES: tuple[str, ...] = tuple(f"{o} {a}" for a in _ACTIONS for o in _OBJECTS)
PAGES = ("Home", "Projects", "Settings", "Billing", "Team", "Integrations")

PLANS = (("free", 0.70), ("pro", 0.25), ("enterprise", 0.05))
COUNTRIES = (("US", 0.35), ("DE", 0.15), ("GB", 0.12), ("FR", 0.10), ("IN", 0.12), ("BR", 0.08), ("JP", 0.08))
PERSONAS = (("maker", 0.35), ("manager", 0.25), ("viewer", 0.40))
# Which actions each persona favours (the rest at 0.3).
AFFINITY = {
    "maker": {"Created": 1.6, "Edited": 1.5},
    "manager": {"Shared": 1.6, "Scheduled": 1.5},
    "viewer": {"Viewed": 1.8},
}

# Comment themes per score class; "{feature}" is one the respondent used.
DETRACTOR_THEMES = (
    "The app keeps crashing since the last update",
    "It crashed twice while I was using {feature}",
    "{feature} is far too slow to load",
    "Export is broken again and support did not answer",
    "Too expensive for what we get",
)
PASSIVE_THEMES = (
    "{feature} is fine but could be faster",
    "Good overall, missing a dark mode",
    "Would like more integrations",
    "Works, but the navigation is confusing",
)
PROMOTER_THEMES = (
    "Love {feature}",
    "{feature} saves me hours every week",
    "Great support team, quick answers",
    "The new {feature} is excellent",
    "Easy to use and reliable",
)
