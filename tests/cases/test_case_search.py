"""Finding cases (gridsvc.cases.search, gridsvc.cases.search_text, gridsvc.cases.search_index) called
directly on a session: Chinese words by their character bigrams and then as a whole, tracking numbers,
reporters, grid and village names, mixed filters, pages in every order, and visibility (a commander
never finds another township's case, not even by its number). Both backends, the sample county and the
`office` fixture's people; the index of cases stored before migration 0014 too."""

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.cases.intake import Intake, Report, submit
from gridsvc.cases.search import MAX_WORDS, CaseFilter, SearchRefused, find_cases, place_names
from gridsvc.geo.crs import parse_crs
from gridsvc.kernel import migrate
from gridsvc.kernel.db import make_engine
from gridsvc.kernel.errors import INVALID
from gridsvc.kernel.models import CaseSearchTerm, CaseSearchText, User
from gridsvc.kernel.search_terms import bigrams, case_document, spelling, words
from tests.support import LUXIANG, OFFICE_PHONES, QIJIA, V1, V2, at

NOW = at("2026-05-11T09:00")
PILED, DISPUTE, CLEANING = "02004", "01001", "02001"  # 乱堆乱放 (执法), 邻里纠纷 (综治), 保洁 (服务)
# name -> (township or village of its grid, category, description, days before NOW)
CASES = {
    "A": (V1, PILED, "村道旁堆放建筑垃圾，影响通行", 1),
    "B": (V2, DISPUTE, "邻里因宅基地边界发生纠纷", 3),
    "C": (V2, PILED, "堆放物品，又放杂物于路边", 2),  # holds 堆放 and 放杂, never 堆放杂
    "D": (LUXIANG, PILED, "村道旁堆放建筑垃圾", 1),  # 鹿乡镇: not the 齐家镇 commander's
    "E": (V1, CLEANING, "ＡＢＣ超市门前垃圾桶满溢", 5),  # typed in full-width letters
}


def person(session, who: str) -> User:
    return session.scalar(sa.select(User).where(User.phone == OFFICE_PHONES[who]))


def grids_of(index, area: str) -> list[int]:
    """Positions of the base grids of a village, or of a township (its code ends in 000)."""
    prefix = area[:9] if area.endswith("000") else area
    return [i for i, c in enumerate(index.cells) if c.kind == "base" and c.code.startswith(prefix)]


@pytest.fixture
def cases(office, rt):
    """CASES reported by the grid worker, each in the first base grid of its village (E in the second of
    A's village): name -> Case."""
    index = rt.index.get()
    made = {}
    with rt.sessions() as session:
        worker = person(session, "worker")
        for name, (area, category, description, days) in CASES.items():
            position = grids_of(index, area)[1 if name == "E" else 0]
            point = index.geometry(position).representative_point()
            report = Report(str(uuid.uuid4()), category, description, point.x, point.y, parse_crs("cgcs2000"))
            made[name], _ = submit(session, Intake(index, rt.calendar.get(), rt.rules.get(), rt.settings), worker,
                                   report, now=NOW - timedelta(days=days))
        session.commit()
    return made


def found(rt, who: str, **wanted) -> list[str]:
    """The tracking numbers the person finds, in the order found."""
    with rt.sessions() as session:
        _, page = find_cases(session, person(session, who), CaseFilter(**wanted))
        return [case.tracking_no for case in page]


def numbers(cases, names: str) -> set[str]:
    return {cases[name].tracking_no for name in names}


def test_text_is_spelt_one_way_and_cut_into_bigrams_within_words():
    assert bigrams("村道旁堆放") == {"村道", "道旁", "旁堆", "堆放"}
    assert bigrams("堆放 垃圾") == {"堆放", "垃圾"}  # never across white space
    assert bigrams("堆") == set()
    assert spelling("ＡＢＣ１２３超市") == "abc123超市"  # NFKC, folded
    assert words("  堆放  垃圾 堆放 ") == ["堆放", "垃圾"]
    assert case_document("20260511-ABCDEFGH", "村道 旁") == "20260511-abcdefgh\n村道 旁"


def test_a_word_of_a_description_is_found_by_its_bigrams_and_then_as_a_whole(cases, rt):
    with rt.sessions() as session:
        terms = set(session.scalars(sa.select(CaseSearchTerm.term).where(CaseSearchTerm.case_id == cases["A"].id)))
        document = session.get(CaseSearchText, cases["A"].id).document
    assert document == case_document(cases["A"].tracking_no, CASES["A"][2]) == f"{document[:17]}\n村道旁堆放建筑垃圾,影响通行"
    assert terms == bigrams(document) and {"村道", "堆放", "垃圾"} <= terms
    assert set(found(rt, "commander", q="堆放")) == numbers(cases, "AC")  # D is 鹿乡镇's
    assert found(rt, "commander", q="建筑垃圾") == [cases["A"].tracking_no]
    assert found(rt, "commander", q="堆放杂") == []  # C holds both bigrams, not the word
    assert found(rt, "commander", q="放杂物") == [cases["C"].tracking_no]
    assert found(rt, "commander", q="村道 影响") == [cases["A"].tracking_no]  # every word, anywhere
    assert found(rt, "commander", q="垃圾 纠纷") == []
    assert found(rt, "commander", q="纠") == [cases["B"].tracking_no]  # one character: the text alone
    assert found(rt, "commander", q="abc超市") == [cases["E"].tracking_no]  # full-width as typed or not
    assert found(rt, "commander", q="ａｂｃ") == [cases["E"].tracking_no]
    assert found(rt, "commander", q="100%") == []  # LIKE's wildcards are only characters


def test_a_tracking_number_whole_or_in_part_finds_its_case(cases, rt):
    number = cases["B"].tracking_no
    assert found(rt, "commander", q=number) == [number]
    assert found(rt, "commander", q=number.lower()) == [number]
    assert found(rt, "commander", q=number[-6:]) == [number]


def test_reporters_grids_and_villages_are_found_by_their_names_of_today(cases, rt):
    qijia = numbers(cases, "ABCE")
    assert set(found(rt, "commander", q="小王")) == qijia  # the reporter 网格员小王
    assert set(found(rt, "commander", q=OFFICE_PHONES["worker"][-4:])) == qijia
    assert set(found(rt, "commander", q="东升村")) == numbers(cases, "BC")  # the village's name
    index = rt.index.get()
    grid = index.cells[index.position_of(cases["E"].grid_code)].name
    assert found(rt, "commander", q=grid) == [cases["E"].tracking_no]
    with rt.sessions.begin() as session:  # a village renamed: found by its new name, nothing re-indexed
        session.execute(sa.text("UPDATE admin_units SET name = '东升新村' WHERE code = :code"), {"code": V2})
    assert set(found(rt, "commander", q="东升新村")) == numbers(cases, "BC")


def test_filters_mix_with_words(cases, rt):
    day = timedelta(days=1)
    assert found(rt, "commander", q="堆放", domain="enforcement", area=V2) == [cases["C"].tracking_no]
    assert found(rt, "commander", domain="governance") == [cases["B"].tracking_no]
    assert set(found(rt, "commander", domain="enforcement")) == numbers(cases, "AC")
    assert set(found(rt, "commander", area=V1)) == numbers(cases, "AE")
    assert found(rt, "commander", area=V1, category=CLEANING) == [cases["E"].tracking_no]
    assert set(found(rt, "commander", received_from=NOW - 2 * day - timedelta(minutes=1),
                     received_before=NOW)) == numbers(cases, "AC")
    assert found(rt, "commander", q="垃圾", received_from=NOW - 6 * day, received_before=NOW - 4 * day) == [
        cases["E"].tracking_no]
    assert found(rt, "commander", q="垃圾", statuses=("filed",)) == []
    assert set(found(rt, "commander", q="垃圾", statuses=("reported",))) == numbers(cases, "AE")


@pytest.mark.parametrize("sort, key", [
    ("newest", lambda c: (-c.received_at.timestamp(), -c.id)),
    ("oldest", lambda c: (c.received_at.timestamp(), c.id)),
    ("deadline", lambda c: (c.handling_due_at.timestamp(), c.id)),
])
def test_pages_in_every_order_cover_each_case_once(cases, rt, sort, key):
    expected = [c.tracking_no for c in sorted((cases[n] for n in "ABCE"), key=key)]
    with rt.sessions() as session:
        commander = person(session, "commander")
        pages = [find_cases(session, commander, CaseFilter(sort=sort, limit=3, offset=offset)) for offset in (0, 3)]
    assert [total for total, _ in pages] == [4, 4]
    assert [case.tracking_no for _, page in pages for case in page] == expected


def test_a_commander_never_finds_another_townships_case(cases, rt):
    theirs = cases["D"].tracking_no
    assert found(rt, "commander", q=theirs) == []
    assert found(rt, "commander", q="村道旁堆放建筑垃圾") == [cases["A"].tracking_no]
    assert found(rt, "other_commander", q="村道旁堆放建筑垃圾") == [theirs]
    assert found(rt, "other_commander", q=cases["A"].tracking_no) == []
    assert set(found(rt, "supervisor", q="村道旁堆放")) == numbers(cases, "AD")  # the county's
    with rt.sessions() as session:
        total, page = find_cases(session, person(session, "supervisor"), CaseFilter(q="村道旁堆放"))
        names = place_names(rt.index.get(), page)
    assert total == 2 and names[QIJIA] == "齐家镇" and names[LUXIANG] == "鹿乡镇" and names[V1] == "齐家村"


@pytest.mark.parametrize("wanted, field", [
    ({"sort": "best"}, "sort"),
    ({"domain": "traffic"}, "domain"),
    ({"q": " ".join(f"词{i}" for i in range(MAX_WORDS + 1))}, "q"),
    ({"received_from": NOW, "received_before": NOW}, "received_before"),
])
def test_a_filter_the_search_cannot_take_is_refused_by_name(office, rt, wanted, field):
    with rt.sessions() as session, pytest.raises(SearchRefused) as refused:
        find_cases(session, person(session, "commander"), CaseFilter(**wanted))
    assert (refused.value.kind, refused.value.field) == (INVALID, field)
    assert refused.value.message_zh  # the screen's own words; the API carries both


def test_cases_stored_before_the_index_are_indexed_by_its_migration(database_url):
    engine = make_engine(database_url)
    try:
        migrate.downgrade(engine, "0013")
        sqlite = engine.dialect.name == "sqlite"
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO users (phone, name, role, grid_codes, password_hash, active, created_at) "
                "VALUES ('13800000001', 'x', 'administrator', '[]', 'x', true, '2026-11-25 00:00:00')"))
            for number, description in (("20261125-AAAAAAAA", "村道旁堆放建筑垃圾"), ("20261125-BBBBBBBB", "邻里纠纷")):
                conn.execute(sa.text(
                    "INSERT INTO cases (tracking_no, client_uuid, content_hash, reporter_id, category_code, "
                    "category_version, description, urgent, input_x, input_y, input_crs, lon, lat, location, "
                    "received_at, locate_match, flags, reserved_to_county, status, handling_due_at, record_seq) "
                    "VALUES (:number, :number, 'h', (SELECT id FROM users), '02004', 1, :description, false, 125.6, "
                    "43.6, 'cgcs2000', 125.6, 43.6, ST_GeomFromText('POINT(125.6 43.6)', 4490), "
                    "'2026-11-25 01:00:00', 'inside', '[]', false, 'reported', :due, 0)"),
                    {"number": number, "description": description,
                     "due": "2026-11-27 09:30:00.000000" if sqlite else "2026-11-27 09:30:00+00"})
        migrate.upgrade(engine)
        with Session(engine) as session:
            admin = session.scalar(sa.select(User))
            assert [c.tracking_no for c in find_cases(session, admin, CaseFilter(q="堆放建筑"))[1]] == [
                "20261125-AAAAAAAA"]
            assert [c.tracking_no for c in find_cases(session, admin, CaseFilter(q="bbbbbbbb"))[1]] == [
                "20261125-BBBBBBBB"]
            assert session.scalar(sa.select(sa.func.count()).select_from(CaseSearchText)) == 2
        migrate.downgrade(engine, "0013")
        assert not {"case_search", "case_search_terms"} & set(sa.inspect(engine).get_table_names())
        migrate.upgrade(engine)
    finally:
        engine.dispose()
