"""The report's pieces: metric tables as HTML pages, the face-QC grid."""

import cv2
import numpy as np
import pandas as pd

from mexp_lib.face.qc import qc_grid, qc_pages
from mexp_lib.io.h5store import write_store
from mexp_lib.io.skip import write_skip
from mexp_lib.report import readable_table, table_html, write_table_html


def test_readable_table_folds_std_into_mean_and_rounds():
    t = pd.DataFrame({"fold": ["s1", "all"], "uf1": [0.71234, 0.5], "uf1_std": [0.0201, 0.0], "n": [3, 6], "acc": [float("nan"), 1 / 3]})
    r = readable_table(t)
    assert list(r.columns) == ["fold", "uf1", "n", "acc"]
    assert r.uf1.tolist() == ["0.712 ± 0.020", "0.500 ± 0.000"]
    assert r.n.tolist() == ["3", "6"] and r.acc.tolist() == ["–", "0.333"]
    # all stds zero (one seed): the plain value, no "± 0.000"
    assert readable_table(t.assign(uf1_std=0.0)).uf1.tolist() == ["0.712", "0.500"]


def test_table_html_escapes_marks_pooled_rows_and_is_self_contained(tmp_path):
    t = pd.DataFrame({"video": ["<script>alert(1)</script>", "all"], "f1": [0.25, 0.75]})
    page = table_html(t, title="T & t", notes=["a < b"])
    assert "<script>" not in page and "&lt;script&gt;" in page and "a &lt; b" in page and "T &amp; t" in page
    assert page.count('class="pooled"') == 1 and "<td>0.750</td>" in page
    assert "http" not in page and "src=" not in page  # nothing to load
    write_table_html(t, tmp_path / "t.html", title="x")
    assert (tmp_path / "t.html").read_text().startswith("<!doctype html>")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_qc_grid_draws_one_named_tile_per_usable_video_and_says_when_none(tmp_path):
    face = np.full((3, 64, 64), 120, np.uint8)
    lm = np.tile(np.array([[32.0, 32.0]], np.float32), (3, 68, 1))
    stores = []
    for v in ("v1", "v2"):
        write_store(tmp_path / f"{v}.h5", {"frames": face, "numbers": np.arange(3), "landmarks": lm}, {"stage": "faces", "video": v})
        stores.append(str(tmp_path / f"{v}.h5"))
    write_skip(tmp_path / "v3.h5", "v3", "no face")
    stores.append(str(tmp_path / "v3.h5"))
    assert qc_grid(stores, tmp_path / "grid.png", per_row=2) == 2
    grid = cv2.imread(str(tmp_path / "grid.png"))
    assert grid.shape == (64, 128, 3)
    assert (grid[32, 32] == [0, 255, 0]).all()  # the landmark, in green
    assert grid[:12, :40].min() < 60 and grid[:12, :40].max() > 200  # the name band: dark with white text
    assert qc_grid([str(tmp_path / "v3.h5")], tmp_path / "none.png") == 0
    none = cv2.imread(str(tmp_path / "none.png"))
    assert none is not None and (none < 128).any()  # a written message, not a missing output


def test_qc_pages_split_the_grid_and_replace_the_folder_as_a_whole(tmp_path):
    face = np.full((1, 32, 32), 90, np.uint8)
    lm = np.full((1, 68, 2), 16.0, np.float32)
    stores = []
    for i in range(5):
        write_store(tmp_path / f"v{i}.h5", {"frames": face, "numbers": np.arange(1), "landmarks": lm}, {"stage": "faces", "video": f"v{i}"})
        stores.append(str(tmp_path / f"v{i}.h5"))
    write_skip(tmp_path / "s.h5", "s", "no face")
    out = tmp_path / "crops"
    out.mkdir()
    (out / "crops_009.png").write_bytes(b"stale")  # a previous run's page: gone after the rewrite
    pages = qc_pages([*stores, str(tmp_path / "s.h5")], out, per_page=2, per_row=2)
    assert [p.name for p in pages] == ["crops_001.png", "crops_002.png", "crops_003.png"]  # 5 usable videos, 2 a page
    assert sorted(p.name for p in out.iterdir()) == [p.name for p in pages]
    assert cv2.imread(str(pages[-1])).shape == (32, 64, 3)  # the last page: one tile and one blank
    assert [p.name for p in qc_pages([str(tmp_path / "s.h5")], tmp_path / "none")] == ["crops_001.png"]
