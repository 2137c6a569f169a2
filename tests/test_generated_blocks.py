"""The README blocks that benchmark scripts write, and the earlier runs they read."""

from __future__ import annotations

import pandas as pd
import pytest

from mexp_lib.errors import DataError
from mexp_lib.report import publish_runs, read_runs, replace_generated_block

BEGIN, END = "<!-- b: begin -->", "<!-- b: end -->"


def test_replace_generated_block_keeps_everything_around_it(tmp_path):
    doc = tmp_path / "README.md"
    doc.write_text(f"intro\n{BEGIN}\nold table\n{END}\noutro {BEGIN} mentioned again\n")
    replace_generated_block(doc, BEGIN, END, "\nnew table\n")
    assert doc.read_text() == f"intro\n{BEGIN}\nnew table\n{END}\noutro {BEGIN} mentioned again\n"
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]  # no temporary left


@pytest.mark.parametrize("text", ["no markers", f"{END} before {BEGIN}", f"{BEGIN} only"])
def test_a_document_without_the_block_is_an_error_naming_the_markers(tmp_path, text):
    doc = tmp_path / "README.md"
    doc.write_text(text)
    with pytest.raises(DataError, match="has no <!-- b: begin --> ... <!-- b: end --> block"):
        replace_generated_block(doc, BEGIN, END, "table")
    assert doc.read_text() == text


def test_runs_of_another_part_are_refused_and_never_published(tmp_path, capsys):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    pd.DataFrame({"part": ["test"], "f1": [0.5]}).to_csv(a, index=False)
    pd.DataFrame({"part": ["dev"], "f1": [0.9]}).to_csv(b, index=False)
    assert read_runs([a], "test").f1.tolist() == [0.5]
    with pytest.raises(DataError, match=r"parts \['dev', 'test'\], not only 'test'"):
        read_runs([a, b], "test")
    written = []
    with pytest.raises(DataError, match="test part only"):
        publish_runs(read_runs([b], "dev"), part="dev", markdown=lambda t: "table", write_readme=lambda t, p: written.append(p), readme=True)
    assert written == []
    publish_runs(read_runs([a], "test"), part="test", markdown=lambda t: f"{len(t)} rows", write_readme=lambda t, p: written.append(p),
                 csv=str(tmp_path / "out.csv"), readme=True)
    assert written == ["test"] and "1 rows" in capsys.readouterr().out
    assert pd.read_csv(tmp_path / "out.csv").f1.tolist() == [0.5]
