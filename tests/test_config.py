"""One source of defaults (mexp_lib.config): the schema's defaults, resolved deep, the same for
the workflow, the stage functions and the command line; closed option objects."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from mexp_lib.config import default, load_schema, resolve_config, settings
from mexp_lib.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
TINY = yaml.safe_load((REPO / "tests/configs/tiny.yaml").read_text())


def test_setting_one_tvl1_key_keeps_the_other_defaults():
    flow = resolve_config(TINY | {"flow": {"tvl1": {"warps": 5}}})["flow"]
    assert flow["tvl1"]["warps"] == 5
    # the schema's tuned settings, not OpenCV's (nscales 5, scale_step 0.8, epsilon 0.01)
    assert (flow["tvl1"]["nscales"], flow["tvl1"]["scale_step"], flow["tvl1"]["epsilon"]) == (4, 0.5, 0.02)
    assert flow["method"] == "tvl1" and flow["dis"]["preset"] == "medium"
    # a stage given a partial section fills it the same way, and a resolved section is left as it is
    assert settings("flow", {"tvl1": {"warps": 5}}) == flow
    assert settings("flow", flow) == flow


def test_per_dataset_sections_take_the_global_value_not_a_default():
    cfg = resolve_config(TINY | {"training": {"epochs": 8, "lr": 0.01}, "datasets": {"demo": TINY["datasets"]["demo"] | {"training": {"epochs": 3}}}})
    assert cfg["datasets"]["demo"]["training"] == {"epochs": 3}, "a dataset's own section holds only what it sets"
    assert cfg["training"]["lr"] == 0.01 and cfg["training"]["batch_size"] == default("training.batch_size")


def _walk(schema, where):
    """Every leaf key of the settings sections with whether the schema gives it a default."""
    if "$ref" in schema and schema["$ref"].startswith("#/$defs/"):
        schema = load_schema()["$defs"][schema["$ref"].split("/")[-1]]
    props = schema.get("properties")
    if not props:
        yield where, "default" in schema
        return
    for k, sub in props.items():
        yield from _walk(sub, f"{where}.{k}")


def test_every_setting_has_its_default_in_the_schema():
    sections = [s for s in load_schema()["properties"] if s != "datasets"]
    keys = [(k, has) for s in sections for k, has in _walk(load_schema()["properties"][s], s)]
    assert len(keys) > 100
    assert [k for k, has in keys if not has] == []
    assert not all(has for _, has in _walk({"properties": {"x": {"type": "integer"}}}, "t")), "the walk sees a missing default"


@pytest.mark.parametrize("edit,key", [
    ({"flow": {"tvl1": {"warsp": 3}}}, "flow.tvl1.warsp: unknown key (did you mean 'warps'?)"),
    ({"flow": {"dis": {"presett": "fast"}}}, "flow.dis.presett"),
    ({"flow": {"farneback": {"level": 2}}}, "flow.farneback.level"),
    ({"spotting": {"learned": {"epoch": 3}}}, "spotting.learned.epoch"),
    ({"spotting": {"tvl1": {"nscale": 3}}}, "spotting.tvl1.nscale"),
    ({"spotting": {"k_seconds": {"micro": 0.2, "macro": 0.5, "mezzo": 1}}}, "spotting.k_seconds.mezzo"),
])
def test_a_typo_in_a_nested_option_fails_naming_the_key(edit, key):
    with pytest.raises(ConfigError, match=re.escape(key)):
        resolve_config(TINY | edit)
    section, rest = next(iter(edit.items()))
    with pytest.raises(ConfigError, match=re.escape(key.split(":")[0])):
        settings(section, rest)  # a stage function given the section directly


def test_a_bad_nested_value_fails_naming_the_key():
    with pytest.raises(ConfigError, match=r"flow\.tvl1\.nscales: 'four' is not of type 'integer'"):
        resolve_config(TINY | {"flow": {"tvl1": {"nscales": "four"}}})
    resolve_config(TINY | {"flow": {"tvl1": {"nscales": 2}}})  # the paired valid value


def test_cli_flags_and_help_come_from_the_schema(tmp_path, capsys):
    from mexp_lib.cli import build_parser, main

    sub = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    mg = sub["magnify"].format_help()
    assert f"(default: {default('magnification.alpha')}; magnification.alpha)" in mg and "default: 4;" in mg
    assert "(default: 20; magnification.high_hz)" in mg
    fl = sub["flow"].format_help()
    assert "tvl1.scale_step = 0.5" in fl and "tvl1.nscales = 4" in fl and "dis.preset = \"medium\"" in fl
    sp = sub["spot"].format_help()
    assert 'method = "mdmd"' in sp and "default_floor = 4.0" in sp, "mexp spot without a model: MDMD, fixed thresholds"
    clip = tmp_path / "c.h5"
    from mexp_lib.io.h5store import write_store

    write_store(clip, {"frames": np.zeros((3, 16, 16), np.float32)}, {})
    assert main(["flow", str(clip), "-o", str(tmp_path / "f.h5"), "--set", "tvl1.warsp=3"]) == 2
    assert "flow.tvl1.warsp: unknown key (did you mean 'warps'?)" in capsys.readouterr().err
    assert not (tmp_path / "f.h5").exists()


def test_mexp_spot_without_a_model_is_an_override_of_the_schema():
    from mexp_lib.spotting.stage import WITHOUT_MODEL

    resolved = settings("spotting", WITHOUT_MODEL)
    schema = settings("spotting")
    changed = {k for k in schema if resolved[k] != schema[k]}
    assert changed == {"spotter", "method", "default_floor", "flow_method", "eye_dilate", "region", "blinks", "boundaries", "type_by"}
    assert resolved["spotter"] == "classical" and resolved["method"] == "mdmd" and resolved["boundaries"] == "fixed"


@pytest.mark.slow
def test_cli_and_workflow_give_the_same_output_for_the_same_settings(tiny_run, tmp_path):
    """One sample through the workflow (the tiny run's work folder under a config that sets one
    TV-L1 key and the magnification: those stages rerun) and through `mexp magnify` / `mexp flow`
    reading the same config file: the stores are identical; the same clip with OpenCV's default
    TV-L1 is not."""
    import shutil

    from workflow_runner import planned_jobs, snakemake

    from mexp_lib.cli import main
    from mexp_lib.datasets.table import read_sample_table
    from mexp_lib.io.h5store import read_arrays
    from mexp_lib.motion.flow import FlowParams, optical_flow

    wd = tmp_path / "wd"
    shutil.copytree(tiny_run[0], wd, symlinks=True)
    cfg_file = wd / "config/config.yaml"
    cfg = yaml.safe_load(cfg_file.read_text()) | {"flow": {"tvl1": {"warps": 2}}, "magnification": {"alpha": 3, "high_hz": 12}}
    cfg_file.write_text(yaml.safe_dump(cfg))
    dry = snakemake(wd, "-n", "results/flow/demo/003")
    assert planned_jobs(dry.stdout + dry.stderr) == {"magnify_motion": 1, "compute_flow": 1}, "the edited stages rerun on the tiny run's clips"
    samples = read_sample_table(wd / "results/samples/demo.csv")
    s = samples[samples.task == "recognition"]["sample"].iloc[0]
    # the tiny config's 3 long videos are chunks 000-002 (mexp_lib.chunks), its first short clips chunk 003
    snakemake(wd, "results/flow/demo/003")
    r = wd / "results"
    assert (r / f"flow/demo/003/{s}.h5").is_file()
    assert main(["magnify", str(r / f"tim/demo/003/{s}.h5"), "-o", str(tmp_path / "m.h5"), "--config", str(cfg_file)]) == 0
    wf_mag, cli_mag = read_arrays(r / f"magnified/demo/003/{s}.h5", "frames")["frames"], read_arrays(tmp_path / "m.h5", "frames")["frames"]
    np.testing.assert_array_equal(cli_mag, wf_mag)
    assert main(["flow", str(tmp_path / "m.h5"), "-o", str(tmp_path / "f.h5"), "--config", str(cfg_file)]) == 0
    wf, cli = read_arrays(r / f"flow/demo/003/{s}.h5", "flow", "strain", "pairs"), read_arrays(tmp_path / "f.h5", "flow", "strain", "pairs")
    # the tiny config's model (STSTNet) reads the onset -> apex pair: the workflow computes that pair only
    (onset, apex), = wf["pairs"].tolist()
    assert onset == 0 and apex > 0 and cli["pairs"][apex].tolist() == [0, apex]
    np.testing.assert_array_equal(cli["flow"][apex], wf["flow"][0])
    np.testing.assert_array_equal(cli["strain"][apex], wf["strain"][0])
    assert np.abs(wf["flow"].astype(np.float32)).max() > 0.1, "the clip moves"
    # the same settings by flag: one key set, the others the schema's
    assert main(["flow", str(tmp_path / "m.h5"), "-o", str(tmp_path / "g.h5"), "--set", "tvl1.warps=2"]) == 0
    np.testing.assert_array_equal(read_arrays(tmp_path / "g.h5", "flow")["flow"], cli["flow"])
    # the paired failing case: OpenCV's own TV-L1 defaults (what `mexp flow` ran before) differ
    opencv, _ = optical_flow(cli_mag[[0, apex]], params=FlowParams("tvl1", {"warps": 2}), reference="onset")
    assert np.abs(opencv[1].astype(np.float16).astype(np.float32) - wf["flow"][0].astype(np.float32)).max() > 1e-3


def test_nested_values_from_snakemakes_command_line_are_read_as_the_schema_says():
    """`--config 'batching={clips_per_job: 50}'` (a profile's `config:`) hands the workflow the
    text '50': read as the integer the schema expects; text that is no number still fails naming
    the key, and a key the schema types as text keeps its text."""
    from mexp_lib.config import resolve_config

    base = {"datasets": {"demo": {"format": "demo"}}}
    assert resolve_config(base | {"batching": {"clips_per_job": "50"}})["batching"]["clips_per_job"] == 50
    assert resolve_config(base | {"flow": {"mask_eyes": "true", "tvl1": {"tau": "0.2"}}})["flow"]["tvl1"]["tau"] == 0.2
    with pytest.raises(ConfigError, match=r"batching.clips_per_job: 'two' is not of type 'integer'"):
        resolve_config(base | {"batching": {"clips_per_job": "two"}})
    with pytest.raises(ConfigError, match="batching.clips_per_job"):
        resolve_config(base | {"batching": {"clips_per_job": "2.5"}})
    assert resolve_config(base | {"flow": {"reference": "skip:2"}})["flow"]["reference"] == "skip:2"
