"""Every table of the service, in one module so that Alembic and every context see one metadata.

The grid network's tables come first: administrative units and versioned grid cells. Geometry is
stored in CGCS2000 (EPSG:4490) as MULTIPOLYGON. Grid cells are versioned like MapIt's boundary
generations: a boundary change closes the old row (`valid_to`) and opens a new one, so a case
reported last year is still shown against the grid as it was on that day. At most one version of
a code is current (`valid_to IS NULL`), enforced by a partial unique index.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from gridsvc.geo.crs import STORAGE_EPSG
from gridsvc.kernel.clock import as_utc
from gridsvc.geo.grid_records import DOMAINS

ADMIN_LEVELS = ("county", "township", "village")
GRID_KINDS = ("base", "special")
DOMAIN_NAMES_ZH = {"governance": "综治", "enforcement": "执法", "services": "服务"}


def multipolygon_column(nullable: bool = True):
    return mapped_column(
        Geometry("MULTIPOLYGON", srid=STORAGE_EPSG, spatial_index=True),
        nullable=nullable,
    )


class UtcDateTime(sa.types.TypeDecorator):
    """A moment, written and read as UTC on both backends.

    SQLite keeps no offset: a China-time value (+08:00, as the work calendar
    computes deadlines) would be written as its wall-clock digits and read back
    eight hours off. Converting to UTC on the way in, and labelling as UTC on the
    way out, makes every moment compare and print the same on SpatiaLite and PostGIS.
    Naive values are taken as UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else as_utc(value)

    def process_result_value(self, value, dialect):
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    pass


def versioned_by_code(table: str) -> tuple:
    """Constraints of a versioned table: (code, version) unique, at most one current row per code."""
    return (
        sa.UniqueConstraint("code", "version", name=f"uq_{table}_code_version"),
        sa.Index(
            f"uq_{table}_current_code",
            "code",
            unique=True,
            postgresql_where=sa.text("valid_to IS NULL"),
            sqlite_where=sa.text("valid_to IS NULL"),
        ),
    )


class AdminUnit(Base):
    """County, township (乡镇/街道) or village (村/社区), keyed by its 12-digit 统计用区划代码.

    A county's 6-digit GB/T 2260 code is padded with zeros to 12 digits, as the
    statistical code list does (双阳区 220112 → 220112000000).
    """

    __tablename__ = "admin_units"

    code: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    level: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(100))
    parent_code: Mapped[str | None] = mapped_column(
        sa.String(12), sa.ForeignKey("admin_units.code"), index=True
    )
    boundary = multipolygon_column()

    parent: Mapped["AdminUnit | None"] = relationship(remote_side=[code])

    __table_args__ = (
        sa.CheckConstraint(f"level IN {ADMIN_LEVELS!r}", name="ck_admin_units_level"),
    )


class GridCell(Base):
    """One version of one grid cell (网格).

    `code` is the village's 12-digit code plus a 3-digit sequence. Base grids
    tile their village; special grids (专属网格: a school, an enterprise, a
    market) lie over them.
    """

    __tablename__ = "grid_cells"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(sa.String(15), index=True)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    name: Mapped[str] = mapped_column(sa.String(100))
    village_code: Mapped[str] = mapped_column(
        sa.String(12), sa.ForeignKey("admin_units.code"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16), default="base")
    special_type: Mapped[str | None] = mapped_column(sa.String(32))
    domains: Mapped[list[str]] = mapped_column(sa.JSON, default=lambda: list(DOMAINS))
    households: Mapped[int | None] = mapped_column(sa.Integer)
    population: Mapped[int | None] = mapped_column(sa.Integer)
    boundary = multipolygon_column(nullable=False)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime)

    village: Mapped[AdminUnit] = relationship()

    __table_args__ = (
        *versioned_by_code("grid_cells"),
        sa.CheckConstraint(f"kind IN {GRID_KINDS!r}", name="ck_grid_cells_kind"),
    )


NETWORK_COUNTER, CATALOGUE_COUNTER, EVENTS_COUNTER = 1, 2, 3


class NetworkRevision(Base):
    """Counters bumped in the same transaction as a change that processes cache: row 1 (NETWORK_COUNTER)
    for the grid network, row 2 (CATALOGUE_COUNTER) for the catalogue, departments and rules; row 3
    (EVENTS_COUNTER) numbers the outbox's events (gridsvc.events.outbox explains why a row, not a sequence).

    Processes compare them with the revision their in-memory index or
    responsibility list was built from, so an import made by the CLI reaches the
    web process within seconds.
    """

    __tablename__ = "network_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(sa.Integer, default=0)
    changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


# -- the case catalogue and who answers for what (issue 3, items 1-3) ------------------

CATEGORY_LIMIT_UNITS = ("hours", "days")  # working hours / working days (gridsvc.worktime.calendar)
DEPARTMENT_LEVELS = ("county", "township")


class CategoryMajor(Base):
    """A major class of the catalogue (2-digit code)."""

    __tablename__ = "category_majors"

    code: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(200))


class Category(Base):
    """One version of a catalogue entry (公共服务事项目录清单), code = major (2) + subclass (3).

    Versioned like grid cells: an edit closes the current row and opens the
    next, so a case keeps the deadline rule it was filed under.
    """

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(sa.String(5), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    major_code: Mapped[str] = mapped_column(sa.String(2), sa.ForeignKey("category_majors.code"))
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    domain: Mapped[str] = mapped_column(sa.String(16))
    limit_value: Mapped[float] = mapped_column(sa.Float)
    limit_unit: Mapped[str] = mapped_column(sa.String(8))
    urgent_limit_value: Mapped[float | None] = mapped_column(sa.Float)
    urgent_limit_unit: Mapped[str | None] = mapped_column(sa.String(8))
    township_may_act: Mapped[bool] = mapped_column(sa.Boolean)
    reserved_power: Mapped[str | None] = mapped_column(sa.String(40))
    description_zh: Mapped[str | None] = mapped_column(sa.Text)
    # Reports of this category this near an open one are possible duplicates (None: the global setting).
    duplicate_distance_m: Mapped[float | None] = mapped_column(sa.Float)
    # 处置反馈 of a case of this category must name at least one photo (gridsvc.cases.workflow).
    feedback_photo_required: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        *versioned_by_code("categories"),
        sa.CheckConstraint(f"domain IN {DOMAINS!r}", name="ck_categories_domain"),
        sa.CheckConstraint(f"limit_unit IN {CATEGORY_LIMIT_UNITS!r}", name="ck_categories_limit_unit"),
    )

    def handling_limit(self, urgent: bool) -> tuple[float, str]:
        """The handling limit (value, 'hours' | 'days') for a case: the urgent one when urgent and set."""
        if urgent and self.urgent_limit_unit:
            return self.urgent_limit_value, self.urgent_limit_unit
        return self.limit_value, self.limit_unit


class Department(Base):
    """A township body (综治中心, 综合行政执法队 …) or a county department (市场监管局 …)."""

    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    level: Mapped[str] = mapped_column(sa.String(16))
    admin_code: Mapped[str] = mapped_column(sa.String(12), sa.ForeignKey("admin_units.code"), index=True)

    teams: Mapped[list["Team"]] = relationship(back_populates="department", order_by="Team.code")

    __table_args__ = (sa.CheckConstraint(f"level IN {DEPARTMENT_LEVELS!r}", name="ck_departments_level"),)


class Team(Base):
    __tablename__ = "teams"

    code: Mapped[str] = mapped_column(sa.String(48), primary_key=True)
    department_code: Mapped[str] = mapped_column(sa.String(40), sa.ForeignKey("departments.code"), index=True)
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(200))

    department: Mapped[Department] = relationship(back_populates="teams")


class ResponsibilityRule(Base):
    """责任清单: in this area (grid, village, township or county code), for this category or
    domain (`subject`), this department answers."""

    __tablename__ = "responsibility_rules"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    area_code: Mapped[str] = mapped_column(sa.String(15), index=True)
    subject_kind: Mapped[str] = mapped_column(sa.String(8))  # 'category' | 'domain'
    subject: Mapped[str] = mapped_column(sa.String(16))  # a category code or a domain
    department_code: Mapped[str] = mapped_column(sa.String(40), sa.ForeignKey("departments.code"))
    note_zh: Mapped[str | None] = mapped_column(sa.String(200))

    __table_args__ = (
        sa.UniqueConstraint("area_code", "subject_kind", "subject", name="uq_responsibility_rules_area_subject"),
        sa.CheckConstraint("subject_kind IN ('category', 'domain')", name="ck_responsibility_rules_kind"),
    )


# -- users, tokens and sign-in throttling (issue 3, item 4) ----------------------------------

ROLES = (
    "grid_worker",  # 网格员
    "township_commander",  # 乡镇综治中心指挥长
    "department_handler",  # 职能部门承办人
    "enforcement_officer",  # 执法队员
    "county_supervisor",  # 县级督办
    "administrator",
)
ROLE_NAMES_ZH = {
    "grid_worker": "网格员", "township_commander": "乡镇指挥长", "department_handler": "部门承办人",
    "enforcement_officer": "执法队员", "county_supervisor": "县级督办", "administrator": "系统管理员",
}


class User(Base):
    """A person who signs in with a phone number. Their jurisdiction is an area (admin code),
    a set of grids, or a department, as their role needs (gridsvc.accounts.users.Jurisdiction)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[str] = mapped_column(sa.String(32))
    admin_code: Mapped[str | None] = mapped_column(sa.String(12), sa.ForeignKey("admin_units.code"))
    department_code: Mapped[str | None] = mapped_column(sa.String(40), sa.ForeignKey("departments.code"))
    grid_codes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    team_code: Mapped[str | None] = mapped_column(sa.String(48), sa.ForeignKey("teams.code"))  # 执法中队 etc.
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (sa.CheckConstraint(f"role IN {ROLES!r}", name="ck_users_role"),)


class AuthToken(Base):
    """An issued token, stored as its SHA-256 only: a stolen database yields no usable token.

    Opaque tokens rather than self-contained ones, so that signing out and an
    administrator's revocation (a lost phone) take effect at once.
    """

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(8))  # 'access' | 'refresh'
    family: Mapped[str] = mapped_column(sa.String(32), index=True)  # one sign-in and its refreshes
    device_id: Mapped[str | None] = mapped_column(sa.String(100))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """One sign-in attempt, by the phone number tried and the client address (throttling)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(sa.String(20), index=True)
    remote_addr: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    succeeded: Mapped[bool] = mapped_column(sa.Boolean)


# -- cases and their record (issue 3, items 5 and 8) ------------------------------------------

# The stages of a case (gridsvc.cases.workflow moves a case between them).
CASE_STATUSES = (
    "reported",  # 上报: waiting to be filed
    "filed",  # 立案: accepted, waiting to be dispatched
    "dispatched",  # 派遣: with a department, not yet taken up
    "handling",  # 处置: the department is working on it
    "handled",  # 反馈: the department says it is done, waiting for verification
    "verified",  # 核查: verified on the spot, waiting to be closed
    "closed",  # 结案
    "rejected",  # 不予立案
    "merged",  # 合并: a duplicate, followed up in the case it was merged into
)
STATUS_NAMES_ZH = {
    "reported": "待立案", "filed": "待派遣", "dispatched": "待签收", "handling": "处置中", "handled": "待核查",
    "verified": "待结案", "closed": "已结案", "rejected": "不予立案", "merged": "已合并",
}
FINAL_STATUSES = ("closed", "rejected", "merged")
OPEN_STATUSES = tuple(s for s in CASE_STATUSES if s not in FINAL_STATUSES)


class CalendarDay(Base):
    """A day an administrator declared a working day or a day off, over the official calendar.

    The `chinese-calendar` package carries the State Council's notice of each year
    once a release has it; until then (and for a local change, such as a flood
    day) a day stored here decides. See gridsvc.worktime.declared_days.
    """

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    workday: Mapped[bool] = mapped_column(sa.Boolean)
    note: Mapped[str | None] = mapped_column(sa.String(200))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Case(Base):
    """事件/案卷: one report and everything decided about it.

    The phone's `client_uuid` is the idempotency key (unique), as in ODK
    Central: a retried submission finds its case instead of making another.
    """

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tracking_no: Mapped[str] = mapped_column(sa.String(24), unique=True)
    client_uuid: Mapped[str] = mapped_column(sa.String(36), unique=True)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    reporter_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    category_code: Mapped[str] = mapped_column(sa.String(5), index=True)
    category_version: Mapped[int] = mapped_column(sa.Integer)
    description: Mapped[str] = mapped_column(sa.Text)
    urgent: Mapped[bool] = mapped_column(sa.Boolean)
    input_x: Mapped[float] = mapped_column(sa.Float)
    input_y: Mapped[float] = mapped_column(sa.Float)
    input_crs: Mapped[str] = mapped_column(sa.String(20))
    lon: Mapped[float] = mapped_column(sa.Float)
    lat: Mapped[float] = mapped_column(sa.Float)
    location = mapped_column(Geometry("POINT", srid=STORAGE_EPSG, spatial_index=True), nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(sa.Float)
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # the phone's clock
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)  # the server's
    grid_code: Mapped[str | None] = mapped_column(sa.String(15), index=True)
    village_code: Mapped[str | None] = mapped_column(sa.String(12))
    township_code: Mapped[str | None] = mapped_column(sa.String(12), index=True)
    county_code: Mapped[str | None] = mapped_column(sa.String(12))
    locate_match: Mapped[str] = mapped_column(sa.String(10))
    flags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    department_code: Mapped[str | None] = mapped_column(sa.String(40), sa.ForeignKey("departments.code"))
    reserved_to_county: Mapped[bool] = mapped_column(sa.Boolean)
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    handling_due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The last entry of the record, kept on the case: a record cut short no longer matches it.
    record_seq: Mapped[int] = mapped_column(sa.Integer, default=0)
    record_hash: Mapped[str | None] = mapped_column(sa.String(64))
    # The workflow (gridsvc.cases.workflow): who has it, the current stage's clock, what happened so far.
    team_code: Mapped[str | None] = mapped_column(sa.String(48), sa.ForeignKey("teams.code"))
    escalated: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())  # 上报县级
    stage_warn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    stage_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    stage_warned: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # 0 on time, 1 overdue (the township is alerted), 2 long overdue (the county is alerted)
    overdue_level: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    extension_until: Mapped[datetime | None] = mapped_column(UtcDateTime)  # 延期 asked for
    rework_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    supervision_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    merged_into: Mapped["Case | None"] = relationship(remote_side=[id])
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The current dispatch's notice (gridsvc.cases.dispatch_notices): when it went out, when the department
    # acknowledged it, when it was last re-sent, whether the commander was shown it is unacknowledged.
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dispatch_acked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dispatch_reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dispatch_alerted: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # Optimistic locking: two people (or two sweeps) changing one case at once cannot both win.
    row_version: Mapped[int] = mapped_column(sa.Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}


class CaseEvent(Base):
    """One entry of a case's record: append-only and hash-chained, so tampering shows."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    seq: Mapped[int] = mapped_column(sa.Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)  # the indicators' period (migration 0011)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(32))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str | None] = mapped_column(sa.String(20))
    note: Mapped[str | None] = mapped_column(sa.Text)
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    __table_args__ = (sa.UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),)


# -- finding a case by its words (gridsvc.cases.search_index; migration 0014) -----------------------


class CaseSearchText(Base):
    """A case's searchable text in the search's one spelling (gridsvc.kernel.search_terms.document):
    what a word found through the bigrams is checked against."""

    __tablename__ = "case_search"

    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    document: Mapped[str] = mapped_column(sa.Text)


class CaseSearchTerm(Base):
    """One character bigram of a case's searchable text: the key (term, case) is the index a word's
    bigrams are looked up in."""

    __tablename__ = "case_search_terms"

    term: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True,
                                         index=True)


# -- the reporter's rating of a closed case (满意度评价; gridsvc.cases.ratings, issue 7) -------------

RATING_OUTCOMES = ("none", "reopened", "reopen_requested")


class CaseRating(Base):
    """The reporter's rating of a closed case: 1–5 stars and a comment, once per case (the unique
    case_id makes a retry find the stored rating instead of adding another)."""

    __tablename__ = "case_ratings"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    rater_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    stars: Mapped[int] = mapped_column(sa.Integer)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    rated_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    outcome: Mapped[str] = mapped_column(sa.String(20))  # what a bad rating did (RATING_OUTCOMES)

    __table_args__ = (
        sa.UniqueConstraint("case_id", name="uq_case_ratings_case_id"),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name="ck_case_ratings_stars"),
        sa.CheckConstraint(f"outcome IN {RATING_OUTCOMES!r}", name="ck_case_ratings_outcome"),
    )


# -- photo attachments of a case (gridsvc.cases.attachments) ----------------------------------------


class Attachment(Base):
    """A photo of a case. The files live in the media folder under the original's SHA-256; the row
    keeps what was read from them. (case, sha256) is unique: a phone's retry finds its attachment."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))  # of the original bytes, as uploaded
    content_type: Mapped[str] = mapped_column(sa.String(32))
    width: Mapped[int] = mapped_column(sa.Integer)  # as displayed (EXIF orientation applied)
    height: Mapped[int] = mapped_column(sa.Integer)
    size_bytes: Mapped[int] = mapped_column(sa.Integer)
    exif_lon: Mapped[float | None] = mapped_column(sa.Float)  # EXIF GPS, WGS84 (taken as CGCS2000)
    exif_lat: Mapped[float | None] = mapped_column(sa.Float)
    exif_taken_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    distance_m: Mapped[float | None] = mapped_column(sa.Float)  # EXIF point to the case's point
    uploaded_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (sa.UniqueConstraint("case_id", "sha256", name="uq_attachments_case_sha256"),)


# -- patrols (巡查) and their GPS tracks (issue 4, item 7; gridsvc.patrols.recording) --------------------


class Patrol(Base):
    """One patrol walked by a grid worker, from start to stop.

    The phone makes `client_uuid` (unique), so a start sent again after a lost
    answer finds its patrol instead of opening a second one.
    """

    __tablename__ = "patrols"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    client_uuid: Mapped[str] = mapped_column(sa.String(36), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the phone's clock, else the server's
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the server's clock at start


class PatrolPoint(Base):
    """One GPS fix of a patrol's track, stored in CGCS2000 with the input as the phone sent it.

    The phone numbers its fixes (`seq`); (patrol, seq) is unique, so a batch sent
    again adds nothing twice.
    """

    __tablename__ = "patrol_points"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    patrol_id: Mapped[int] = mapped_column(sa.ForeignKey("patrols.id"))
    seq: Mapped[int] = mapped_column(sa.Integer)
    lon: Mapped[float] = mapped_column(sa.Float)  # CGCS2000 (EPSG:4490)
    lat: Mapped[float] = mapped_column(sa.Float)
    input_x: Mapped[float] = mapped_column(sa.Float)
    input_y: Mapped[float] = mapped_column(sa.Float)
    input_crs: Mapped[str] = mapped_column(sa.String(20))
    accuracy_m: Mapped[float | None] = mapped_column(sa.Float)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the phone's clock
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the server's

    __table_args__ = (sa.UniqueConstraint("patrol_id", "seq", name="uq_patrol_points_patrol_seq"),)


class PatrolDay(Base):
    """What one grid worker's patrols counted on one China day, kept for the indicators
    (gridsvc.patrols.days). A batch of fixes moves `generation` on and clears the counts of the days it
    touches; a count is stored only if the generation read before counting is still the row's."""

    __tablename__ = "patrol_days"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    generation: Mapped[int] = mapped_column(sa.Integer, default=0)
    length_m: Mapped[float | None] = mapped_column(sa.Float)  # the cleaned track's length within the day
    grid_codes: Mapped[list[str] | None] = mapped_column(sa.JSON)  # cells holding a counted fix
    network_revision: Mapped[int | None] = mapped_column(sa.Integer)  # the grids it was counted against
    rules: Mapped[str | None] = mapped_column(sa.String(40))  # the track rules it was counted with
    computed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


# -- domain events: the transactional outbox (issue 5; gridsvc.events) ----------------------


class Event(Base):
    """One domain event, written in the transaction of the change that caused it.

    `seq` is gapless and in commit order (gridsvc.events.outbox); `rooms` names who may receive it
    (gridsvc.cases.audience), so a catch-up filters exactly as the live channel does.
    """

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(sa.String(40))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    rooms: Mapped[list[str]] = mapped_column(sa.JSON)
    data: Mapped[dict] = mapped_column(sa.JSON)


class EventAck(Base):
    """Someone acknowledged an event that asks for it (a dispatch, a deadline warning)."""

    __tablename__ = "event_acks"

    seq: Mapped[int] = mapped_column(sa.ForeignKey("events.seq"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    acked_at: Mapped[datetime] = mapped_column(UtcDateTime)
