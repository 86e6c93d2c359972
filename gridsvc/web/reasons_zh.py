"""The Chinese of marshmallow's reasons, so that every reason in a 422's `fields` reads "zh / English", as the
service's messages do (gridsvc.kernel.errors).

marshmallow words its refusals in English ("Not a valid number.", "Length must be between 1 and 24."), and a
commander on the command screen, which shows only the Chinese half, was shown them as they were. A reason
that has a Chinese half already (a domain error's) is kept; one this table does not know (a schema's own
`error=`) gets the plain "取值无效" before it.
"""

from __future__ import annotations

import re

# marshmallow's messages (its fields' `default_error_messages` and its validators'), and their Chinese
_KNOWN = [
    (r"Missing data for required field\.", "必填"),
    (r"Field may not be null\.", "不能为空"),
    (r"Unknown field\.", "未知字段"),
    (r"Invalid (?:input )?type\.", "类型无效"),
    (r"Invalid value\.", "取值无效"),
    (r"Not a valid number\.", "须为数字"),
    (r"Not a valid integer\.", "须为整数"),
    (r"Number too large\.", "数值过大"),
    (r"Special numeric values \(nan or infinity\) are not permitted\.", "须为有限的数"),
    (r"Not a valid boolean\.", "须为布尔值"),
    (r"Not a valid (?:utf-8 )?string\.", "须为文本"),
    (r"Not a valid (?:\w+ )?datetime\.", "须为有效的时间"),
    (r"Not a valid date\.", "须为有效的日期"),
    (r'".*" cannot be formatted as a (?:datetime|date)\.', "时间格式无效"),
    (r"Not a valid list\.", "须为列表"),
    (r"Not a valid mapping type\.", "须为对象"),
    (r"Not a valid UUID\.", "须为有效的 UUID"),
    (r"Shorter than minimum length (\d+)\.", r"长度不得少于 \1"),
    (r"Longer than maximum length (\d+)\.", r"长度不得超过 \1"),
    (r"Length must be between (\d+) and (\d+)\.", r"长度须在 \1–\2 之间"),
    (r"Length must be (\d+)\.", r"长度须为 \1"),
    (r"Must be greater than or equal to (\S+) and less than or equal to (\S+)\.", r"须在 \1 至 \2 之间"),
    (r"Must be greater than (\S+) and less than (\S+)\.", r"须大于 \1 且小于 \2"),
    (r"Must be greater than or equal to (\S+)\.", r"不得小于 \1"),
    (r"Must be less than or equal to (\S+)\.", r"不得大于 \1"),
    (r"Must be one of: (.*)\.", r"须为以下之一：\1"),
    (r"String does not match expected pattern\.", "格式不符"),
]
KNOWN = [(re.compile(pattern), zh) for pattern, zh in _KNOWN]
UNKNOWN_ZH = "取值无效"


def has_chinese_half(reason: str) -> bool:
    """Whether the reason is written "zh / en" already, or in Chinese only."""
    return not reason.partition(" / ")[0].isascii()


def bilingual(reason: str) -> str:
    """The reason as "zh / English": marshmallow's own in Chinese, any other English one as 取值无效."""
    if has_chinese_half(reason):
        return reason
    for pattern, zh in KNOWN:
        found = pattern.fullmatch(reason)
        if found:
            return f"{found.expand(zh)} / {reason}"
    return f"{UNKNOWN_ZH} / {reason}"
