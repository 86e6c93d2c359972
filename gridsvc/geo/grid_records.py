"""Grid cells as they arrive from a GIS file, before validation and storage.

GIS offices name their attributes as they like (`WGBM`, `网格编码`, `code`);
an `AttributeMapping` says which file attribute holds which field. Values are
parsed leniently (numbers as text, domains in Chinese or English) and
anything unparseable is kept as `None` for the validator to report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from shapely.geometry.base import BaseGeometry


GRID_CODE_PATTERN = re.compile(r"^\d{15}$")
DBF_FIELD_NAME_LENGTH = 10
ADMIN_CODE_PATTERN = re.compile(r"^\d{12}$")
DOMAINS = ("governance", "enforcement", "services")  # what a grid serves: 综治, 执法, 服务 (the tables keep them too)

_DOMAIN_ALIASES = {
    "综治": "governance",
    "governance": "governance",
    "执法": "enforcement",
    "enforcement": "enforcement",
    "服务": "services",
    "service": "services",
    "services": "services",
}
_KIND_ALIASES = {"base": "base", "基础网格": "base", "基础": "base", "special": "special", "专属网格": "special", "专属": "special"}


@dataclass(frozen=True)
class GridRecord:
    """One grid cell read from a file. `geometry` is CGCS2000 and may still be invalid."""

    source_row: int  # 1-based feature number in the file, for reports
    code: str | None
    name: str | None
    village_code: str | None
    kind: str | None = "base"
    special_type: str | None = None
    domains: tuple[str, ...] = DOMAINS
    households: int | None = None
    population: int | None = None
    geometry: BaseGeometry | None = None

    def with_geometry(self, geometry: BaseGeometry) -> "GridRecord":
        return replace(self, geometry=geometry)

    @property
    def label(self) -> str:
        """How reports name this record: its code, or its row if it has none."""
        return self.code or f"row {self.source_row}"


@dataclass(frozen=True)
class AttributeMapping:
    """Which file attribute holds each grid field. Defaults match gridsvc's own export."""

    code: str = "code"
    name: str = "name"
    village_code: str = "village_code"
    kind: str = "kind"
    special_type: str = "special_type"
    domains: str = "domains"
    households: str = "households"
    population: str = "population"

    @classmethod
    def parse(cls, pairs: list[str] | tuple[str, ...]) -> "AttributeMapping":
        """Parse CLI options like `code=WGBM name=WGMC village_code=CJDM`."""
        values = {}
        known = set(cls.__dataclass_fields__)
        for pair in pairs:
            target, sep, source = pair.partition("=")
            target = target.strip()
            if not sep or target not in known or not source.strip():
                raise ValueError(
                    f"bad mapping {pair!r}: use FIELD=ATTRIBUTE with FIELD one of {', '.join(sorted(known))}"
                )
            values[target] = source.strip()
        return cls(**values)

    def record(self, source_row: int, attributes: dict, geometry: BaseGeometry | None) -> GridRecord:
        """Build a GridRecord from one feature's attributes."""

        def get(name: str):
            # DBF field names stop at 10 characters: `village_code` arrives as `village_co`.
            return attributes.get(name, attributes.get(name[:DBF_FIELD_NAME_LENGTH]))

        return GridRecord(
            source_row=source_row,
            code=_text(get(self.code)),
            name=_text(get(self.name)),
            village_code=_text(get(self.village_code)),
            kind=parse_kind(get(self.kind)),
            special_type=_text(get(self.special_type)),
            domains=parse_domains(get(self.domains)),
            households=_integer(get(self.households)),
            population=_integer(get(self.population)),
            geometry=geometry,
        )


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # codes stored as numbers in a DBF come back as floats
    text = str(value).strip()
    return text or None


def _integer(value) -> int | None:
    try:
        return None if value is None or str(value).strip() == "" else int(float(value))
    except (TypeError, ValueError):
        return None


def parse_kind(value) -> str | None:
    """`base` when absent; None (reported by validation) when not understood."""
    text = _text(value)
    if text is None:
        return "base"
    return _KIND_ALIASES.get(text.lower())


def parse_domains(value) -> tuple[str, ...]:
    """Domains as `综治,执法,服务`, `governance;services`, or a list; all three when absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DOMAINS
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,;，、|\s]+", str(value))
    parsed = {_DOMAIN_ALIASES.get(str(item).strip().lower()) for item in items if str(item).strip()}
    parsed.discard(None)
    return tuple(d for d in DOMAINS if d in parsed)


def is_grid_code(code: str | None) -> bool:
    return bool(code) and GRID_CODE_PATTERN.match(code) is not None
