"""The dataset plan (mexp_lib.plan): built once from a resolved config and a sample table, read by
the workflow's input functions, the in-process pipeline and the benchmarks."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from mexp_lib.config import resolve_config
from mexp_lib.errors import ConfigError, DataError
from mexp_lib.plan import dataset_plan, split_folds


def table() -> pd.DataFrame:
    """Three subjects from two source databases: short clips (one of them an emotion composite3
    has no class for) and one long video holding two expressions (spotting ground truth)."""
    rows = [
        # sample, video, subject, source, task, emotion
        ("a1", "va1", "s1", "casme2", "recognition", "happiness"),
        ("a2", "va2", "s1", "casme2", "recognition", "disgust"),
        ("a3", "va3", "s1", "casme2", "recognition", "others"),
        ("b1", "vb1", "s2", "casme2", "recognition", "surprise"),
        ("b2", "vb2", "s2", "casme2", "recognition", "fear"),
        ("c1", "vc1", "s3", "samm", "recognition", "happiness"),
        ("c2", "vc2", "s3", "samm", "recognition", "surprise"),
        ("l1", "long1", "s3", "samm", "spotting", "anger"),
        ("l2", "long1", "s3", "samm", "spotting", "happiness"),
    ]
    return pd.DataFrame(rows, columns=["sample", "video", "subject", "source", "task", "emotion"]).assign(objective_class="")


def config(**over: Any) -> dict[str, Any]:
    """A resolved config of one generic dataset ``toy``; ``over``: sections or ``toy``'s own keys."""
    entry = {"format": "generic", "root": ".", "annotations": "a.csv"} | over.pop("toy", {})
    return resolve_config({"datasets": {"toy": entry}, "batching": {"clips_per_job": 3}, **over})


def test_loso_plan_keeps_the_class_set_and_folds_by_subject():
    p = dataset_plan(config(), "toy", table())
    assert list(p.kept["sample"]) == ["a1", "a2", "b1", "b2", "c1", "c2"]
    assert set(p.kept.label) == {"positive", "negative", "surprise"}
    assert p.fold_column == "subject" and p.folds == ("s1", "s2", "s3") == p.require_folds()
    assert p.exclusions() == {"others": 1}
    why = dict(zip(p.excluded["sample"], p.excluded.reason, strict=True))
    assert set(why) == {"a3", "l1", "l2"}
    assert "has no class for emotion 'others'" in why["a3"] and "long_videos: false" in why["l1"]
    assert p.class_set.name == "composite3" and p.spotting_videos == ("long1",)
    splits = list(p.splits())
    assert [f for f, _, _ in splits] == ["s1", "s2", "s3"]
    for fold, train, test in splits:
        assert set(test.subject) == {fold} and fold not in set(train.subject)
        assert len(train) + len(test) == len(p.kept)


def test_long_videos_adds_their_expressions():
    p = dataset_plan(config(recognition={"long_videos": True}), "toy", table())
    assert {"l1", "l2"} <= set(p.kept["sample"]) and list(p.excluded["sample"]) == ["a3"]


def test_holdout_db_folds_by_source_database_from_the_datasets_own_section():
    p = dataset_plan(config(toy={"recognition": {"protocol": "holdout_db"}}), "toy", table())
    assert p.fold_column == "source" and p.require_folds() == ("casme2", "samm")
    for fold, train, test in p.splits():
        assert set(test.source) == {fold} and set(train.source) == {"casme2", "samm"} - {fold}
    # the global section alone (dataset None, as the pipeline runs) is LOSO
    assert dataset_plan(config(toy={"recognition": {"protocol": "holdout_db"}}), None, table()).fold_column == "subject"


def test_holdout_db_with_one_source_database_is_a_config_error():
    one = table().assign(source="casme2")
    p = dataset_plan(config(recognition={"protocol": "holdout_db"}), "toy", one)
    with pytest.raises(ConfigError, match="holdout_db: dataset toy has one source database"):
        p.require_folds()


def test_no_sample_kept_or_one_class_is_a_config_error_naming_the_dataset():
    p = dataset_plan(config(recognition={"class_set": "casme2_5"}), "toy", table()[table().emotion == "fear"])
    assert p.folds == ()
    with pytest.raises(ConfigError, match=r"datasets\.toy: no recognition samples.*'fear': 1"):
        p.require_folds()
    one = dataset_plan(config(), "toy", table()[table().emotion.isin(["happiness"])])
    with pytest.raises(ConfigError, match="needs two classes"):
        one.require_folds()


@pytest.mark.parametrize(("training", "pairs", "stores"), [
    ({"model": "ststnet"}, "apex", {"flow"}),
    ({"model": "c3d"}, "all", {"flow"}),
    ({"model": "elrcn_se"}, "all", {"flow", "clip"}),
    ({"model": "lbptop_svm"}, "apex", {"clip"}),
    ({"model": "flow_svm", "flow_svm": {"source": "faces"}}, "apex", {"faces"}),
    ({"model": "auto", "selection": {"models": ["flow_svm", "cnn_lstm"]}}, "all", {"flow"}),
])
def test_flow_pairs_and_stores_follow_the_models(training, pairs, stores):
    p = dataset_plan(config(training=training), "toy", table())
    assert p.flow_pairs == pairs and p.pack_stores == stores


def test_a_datasets_own_training_section_decides_its_flow_pairs():
    p = dataset_plan(config(training={"model": "ststnet"}, toy={"training": {"model": "c3d"}}), "toy", table())
    assert p.flow_pairs == "all" and p.training["model"] == "c3d" and p.pack_kinds == ("sequence",)


def test_chunks_put_each_long_video_alone_and_cover_every_video():
    p = dataset_plan(config(), "toy", table())
    assert p.strategy["long1"] == "long" and p.strategy["va1"] == "clip"
    assert p.chunks["000"] == ["long1"] and all(len(v) <= 3 for v in p.chunks.values())
    assert sorted(p.video_chunk) == sorted(table().video.unique())
    assert list(p.chunk_samples(p.video_chunk["va1"])["sample"])[:1] == ["a1"]


def test_split_folds_compares_as_text_and_names_a_missing_column():
    s = pd.DataFrame({"sample": ["x", "y", "z"], "subject": [6, 6, 7]})
    assert [(f, list(tr["sample"]), list(te["sample"])) for f, tr, te in split_folds(s, "subject")] == [
        ("6", ["z"], ["x", "y"]), ("7", ["x", "y"], ["z"])]
    with pytest.raises(DataError, match="no column 'source'"):
        list(split_folds(s, "source"))


def test_bad_input_gives_a_typed_error_naming_it():
    with pytest.raises(DataError, match=r"datasets\.toy: the sample table has no column subject"):
        dataset_plan(config(), "toy", table().drop(columns="subject"))
    with pytest.raises(ConfigError, match=r"datasets\.other: no such dataset"):
        dataset_plan(config(), "other", table())
    for section, key, value, match in [("recognition", "class_set", "nope", "recognition.class_set: unknown class set 'nope'"),
                                       ("recognition", "protocol", "by_day", "recognition.protocol: 'by_day' is not one of"),
                                       ("batching", "clips_per_job", 0, "batching.clips_per_job must be an integer >= 1")]:
        cfg = config()
        cfg[section][key] = value  # past the schema, as a hand-built config would be
        with pytest.raises(ConfigError, match=match):
            dataset_plan(cfg, "toy", table())


# --- the in-process pipeline trains the plan's folds -----------------------------------------------

@pytest.mark.parametrize(("protocol", "fold_by", "folds"), [("loso", "subject", ["s1", "s2", "s3"]), ("holdout_db", "source", ["casme2", "samm"])])
def test_run_recognition_trains_the_plans_folds(monkeypatch, tmp_path, protocol, fold_by, folds):
    """run_recognition trains one fold per subject, or per source database under holdout_db (the
    stage functions replaced by recorders: what is checked is which folds it asks for)."""
    import mexp_lib.recognition.evaluate as evaluate
    import mexp_lib.recognition.inputs as inputs
    import mexp_lib.recognition.pipeline as pipeline
    import mexp_lib.recognition.train as train

    calls: list[tuple[str, str, list[str]]] = []

    def fake_train_fold(samples: pd.DataFrame, pack: Any, *, test_subject: str, fold_by: str = "subject", **_: Any) -> None:
        calls.append((test_subject, fold_by, sorted(samples.loc[samples[fold_by] == test_subject, "sample"])))

    monkeypatch.setattr(pipeline, "faces_of", lambda workdir, samples, face: {v: tmp_path / f"{v}.h5" for v in samples.video})
    monkeypatch.setattr(pipeline, "motion_of", lambda workdir, samples, faces, cfg, pairs: ({}, {}))
    monkeypatch.setattr(inputs, "build_inputs", lambda *a, **k: None)
    monkeypatch.setattr(train, "train_fold", fake_train_fold)
    monkeypatch.setattr(evaluate, "evaluate_recognition", lambda preds, **k: pd.DataFrame({"fold": ["all"], "n": [len(preds)]}))
    cfg = config(recognition={"protocol": protocol})
    table, fresh = pipeline.run_recognition(table_with_clips(), cfg, tmp_path / "work")
    assert fresh and [c[0] for c in calls] == folds and {c[1] for c in calls} == {fold_by}
    kept = dataset_plan(cfg, None, table_with_clips()).kept
    assert sorted(s for c in calls for s in c[2]) == sorted(kept["sample"]), "every kept sample is tested once"


def table_with_clips() -> pd.DataFrame:
    """:func:`table` with what the motion stages read (frames, numbering, onset, apex, offset, fps)."""
    return table().assign(frames="f", numbering="n", onset=0, apex=2, offset=4, fps=30.0)


def test_the_table_of_plans_leaves_a_broken_entry_out_and_names_it(tmp_path, capsys):
    """DatasetPlans (common.smk's PLANS): a dataset whose sheet is missing is left out with a
    warning, and asking for its plan raises its one-line error; the other datasets are planned."""
    from mexp_lib.plan import DatasetPlans

    missing = tmp_path / "nowhere.csv"
    cfg = resolve_config({"datasets": {
        "demo": {"format": "demo", "root": str(tmp_path / "demo"), "generator": {"subjects": 2, "clips_per_class": 1, "long_videos_per_subject": 0}},
        "gone": {"format": "generic", "root": str(tmp_path), "annotations": str(missing), "fps": 30},
        "nofps": {"format": "generic", "root": str(tmp_path), "annotations": str(missing)},
    }})
    plans = DatasetPlans(cfg)
    assert list(plans) == ["demo"] and set(plans.broken) == {"gone", "nofps"}
    assert plans.broken["nofps"] == "datasets.nofps: format generic needs 'fps' (the frame rate of its videos)", "named once"
    assert "mexp: warning: datasets.gone:" in capsys.readouterr().err
    with pytest.raises(ConfigError, match=r"^datasets\.gone: .*nowhere\.csv: annotation file not found$"):
        plans["gone"]
    assert plans["demo"].require_folds() == tuple(sorted(plans["demo"].kept.subject.astype(str).unique()))
    assert len(plans["demo"].folds) == 2
