"""Approach clearance: boxes on a table seen from above, with known answers."""
import numpy as np
import pytest

from grasplab.errors import ConfigError, NoGraspFoundError
from grasplab.geometry import CameraIntrinsics, Grasp2D, Grasp3D
from grasplab.grasps import load_gripper
from grasplab.imaging import Frame
from grasplab.policies import Candidates, ClearanceConfig, GraspPolicy, load_policy, with_clearance
from grasplab.policies.clearance import PICK_SUCCESS_LOGIT, deepest_clear_offset_m, draw_in, pick_success_estimate

TABLE_M = 0.60                       # camera straight above the table, optical axis down
INTR = CameraIntrinsics(fx=600.0, fy=600.0, cx=160.0, cy=120.0, width=320, height=240)
GRIPPER = load_gripper("robotiq_2f85")


def scene(boxes) -> np.ndarray:
    """Depth of boxes (x0, x1, y0, y1, height, all metres in the table plane under the camera)."""
    v, u = np.mgrid[0:INTR.height, 0:INTR.width].astype(np.float64)
    depth = np.full(u.shape, TABLE_M)
    for x0, x1, y0, y1, h in boxes:
        z = TABLE_M - h
        x, y = (u - INTR.cx) * z / INTR.fx, (v - INTR.cy) * z / INTR.fy
        depth[(x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)] = z
    return depth


def px(x_m: float, y_m: float, z_m: float) -> tuple[float, float]:
    return INTR.cx + INTR.fx * x_m / z_m, INTR.cy + INTR.fy * y_m / z_m


class Fixed(GraspPolicy):
    """Proposes the given grasps in order, scored 1.0 down to 0.5 unless given ``scores`` (a surface
    planner unless told otherwise)."""
    name = "fixed"

    def __init__(self, grasps, plans_depth=False, scores=None):
        self.grasps = grasps
        self.plans_depth = plans_depth
        self.scores = np.linspace(1.0, 0.5, len(grasps)) if scores is None else np.asarray(scores, dtype=float)

    def _candidates(self, frame, max_grasps, rng):
        return Candidates(list(self.grasps), self.scores)

    def spec(self):
        return {"policy": "fixed", "options": {}}


def grasp_across(x_m, y_m, angle_rad, width_m, z_m) -> Grasp2D:
    c = px(x_m, y_m, z_m)
    return Grasp2D(c, angle_rad, width_m * INTR.fx / z_m, 10.0, z_m)


BOX = (-0.02, 0.02, -0.05, 0.05, 0.06)      # 4 cm across x, 10 cm along y, 6 cm tall


def test_box_alone_grasped_across_goes_as_deep_as_the_fingers_reach():
    top = TABLE_M - BOX[4]
    frame = Frame.from_images(scene([BOX]), intrinsics=INTR)
    pol = with_clearance(Fixed([grasp_across(0, 0, 0.0, 0.04, top)]), "robotiq_2f85")
    [g] = pol.plan(frame, max_grasps=1)
    assert g.grasp.depth_m == pytest.approx(top + GRIPPER.surface_grip_depth_m, abs=1e-6)
    assert g.grasp.center_xy_px == pytest.approx(px(0, 0, top), abs=1e-6)


def test_short_box_stops_the_fingers_above_the_table():
    low = (-0.02, 0.02, -0.05, 0.05, 0.02)                  # 2 cm tall: the table limits the fingers
    top = TABLE_M - low[4]
    frame = Frame.from_images(scene([low]), intrinsics=INTR)
    [g] = with_clearance(Fixed([grasp_across(0, 0, 0.0, 0.04, top)]), "robotiq_2f85").plan(frame, max_grasps=1)
    expected = TABLE_M - GRIPPER.tip_below_center_m - ClearanceConfig.clear_m
    assert g.grasp.depth_m == pytest.approx(expected, abs=1e-4)


def test_neighbour_under_a_finger_rejects_the_grasp_and_the_next_is_taken():
    top = TABLE_M - BOX[4]
    neighbour = (0.028, 0.06, -0.05, 0.0, 0.06)             # as tall, 8 mm to the right of the box's lower half
    frame = Frame.from_images(scene([BOX, neighbour]), intrinsics=INTR)
    across = grasp_across(0, -0.03, 0.0, 0.04, top)          # right finger on the neighbour
    across_free = grasp_across(0, 0.03, 0.0, 0.04, top)      # the other half: the right finger on the table
    pol = with_clearance(Fixed([across, across_free]), "robotiq_2f85")
    got = pol.plan(frame, max_grasps=2)
    assert len(got) == 1 and got[0].grasp.center_xy_px[1] > INTR.cy
    with pytest.raises(NoGraspFoundError, match="hand would meet a seen surface"):
        with_clearance(Fixed([across]), "robotiq_2f85").plan(frame)


def test_fingers_landing_on_the_object_itself_are_rejected():
    top = TABLE_M - BOX[4]
    frame = Frame.from_images(scene([BOX]), intrinsics=INTR)
    too_narrow = grasp_across(0, 0, np.pi / 2, 0.05, top)   # along the 10 cm side, opening 6 cm
    with pytest.raises(NoGraspFoundError):
        with_clearance(Fixed([too_narrow]), "robotiq_2f85").plan(frame)


def test_depth_planner_closes_at_its_depth_raised_above_what_is_seen():
    top = TABLE_M - BOX[4]
    frame = Frame.from_images(scene([BOX]), intrinsics=INTR)
    ok = grasp_across(0, 0, 0.0, 0.04, top + 0.02)
    too_deep = grasp_across(0, 0, 0.0, 0.04, TABLE_M + 0.001)   # fingertips through the table
    above = grasp_across(0, 0, 0.0, 0.04, top - 0.01)           # closes above the box: nothing between the pads
    got = with_clearance(Fixed([too_deep, ok, above], plans_depth=True), "robotiq_2f85",
                         deepest=False, reach_fraction=0.0).plan(frame, max_grasps=5)
    assert len(got) == 2
    # through the table: raised until the fingertips (and the palm, over the box) clear what is seen
    palm_limit = GRIPPER.finger_length_m - GRIPPER.tip_below_center_m - ClearanceConfig.palm_clear_m
    table_limit = BOX[4] - GRIPPER.tip_below_center_m - ClearanceConfig.clear_m
    assert got[0].grasp.depth_m == pytest.approx(top + min(palm_limit, table_limit), abs=1e-6)
    assert got[1].grasp.depth_m == pytest.approx(top + 0.02, abs=1e-9)


def test_grasps_whose_fingertips_reach_mid_height_are_preferred():
    """A 6 cm box: closing 2 cm under its top leaves the fingertips 2.5 cm down, above its middle;
    where a grasp that reaches 3 cm down exists that one alone is kept, else the shallow one is."""
    top = TABLE_M - BOX[4]
    frame = Frame.from_images(scene([BOX]), intrinsics=INTR)
    shallow = grasp_across(0, 0, 0.0, 0.04, top + 0.02)                 # tips 2.5 cm down: 42 % of the way
    deep = grasp_across(0, 0.01, 0.0, 0.04, top + 0.03)                 # tips 3.5 cm down: 58 %
    kw = dict(deepest=False, open_step_m=0.0, recentre_m=0.0)
    got = with_clearance(Fixed([shallow, deep], plans_depth=True), "robotiq_2f85", **kw).plan(frame, max_grasps=5)
    assert [g.grasp.depth_m for g in got] == pytest.approx([top + 0.03])
    [alone] = with_clearance(Fixed([shallow], plans_depth=True), "robotiq_2f85", **kw).plan(frame, max_grasps=5)
    assert alone.grasp.depth_m == pytest.approx(top + 0.02)
    both = with_clearance(Fixed([shallow, deep], plans_depth=True), "robotiq_2f85", reach_fraction=0.3, **kw)
    assert len(both.plan(frame, max_grasps=5)) == 2                     # 42 % reaches 30 %
    with pytest.raises(ConfigError):
        with_clearance(Fixed([shallow]), reach_fraction=1.5)
    with pytest.raises(ConfigError):
        with_clearance(Fixed([shallow]), recentre_m=0.006, recentre_step_m=0.0)


def checks(reaches=True, draw_in=0.0, side_clear_m=0.0, inside_clear_m=0.0, reach_ratio=0.0) -> dict:
    return dict(reaches=reaches, draw_in=draw_in, side_clear_m=side_clear_m, inside_clear_m=inside_clear_m,
                reach_ratio=reach_ratio)


def test_ranking_by_estimated_pick_success():
    """The model's known values; on a box's walls a shallow grasp the planner scores much higher comes
    first (the preferences keep only the deep one), with its estimate as its score; a sloped face
    that the fingertips do not reach below costs most."""
    sig = lambda z: 1 / (1 + np.exp(-z))
    w = PICK_SUCCESS_LOGIT
    est = pick_success_estimate
    assert est(0.5, checks()) == pytest.approx(sig(w["intercept"]))
    assert est(0.5, checks(reaches=False)) == est(0.5, checks())          # on walls reaching is not asked
    assert est(0.5, checks(draw_in=1.0)) == pytest.approx(sig(w["intercept"] + w["draw_in"]))
    assert est(0.5, checks(reaches=False, draw_in=1.0)) == pytest.approx(
        sig(w["intercept"] + w["draw_in"] + w["sloped_not_reaching"]))
    assert est(0.5, checks(draw_in=5.0)) == est(0.5, checks(draw_in=2.0)) < est(0.5, checks(draw_in=1.0))
    assert est(0.5, checks(reaches=False, draw_in=0.3), max_draw_in=0.5) == est(0.5, checks(draw_in=0.3))
    assert est(0.5, checks(side_clear_m=-0.004)) == pytest.approx(sig(w["intercept"] - 0.004 * w["side_clear_per_m"]))
    assert est(0.5, checks(side_clear_m=1.0)) == est(0.5, checks(side_clear_m=0.0))         # room to spare: no credit
    assert est(0.5, checks(inside_clear_m=-1.0)) == pytest.approx(
        sig(w["intercept"] - 0.01 * w["inside_clear_per_m"]))
    assert est(0.5, checks(reach_ratio=9.0)) == pytest.approx(sig(w["intercept"] + w["reach_ratio"]))
    assert est(0.9, checks()) > est(0.2, checks())
    top = TABLE_M - BOX[4]
    frame = Frame.from_images(scene([BOX]), intrinsics=INTR)
    shallow = grasp_across(0, 0, 0.0, 0.04, top + 0.02)                 # tips 2.5 cm down: 42 % of the way
    deep = grasp_across(0, 0.01, 0.0, 0.04, top + 0.03)                 # tips 3.5 cm down: 58 %
    kw = dict(deepest=False, open_step_m=0.0, recentre_m=0.0)
    pol = with_clearance(Fixed([shallow, deep], plans_depth=True, scores=[0.95, 0.3]), "robotiq_2f85",
                         rank_by="estimate", **kw)
    got = pol.plan(frame, max_grasps=5)
    assert [g.grasp.depth_m for g in got] == pytest.approx([top + 0.02, top + 0.03])
    # the table 6 cm below the box's top is all the fingers see beside them and inside their pads
    room = lambda below: BOX[4] - GRIPPER.tip_below_center_m - ClearanceConfig.clear_m - below
    expect = [est(0.95, checks(False, 0.0, room(0.02), room(0.02), 0.025 / BOX[4])),
              est(0.3, checks(True, 0.0, room(0.03), room(0.03), 0.035 / BOX[4]))]
    assert [g.score for g in got] == pytest.approx(expect)
    stats = pol.last_stats
    assert stats["reaches"] is False and stats["favoured"] is False
    assert stats["side_clear_m"] == pytest.approx(room(0.02), abs=1e-5)
    assert stats["reach_ratio"] == pytest.approx(0.025 / BOX[4], abs=1e-4)
    assert "estimated pick success" in pol.score_meaning and pol.spec()["options"]["rank_by"] == "estimate"
    with pytest.raises(ConfigError, match="rank_by"):
        with_clearance(Fixed([shallow]), rank_by="score")


def test_a_poor_best_asks_for_the_planners_next_grasps():
    """Where the best of the first ``candidates`` cleared grasps is estimated below
    ``enough_estimate``, the next ones up to ``more_candidates`` are checked too and a better one
    further down the planner's list comes first; where the first ones are good enough (or
    ``more_candidates`` is 0), they are all that is checked. The planner prefers two grasps on a box
    3.8 mm wider than their opening on either side (no room inside the pads) to one on a box that
    leaves the pads room."""
    top = TABLE_M - BOX[4]
    tight = (-0.0238, 0.0238, -0.06, -0.005, BOX[4])
    roomy = (-0.02, 0.02, 0.005, 0.06, BOX[4])
    frame = Frame.from_images(scene([tight, roomy]), intrinsics=INTR)
    grasps = [grasp_across(0, y, 0.0, 0.04, top) for y in (-0.045, -0.03, 0.035)]

    def plan(**kw):
        pol = with_clearance(Fixed(grasps, scores=[0.02, 0.019, 0.018]), "robotiq_2f85", rank_by="estimate",
                             candidates=2, open_step_m=0.0, recentre_m=0.0, **kw)
        [best] = pol.plan(frame, max_grasps=1)
        return best, pol.last_stats

    best, stats = plan(more_candidates=3, enough_estimate=0.8)
    assert best.grasp.center_xy_px[1] > INTR.cy and best.score > 0.8           # the third, on the roomy box
    assert stats["clearance_checked"] == 3 and stats["clearance_widened"] is True
    first = best.score
    for kw in (dict(more_candidates=0), dict(more_candidates=3, enough_estimate=0.7)):
        best, stats = plan(**kw)                                   # the first two alone: 0.7 ≤ estimate < 0.8
        assert best.grasp.center_xy_px[1] < INTR.cy and 0.7 <= best.score < 0.8
        assert stats["clearance_checked"] == 2 and stats["clearance_widened"] is False
    # a grasp found further down must beat the first ones' best by more_margin
    margin = first - best.score
    best, stats = plan(more_candidates=3, enough_estimate=0.8, more_margin=margin - 0.01)
    assert best.grasp.center_xy_px[1] > INTR.cy and stats["clearance_widened"] is True
    best, stats = plan(more_candidates=3, enough_estimate=0.8, more_margin=margin + 0.01)
    assert best.grasp.center_xy_px[1] < INTR.cy and stats["clearance_widened"] is True
    spec = with_clearance(Fixed(grasps), more_candidates=60, enough_estimate=0.7, more_margin=0.2).spec()["options"]
    assert (spec["more_candidates"], spec["enough_estimate"], spec["more_margin"]) == (60, 0.7, 0.2)
    for bad in (dict(more_candidates=-1), dict(enough_estimate=1.5), dict(more_margin=-0.1)):
        with pytest.raises(ConfigError, match="more_candidates"):
            with_clearance(Fixed(grasps), **bad)


def test_the_estimate_counts_the_room_beside_the_fingers_and_inside_the_pads():
    """A neighbour's edge 0.2 mm beside a finger's side, or a box wider than the planned grasp by
    3.8 mm on either side (1.2 mm from the open pads' faces), leaves the fingertips no room
    there: the clearances are the fingertips' depth below that top, negative, and the estimate falls."""
    top = TABLE_M - BOX[4]
    kw = dict(open_step_m=0.0, recentre_m=0.0, rank_by="estimate")
    grasp = grasp_across(0, 0, 0.0, 0.04, top)

    def plan(boxes):
        pol = with_clearance(Fixed([grasp]), "robotiq_2f85", **kw)
        [g] = pol.plan(Frame.from_images(scene(boxes), intrinsics=INTR))
        below = g.grasp.depth_m - top
        return g.score, pol.last_stats, -(GRIPPER.tip_below_center_m + ClearanceConfig.clear_m + below)

    alone, stats, _ = plan([BOX])
    assert stats["side_clear_m"] > 0.01 and stats["inside_clear_m"] > 0.01
    opening = 0.04 + 2 * GRIPPER.open_margin_m
    neighbour = (opening / 2, opening / 2 + GRIPPER.finger_thickness_m,
                 GRIPPER.finger_width_m / 2 + 0.0002, 0.04, BOX[4])
    beside, stats, none = plan([BOX, neighbour])
    assert stats["side_clear_m"] == pytest.approx(none, abs=2e-4) and stats["inside_clear_m"] > 0.01
    wide = (-0.0238, 0.0238) + BOX[2:]
    tight, stats, none = plan([wide])
    assert stats["inside_clear_m"] == pytest.approx(none, abs=2e-4) and stats["side_clear_m"] > 0.01
    assert alone > beside and alone > tight


def height_field_points(height_m, half_m=0.06, step_m=0.001) -> np.ndarray:
    """The points a camera straight above sees of a surface of heights ``height_m(x)`` (metres,
    the same along y), in the hand's frame of a grasp across x centred at x = 0: z down from
    the surface's height at the centre."""
    x, y = np.meshgrid(np.arange(-half_m, half_m + 1e-9, step_m), np.arange(-0.02, 0.02 + 1e-9, step_m))
    h = height_m(x)
    return np.stack([x.ravel(), y.ravel(), (height_m(np.zeros(1))[0] - h).ravel()], axis=1)


def test_draw_in_is_the_cotangent_of_the_faces_the_pads_meet():
    wall = height_field_points(lambda x: np.where(np.abs(x) <= 0.02, 0.06, 0.0))        # a 4 cm box, 6 cm tall
    assert draw_in(wall, 0.04, 0.06, GRIPPER) == pytest.approx(0.0, abs=0.05)
    ridge = height_field_points(lambda x: np.clip(0.04 - np.abs(x), 0.0, None))      # faces at 45°
    assert draw_in(ridge, 0.03, 0.075, GRIPPER) == pytest.approx(1.0, abs=0.15)
    steep = height_field_points(lambda x: np.clip(0.04 - 4 * np.abs(x), 0.0, None))  # faces at 76°: cot 0.25
    assert draw_in(steep, 0.03, 0.075, GRIPPER) == pytest.approx(0.25, abs=0.08)
    r = 0.03                                                                        # a cylinder lying along y
    cylinder = height_field_points(lambda x: np.where(np.abs(x) < r, r + np.sqrt(np.clip(r * r - x * x, 0, None)), 0.0))
    assert draw_in(cylinder, 0.01, 0.075, GRIPPER) > 0.5                             # pads above its widest level
    assert draw_in(cylinder, 0.04, 0.075, GRIPPER) == pytest.approx(0.0, abs=0.05)   # below it
    low = height_field_points(lambda x: np.where(np.abs(x) <= 0.02, 0.004, 0.0))     # tips 1 mm over the table:
    assert draw_in(low, 0.003, 0.06, GRIPPER) == 0.0                                # 3 mm of side, nothing to measure


def test_grasps_on_a_sloped_face_give_way_to_grasps_on_walls():
    """A ridge (faces at 45°, as a box leaning on its neighbours shows them) and a box: the ridge's
    grasp comes first from the planner, but its pads would meet a wedge; the box's is kept alone,
    and with no preference (``max_draw_in`` = inf) both are."""
    ridge_x, ridge_h = 0.09, 0.04
    v, u = np.mgrid[0:INTR.height, 0:INTR.width].astype(np.float64)
    depth = scene([BOX])
    z_ref = TABLE_M - ridge_h / 2
    x, y = (u - INTR.cx) * z_ref / INTR.fx, (v - INTR.cy) * z_ref / INTR.fy
    h = np.clip(ridge_h - np.abs(x - ridge_x), 0.0, None) * (np.abs(y) <= 0.05)
    depth = np.minimum(depth, TABLE_M - h)
    frame = Frame.from_images(depth, intrinsics=INTR)
    on_ridge = grasp_across(ridge_x, 0.0, 0.0, 0.06, TABLE_M - ridge_h)
    on_box = grasp_across(0.0, 0.0, 0.0, 0.04, TABLE_M - BOX[4])
    got = with_clearance(Fixed([on_ridge, on_box]), "robotiq_2f85").plan(frame, max_grasps=5)
    assert len(got) == 1 and got[0].grasp.center_xy_px[0] == pytest.approx(px(0, 0, 1)[0], abs=1.0)
    both = with_clearance(Fixed([on_ridge, on_box]), "robotiq_2f85", max_draw_in=float("inf")).plan(frame, max_grasps=5)
    assert len(both) == 2 and both[0].grasp.center_xy_px[0] > INTR.cx + 20       # the ridge first, as planned
    pol = with_clearance(Fixed([on_ridge]), "robotiq_2f85")
    [alone] = pol.plan(frame, max_grasps=5)                                     # nothing steeper: kept
    assert alone.grasp.center_xy_px[0] > INTR.cx + 20
    assert pol.last_stats["draw_in"] == pytest.approx(1.0, abs=0.25) and pol.last_stats["reaches"]
    assert pol.last_stats["favoured"] is False                                  # kept, but not preferred
    box_only = with_clearance(Fixed([on_box]), "robotiq_2f85")
    box_only.plan(frame, max_grasps=5)
    assert box_only.last_stats["draw_in"] == pytest.approx(0.0, abs=0.1)         # the trials record these
    assert box_only.last_stats["favoured"] is True
    with pytest.raises(ConfigError, match="max_draw_in"):
        with_clearance(Fixed([on_box]), max_draw_in=-1.0)


def test_a_jaw_on_the_object_is_recentred_over_it():
    """A 7.6 cm box under a grasp 5 mm off its centre at the full 8.5 cm opening: one finger lands on
    its top. Moving the jaws 2 mm back along their axis (the first step) clears both; without
    re-centring there is no grasp."""
    wide = (-0.038, 0.038, -0.02, 0.02, 0.03)
    top = TABLE_M - wide[4]
    frame = Frame.from_images(scene([wide]), intrinsics=INTR)
    off = grasp_across(0.005, 0, 0.0, 0.076, top)
    with pytest.raises(NoGraspFoundError):
        with_clearance(Fixed([off]), "robotiq_2f85", recentre_m=0.0).plan(frame)
    [g] = with_clearance(Fixed([off]), "robotiq_2f85").plan(frame)
    assert g.pose.center_m[0] == pytest.approx(0.003, abs=5e-4)         # towards the box's middle
    assert g.pose.center_m[1] == pytest.approx(0.0, abs=1e-6)           # only along the jaws
    table_limit = wide[4] - GRIPPER.tip_below_center_m - ClearanceConfig.clear_m
    assert g.grasp.depth_m - top == pytest.approx(min(GRIPPER.surface_grip_depth_m, table_limit), abs=1e-6)


def test_a_grasp_recentred_off_the_mask_gives_way_before_the_preferences():
    """The recentred grasp of the test above, with a mask that holds its planned centre but not the
    centre it moves to, ranked above a grasp across a 12 cm tall box that does not reach half-way
    down. The recentred one is not returned, so it must not outrank the other by reaching: the tall
    box's grasp comes back, and the recorded checks are its own (as when it is planned alone)."""
    wide, tall = (-0.038, 0.038, -0.02, 0.02, 0.03), (0.10, 0.14, -0.03, 0.03, 0.12)
    frame = Frame.from_images(scene([wide, tall]), intrinsics=INTR)
    off = grasp_across(0.005, 0, 0.0, 0.076, TABLE_M - wide[4])
    on_tall = grasp_across(0.12, 0, 0.0, 0.04, TABLE_M - tall[4])
    mask = np.zeros(frame.shape, bool)
    mask[:, int(np.ceil(px(0.004, 0, TABLE_M - wide[4])[0])):] = True        # 5 mm in, 3 mm out
    masked = Frame.from_images(frame.depth_m, mask=mask, intrinsics=INTR)
    pol = with_clearance(Fixed([off, on_tall]), "robotiq_2f85")
    [g] = pol.plan(masked, max_grasps=5)
    assert g.pose.center_m[0] == pytest.approx(0.12, abs=0.003)
    alone = with_clearance(Fixed([on_tall]), "robotiq_2f85")
    alone.plan(frame)
    assert pol.last_stats["reaches"] is alone.last_stats["reaches"] is False
    assert pol.last_stats["draw_in"] == alone.last_stats["draw_in"]
    assert pol.last_stats["clearance_kept"] == 1
    with pytest.raises(NoGraspFoundError, match="off the mask"):
        with_clearance(Fixed([off]), "robotiq_2f85").plan(masked)


def test_a_side_margin_keeps_the_fingers_off_a_neighbour_beside_them():
    """A 6 cm tall neighbour whose edge runs 0.2 mm beside a finger's side (outside its 22 mm width,
    under its 1 cm thickness): clear without a margin, in the widened column with a 2 mm one, where
    the fingers would stop at its top, too high to grip the box beside it."""
    opening = 0.04 + 2 * GRIPPER.open_margin_m
    neighbour = (opening / 2, opening / 2 + GRIPPER.finger_thickness_m,
                 GRIPPER.finger_width_m / 2 + 0.0002, 0.04, BOX[4])
    frame = Frame.from_images(scene([BOX, neighbour]), intrinsics=INTR)
    grasp = grasp_across(0, 0, 0.0, 0.04, TABLE_M - BOX[4])
    kw = dict(open_step_m=0.0, recentre_m=0.0)
    [g] = with_clearance(Fixed([grasp]), "robotiq_2f85", **kw).plan(frame)
    assert g.grasp.depth_m > TABLE_M - BOX[4] + 0.02                       # deep: the neighbour is beside it
    with pytest.raises(NoGraspFoundError):
        with_clearance(Fixed([grasp]), "robotiq_2f85", side_margin_m=0.002, **kw).plan(frame)
    with pytest.raises(ConfigError, match="side_margin_m"):
        with_clearance(Fixed([grasp]), side_margin_m=-0.001)


@pytest.mark.parametrize("obstacle", [
    # a 5.5 cm tall neighbour 4–5 cm to the side: clear of the fingers at a 5 cm opening, but under
    # the palm, which spans the gripper's whole stroke (±5.25 cm) whatever the opening
    (0.04, 0.05, -0.05, 0.05, 0.055),
    # a 1.4 × 1.4 cm corner of a 6 cm tall neighbour under one corner of the palm only: under 3 % of
    # its footprint, but more area than the fingers' outliers cover, so not taken for noise
    (0.038, 0.052, 0.02, 0.034, 0.06),
], ids=["neighbour-beside-the-fingers", "corner-under-the-palm"])
def test_the_palm_stops_above_what_lies_under_it(obstacle):
    """A 4 cm box grasped across: the palm stops 5 mm above the obstacle, so the grasp closes
    higher than the fingers alone would allow."""
    box = (-0.02, 0.02, -0.05, 0.05, 0.03)
    top = TABLE_M - box[4]
    frame = Frame.from_images(scene([box, obstacle]), intrinsics=INTR)
    [g] = with_clearance(Fixed([grasp_across(0, 0, 0.0, 0.04, top)]), "robotiq_2f85").plan(frame)
    palm_limited = obstacle[4] + ClearanceConfig.palm_clear_m - GRIPPER.finger_length_m + GRIPPER.tip_below_center_m
    assert TABLE_M - g.grasp.depth_m == pytest.approx(palm_limited, abs=1e-6)


def test_depth_planner_closes_as_deep_as_clear_by_default():
    """``deepest`` (the default): a planned depth 1 cm under the top, or one above the box,
    closes as deep as the fingers reach, as a surface planner's grasp does."""
    top = TABLE_M - BOX[4]
    frame = Frame.from_images(scene([BOX]), intrinsics=INTR)
    shallow, above = grasp_across(0, 0, 0.0, 0.04, top + 0.01), grasp_across(0, 0, 0.0, 0.04, top - 0.01)
    got = with_clearance(Fixed([shallow, above], plans_depth=True), "robotiq_2f85").plan(frame, max_grasps=5)
    assert [g.grasp.depth_m for g in got] == pytest.approx([top + GRIPPER.surface_grip_depth_m] * 2, abs=1e-6)
    assert with_clearance(Fixed([shallow], plans_depth=True), "robotiq_2f85").spec()["options"]["deepest"] is True


def test_palm_over_a_taller_neighbour_limits_the_depth():
    top = TABLE_M - BOX[4]
    # 2 cm taller, beside the box along the jaw axis but outside the fingers' columns, under the palm's span
    tall = (-0.02, 0.02, 0.05, 0.08, 0.08)                  # along y, next to the box's end
    frame = Frame.from_images(scene([BOX, tall]), intrinsics=INTR)
    g = grasp_across(0, 0.03, 0.0, 0.04, top)               # palm (7 cm wide in y) reaches y = 0.065
    [p] = with_clearance(Fixed([g]), "robotiq_2f85").plan(frame)
    palm_limit = (TABLE_M - 0.08) - top + GRIPPER.finger_length_m - GRIPPER.tip_below_center_m - 0.005
    assert p.grasp.depth_m - top == pytest.approx(min(GRIPPER.surface_grip_depth_m, palm_limit), abs=2e-4)


def test_offset_function_known_answer_and_empty():
    R = Grasp3D(np.zeros(3), np.array([1.0, 0, 0]), 0.05).hand_pose([0, 0, 1.0]).rotation
    pts = np.array([[0.03, 0.0, 0.02], [0.0, 0.0, -0.01]])   # one under the right finger 2 cm down, one at the centre
    off = deepest_clear_offset_m(pts, np.zeros(3), R, 0.05, GRIPPER)
    assert off == pytest.approx(min(0.02 - GRIPPER.tip_below_center_m,
                                    -0.01 + GRIPPER.finger_length_m - GRIPPER.tip_below_center_m))
    assert deepest_clear_offset_m(np.zeros((0, 3)), np.zeros(3), R, 0.05, GRIPPER) == np.inf


def test_spec_round_trip_and_bad_options():
    pol = load_policy("clearance", policy={"policy": "random-antipodal", "options": {}}, candidates=7,
                      side_margin_m=0.002)
    again = load_policy("clearance", **pol.spec()["options"])
    assert again.spec() == pol.spec() and again.inner.name == "random-antipodal"
    assert again.config.side_margin_m == 0.002 and again.config.candidates == 7
    with pytest.raises(ConfigError, match="millimetres"):
        ClearanceConfig(clear_m=3.0)
    with pytest.raises(ConfigError):
        ClearanceConfig(candidates=0)
    with pytest.raises(ConfigError, match="already"):
        with_clearance(pol)


def test_needs_intrinsics():
    from grasplab.errors import GrasplabError
    frame = Frame.from_images(scene([BOX]))
    with pytest.raises(GrasplabError, match="intrinsics"):
        with_clearance(Fixed([grasp_across(0, 0, 0, 0.04, 0.54)])).plan(frame)


def test_too_narrow_a_grasp_opens_wider_until_clear_or_is_dropped():
    wide = (-0.024, 0.024, -0.05, 0.05, 0.06)               # 4.8 cm across
    top = TABLE_M - wide[4]
    frame = Frame.from_images(scene([wide]), intrinsics=INTR)
    narrow = grasp_across(0, 0, 0.0, 0.02, top)             # opening 3 cm, then 4 cm: fingers on the box
    [g] = with_clearance(Fixed([narrow]), "robotiq_2f85").plan(frame)
    assert g.width_m == pytest.approx(0.05 - 2 * GRIPPER.open_margin_m, abs=1e-3)   # 5 cm open: clear
    assert g.grasp.depth_m == pytest.approx(top + GRIPPER.surface_grip_depth_m, abs=1e-6)
    with pytest.raises(NoGraspFoundError):
        with_clearance(Fixed([narrow]), "robotiq_2f85", open_step_m=0.0).plan(frame)


def test_sensor_noise_is_not_an_obstacle_but_a_thin_wall_is():
    low = (-0.025, 0.025, -0.05, 0.05, 0.025)                # 2.5 cm tall: the table limits the fingers to 1.7 cm
    top = TABLE_M - low[4]
    noisy = scene([low]) + np.random.default_rng(0).normal(0.0, 0.002, (INTR.height, INTR.width))
    g = grasp_across(0, 0, 0.0, 0.05, top)
    [p] = with_clearance(Fixed([g]), "robotiq_2f85").plan(Frame.from_images(noisy, intrinsics=INTR))
    expected = low[4] - GRIPPER.tip_below_center_m - ClearanceConfig.clear_m
    assert p.grasp.depth_m - top == pytest.approx(expected, abs=0.003)
    # the raw highest of the finger's ~300 noisy points stops the fingers ~6 mm early
    [raw] = with_clearance(Fixed([g]), "robotiq_2f85", median_px=1, top_quantile=0.0).plan(
        Frame.from_images(noisy, intrinsics=INTR))
    assert raw.grasp.depth_m - top < expected - 0.004
    wall = (0.031, 0.035, -0.05, 0.05, 0.04)                 # 4 mm thick, under the right finger at 6 cm open
    walled = Frame.from_images(scene([low, wall]) + noisy - scene([low]), intrinsics=INTR)
    with pytest.raises(NoGraspFoundError):
        with_clearance(Fixed([g]), "robotiq_2f85", open_step_m=0.0).plan(walled)
    [wider] = with_clearance(Fixed([g]), "robotiq_2f85").plan(walled)       # 1 cm wider: past the wall
    assert wider.width_m == pytest.approx(0.06, abs=1e-3)


def test_predict_cli_with_clearance_on_a_real_frame(shared_data, tmp_path, capsys):
    """`predict --clearance` on a real Primesense frame: grasps that plan their depth, within the
    gripper, on the mask; the spec written beside them rebuilds the wrapped policy."""
    import json

    from grasplab.cli import main
    from grasplab.imaging import read_mask
    frames = shared_data / "gqcnn/primesense"
    argv = ["predict", "--policy", "map-rerank", "--clearance", "--gripper", "robotiq_2f85", "--depth",
            str(frames / "depth_0.npy"), "--mask", str(frames / "segmask_0.png"), "--out", str(tmp_path / "p")]
    with pytest.raises(SystemExit) as exc:
        main(argv)                                                # no intrinsics: a clear error, exit 2
    assert exc.value.code == 2 and "intrinsics" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(argv + ["--intrinsics", str(shared_data / "gqcnn/calib/primesense.intr")])
    assert exc.value.code in (0, None)
    out = json.loads((tmp_path / "p" / "grasps.json").read_text())
    spec = out["config"]["policy"]
    assert spec["policy"] == "clearance" and spec["options"]["policy"]["policy"] == "map-rerank"
    mask = read_mask(frames / "segmask_0.png")
    depth = np.load(frames / "depth_0.npy").squeeze()
    for g in out["grasps"]:
        x, y = np.rint(g["center_xy_px"]).astype(int)
        assert mask[y, x] and 0 < g["width_m"] <= 0.085
        assert g["depth_m"] > depth[y, x]                        # closes below the surface it was planned on
    assert load_policy(spec["policy"], **spec["options"]).spec() == {k: v for k, v in spec.items() if k != "score_meaning"}


def test_hand_pose_keeps_the_approach_and_straightens_a_tilted_axis():
    tilted = Grasp3D(np.array([0.1, 0.0, 0.5]), np.array([0.99, 0.0, 0.141]), 0.04)
    T = tilted.hand_pose([0.0, 0.0, 1.0])
    np.testing.assert_allclose(T.rotation[:, 2], [0, 0, 1], atol=1e-12)         # the approach, exactly
    np.testing.assert_allclose(T.rotation[:, 0], [1, 0, 0], atol=1e-12)         # the axis, made level
    np.testing.assert_allclose(T.rotation.T @ T.rotation, np.eye(3), atol=1e-12)
    with pytest.raises(ValueError, match="parallel"):
        Grasp3D(np.zeros(3), np.array([0.0, 0.0, 1.0]), 0.04).hand_pose([0, 0, 1.0])
