"""Which metrics projections a consumer process runs (PULSE_CONSUMER_PROJECTIONS)."""

from typing import Any

import pytest

from pulse_metrics.consumer import named_factories, projection_factories
from pulse_metrics.settings import MetricsSettings

NO_POOL: Any = None  # the projections only keep it


def test_each_factory_is_named_as_its_projection() -> None:
    for name, factory in named_factories(MetricsSettings()).items():
        assert factory(NO_POOL).name == name


def test_a_process_runs_every_projection_or_those_it_names() -> None:
    every = projection_factories(MetricsSettings())
    assert len(every) == 4
    chosen = projection_factories(MetricsSettings(consumer_projections="metrics.adoption, metrics.rejections"))
    assert sorted(f(NO_POOL).name for f in chosen) == ["metrics.adoption", "metrics.rejections"]


def test_an_unknown_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"no projection named metrics\.adopton; known: metrics\.daily_events"):
        projection_factories(MetricsSettings(consumer_projections="metrics.adopton"))
