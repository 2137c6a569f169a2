"""The stress-sweep helpers: one factor at a time around the middle, margins and the worst bucket."""

from __future__ import annotations

import pandas as pd
import pytest

from mexp_lib.errors import ConfigError
from mexp_lib.stress import latest_runs, margins, select_buckets, sweep_buckets, worst_bucket, worst_bucket_lines


def test_buckets_vary_one_factor_at_a_time():
    middle = {"amplitude": [0.4, 1.0], "fps": 100, "noise": 3}
    buckets = sweep_buckets(middle, {"fps": [30, 100, 200], "amplitude": [[0.2, 0.4], [0.4, 1.0]]})
    assert [b.name for b in buckets] == ["middle", "fps=30", "fps=200", "amplitude=0.2-0.4"]
    for b in buckets[1:]:
        changed = {k for k in middle if b.settings[k] != middle[k]}
        assert changed == {b.factor}
    assert buckets[0].settings == middle


def test_unknown_factor_and_bucket_are_errors():
    with pytest.raises(ConfigError, match="fsp"):
        sweep_buckets({"fps": 30}, {"fsp": [60]})
    buckets = sweep_buckets({"fps": 30}, {"fps": [60]})
    assert [b.name for b in select_buckets(buckets, ["fps=60"])] == ["fps=60"]
    assert select_buckets(buckets, None) == buckets
    with pytest.raises(ConfigError, match="fps=90"):
        select_buckets(buckets, ["fps=90"])


RUNS = pd.DataFrame([
    {"bucket": "middle", "method": "default", "uf1": 0.90, "uf1_std": 0.02},
    {"bucket": "middle", "method": "svm", "uf1": 0.85, "uf1_std": 0.0},
    {"bucket": "fps=30", "method": "default", "uf1": 0.70, "uf1_std": 0.02},
    {"bucket": "fps=30", "method": "svm", "uf1": 0.71, "uf1_std": 0.0},   # within the spread
    {"bucket": "noise=6", "method": "default", "uf1": 0.60, "uf1_std": 0.01},
    {"bucket": "noise=6", "method": "svm", "uf1": 0.65, "uf1_std": 0.0},  # a real loss
])


def test_margins_tell_a_loss_from_seed_noise():
    m = margins(RUNS, method="default", baseline="svm", score="uf1").set_index("bucket")
    assert m.loc["middle", "margin"] == pytest.approx(0.05) and not m.loc["middle", "loses"]
    assert not m.loc["fps=30", "loses"]
    assert m.loc["noise=6", "loses"] and m.loc["noise=6", "spread"] == pytest.approx(0.01)


def test_worst_bucket_is_the_lowest_score():
    assert worst_bucket(RUNS, method="default", score="uf1") == ("noise=6", pytest.approx(0.60))
    assert worst_bucket(RUNS, method="svm", score="uf1")[0] == "noise=6"
    lines = worst_bucket_lines(RUNS, methods=["default", "absent"], score="uf1", label="UF1")
    assert lines == ["worst bucket of default: noise=6 (UF1 0.600)"]
    with pytest.raises(ValueError):
        worst_bucket(RUNS, method="absent", score="uf1")


def test_a_rerun_with_more_seeds_replaces_the_one_seed_run():
    runs = pd.DataFrame([
        {"part": "test", "bucket": "seconds=10", "method": "default", "f1": 0.43, "seeds": 3},  # listed first (file order)
        {"part": "test", "bucket": "middle", "method": "default", "f1": 0.70, "seeds": 1},
        {"part": "test", "bucket": "seconds=10", "method": "default", "f1": 0.40, "seeds": 1},
        {"part": "test", "bucket": "seconds=10", "method": "floor", "f1": 0.44, "seeds": 1},
        {"part": "test", "bucket": "seconds=10", "method": "floor", "f1": 0.41, "seeds": 1},  # same seeds: the later row
        {"part": "dev", "bucket": "seconds=10", "method": "default", "f1": 0.82, "seeds": 1},  # another part is kept
    ], index=[5, 5, 7, 8, 9, 9])
    kept = latest_runs(runs)
    assert kept[["part", "bucket", "method", "f1"]].values.tolist() == [
        ["test", "seconds=10", "default", 0.43], ["test", "middle", "default", 0.70],
        ["test", "seconds=10", "floor", 0.41], ["dev", "seconds=10", "default", 0.82]]
    assert worst_bucket(kept[kept.part == "test"], method="default", score="f1") == ("seconds=10", pytest.approx(0.43))
    assert latest_runs(runs.drop(columns="seeds")).f1.tolist() == [0.70, 0.40, 0.41, 0.82]


def test_a_run_row_appended_to_an_older_record_keeps_its_column_order(tmp_path):
    """benchmarks' --csv records: a row appended to a file whose header has another column order
    lands under the right headers (it did not: 'seconds' and 'set' were swapped); a row with
    other keys is refused, naming the file and the keys, and nothing is written."""
    from mexp_lib.errors import DataError
    from mexp_lib.report import append_row

    f = tmp_path / "runs.csv"
    f.write_text("bucket,uf1,seconds,set\nmiddle,0.9,3.0,\n")
    append_row(f, {"bucket": "fps=30", "uf1": 0.8, "set": '{"face": {"margin": 0}}', "seconds": 5.5})
    table = pd.read_csv(f)
    assert list(table.seconds) == [3.0, 5.5] and table.set.iloc[1] == '{"face": {"margin": 0}}'
    with pytest.raises(DataError, match=r"runs\.csv: its columns .* new: \['extra'\]"):
        append_row(f, {"bucket": "x", "uf1": 0.1, "set": "", "seconds": 1.0, "extra": 1})
    assert len(pd.read_csv(f)) == 2
    append_row(tmp_path / "new.csv", {"a": 1, "b": 2})  # a new file gets a header
    assert (tmp_path / "new.csv").read_text() == "a,b\n1,2\n"
