"""合并's pick list (gridsvc.cases.merge_candidates, in the case sheet): the likely duplicates of a case, on both
backends: intake's possible duplicates first, then open cases of the same category nearby; never the case
itself, another category, a finished case, one too far, or anything for a user who may not merge."""

from tests.support import report, step

SHEET = "/api/v1/screen/cases/{}/sheet"


def candidates(office, case, who="commander"):
    answer = office["client"].get(SHEET.format(case["tracking_no"]), headers=office["headers"](who))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["merge_candidates"]


def test_the_sheet_offers_the_likely_duplicates_to_merge_into(office):
    first = report(office)
    second = report(office, who="worker2", offset_m=10)  # within duplicate_distance_m: intake notes `first`
    assert "possible_duplicate" in second["flags"]
    nearby = report(office, offset_m=400)  # the same category a few hundred metres off: not noted, still near
    report(office, category="02001", offset_m=5)  # another category: never merged
    report(office, offset_m=2000)  # the same category, too far to be likely
    offered = candidates(office, second)
    assert [c["tracking_no"] for c in offered] == [first["tracking_no"], nearby["tracking_no"]]
    assert [c["noted"] for c in offered] == [True, False]
    assert offered[0]["distance_m"] < 20 and 250 < offered[1]["distance_m"] < 450
    assert offered[0]["status_name_zh"] == "待立案" and offered[0]["description"] == "村道旁堆放建筑垃圾"

    # A finished case is no longer offered; a user who may not merge is offered nothing.
    step(office, "commander", nearby, "reject", note="重复上报")
    assert [c["tracking_no"] for c in candidates(office, second)] == [first["tracking_no"]]
    assert candidates(office, second, who="worker") == []
    # What is offered, the merge step takes.
    assert step(office, "commander", second, "merge", into=first["tracking_no"])["tracking_no"] == first["tracking_no"]


def test_a_page_of_merged_cases_names_their_survivors_without_a_query_per_case(office, rt):
    """The search lists merged cases too (status 全部, or 已合并); each row names the case it went into, read with
    the page, not one query per row."""
    import sqlalchemy as sa

    from gridsvc.cases import view
    from gridsvc.cases.search import CaseFilter, find_cases
    from gridsvc.kernel.models import User
    from tests.support import OFFICE_PHONES

    survivor = report(office)
    for offset in (5, 10, 15):
        step(office, "commander", report(office, offset_m=offset), "merge", into=survivor["tracking_no"])
    with rt.sessions() as session:
        user = session.scalar(sa.select(User).where(User.phone == OFFICE_PHONES["commander"]))
        total, page = find_cases(session, user, CaseFilter(statuses=("merged",)))
        statements = []

        def heard(conn, cursor, statement, *rest):
            statements.append(statement)

        sa.event.listen(session.get_bind(), "before_cursor_execute", heard)
        try:
            rows = [view.full(case) for case in page]
        finally:
            sa.event.remove(session.get_bind(), "before_cursor_execute", heard)
    assert total == 3 and {row["merged_into"] for row in rows} == {survivor["tracking_no"]}
    assert statements == []
