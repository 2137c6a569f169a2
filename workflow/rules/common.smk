# Sample tables, wildcard constraints and input functions (get_*) shared by the stage rules.
import sys
from pathlib import Path

from mexp_lib.datasets import LoadReport, planned_samples
from mexp_lib.datasets.classes import apply_class_set, resolve_class_set
from mexp_lib.input_kinds import input_kind
from mexp_lib.errors import ConfigError, MexpError

for _name, _d in config["datasets"].items():
    if _d["format"] == "demo" and _d.get("root", f"results/datasets/{_name}") != f"results/datasets/{_name}":
        raise ConfigError(f"datasets.{_name}.root: a demo dataset is generated into results/datasets/{_name}; remove root or set it to that")
    if _d["format"] == "demo":
        _d["root"] = f"results/datasets/{_name}"

def canon(obj):
    """A config value with every mapping's keys sorted: Snakemake compares params by their
    text, so reordering keys in config.yaml must not rerun anything."""
    if isinstance(obj, dict):
        return {k: canon(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [canon(v) for v in obj]
    return obj


_canonical = canon(dict(config))
config.clear()
config.update(_canonical)

class DatasetTables(dict):
    """Sample tables by dataset name. A dataset whose entry is broken (its sheet missing or
    unreadable) is left out of the default target, with a warning naming it, and asking for
    one of its targets stops with its error: one bad entry does not stop the other datasets."""

    def __init__(self, datasets):
        super().__init__()
        self.broken, self.reports = {}, {}
        for name, d in datasets.items():
            self.reports[name] = LoadReport()
            try:
                self[name] = planned_samples(name, d, self.reports[name])
            except MexpError as e:
                self.broken[name] = f"datasets.{name}: {e}"
                print(f"mexp: warning: {self.broken[name]} (its targets are left out)", file=sys.stderr)

    def __getitem__(self, name):
        if name in self.broken:
            raise ConfigError(self.broken[name])
        return super().__getitem__(name)


SAMPLES = DatasetTables(config["datasets"])
CLASS_SET = resolve_class_set(config["recognition"]["class_set"])
CLASSES = CLASS_SET.classes
DEMO_DATASETS = [n for n, d in config["datasets"].items() if d["format"] == "demo"]


wildcard_constraints:
    dataset="|".join([*SAMPLES, *SAMPLES.broken]) or "NONE",
    video="[^/]+",
    fold="[^/]+",


def task_samples(dataset, task):
    s = SAMPLES[dataset]
    return s[s.task == task]


# (kept, excluded) of each dataset's recognition samples under the class set, computed once
# here rather than in every input function that asks.
CLASS_SPLIT = {name: apply_class_set(task_samples(name, "recognition"), CLASS_SET) for name in SAMPLES}


def recognition_samples(dataset):
    """Recognition samples whose emotion is in the configured class set."""
    SAMPLES[dataset]  # a broken dataset entry stops here, naming it
    return CLASS_SPLIT[dataset][0]


def class_set_exclusions(dataset):
    """{emotion: count} of the recognition samples the class set leaves out (reported)."""
    excluded = CLASS_SPLIT[dataset][1]
    return {str(k): int(v) for k, v in zip(excluded.iloc[:, 0], excluded["excluded"])}


def video_row(wc):
    s = SAMPLES[wc.dataset]
    return s[s.video == wc.video].iloc[0]


def sample_row(wc):
    """The single expression of a short clip."""
    s = SAMPLES[wc.dataset]
    rows = s[s.video == wc.video]
    return rows.iloc[0]


def get_frames(wc):
    """The frames of a video: the generated demo folder, or the video's own folder/file."""
    if wc.dataset in DEMO_DATASETS:
        return f"results/datasets/{wc.dataset}"
    return video_row(wc).frames


def get_annotations(wc):
    d = config["datasets"][wc.dataset]
    return f"results/datasets/{wc.dataset}" if d["format"] == "demo" else d["annotations"]


def get_strategy(wc):
    return "clip" if video_row(wc).task == "recognition" else "long"


# The keys of a config section that a stage depends on (it reruns only when these change).
FACE_DETECT_KEYS = ("backend", "cnn_model", "detect_every", "detect_size", "detector", "fan_weights", "on_missing_face", "shape_model", "smooth", "upsample")
FACE_ALIGN_KEYS = ("grey", "margin", "size")
SPOTTING_FEATURE_KEYS = ("dis", "eye_dilate", "farneback", "flow_method", "grid", "head_motion", "k_seconds", "method", "top_cells", "tvl1")


def section_params(section, keys):
    return {k: config[section].get(k) for k in keys}


def get_provenance_config(wc, sections):
    """The config sections a metric table depends on, plus its dataset entry and what loading
    its sheet did (rows skipped, quirks fixed: ``sheet_report``), for provenance."""
    rep = SAMPLES.reports[wc.dataset]
    sheet = rep.counts() | {"rows": rep.to_frame().to_dict(orient="records")}
    return canon({k: config[k] for k in sections} | {"dataset": config["datasets"][wc.dataset], "sheet_report": sheet})


def clip_stage():
    """The stage whose grey clips feed flow and descriptors: magnified when enabled, else TIM."""
    return "magnified" if config["magnification"]["enabled"] else "tim"


def get_flow_source(wc):
    return f"results/{clip_stage()}/{wc.dataset}/{wc.video}.h5"


def fold_column():
    """LOSO folds are subjects; holdout-database folds are source databases."""
    return "source" if config["recognition"]["protocol"] == "holdout_db" else "subject"


def get_folds(dataset):
    folds = sorted(recognition_samples(dataset)[fold_column()].unique())
    if fold_column() == "source" and len(folds) < 2:
        raise ConfigError(f"recognition.protocol holdout_db: dataset {dataset} has one source database ({folds}); it needs two or more")
    return folds


def is_precomputed(dataset):
    return config["datasets"][dataset]["format"] == "precomputed"


def get_fold_inputs(wc):
    """What the folds train on: the flow stores, or a precomputed dataset's flow images."""
    s = recognition_samples(wc.dataset)
    if is_precomputed(wc.dataset):
        return list(s.frames)
    if input_kind(config["training"]["model"]) == "lbptop":  # descriptors of the grey clip
        return [f"results/{clip_stage()}/{wc.dataset}/{v}.h5" for v in s.video]
    return [f"results/flow/{wc.dataset}/{v}.h5" for v in s.video]


def get_pack_clips(wc):
    """The grey clips packed next to their flow, for models that read both (ELRCN)."""
    if is_precomputed(wc.dataset) or input_kind(config["training"]["model"]) != "sequence_grey":
        return []
    return [f"results/{clip_stage()}/{wc.dataset}/{v}.h5" for v in recognition_samples(wc.dataset).video]


def get_fold_predictions(wc):
    return [f"results/train/{wc.dataset}/{f}/predictions.csv" for f in get_folds(wc.dataset)]


def get_spotting_features(wc):
    return [f"results/spotting_features/{wc.dataset}/{v}.h5" for v in task_samples(wc.dataset, "spotting").video.unique()]


def get_face_stores(wc):
    return [f"results/faces/{wc.dataset}/{v}.h5" for v in SAMPLES[wc.dataset].video.unique()]


def get_landmark_files(wc):
    return [f"results/landmarks/{wc.dataset}/{v}.json" for v in SAMPLES[wc.dataset].video.unique()]


def get_all_targets():
    targets = []
    for name in SAMPLES:
        if len(recognition_samples(name)):
            targets.append(f"results/{name}_loso_metrics.csv")
        if len(task_samples(name, "spotting")):
            targets.append(f"results/{name}_spotting_metrics.csv")
        if not is_precomputed(name):
            targets.append(f"results/qc/{name}_faces.csv")
    return targets
