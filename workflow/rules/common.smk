# Sample tables, wildcard constraints and input functions (get_*) shared by the stage rules.
import sys
from pathlib import Path

from mexp_lib.datasets import LoadReport, planned_samples
from mexp_lib.datasets.classes import resolve_class_set
from mexp_lib.recognition.kinds import input_kind
from mexp_lib.recognition.samples import select_samples
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


class ByDataset(dict):
    """A per-dataset table computed from SAMPLES: a broken dataset's entry stops with its error."""

    def __missing__(self, name):
        SAMPLES[name]  # raises the broken entry's ConfigError
        raise KeyError(name)


SAMPLES = DatasetTables(config["datasets"])
DEMO_DATASETS = [n for n, d in config["datasets"].items() if d["format"] == "demo"]


def dataset_section(name, section):
    """A config section (recognition, training) as one dataset runs it: the global section
    updated with the keys set in the dataset's own entry (datasets.<name>.<section>)."""
    return canon(config[section] | config["datasets"][name].get(section, {}))


# Per dataset: its recognition and training settings, its class set, and its recognition
# samples split by the class set into (kept, excluded) -- computed once here.
RECOGNITION = ByDataset({name: dataset_section(name, "recognition") for name in SAMPLES})
TRAINING = ByDataset({name: dataset_section(name, "training") for name in SAMPLES})
CLASS_SET = ByDataset({name: resolve_class_set(RECOGNITION[name]["class_set"]) for name in SAMPLES})
CLASS_SPLIT = ByDataset({name: select_samples(SAMPLES[name], RECOGNITION[name]) for name in SAMPLES})
SAMPLE_ROWS = ByDataset({name: s.set_index("sample", drop=False) for name, s in SAMPLES.items()})


wildcard_constraints:
    dataset="|".join([*SAMPLES, *SAMPLES.broken]) or "NONE",
    video="[^/]+",
    sample="[^/]+",
    fold="[^/]+",


def task_samples(dataset, task):
    s = SAMPLES[dataset]
    return s[s.task == task]


def recognition_samples(dataset):
    """Recognition samples whose emotion (or objective class) is in the dataset's class set."""
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
    """The sample (one annotated expression) of a per-sample job."""
    return SAMPLE_ROWS[wc.dataset].loc[wc.sample]


def get_clip(wc):
    """Where a sample's clip is cut from its video: its own onset, apex, offset, frame rate,
    and the context frames added around it."""
    r = sample_row(wc)
    return {"onset": int(r.onset), "apex": int(r.apex), "offset": int(r.offset), "fps": float(r.fps),
            "context": int(RECOGNITION[wc.dataset]["context"])}


def get_sample_faces(wc):
    """The faces store of the video a sample's clip is cut from (shared by its samples)."""
    return f"results/faces/{wc.dataset}/{sample_row(wc).video}.h5"


def get_frames(wc):
    """The frames of a video: the generated demo folder, or the video's own folder/file."""
    if wc.dataset in DEMO_DATASETS:
        return f"results/datasets/{wc.dataset}"
    return video_row(wc).frames


def get_annotations(wc):
    d = config["datasets"][wc.dataset]
    return f"results/datasets/{wc.dataset}" if d["format"] == "demo" else d["annotations"]


def get_strategy(wc):
    """Landmarks of a short clip (one expression, detected once) or of a long video (tracked):
    a video holding spotting ground truth or several expressions is long."""
    s = SAMPLES[wc.dataset]
    rows = s[s.video == wc.video]
    return "clip" if (rows.task == "recognition").all() and len(rows) == 1 else "long"


# The keys of a config section that a stage depends on (it reruns only when these change).
FACE_DETECT_KEYS = ("backend", "cnn_model", "detect_every", "detect_size", "detector", "fan_weights", "on_missing_face", "shape_model", "smooth", "upsample")
FACE_ALIGN_KEYS = ("grey", "margin", "size")
SPOTTING_FEATURE_KEYS = ("dis", "eye_dilate", "farneback", "flow_method", "grid", "head_motion", "k_seconds", "method", "top_cells", "tvl1")


def section_params(section, keys):
    return {k: config[section].get(k) for k in keys}


def get_provenance_config(wc, sections):
    """The config sections a metric table depends on (recognition and training as the dataset
    runs them), plus its dataset entry and what loading its sheet did (rows skipped, quirks
    fixed: ``sheet_report``), for provenance."""
    per_dataset = {"recognition": RECOGNITION[wc.dataset], "training": TRAINING[wc.dataset]}
    rep = SAMPLES.reports[wc.dataset]
    sheet = rep.counts() | {"rows": rep.to_frame().to_dict(orient="records")}
    return canon({k: per_dataset.get(k, config[k]) for k in sections} | {"dataset": config["datasets"][wc.dataset], "sheet_report": sheet})


def clip_stage():
    """The stage whose grey clips feed flow and descriptors: magnified when enabled, else TIM."""
    return "magnified" if config["magnification"]["enabled"] else "tim"


def get_flow_source(wc):
    return f"results/{clip_stage()}/{wc.dataset}/{wc.sample}.h5"


def get_flow_pairs(wc):
    """Only the flow pairs the recognition model reads: an apex model the onset -> apex pair
    (mexp_lib.motion.stage.compute_flow), a sequence model every pair."""
    return "apex" if model_input(wc.dataset) == "apex" else "all"


def fold_column(dataset):
    """LOSO folds are subjects; holdout-database folds are source databases."""
    return "source" if RECOGNITION[dataset]["protocol"] == "holdout_db" else "subject"


def get_folds(dataset):
    folds = sorted(recognition_samples(dataset)[fold_column(dataset)].unique())
    if not folds:
        rec = RECOGNITION[dataset]
        raise ConfigError(f"datasets.{dataset}: no recognition samples: class set {rec['class_set']!r} keeps none of "
                          f"{'its expressions' if rec['long_videos'] else 'its short clips (recognition.long_videos: true adds the expressions of long videos)'}; "
                          f"left out: {class_set_exclusions(dataset) or 'nothing to leave out'}")
    if fold_column(dataset) == "source" and len(folds) < 2:
        raise ConfigError(f"recognition.protocol holdout_db: dataset {dataset} has one source database ({folds}); it needs two or more")
    return folds


def is_precomputed(dataset):
    return config["datasets"][dataset]["format"] == "precomputed"


def model_input(dataset):
    """What the dataset's recognition model reads (mexp_lib.recognition.kinds)."""
    return input_kind(TRAINING[dataset]["model"])


def get_fold_inputs(wc):
    """What the folds train on, one file per sample: its flow store, its grey clip (LBP-TOP),
    or a precomputed dataset's flow image."""
    s = recognition_samples(wc.dataset)
    if is_precomputed(wc.dataset):
        return list(s.frames)
    if model_input(wc.dataset) == "lbptop":  # descriptors of the grey clip
        return [f"results/{clip_stage()}/{wc.dataset}/{v}.h5" for v in s["sample"]]
    return [f"results/flow/{wc.dataset}/{v}.h5" for v in s["sample"]]


def get_pack_clips(wc):
    """The grey clips packed next to their flow, for models that read both (ELRCN)."""
    if is_precomputed(wc.dataset) or model_input(wc.dataset) != "sequence_grey":
        return []
    return [f"results/{clip_stage()}/{wc.dataset}/{v}.h5" for v in recognition_samples(wc.dataset)["sample"]]


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
