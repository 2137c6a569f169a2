"""One settings path for every stage: each stage function declares the settings it reads
(``mexp_lib.stages.STAGE_READS``), its rule passes exactly those (``params: settings``), its
script hands them on, the function reads no other, and changing one reruns exactly the stages
that read it (dry runs on the tiny config over outputs marked up to date with ``--touch``)."""

from __future__ import annotations

import contextlib
import copy
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_stage_names import smk_rules
from workflow_runner import REPO, SNAKEMAKE, snakemake, tiny_workdir

import mexp_lib.config as config_module
from mexp_lib.config import _local_ref, dataset_section, deep_merge, load_schema, read_settings, resolve_config
from mexp_lib.errors import ConfigError
from mexp_lib.stages import STAGE_READS, stage_settings

TINY = yaml.safe_load((REPO / "tests/configs/tiny.yaml").read_text())
SECTIONS = ("face", "interpolation", "magnification", "flow", "training", "recognition", "spotting", "evaluation", "batching")


def readers(path: str) -> set[str]:
    """The stages whose declared settings hold ``path`` (a section holds its keys)."""
    return {stage for stage, reads in STAGE_READS.items() for r in reads if path == r or path.startswith(r + ".") or r.startswith(path + ".")}


# --- every declared setting reaches its stage ---------------------------------------------------

def test_every_rule_passes_the_settings_its_function_declares():
    rules = smk_rules()
    assert set(STAGE_READS) == set(rules) - {"all"}, "every stage declares what it reads, and only stages do"
    text = "\n".join(p.read_text() for p in sorted((REPO / "workflow/rules").glob("*.smk")))
    for rule in STAGE_READS:
        body = re.search(rf"^rule {rule}:\n(.*?)(?=^rule |\Z)", text, re.S | re.M).group(1)  # type: ignore[union-attr]
        assert f'settings=get_settings("{rule}")' in body or f'get_provenance_config(wc, "{rule}")' in body, rule
    assert not re.search(r"_KEYS\b|section_params", text), "no hand-kept key lists in the .smk files"


@pytest.mark.parametrize("stage", sorted(STAGE_READS))
def test_every_declared_setting_is_in_what_the_rule_passes_and_the_script_hands_on(stage):
    cfg = resolve_config(TINY)
    given = stage_settings(cfg, stage, "demo")
    for path in STAGE_READS[stage]:
        node: Any = given
        parts = path.format(dataset="demo").split(".")
        if path.startswith("datasets.{dataset}.") and parts[2] not in cfg["datasets"]["demo"]:
            assert parts[2] not in given["datasets"]["demo"], path
            continue  # a key the entry does not set (a demo has no root or annotations) passes nothing
        for part in parts:
            assert isinstance(node, dict) and part in node, f"{stage}: {path} does not reach the stage"
            node = node[part]
    script = (REPO / f"workflow/scripts/{stage}.py").read_text()
    whole = "cfg=dict(snakemake.params.config)" in script  # the evaluation stages record all they are given
    for section in {p.split(".")[0] for p in STAGE_READS[stage]}:
        assert whole or re.search(rf'settings\["{section}"\]', script), f"scripts/{stage}.py does not hand on {section}"


def test_a_setting_no_stage_reads_is_not_passed():
    cfg = resolve_config(TINY)
    assert "size" not in stage_settings(cfg, "detect_landmarks", "demo")["face"], "alignment's size does not rerun detection"
    assert set(stage_settings(cfg, "align_faces", "demo")["face"]) == {"grey", "margin", "size"}
    assert "p_grid" not in stage_settings(cfg, "compute_spotting_features", "demo")["spotting"]


# --- read_settings and the per-dataset sections ----------------------------------------------------

def test_read_settings_picks_sections_keys_and_dataset_entries():
    cfg = resolve_config(TINY)
    got = read_settings(cfg, ("face.size", "flow", "datasets.{dataset}.generator", "evaluation.iou"), dataset="demo")
    assert got["face"] == {"size": 128} and got["flow"] == cfg["flow"] and got["evaluation"] == {"iou": 0.5}
    assert got["datasets"]["demo"]["generator"]["seed"] == 3
    assert list(got["flow"]["tvl1"]) == sorted(got["flow"]["tvl1"]), "keys sorted: reordering a config reruns nothing"
    no_generator = resolve_config({"datasets": {"d": {"format": "demo"}}})
    assert read_settings(no_generator, ("datasets.{dataset}.generator",), dataset="d") == {"datasets": {"d": {}}}, "a key without a default"


@pytest.mark.parametrize("path", ["face.sise", "flw", "flow.tvl1.warps.x", "datasets.{dataset}.nothing.here"])
def test_read_settings_refuses_a_path_the_config_does_not_hold(path):
    with pytest.raises(ConfigError, match=re.escape(path.split(".")[0])):
        read_settings(resolve_config(TINY), (path,), dataset="demo")


def test_a_datasets_training_override_is_deep_merged():
    cfg = copy.deepcopy(TINY)
    cfg["training"] |= {"selection": {"method": "inner", "grid": {"lr": [0.001, 0.01]}}}
    cfg["datasets"]["demo"]["training"] = {"selection": {"folds": 2}, "lr": 0.01}
    cfg = resolve_config(cfg)
    sel = dataset_section(cfg, "demo", "training")["selection"]
    assert sel["folds"] == 2 and sel["method"] == "inner" and sel["grid"] == {"lr": [0.001, 0.01]}, "the global keys beside it are kept"
    assert stage_settings(cfg, "train_fold", "demo")["training"]["selection"] == sel
    assert stage_settings(cfg, "train_fold", "demo")["training"]["lr"] == 0.01
    shallow = cfg["training"] | cfg["datasets"]["demo"]["training"]
    assert "method" not in shallow["selection"], "the pairing case: a shallow | loses them"
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}


def test_a_dataset_may_set_every_spotting_key():
    """The dataset entry's spotting section lists each global spotting key (by reference): a key
    added to the global section and forgotten there would be refused in a dataset's entry."""
    props = load_schema()["properties"]
    own = props["datasets"]["additionalProperties"]["properties"]["spotting"]["properties"]
    assert list(own) == list(props["spotting"]["properties"])
    assert all(v == {"$ref": f"#/properties/spotting/properties/{k}"} for k, v in own.items())


def test_a_datasets_spotting_override_is_deep_merged_into_every_spotting_stage():
    cfg = copy.deepcopy(TINY)
    cfg["datasets"]["demo"]["spotting"] = {"region": "crop", "learned": {"epochs": 3}, "recognise": True}
    cfg = resolve_config(cfg)
    assert cfg["spotting"]["region"] == "face" and cfg["datasets"]["demo"]["spotting"] == {"region": "crop", "learned": {"epochs": 3}, "recognise": True}
    assert stage_settings(cfg, "compute_spotting_features", "demo")["spotting"]["region"] == "crop"
    for stage in ("spot_intervals", "evaluate_spotting"):
        spot = stage_settings(cfg, stage, "demo")["spotting"]
        assert spot["learned"]["epochs"] == 3 and spot["learned"]["width"] == cfg["spotting"]["learned"]["width"], "the global keys beside it are kept"
        assert spot["p_grid"] == [0.2, 0.5] and spot["recognise"] is True
    with pytest.raises(ConfigError, match=r"datasets\.demo\.spotting\.regoin"):
        resolve_config({**TINY, "datasets": {"demo": {**TINY["datasets"]["demo"], "spotting": {"regoin": "crop"}}}})


@pytest.mark.parametrize(("section", "key", "value"), [("spotting", "region", "crop"), ("training", "lr", 0.01), ("recognition", "context", 2)])
def test_a_datasets_own_section_reruns_exactly_its_readers(touched, section, key, value):
    """A key set in a dataset's own section reruns what the global key would, not the sample
    table (the entry's other keys) and everything after it."""
    cfg = copy.deepcopy(TINY)
    cfg["datasets"]["demo"][section] = {key: value}
    assert rerun_problems(f"{section}.{key}", planned(touched, cfg, f"demo_{section}_{key}")) == []


def test_training_settings_come_from_the_schema_only():
    """Training (train.py and the modules it is built from) reads a resolved training section: a
    partial one gets every default from the schema (nothing left for a cfg.get(key, default) to
    stand in for)."""
    from mexp_lib.recognition.settings import training_settings

    for name in ("train", "inputs", "fit", "selection", "descriptor_svm"):
        src = (REPO / f"mexp_lib/recognition/{name}.py").read_text()
        assert not re.search(r"\b(cfg|sel)\.get\(", src), f"no defaults of its own in {name}.py"
    got = training_settings({"selection": {"grid": {"lr": [0.1]}}, "threads": 2})
    assert got["selection"]["folds"] == config_module.default("training.selection.folds") and got["threads"] == 2
    assert got["label_smoothing"] == config_module.default("training.label_smoothing")
    assert training_settings(got) == got
    with pytest.raises(ConfigError, match="training.epoch"):
        training_settings({"epoch": 3})


# --- the functions read no setting they do not declare ----------------------------------------------

class Recording(dict):
    """A resolved section that records each key read from it (``section.key``, nested)."""

    def __init__(self, data: dict, log: set[str], prefix: str):
        super().__init__(data)
        self._log, self._prefix = log, prefix

    def _read(self, key: str, value: Any) -> Any:
        self._log.add(f"{self._prefix}.{key}")
        return Recording(value, self._log, f"{self._prefix}.{key}") if isinstance(value, dict) else value

    def __getitem__(self, key: str) -> Any:
        return self._read(key, dict.__getitem__(self, key))

    def get(self, key: str, default: Any = None) -> Any:
        return self._read(key, dict.__getitem__(self, key)) if key in self else default


@contextlib.contextmanager
def recording() -> Iterator[set[str]]:
    """Every section a stage function resolves (mexp_lib.config.settings, wherever it is
    imported) records the keys read from it."""
    log: set[str] = set()
    real = config_module.settings

    def recorded(section, cfg=None, *overrides, **kw):
        return Recording(real(section, cfg, *overrides, **kw), log, section)

    patched = [m for name, m in list(sys.modules.items()) if name.startswith("mexp_lib") and getattr(m, "settings", None) is real]
    for m in patched:
        m.settings = recorded
    try:
        yield log
    finally:
        for m in patched:
            m.settings = real


def undeclared(stage: str, log: set[str]) -> set[str]:
    reads = STAGE_READS[stage]
    return {k for k in log if not any(k == r or k.startswith(r + ".") or r.startswith(k + ".") for r in reads)}


@pytest.fixture(scope="module")
def face_video(tmp_path_factory):
    from test_spotting import _write_face_video

    root = tmp_path_factory.mktemp("faces")
    return _write_face_video(root / "v", 60, expression_at=30)


@pytest.fixture(scope="module")
def faces_h5(face_video):
    from mexp_lib.face.stage import align_faces, detect_landmarks

    detect_landmarks(str(face_video), video="v", numbering="position", strategy="long", face_cfg={}, out=face_video.parent / "v.json")
    align_faces(str(face_video), str(face_video.parent / "v.json"), numbering="position", face_cfg={}, out=face_video.parent / "f.h5")
    return face_video.parent / "f.h5"


def test_face_stages_read_only_what_they_declare(face_video, tmp_path):
    from mexp_lib.face.stage import align_faces, detect_landmarks

    with recording() as log:
        detect_landmarks(str(face_video), video="v", numbering="position", strategy="long", face_cfg={}, out=tmp_path / "v.json")
    assert log and not undeclared("detect_landmarks", log), undeclared("detect_landmarks", log)
    with recording() as log:
        align_faces(str(face_video), str(tmp_path / "v.json"), numbering="position", face_cfg={}, out=tmp_path / "f.h5")
    assert log == {"face.grey", "face.margin", "face.size"}


@pytest.mark.parametrize("spotting", [{}, {"method": "mdmd", "flow_method": "dis"},
                                      {"region": "crop", "blinks": "mask", "boundaries": "fixed", "cell_norm": "z", "flow_method": "tvl1"}])
def test_the_spotting_feature_stage_reads_only_what_it_declares(faces_h5, tmp_path, spotting):
    from mexp_lib.spotting.stage import compute_spotting_features

    with recording() as log:
        compute_spotting_features(str(faces_h5), fps=30.0, cfg=spotting, out=tmp_path / "s.h5")
    assert not undeclared("compute_spotting_features", log), undeclared("compute_spotting_features", log)
    # the keys the old hand-kept list dropped are read, and so are declared (the pairing case)
    assert {"spotting.region", "spotting.blinks", "spotting.denoise", "spotting.boundaries"} <= log
    assert undeclared("compute_spotting_features", log | {"spotting.p_grid"}) == {"spotting.p_grid"}, "a key read but not declared is caught"


# --- changing a setting reruns exactly the stages that read it ---------------------------------------

def _set(cfg: dict, path: str, value: Any) -> dict:
    out = copy.deepcopy(cfg)
    node = out
    *parents, leaf = path.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value
    return out


# Settings whose change re-plans the jobs (other samples, folds, chunks or stages), so they do
# not fit a "these rules rerun" check; the workflow tests cover them.
PLAN_SETTINGS = {"batching.clips_per_job", "magnification.enabled", "recognition.class_set", "recognition.long_videos", "recognition.protocol"}
# A valid other value where the schema's type does not give one.
OTHER_VALUE = {"training.model": "offapexnet", "flow.reference": "previous", "flow.rois": ["mouth"], "training.device": "cpu",
               "training.seeds": [0, 1], "spotting.p_grid": [0.2], "spotting.floor_grid": [0], "training.options": {"dropout": 0.1}}


def other_value(path: str, value: Any, schema: dict) -> Any:
    if path in OTHER_VALUE:
        return OTHER_VALUE[path]
    schema = _local_ref(schema)
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    if "enum" in schema:
        return next(v for v in schema["enum"] if v != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int) and not isinstance(value, bool):
        top, below = schema.get("maximum"), schema.get("exclusiveMaximum")
        if (top is None or value + 1 <= top) and (below is None or value + 1 < below):
            return value + 1
        return (value + (top if top is not None else below)) / 2
    if isinstance(value, float):
        return value / 2 if value else 0.1
    if value is None:
        return 64 if "integer" in types else 0.5 if "number" in types else "x.pt"
    return None


def setting_changes() -> list[tuple[str, Any]]:
    """One (dotted path, other value) per setting of every section: each key, and for a mapping
    its first key that has a value (e.g. flow.tvl1.epsilon)."""
    cfg, props = resolve_config(TINY), load_schema()["properties"]
    out = []
    for section in SECTIONS:
        for key, value in cfg[section].items():
            path, schema = f"{section}.{key}", _local_ref(_local_ref(props[section])["properties"][key])
            while isinstance(value, dict) and value and path not in OTHER_VALUE:
                key = next(iter(value))
                path, value = f"{path}.{key}", value[key]
                schema = _local_ref((schema.get("properties") or {}).get(key, {}))
            new = other_value(path, value, schema)
            if path not in PLAN_SETTINGS and new is not None:
                out.append((path, new))
    return out


@pytest.fixture(scope="module")
def touched(tmp_path_factory) -> Path:
    """The tiny config's work folder with every output present and up to date (``--touch``
    records each job's params without running it)."""
    wd = tiny_workdir(tmp_path_factory.mktemp("touched"))
    summary = snakemake(wd, "--summary").stdout
    for line in summary.splitlines()[1:]:
        path = wd / line.split("\t")[0]
        if path.suffix:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        else:
            path.mkdir(parents=True, exist_ok=True)
    snakemake(wd, "--touch", "--forceall")
    out = snakemake(wd, "-n")
    assert "Nothing to be done" in out.stdout + out.stderr
    return wd


def planned(wd: Path, cfg: dict, name: str) -> dict[str, str]:
    """rule -> the reasons of its jobs, of a dry run under ``cfg``."""
    f = wd / f"{name}.yaml"
    f.write_text(yaml.safe_dump(cfg))
    out = snakemake(wd, "-n", "--configfile", str(f))
    reasons: dict[str, str] = {}
    for m in re.finditer(r"^(?:local)?rule (\w+):$((?:\n    .*)*)", out.stdout + out.stderr, re.M):
        why = re.search(r"reason: (.*)", m.group(2))
        reasons[m.group(1)] = reasons.get(m.group(1), "") + (why.group(1) if why else "") + ";"
    return reasons


def rerun_problems(path: str, reasons: dict[str, str]) -> list[str]:
    """How a dry run's plan differs from "exactly the stages reading ``path`` rerun, for their
    params, and what depends on them, for their inputs". (Snakemake names one reason per job: a
    reader whose inputs another reader updates reruns for those; that its params carry the
    setting is checked by test_every_declared_setting_is_in_what_the_rule_passes...)"""
    problems, readers_ = [], readers(path)
    changed = {r for r, why in reasons.items() if "Params have changed" in why}
    updated = {r for r, why in reasons.items() if "Input files updated by another job" in why}
    problems += [f"{r} reruns for its params but does not read {path}" for r in sorted(changed - readers_)]
    problems += [f"{r} reads {path} but does not rerun" for r in sorted(readers_ - set(reasons))]
    problems += [f"{r} reads {path} but reruns for neither its params nor its inputs" for r in sorted((readers_ & set(reasons)) - changed - updated)]
    problems += [f"{r} reruns for no setting or input ({reasons[r]})" for r in sorted(set(reasons) - readers_ - updated - {"all"})]
    if not changed:
        problems.append("no params changed")
    return problems


QUICK = ["spotting.region", "spotting.blinks", "spotting.boundaries", "spotting.cell_norm", "spotting.p_grid", "face.size",
         "face.detect_every", "flow.method", "training.lr", "recognition.context", "evaluation.iou"]


def test_rerun_problems_catches_a_stage_that_misses_a_setting():
    """The pairing case: the plan of the old hand-kept spotting list (a feature setting that
    reruns only spot_intervals) is caught."""
    old = {"spot_intervals": "Params have changed since last execution;", "evaluate_spotting": "Input files updated by another job;"}
    assert rerun_problems("spotting.region", old) == ["compute_spotting_features reads spotting.region but does not rerun"]


@pytest.mark.parametrize(("path", "value"), [c for c in setting_changes() if c[0] in QUICK])
def test_changing_a_setting_reruns_exactly_its_readers(touched, path, value):
    assert rerun_problems(path, planned(touched, _set(TINY, path, value), path.replace(".", "_"))) == []


def test_every_section_has_settings_to_change():
    changes = setting_changes()
    assert len(changes) > 80 and {p for p, _ in changes} >= set(QUICK)
    assert {p.split(".")[0] for p, _ in changes} == set(SECTIONS) - {"batching"}, "batching.clips_per_job re-plans the chunks"


@pytest.mark.slow
@pytest.mark.parametrize("section", sorted({p.split(".")[0] for p, _ in setting_changes() if p not in QUICK}))
def test_changing_any_setting_reruns_exactly_its_readers(touched, section):
    """Every setting of the schema, one dry run each (about 80; a section per test), but the
    QUICK ones, which the test above runs in `make test` and `make test-fast` alike. The dry runs
    are independent (a dry run takes no lock, each reads its own config file): two at a time."""
    from concurrent.futures import ThreadPoolExecutor

    def problems(change: tuple[str, Any]) -> tuple[str, list[str]]:
        path, value = change
        return path, rerun_problems(path, planned(touched, _set(TINY, path, value), path.replace(".", "_")))

    changes = [c for c in setting_changes() if c[0].startswith(section + ".") and c[0] not in QUICK]
    with ThreadPoolExecutor(max_workers=2) as pool:
        wrong = {path: p for path, p in pool.map(problems, changes) if p}
    assert not wrong, wrong


def test_the_snakefile_parses_the_settings_of_a_broken_dataset_as_its_error(tmp_path):
    """A broken dataset entry stops at its settings too, naming it (not a KeyError)."""
    wd = tiny_workdir(tmp_path)
    cfg = _set(TINY, "datasets.bad", {"format": "generic", "annotations": "missing.csv", "fps": 30})
    (wd / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    out = subprocess.run([SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(wd), "-n", "results/bad_spotting_metrics.csv"],
                         capture_output=True, text=True, cwd=REPO)
    assert out.returncode != 0 and "datasets.bad" in out.stdout + out.stderr
