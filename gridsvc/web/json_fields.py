"""Fields for JSON bodies: a number must be a JSON number, a boolean a JSON boolean.

marshmallow reads a query string's text, so its Float takes `"125.56"`, its Integer `"7"` (unless
strict) and its Boolean `"yes"`, `"1"` or `1`. A query string is text by nature and keeps those
fields; a JSON body has types, and the published document says `number`, `integer`, `boolean`:
a phone that sends `"lon": "125.56"` has a bug that should surface as a 422 on `lon`, not be
guessed around. Every body schema (gridsvc.web.cases_api, mobile_api) uses these instead.
"""

from __future__ import annotations

from marshmallow import fields


class JsonFloat(fields.Float):
    """A JSON number (an integer or a fraction); never a string of digits, never true or false."""

    def _validated(self, value) -> float:
        if not isinstance(value, (int, float)):  # bool is refused by marshmallow's own check
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class JsonInteger(fields.Integer):
    """A JSON integer: marshmallow's strict Integer, which refuses strings, fractions and booleans."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)


class JsonBoolean(fields.Boolean):
    """true or false: not "yes", "1" or 1 (1 == True in Python, so no truthy set can say this)."""

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if value is True or value is False:
            return value
        raise self.make_error("invalid", input=value)
