"""Named recipes: the published Dex-Net 2.0 values live once (grasplab/presets/dexnet2.json) and are
the typed configs' defaults; the other presets build on them."""
import dataclasses

import pytest

from grasplab.errors import ConfigError
from grasplab.policies.antipodal_depth import AntipodalDepthConfig
from grasplab.policies.gqcnn_policy import CEMConfig
from grasplab.presets import configure, load_preset, preset_names, published
from grasplab.quality import QualityConfig
from grasplab.scene import DepthNoiseConfig
from grasplab.synth import SynthConfig
from grasplab.training.gqcnn_data import AugmentConfig
from grasplab.training.gqcnn_train import GQCNNTrainConfig


def test_the_typed_defaults_are_the_published_dexnet2_values():
    assert SynthConfig.from_preset("dexnet2") == SynthConfig()
    dex = load_preset("dexnet2")
    for cls, section in ((QualityConfig, dex["synth"]["quality"]), (DepthNoiseConfig, dex["synth"]["noise"]),
                         (AugmentConfig, dex["train_gqcnn"]["augment"]), (CEMConfig, dex["policy"]["cem"]),
                         (AntipodalDepthConfig, dex["policy"]["sampler"])):
        defaults = dataclasses.asdict(cls())
        assert {k: defaults[k] for k in section} == section, cls.__name__
    schedule = {k: v for k, v in dex["train_gqcnn"].items() if k != "augment"}
    assert {k: getattr(GQCNNTrainConfig(), k) for k in schedule} == schedule
    # the numbers the papers publish, as a reader checks them against DESIGN B3-B5
    assert QualityConfig().positive_threshold == 0.002 and QualityConfig().num_samples == 25
    assert (GQCNNTrainConfig().batch_size, GQCNNTrainConfig().lr, GQCNNTrainConfig().decay_epochs) == (64, 0.01, 0.66)
    assert published("synth", "gripper") == "yumi"


def test_every_preset_builds_a_synthesis_config():
    assert {"dexnet2", "jacquard-like", "demo", "semisup", "semisup-quick"} <= set(preset_names())
    for name in preset_names():
        cfg = SynthConfig.from_preset(name)
        assert isinstance(cfg, SynthConfig) and load_preset(name)["description"]
    jq = SynthConfig.from_preset("jacquard-like")
    assert (jq.gripper, jq.camera, jq.formats, jq.grasps_per_object, jq.quality.positive_threshold) == \
        ("robotiq_2f85", "jacquard", ("jacquard",), 450, 0.001)
    assert jq.quality.num_samples == 25                      # what the preset does not say stays Dex-Net's
    demo = SynthConfig.from_preset("demo", objects="procedural:3")
    assert (demo.objects, demo.seed, demo.gripper, demo.quality.positive_threshold) == \
        ("procedural:3", 20261122, "robotiq_2f85", 0.001)  # extends jacquard-like; overrides win
    quick = SynthConfig.from_preset("semisup-quick")
    assert (quick.objects, quick.seed, quick.grasps_per_object) == ("procedural:30", 2020, 200)


def test_presets_refuse_what_they_do_not_know():
    with pytest.raises(ConfigError, match="unknown preset 'nope'.*dexnet2"):
        SynthConfig.from_preset("nope")
    with pytest.raises(ConfigError, match="SynthConfig has no setting colour"):
        configure(SynthConfig, "dexnet2", colour="red")
    load_preset("dexnet2")["synth"]["gripper"] = "changed"      # callers get copies
    assert load_preset("dexnet2")["synth"]["gripper"] == "yumi"


def test_synth_cli_takes_objects_and_seed_from_the_preset_unless_given(monkeypatch, tmp_path):
    """``grasplab synth --preset semisup`` makes the preset's 200 objects at seed 2020 (the CLI's
    own defaults used to override them with procedural:8 and seed 0)."""
    import grasplab.synth as synth
    from grasplab.cli import main
    seen = []

    def fake_run(cfg, out, **kw):
        seen.append(cfg)
        raise ConfigError("stop here")
    monkeypatch.setattr(synth, "run_synth", fake_run)
    for args in (["--preset", "semisup"], ["--preset", "semisup", "--objects", "procedural:5", "--seed", "3"], []):
        with pytest.raises(SystemExit):
            main(["synth", "--out", str(tmp_path / "s"), *args])
    assert [(c.objects, c.seed) for c in seen] == [("procedural:200", 2020), ("procedural:5", 3), ("procedural:8", 0)]
