"""Settings from the environment: clear errors for bad values."""

import pytest

from gridsvc.kernel.config import Settings


def test_settings_from_env():
    settings = Settings.from_env({"GRIDSVC_BOUNDARY_TOLERANCE_M": "2.5", "GRIDSVC_DATABASE_URL": "sqlite:///x"})
    assert settings.boundary_tolerance_m == 2.5 and settings.database_url == "sqlite:///x"
    assert Settings.from_env({}) == Settings()


@pytest.mark.parametrize("value,reason", [
    ("abc", "must be a number"),
    ("-1", "must be zero or more"),
    ("inf", "must be zero or more"),
])
def test_bad_settings_name_the_variable(value, reason):
    with pytest.raises(ValueError, match=f"GRIDSVC_NEAREST_MAX_DISTANCE_M {reason}"):
        Settings.from_env({"GRIDSVC_NEAREST_MAX_DISTANCE_M": value})
