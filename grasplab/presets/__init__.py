"""Named recipes (JSON files beside this module), in the manner of gqcnn's replication configs.

A preset holds values of grasplab's typed configs, by section (``synth``: ``SynthConfig``);
``"extends"`` names a preset it builds on. ``dexnet2`` holds the published Dex-Net 2.0 values
(the robust label parameters and threshold, the synthesis recipe, the GQ-CNN training schedule,
the policies' sampler and cross-entropy settings) and is where the typed configs' defaults come
from (``published``), so each published number is written once, here. The CLI (``--preset``),
the demo, the semi-supervised runner and ``scripts/`` read the presets through ``configure``.
"""
from __future__ import annotations

import dataclasses
import json
from functools import lru_cache
from pathlib import Path

from ..errors import ConfigError

HERE = Path(__file__).parent


def preset_names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.json"))


def load_preset(name: str) -> dict:
    """The preset's sections with everything it extends merged in (its own values win)."""
    return json.loads(json.dumps(_load(name)))               # a copy: callers may change it


@lru_cache(maxsize=None)
def _load(name: str) -> dict:
    path = HERE / f"{name}.json"
    if not path.is_file():
        raise ConfigError(f"unknown preset {name!r}; choose from {', '.join(preset_names())}")
    data = json.loads(path.read_text())
    base = _load(data["extends"]) if "extends" in data else {}
    merged = _merge(base, {k: v for k, v in data.items() if k != "extends"})
    merged["name"] = name
    return merged


def published(*keys: str):
    """A published Dex-Net 2.0 value (or section) from ``dexnet2.json``: the default of a typed config."""
    value = _load("dexnet2")
    for k in keys:
        value = value[k]
    return json.loads(json.dumps(value)) if isinstance(value, (dict, list)) else value


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def configure(cls, preset: str | None = None, section: str = "synth", **overrides):
    """An instance of the dataclass ``cls``: its defaults, then the preset's ``section``, then
    ``overrides`` (nested dataclasses take dicts; ``None`` overrides are ignored)."""
    values = load_preset(preset).get(section, {}) if preset else {}
    return _build(cls, _merge(values, {k: v for k, v in overrides.items() if v is not None}))


def _build(cls, values: dict):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{cls.__name__} has no setting {', '.join(unknown)}")
    kwargs = {}
    for k, v in values.items():
        default = fields[k].default_factory() if fields[k].default_factory is not dataclasses.MISSING else None
        if isinstance(v, dict) and dataclasses.is_dataclass(default):
            kwargs[k] = _build(type(default), {**dataclasses.asdict(default), **v})
        else:
            kwargs[k] = tuple(v) if isinstance(v, list) else v
    return cls(**kwargs)
