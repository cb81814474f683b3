"""The policy registry and ``load_policy``: every grasp planner by name, a model file, or a spec.

``load_policy(name_or_file, **options)`` takes

* a registered policy name (``grasplab policies`` lists them): ``load_policy("gqcnn-cem",
  model="runs/gqcnn/model.npz")``;
* a model — a pretrained name or a model file: the policy its architecture is planned with
  (a grasp-map model → ``map``, a GQ-CNN → ``gqcnn-cem``), the model passed as ``model=``;
* a policy spec file (``.json``, ``{"policy": NAME, "options": {...}}``, as ``policy.spec()``
  writes it beside every result), options given here overriding the file's;
* nothing (or only ``gripper=``): ``auto``, the default policy (:mod:`grasplab.policies.auto`:
  the clearance-checked FC-GQ-CNN chain on frames with intrinsics, the GG-CNN2 without); grasp-map
  options alone (``views=``, ``rerank=``) plan with the default pretrained grasp-map model.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import ConfigError, GrasplabError
from .base import GraspPolicy

# the built-in policies register themselves when ``grasplab.policies`` is imported (its
# ``__init__`` imports their modules), which happens before this module is first used


@dataclass(frozen=True)
class PolicyEntry:
    name: str
    build: Callable[..., GraspPolicy]
    summary: str                  # one line for `grasplab policies`
    models: str                   # which models it plans with


POLICIES: dict[str, PolicyEntry] = {}
ALIASES = {"rank": "gqcnn-rank", "cem": "gqcnn-cem"}      # `--policy rank|cem` of earlier releases


def register_policy(name: str, summary: str, models: str):
    """Register a policy factory (a class or a function taking keyword options) under ``name``."""
    def deco(build):
        if name in POLICIES:
            raise ValueError(f"policy {name!r} is registered twice")
        POLICIES[name] = PolicyEntry(name, build, summary, models)
        return build
    return deco


def policy_names() -> list[str]:
    return sorted(POLICIES)


def load_policy(name_or_file: str | Path | None = None, **options) -> GraspPolicy:
    """A policy from a registered name, a model (pretrained name or file), or a spec file; see
    the module's notes. Unknown options are refused with the ones the policy takes."""
    if name_or_file is None and "model" in options:          # load_policy(model=...): the model's own policy
        name_or_file = options.pop("model")
    key = None if name_or_file is None else str(name_or_file)
    if key is None and set(options) <= {"gripper"}:
        key = "auto"
    key = ALIASES.get(key, key)
    if key in POLICIES:
        return _build(POLICIES[key], options)
    if key is not None and key.endswith(".json"):
        return _from_spec(Path(key), options)
    if "model" in options:
        raise ConfigError(f"{name_or_file!r} is not a policy name ({', '.join(policy_names())}); give the model "
                          f"either as the first argument or as model=, not both")
    try:
        name = default_policy_for(key)
    except GrasplabError as e:
        if "neither a model file" in str(e):
            raise GrasplabError(f"{e}; nor a registered policy ({', '.join(policy_names())}; see `grasplab "
                                f"policies`)") from None
        raise
    return _build(POLICIES[name], {"model": key, **options})


def default_policy_for(model: str | Path | None) -> str:
    """The policy a model is planned with, from its file's architecture (``--model`` without ``--policy``)."""
    from ..models import MODELS, read_header
    from ..models.pretrained import resolve_model
    path = resolve_model(model)
    if path.suffix == ".onnx":
        return "map"                                   # ONNX exports are grasp-map models
    arch = read_header(path).get("architecture")
    cls = MODELS.get(arch)
    if cls is None:
        raise GrasplabError(f"{path}: unknown architecture {arch!r}; known: {', '.join(sorted(MODELS))}")
    if not getattr(cls, "default_policy", None):
        raise GrasplabError(f"{path}: a {arch!r} model plans no grasps by itself; {cls.policy_hint}")
    return cls.default_policy


def policy_options(name: str) -> list[str]:
    """The keyword options a registered policy takes."""
    import inspect
    return [p for p in inspect.signature(POLICIES[ALIASES.get(name, name)].build).parameters if p != "self"]


def _build(entry: PolicyEntry, options: dict) -> GraspPolicy:
    unknown = sorted(set(options) - set(policy_options(entry.name)))
    if unknown:
        raise ConfigError(f"the {entry.name} policy has no option {', '.join(unknown)}; its options: "
                          f"{', '.join(policy_options(entry.name))}")
    return entry.build(**options)


def _from_spec(path: Path, options: dict) -> GraspPolicy:
    if not path.is_file():
        raise GrasplabError(f"{path}: policy spec file not found")
    try:
        spec = json.loads(path.read_text())
    except ValueError as e:
        raise GrasplabError(f"{path}: not a policy spec ({{\"policy\": NAME, \"options\": {{...}}}}): {e}") from None
    return policy_from_spec(spec, where=str(path), **options)


def policy_from_spec(spec: dict, where: str = "policy spec", **options) -> GraspPolicy:
    """A policy from its spec (``{"policy": NAME, "options": {...}}``, as ``policy.spec()`` gives),
    ``options`` overriding the saved ones."""
    try:
        name = spec["policy"]
        saved = dict(spec.get("options", {}))
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise GrasplabError(f"{where}: not a policy spec ({{\"policy\": NAME, \"options\": {{...}}}}): {e}") from None
    name = ALIASES.get(name, name)
    if name not in POLICIES:
        raise GrasplabError(f"{where}: unknown policy {name!r}; known: {', '.join(policy_names())}")
    return _build(POLICIES[name], {**saved, **options})
