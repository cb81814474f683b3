"""Failure memory: after a failed pick the next plan looks elsewhere first; a robot loop (the clutter
trials) tells the policy each outcome."""
import numpy as np
import pytest

from grasplab.errors import ConfigError
from grasplab.geometry import CameraIntrinsics, Grasp2D
from grasplab.imaging import Frame
from grasplab.policies import Candidates, FailureMemoryPolicy, FallbackPolicy, GraspPolicy, load_policy, with_clearance

INTR = CameraIntrinsics(fx=500.0, fy=500.0, cx=80.0, cy=60.0, width=160, height=120)
DEPTH = np.full((120, 160), 0.5)
A, B = Grasp2D((60.0, 60.0), 0.0, 20.0, 8.0, 0.5), Grasp2D((110.0, 60.0), 0.0, 20.0, 8.0, 0.5)   # 5 cm apart at 0.5 m


class Fixed(GraspPolicy):
    """Proposes A then B, and records what it is told."""
    name = "fixed"

    def __init__(self):
        self.told = []

    def _candidates(self, frame, max_grasps, rng):
        return Candidates([A, B], np.array([0.9, 0.4]))

    def reset(self):
        self.told.append("reset")

    def observe(self, grasp, lifted):
        self.told.append(lifted)

    def spec(self):
        return {"policy": "fixed", "options": {}}


@pytest.mark.parametrize("intrinsics", [INTR, None])
def test_after_a_failed_pick_the_next_plan_looks_elsewhere_first(intrinsics):
    frame = Frame.from_images(DEPTH, intrinsics=intrinsics)
    inner = Fixed()
    mem = FailureMemoryPolicy(inner, radius_m=0.03, radius_px=30.0)
    first = mem.plan(frame)[0]
    assert first.grasp.center_xy_px == A.center_xy_px
    mem.observe(first, lifted=True)                                   # a success is not avoided
    assert mem.plan(frame)[0].grasp.center_xy_px == A.center_xy_px
    mem.observe(first, lifted=False)
    again = mem.plan(frame)
    assert [g.grasp.center_xy_px for g in again] == [B.center_xy_px] and again[0].score == pytest.approx(0.4)
    assert mem.last_stats["near_failures"] == 1
    mem.observe(again[0], lifted=False)                               # both failed: plan as the policy does
    assert [g.grasp.center_xy_px for g in mem.plan(frame)] == [A.center_xy_px, B.center_xy_px]
    mem.reset()                                                       # a new scene: nothing to avoid
    assert mem.plan(frame)[0].grasp.center_xy_px == A.center_xy_px and mem.last_stats["near_failures"] == 0
    assert inner.told == [True, False, False, "reset"]                # passed on to the wrapped policy


def test_a_wider_radius_covers_both_and_wrappers_pass_outcomes_on():
    frame = Frame.from_images(DEPTH, intrinsics=INTR)
    wide = FailureMemoryPolicy(Fixed(), radius_m=0.06)
    wide.observe(wide.plan(frame)[0], lifted=False)
    assert wide.plan(frame)[0].grasp.center_xy_px == A.center_xy_px    # B lies 5 cm away: nothing else left
    inner = Fixed()
    chain = FallbackPolicy([with_clearance(inner), with_clearance(Fixed())])
    chain.reset()
    chain.observe(None, False)
    assert inner.told == ["reset", False]


def test_where_nothing_failed_it_plans_the_wrapped_policys_very_grasps():
    """The same seed reaches the wrapped policy: a random planner's grasps are unchanged."""
    from grasplab.geometry import CameraIntrinsics as K
    depth = np.full((240, 320), 0.70)
    depth[100:140, 140:180] = 0.66                                    # a 4 cm block on the table
    frame = Frame.from_images(depth, intrinsics=K(520.0, 520.0, 159.5, 119.5, 320, 240))
    inner = load_policy("random-antipodal")
    mem = FailureMemoryPolicy(load_policy("random-antipodal"))
    for seed in (0, 1, 2):
        a, b = inner.plan(frame, max_grasps=3, seed=seed), mem.plan(frame, max_grasps=3, seed=seed)
        assert [g.grasp for g in a] == [g.grasp for g in b]


def test_spec_round_trip_and_refusals():
    mem = load_policy("avoid-failures", policy="random-antipodal", radius_m=0.05)
    assert isinstance(mem, FailureMemoryPolicy) and mem.requires_intrinsics
    assert load_policy("avoid-failures", **mem.spec()["options"]).spec() == mem.spec()
    with pytest.raises(ConfigError, match="radius_m"):
        FailureMemoryPolicy(Fixed(), radius_m=50.0)                   # millimetres
    with pytest.raises(ConfigError, match="candidates"):
        FailureMemoryPolicy(Fixed(), candidates=0)


def test_the_clutter_trials_tell_the_policy_each_outcome():
    """A heap run resets the policy once and reports every executed attempt's outcome."""
    from grasplab.objects import parse_object_source
    from grasplab.trials.clutter import run_heap
    from grasplab.trials.trial import TrialConfig

    class Spy(GraspPolicy):
        name = "spy"

        def __init__(self):
            self.inner, self.told = load_policy("random-antipodal"), []
            self.requires_intrinsics = True

        def _candidates(self, frame, max_grasps, rng):
            planned = self.inner.plan(frame, max_grasps=max_grasps, seed=int(rng.integers(2 ** 31)))
            return Candidates([p.grasp for p in planned], np.array([p.score for p in planned]))

        def reset(self):
            self.told.append("reset")

        def observe(self, grasp, lifted):
            self.told.append(lifted)

        def spec(self):
            return {"policy": "spy", "options": {}}

    spy = Spy()
    rec = run_heap(parse_object_source("procedural:6:box,cylinder,prism", seed=2), 3, 0, 4,
                   TrialConfig.from_preset("jacquard-like"), spy)
    executed = [a["outcome"] == "success" for a in rec["attempts"] if a["outcome"] != "no grasp"]
    assert spy.told == ["reset", *executed] and executed
