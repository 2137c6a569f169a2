# The plan of each dataset (mexp_lib.plan), wildcard constraints and the input functions (get_*)
# over it shared by the stage rules.
import re
import sys
from pathlib import Path

from mexp_lib.config import PER_DATASET_SECTIONS, canonical, check_target_datasets
from mexp_lib.errors import ConfigError
from mexp_lib.plan import DatasetPlans
from mexp_lib.provenance import input_fingerprint
from mexp_lib.recognition.samples import check_classes
from mexp_lib.stages import stage_settings


def requested_targets():
    """The targets asked for: the DAG settings' when Snakemake has set them (the API), else the
    snakemake command line's (the command parses the Snakefile before it sets them)."""
    if workflow.dag_settings is not None and workflow.dag_settings.targets:
        return list(workflow.dag_settings.targets)
    if "snakemake" not in sys.argv[0]:  # another program drives Snakemake: its argv is not ours
        return []
    import contextlib, io
    from snakemake.cli import get_argument_parser

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return list(get_argument_parser().parse_known_args(sys.argv[1:])[0].targets or [])
    except (SystemExit, Exception):
        return []


# A target naming a dataset that is not configured (the README's `results/samm_loso_metrics.csv`
# on a fresh checkout) stops in one line naming it and the entry to uncomment, before any planning.
ASKED = requested_targets()
try:
    check_target_datasets(
        ASKED,
        config["datasets"],
        (workflow.configfiles or ["config/config.yaml"])[0],
    )
except ConfigError as e:
    sys.exit(f"mexp: error: {e}")

for _name, _d in config["datasets"].items():
    if _d["format"] == "demo" and _d.get("root", f"results/datasets/{_name}") != f"results/datasets/{_name}":
        raise ConfigError(
            f"datasets.{_name}.root: a demo dataset is generated into results/datasets/{_name}; remove root or set it to that"
        )
    if _d["format"] == "demo":
        _d["root"] = f"results/datasets/{_name}"


_canonical = canonical(dict(config))
config.clear()
config.update(_canonical)


# The plan of each dataset (mexp_lib.plan.DatasetPlan: its samples kept and why, class set, folds,
# flow pairs, pack kinds and stores, chunks), built once; the input functions below only read it.
# A broken dataset entry is left out with a warning, and asking for one of its targets stops with
# its error (PLANS.broken).
PLANS = DatasetPlans(config)
DEMO_DATASETS = [n for n, d in config["datasets"].items() if d["format"] == "demo"]


wildcard_constraints:
    dataset="|".join(map(re.escape, [*PLANS, *PLANS.broken])) or "NONE",
    video="[^/]+",
    sample="[^/]+",
    chunk="[0-9]+",
    fold="[^/]+",


def video_row(wc):
    return PLANS[wc.dataset].videos.loc[wc.video]


def chunk_videos(wc):
    """The videos of a face-stage chunk, each with where its frames are and how they are numbered,
    and its landmark strategy."""
    plan = PLANS[wc.dataset]
    return [
        {
            "video": v,
            "frames": str(plan.videos.at[v, "frames"]),
            "numbering": str(plan.videos.at[v, "numbering"]),
            "strategy": plan.strategy[v],
        }
        for v in plan.chunks[wc.chunk]
    ]


def get_chunk_fingerprints(wc):
    """{video: fingerprint of its frames or file} of a face-stage chunk (inputs.fingerprint): a
    detect_landmarks parameter, so a replaced frame reruns its video's chunk (Snakemake's params
    trigger) even when the file's time is older. None for a generated demo dataset."""
    if wc.dataset in DEMO_DATASETS:
        return None
    content = config["inputs"]["fingerprint"] == "content"
    return {v["video"]: input_fingerprint(v["frames"], content=content) for v in chunk_videos(wc)}


def get_chunk_frames(wc):
    """The frames of a chunk's videos: the generated demo folder, or each video's own folder/file."""
    if wc.dataset in DEMO_DATASETS:
        return f"results/datasets/{wc.dataset}"
    return sorted({v["frames"] for v in chunk_videos(wc)})


def get_chunk_clips(wc):
    """Each clip of a motion-stage chunk: its sample, its video, its own onset, apex, offset and
    frame rate."""
    return [
        {
            "sample": str(r.sample),
            "video": str(r.video),
            "onset": int(r.onset),
            "apex": int(r.apex),
            "offset": int(r.offset),
            "fps": float(r.fps),
        }
        for r in PLANS[wc.dataset].chunk_samples(wc.chunk).itertuples()
    ]


def get_chunk_sample_ids(wc):
    return [str(s) for s in PLANS[wc.dataset].chunk_samples(wc.chunk)["sample"]]


def chunk_dir(stage, dataset, chunk):
    """The folder of one chunk's outputs of a per-clip stage (one file per video or sample)."""
    return f"results/{stage}/{dataset}/{chunk}"


def face_file(dataset, video, kind):
    """Where a video's landmarks ("landmarks", JSON) or aligned faces ("faces", HDF5) are: in the
    folder of its chunk."""
    ext = "json" if kind == "landmarks" else "h5"
    return f"{chunk_dir(kind, dataset, PLANS[dataset].video_chunk[video])}/{video}.{ext}"


def sample_file(dataset, sample, stage):
    """Where a sample's clip ("tim", "magnified") or flow ("flow") is: in the folder of its chunk."""
    plan = PLANS[dataset]
    return f"{chunk_dir(stage, dataset, plan.video_chunk[plan.sample_video[sample]])}/{sample}.h5"


def get_annotations(wc):
    d = config["datasets"][wc.dataset]
    return f"results/datasets/{wc.dataset}" if d["format"] == "demo" else d["annotations"]


def get_settings(stage):
    """The input function of a rule's ``settings`` param: the settings its library function
    declares it reads (mexp_lib.stages.STAGE_READS), from the resolved config as the job's
    dataset runs them. A changed setting reruns exactly the stages that read it."""

    def settings(wc):
        PLANS[wc.dataset]  # a broken dataset entry stops here, naming it
        return stage_settings(config, stage, wc.dataset)

    return settings


def spotting_recognises(wc):
    """Whether the dataset's spotting section (the global one with its own entry's over it)
    asks for spot-then-recognise."""
    return stage_settings(config, "spot_intervals", wc.dataset)["spotting"]["recognise"]


def get_provenance_config(wc, stage):
    """What a metric table's provenance records: the settings its stage reads (the sections its
    results depend on, as the dataset runs them, its own sections merged in), plus its dataset
    entry's other keys and what loading its sheet did (rows skipped, quirks fixed:
    ``sheet_report``)."""
    rep = PLANS.reports[wc.dataset]
    sheet = rep.counts() | {"rows": rep.to_frame().to_dict(orient="records")}
    entry = {k: v for k, v in config["datasets"][wc.dataset].items() if k not in PER_DATASET_SECTIONS}
    return canonical(stage_settings(config, stage, wc.dataset) | {"dataset": entry, "sheet_report": sheet})


def clip_stage():
    """The stage whose grey clips feed flow and descriptors: magnified when enabled, else TIM."""
    return "magnified" if config["magnification"]["enabled"] else "tim"


def get_flow_source(wc):
    return chunk_dir(clip_stage(), wc.dataset, wc.chunk)


def get_flow_pairs(wc):
    """Only the flow pairs the recognition models read: apex models and flow_svm the onset ->
    apex pair (mexp_lib.motion.stage.compute_flow), a sequence model every pair."""
    return PLANS[wc.dataset].flow_pairs


def is_precomputed(dataset):
    return config["datasets"][dataset]["format"] == "precomputed"


def get_fold_sources(wc):
    """{sample: file} of the flow the folds train on: its flow store, or a precomputed
    dataset's flow image; empty when no candidate model reads the flow stage."""
    s = PLANS[wc.dataset].kept
    if is_precomputed(wc.dataset):
        return {Path(f).stem: str(f) for f in s.frames}
    if "flow" not in PLANS[wc.dataset].pack_stores:
        return {}
    return {str(v): sample_file(wc.dataset, v, "flow") for v in s["sample"]}


def get_pack_clip_files(wc):
    """{sample: grey clip} for models that read it (LBP-TOP, ELRCN)."""
    if is_precomputed(wc.dataset) or "clip" not in PLANS[wc.dataset].pack_stores:
        return {}
    return {str(v): sample_file(wc.dataset, v, clip_stage()) for v in PLANS[wc.dataset].kept["sample"]}


def get_pack_face_files(wc):
    """{sample: aligned faces of its video} for flow_svm with training.flow_svm.source: faces."""
    if is_precomputed(wc.dataset) or "faces" not in PLANS[wc.dataset].pack_stores:
        return {}
    return {str(r.sample): face_file(wc.dataset, r.video, "faces") for r in PLANS[wc.dataset].kept.itertuples()}


def chunk_folders(files):
    """The chunk folders (declared outputs of the per-clip stages) holding these files."""
    return sorted({str(Path(f).parent) for f in files})


def get_fold_inputs(wc):
    if is_precomputed(wc.dataset):
        return sorted(get_fold_sources(wc).values())
    return chunk_folders(get_fold_sources(wc).values())


def get_pack_clips(wc):
    return chunk_folders(get_pack_clip_files(wc).values())


def get_pack_faces(wc):
    return chunk_folders(get_pack_face_files(wc).values())


def get_fold_predictions(wc):
    return [f"results/train/{wc.dataset}/{f}/predictions.csv" for f in PLANS[wc.dataset].require_folds()]


def get_spotting_features(wc):
    return [f"results/spotting_features/{wc.dataset}/{v}.h5" for v in PLANS[wc.dataset].spotting_videos]


def get_face_files(wc, kind="faces"):
    """Every video's landmarks or faces file, in name order."""
    return [face_file(wc.dataset, v, kind) for v in sorted(PLANS[wc.dataset].video_chunk)]


def get_face_chunks(wc, kind="faces"):
    return [chunk_dir(kind, wc.dataset, c) for c in PLANS[wc.dataset].chunks]


def get_all_targets():
    targets = []
    for name, plan in PLANS.items():
        if len(plan.kept):
            targets.append(f"results/{name}_loso_metrics.csv")
        if plan.spotting_videos:
            targets.append(f"results/{name}_spotting_metrics.csv")
        if not is_precomputed(name):
            targets.append(f"results/qc/{name}_faces.csv")
    return targets


# A class set that leaves one class stops here, in one line, when the dataset's recognition
# table is asked for (or the default target): before any fold is planned (check_classes).
for _name, _plan in PLANS.items():
    if not ASKED or "all" in ASKED or f"results/{_name}_loso_metrics.csv" in ASKED:
        try:
            check_classes(_plan.kept, _name, _plan.recognition)
        except ConfigError as e:
            sys.exit(f"mexp: error: {e}")
