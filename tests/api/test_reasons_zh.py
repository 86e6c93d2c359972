"""Every reason in a 422's `fields` reads "zh / English" (gridsvc.web.reasons_zh), so the command screen, which
shows only the Chinese half, never shows marshmallow's English."""

import pytest

from gridsvc.web.reasons_zh import bilingual


@pytest.mark.parametrize("english, chinese", [
    ("Missing data for required field.", "必填"),
    ("Not a valid number.", "须为数字"),
    ("Not a valid datetime.", "须为有效的时间"),
    ("Length must be between 1 and 24.", "长度须在 1–24 之间"),
    ("Longer than maximum length 2000.", "长度不得超过 2000"),
    ("Must be greater than or equal to 1 and less than or equal to 500.", "须在 1 至 500 之间"),
    ("Must be one of: gps, map, grid.", "须为以下之一：gps, map, grid"),
    ("a 15-digit grid code", "取值无效"),  # a schema's own English: no Chinese of its own
])
def test_marshmallows_reasons_get_their_chinese_half(english, chinese):
    assert bilingual(english) == f"{chinese} / {english}"


def test_a_reason_with_chinese_is_kept():
    for reason in ("请填写原因或说明 / a reason or description is required", "文件超过 1 MB / the file is larger than 1 MB",
                   "必填"):
        assert bilingual(reason) == reason
