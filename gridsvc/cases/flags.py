"""A case's flags: what intake, a photo, an arrival or a rating noticed, and which of them ask a commander to act.

Some flags ask for a decision (confirm the grid, merge a duplicate, name a department, look at a photo taken
elsewhere or an officer who arrived far away, answer a bad rating); the others only say how the case came about
(a grid worker reporting beyond their grid, a deadline on an unofficial calendar). A screen that marks both alike
teaches its commanders to ignore the mark, so only the first kind (`ACT_ON`) is "待确认" (the screen's yellow
badge and marker ring); the others are shown plainly.

The names live here, below every module that sets a flag, so that gridsvc.cases.view can tell the two kinds
apart without importing intake (which imports the record, which imports the view).
"""

from __future__ import annotations

LOCATION_UNCONFIRMED = "location_unconfirmed"  # boundary, nearest or none: confirm the grid
ACCURACY_CROSSES_BOUNDARY = "accuracy_crosses_boundary"
POSSIBLE_DUPLICATE = "possible_duplicate"
NO_RESPONSIBLE_DEPARTMENT = "no_responsible_department"
OUTSIDE_OWN_GRIDS = "outside_own_grids"  # a grid worker reporting beyond their grids
UNOFFICIAL_CALENDAR = "deadline_on_unofficial_calendar"
LOCATION_PICKED_BY_HAND = "location_picked_by_hand"  # placed on a map or a grid chosen: no GPS fix (location_source)
ARRIVED_FAR_FROM_CASE = "arrived_far_from_case"  # set by the `arrive` step (gridsvc.cases.workflow), not by intake
PHOTO_LOCATION_MISMATCH = "photo_location_mismatch"  # a photo's GPS far from the case (gridsvc.cases.attachments)
REOPEN_REQUESTED = "reopen_requested"  # a bad rating the workflow could not reopen (gridsvc.cases.ratings)

FLAG_NAMES_ZH = {
    LOCATION_UNCONFIRMED: "位置待确认", ACCURACY_CROSSES_BOUNDARY: "定位精度跨网格", POSSIBLE_DUPLICATE: "疑似重复",
    NO_RESPONSIBLE_DEPARTMENT: "无责任部门", OUTSIDE_OWN_GRIDS: "超出本人网格", UNOFFICIAL_CALENDAR: "期限按非官方日历",
    LOCATION_PICKED_BY_HAND: "位置为手动选取，非定位所得", ARRIVED_FAR_FROM_CASE: "到场位置与案件位置相距过远",
    PHOTO_LOCATION_MISMATCH: "照片拍摄位置与案件位置不符", REOPEN_REQUESTED: "群众不满意，待决定是否重办",
}
# The flags a commander must act on: where the case is, whether it repeats another, who answers for it, whether
# its evidence fits, what the reporter's bad rating asks.
ACT_ON = frozenset({
    LOCATION_UNCONFIRMED, ACCURACY_CROSSES_BOUNDARY, LOCATION_PICKED_BY_HAND, POSSIBLE_DUPLICATE,
    NO_RESPONSIBLE_DEPARTMENT, PHOTO_LOCATION_MISMATCH, ARRIVED_FAR_FROM_CASE, REOPEN_REQUESTED,
})
# The flags that ask where the case is: the screen's 位置待确认 queue holds the cases with any of them, and 立案
# with the grid confirmed (gridsvc.cases.workflow) answers all three. Each is also one to act on.
LOCATION_FLAGS = (LOCATION_UNCONFIRMED, ACCURACY_CROSSES_BOUNDARY, LOCATION_PICKED_BY_HAND)


def needs_action(flags_text: str | None) -> bool:
    """Whether a flags list, as the JSON text the database holds, names a flag to act on (the screen's rows
    read ten thousand lists at once as text, without decoding them)."""
    return any(f'"{flag}"' in (flags_text or "") for flag in ACT_ON)
