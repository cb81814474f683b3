"""Parallel-jaw gripper geometry, with presets and loading from JSON.

Gripper frame (for a grasp): x = closing axis, z = approach direction (into the object,
world −z for top-down grasps), y = z × x. The fingertips reach ``tip_below_center_m``
past the grasp centre along the approach; the palm sits above the fingers.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..errors import ConfigError


@dataclass(frozen=True)
class ParallelJawGripper:
    name: str = "custom"
    max_width_m: float = 0.05          # maximum opening between the finger pads
    min_width_m: float = 0.0           # narrowest object the fingers can hold
    finger_width_m: float = 0.02       # finger pad size along y (across the closing axis)
    finger_length_m: float = 0.04      # finger length along the approach
    finger_thickness_m: float = 0.008  # finger size along the closing axis
    palm_width_m: float = 0.03         # palm size along y
    palm_height_m: float = 0.03        # palm size along the approach
    tip_below_center_m: float = 0.005  # fingertips reach this far past the grasp centre
    open_margin_m: float = 0.005       # fingers open this much wider than the object during approach
    grip_force_n: float = 20.0         # the most each finger presses with when closed (simulated trials)

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name != "name" and (not isinstance(v, (int, float)) or v < 0):
                raise ConfigError(f"gripper {self.name}: {f.name}={v} must be a non-negative number (metres; newtons for the force)")
        if self.max_width_m <= self.min_width_m:
            raise ConfigError(f"gripper {self.name}: max_width_m must exceed min_width_m")
        if self.max_width_m > 0.5:
            raise ConfigError(f"gripper {self.name}: max_width_m={self.max_width_m} m looks like millimetres")

    @property
    def surface_grip_depth_m(self) -> float:
        """How far below the surface seen at a grasp's centre the jaws close when a planner gives
        only that surface (grasp-map models): as deep as the fingers reach, less 1 cm."""
        return max(0.0, self.finger_length_m - 0.01)

    def to_dict(self) -> dict:
        return asdict(self)


GRIPPER_PRESETS: dict[str, ParallelJawGripper] = {
    # ABB YuMi smart gripper as used by Dex-Net 2.0: 5 cm opening (DESIGN B4); finger
    # dimensions approximate the stock YuMi fingers.
    "yumi": ParallelJawGripper("yumi", max_width_m=0.05, finger_width_m=0.02, finger_length_m=0.03,
                               finger_thickness_m=0.008, palm_width_m=0.03, palm_height_m=0.03,
                               grip_force_n=20.0),
    # Robotiq 2F-85: 85 mm stroke, ~22 mm wide pads, fingers ~ 4.5 cm long below the knuckles; its
    # grip force is adjustable from 20 to 235 N: trials use a gentle 40 N.
    "robotiq_2f85": ParallelJawGripper("robotiq_2f85", max_width_m=0.085, finger_width_m=0.022,
                                       finger_length_m=0.045, finger_thickness_m=0.01, palm_width_m=0.07,
                                       palm_height_m=0.04, grip_force_n=40.0),
}


def load_gripper(name_or_path: str) -> ParallelJawGripper:
    """A preset by name, or a JSON file with the :class:`ParallelJawGripper` fields."""
    if name_or_path in GRIPPER_PRESETS:
        return GRIPPER_PRESETS[name_or_path]
    path = Path(name_or_path)
    if not path.is_file():
        raise ConfigError(f"unknown gripper {name_or_path!r}: use a preset ({', '.join(GRIPPER_PRESETS)}) "
                          "or a JSON file with max_width_m, finger_width_m, ...")
    try:
        data = json.loads(path.read_text())
        known = {f.name for f in fields(ParallelJawGripper)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"{path}: unknown gripper fields {sorted(unknown)}; known: {sorted(known)}")
        data.setdefault("name", path.stem)
        return ParallelJawGripper(**data)
    except (json.JSONDecodeError, TypeError) as e:
        raise ConfigError(f"{path}: not a gripper JSON file ({e})") from None
