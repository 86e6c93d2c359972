"""Settings from the environment: clear errors for bad values."""

import pytest

from gridsvc.kernel.config import Settings


def test_settings_from_env():
    settings = Settings.from_env({"GRIDSVC_BOUNDARY_TOLERANCE_M": "2.5", "GRIDSVC_DATABASE_URL": "sqlite:///x"})
    assert settings.boundary_tolerance_m == 2.5 and settings.database_url == "sqlite:///x"
    assert Settings.from_env({}) == Settings()


def test_the_arrival_limit_is_metres_from_its_variable():
    assert Settings().arrival_max_distance_m == 300.0
    assert Settings.from_env({"GRIDSVC_ARRIVAL_MAX_DISTANCE_M": "500"}).arrival_max_distance_m == 500.0
    with pytest.raises(ValueError, match="GRIDSVC_ARRIVAL_MAX_DISTANCE_M must be zero or more"):
        Settings.from_env({"GRIDSVC_ARRIVAL_MAX_DISTANCE_M": "-1"})


@pytest.mark.parametrize("value,reason", [
    ("abc", "must be a number"),
    ("-1", "must be zero or more"),
    ("inf", "must be zero or more"),
])
def test_bad_settings_name_the_variable(value, reason):
    with pytest.raises(ValueError, match=f"GRIDSVC_NEAREST_MAX_DISTANCE_M {reason}"):
        Settings.from_env({"GRIDSVC_NEAREST_MAX_DISTANCE_M": value})
