"""The error family: every refusal of the domain is a `DomainError`, and none knows HTTP.

Why: the rules (intake, the workflow, ratings, sign-in, the standards' checks) used to carry the HTTP
status of their refusals, and each view mapped them again by hand, so the same refusal could answer
differently under /api/v1, /mobile/v1 and the CLI. Now a refusal says only *what kind* of refusal it is;
gridsvc.web.errors is the one place that turns a kind into a status (and OGC API and Open311 keep their
own shapes through the same table).

A `DomainError` has:

- `kind`: one of `KINDS`, a small closed set: what went wrong, from the caller's side;
- `code`: the machine-readable code clients see and depend on (never rename one);
- `message`: for people, written as every message of the service is, "zh-CN / English" (a reason
  given for one input field may be English only); `message_zh` and `message_en` are its two halves;
- `field`: the input it is about, if one; the message is then that field's reason, and `summary`
  says what is wrong with the request as a whole (`reasons()` gives them per field: a subclass
  about several fields at once says so there);
- `retry_after_s`: for a refusal that ends (`too_many`, `unavailable`), when to try again.

Subclasses keep the names callers know (WorkflowError, ReportError, …) and set their defaults.
This module imports nothing of the service, so every package may use it.
"""

from __future__ import annotations

INVALID = "invalid"  # the input is wrong: a value, a missing field, a step that needs what was not given
UNAUTHENTICATED = "unauthenticated"  # no valid sign-in: the caller is nobody we know
FORBIDDEN = "forbidden"  # a known caller, not theirs to do
NOT_FOUND = "not_found"  # no such thing, or not one the caller may know of
CONFLICT = "conflict"  # not possible in the current state: another's change, a used key, a status
TOO_LARGE = "too_large"  # more than the service accepts at once (a photo's bytes)
TOO_MANY = "too_many"  # too many attempts: wait `retry_after_s`
UNAVAILABLE = "unavailable"  # cannot be done now, though nothing is wrong with it: retry
KINDS = frozenset({INVALID, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, CONFLICT, TOO_LARGE, TOO_MANY, UNAVAILABLE})

INVALID_PARAMETERS = "参数无效 / invalid parameters"


class DomainError(Exception):
    """A refusal of the domain: a kind, a code, a message, maybe the field it is about.

    Class attributes are the defaults of a subclass (e.g. UnknownArea is always about `area`); the
    constructor's keywords override them for one refusal."""

    kind: str = INVALID
    code: str = "invalid_parameters"
    field: str | None = None
    summary: str = INVALID_PARAMETERS
    retry_after_s: int | None = None

    def __init__(self, message: str, *, kind: str | None = None, code: str | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if kind is not None:
            self.kind = kind
        if code is not None:
            self.code = code
        if field is not None:
            self.field = field
        if self.kind not in KINDS:  # a closed set: a new kind needs a status in gridsvc.web.errors first
            raise ValueError(f"unknown kind of domain error: {self.kind!r}")

    def reasons(self) -> dict[str, list[str]]:
        """The reasons per input field: `{field: [message]}` for an error about one, else none."""
        return {self.field: [self.message]} if self.field is not None else {}

    @property
    def message_zh(self) -> str | None:
        """The Chinese half of the message; None for a message in English only (a field's reason)."""
        return _halves(self.message)[0]

    @property
    def message_en(self) -> str:
        """The English half of the message (all of it when there is no Chinese half)."""
        return _halves(self.message)[1]


def _halves(message: str) -> tuple[str | None, str]:
    """"zh / en" split at the first " / " after Chinese text; English text with a slash stays whole."""
    zh, sep, en = message.partition(" / ")
    if sep and not zh.isascii():
        return zh, en
    return None, message
