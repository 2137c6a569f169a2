"""The documentation runs: every command in the README's code blocks, its inline Snakemake
commands and the commands in the config files' comments is executed here, Snakemake and make
as dry runs (``-n``), ``mexp`` for real; the commented real-dataset entries of
config/config.yaml load the real sheets with the counts their comments state.

The commands run in a scratch copy of the repository's layout whose config has every commented
real dataset uncommented, ``/data/...`` mapped to a scratch folder holding the real sheets of
``../shared`` (and one empty folder per video), and the README's ``mydata`` entry added."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workflow_runner import REPO

REAL = REPO.parent / "shared" / "data" / "real"
BIN = Path(sys.executable).parent
PREFIXES = (".venv/bin/", "snakemake", "mexp ", "make ")


class _Synopsis:
    """<name>, [--opt], a|b, a TARGET or PRED.csv word: a synopsis to fill in, not a command."""

    @staticmethod
    def search(cmd: str) -> bool:
        return bool(re.search(r"[<>\[\]|]", cmd)) or any(re.fullmatch(r"[A-Z][A-Z_]+(\.\w+)?", w) for w in cmd.split())


PLACEHOLDER = _Synopsis()

# The sheet in ../shared that stands for each real dataset's annotations (the config's file names)
SHEETS = {
    "samm": "davidnvq__me_recognition/datasets/SAMM_Micro_FACS_Codes_v2.xlsx",
    "casme2": "davidnvq__me_recognition/datasets/CASME2-coding-20140508.xlsx",
    "smic": "davidnvq__me_recognition/datasets/SMIC-HS-E_annotation.xlsx",
    "casme_sq": "genbing99__MTSN-Spot-ME-MaE/megc2021-ground-truth/CASME_sq_gt.xlsx",
    "samm_lv": "genbing99__MTSN-Spot-ME-MaE/megc2021-ground-truth/SAMMLV_gt.xlsx",
    "mmew": "ini17__MER-fusing-AU-detection-and-spatio-temporal-features/MMEW_Micro_Exp.csv",
    "casme3": "genbing99__SFAMNet/annotation/CASME3_part_A_v2.xls",
    "megc2019": "davidnvq__me_recognition/datasets/combined_3class_gt.csv",
    "megc2019.smic": "ini17__MER-fusing-AU-detection-and-spatio-temporal-features/HS_cropped.csv",
}
REAL_DATASETS = ["samm", "casme2", "smic", "casme_sq", "samm_lv", "mmew", "casme3", "megc2019"]


def fenced_blocks(text: str) -> list[tuple[str, list[str]]]:
    """(language, lines) of each fenced code block; 4-space indented blocks as language ''."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = re.match(r"^```(\w*)$", lines[i])
        if m:
            j = lines.index("```", i + 1)
            blocks.append((m.group(1), lines[i + 1 : j]))
            i = j + 1
            continue
        if lines[i].startswith("    ") and (i == 0 or not lines[i - 1].strip()) and lines[i].strip().startswith(PREFIXES):
            blocks.append(("", [lines[i]]))
        i += 1
    return blocks


def _command(line: str) -> str | None:
    cmd = line.split("  #")[0].strip()
    return cmd if cmd.startswith(PREFIXES) else None


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    cmds = []
    for lang, lines in fenced_blocks(text):
        if lang in ("", "bash", "sh"):
            cmds += [c for c in map(_command, lines) if c]
    inline = re.findall(r"`((?:\.venv/bin/)?snakemake [^`]*)`", text)  # with arguments: a bare name is no command
    return cmds + [c for c in inline if not PLACEHOLDER.search(c)]


def config_comment_commands() -> list[tuple[str, str]]:
    """(file, command) of every command in a comment of config/*.yaml and profiles/*/config.yaml:
    a comment line that is a command (``Run:`` labels allowed) or a backticked command."""
    out = []
    for f in sorted([*REPO.glob("config/*.yaml"), *REPO.glob("profiles/*/config.yaml")]):
        for line in f.read_text().splitlines():
            if "#" not in line:
                continue
            comment = line.split("#", 1)[1].strip()
            whole = re.sub(r"^Run:\s+", "", comment)
            if whole.startswith((".venv/bin/", "snakemake ", "make ")):  # a comment line that is a command
                found = [whole]
            else:  # backticked commands with arguments (`snakemake` alone names the tool)
                found = [c for c in re.findall(r"`([^`]+)`", comment) if " " in c]
            out += [(f.relative_to(REPO).as_posix(), c) for c in found if c.startswith(PREFIXES) and not PLACEHOLDER.search(c)]
    return out


def test_the_readme_and_configs_have_their_commands():
    """The extraction finds what the documentation shows (so the test below cannot pass empty)."""
    cmds = readme_commands()
    assert ".venv/bin/snakemake --configfile config/megc2019_flow.yaml -- results/megc2019_flow_loso_metrics.csv" in cmds
    assert ".venv/bin/snakemake -R compute_flow -- results/demo_loso_metrics.csv" in cmds
    assert ".venv/bin/mexp dataset info mydata --config config/config.yaml" in cmds
    assert "make demo" in cmds and "snakemake --profile profiles/slurm results/samm_loso_metrics.csv" in cmds
    assert len(cmds) >= 15
    conf = dict((c, f) for f, c in config_comment_commands())
    assert conf[".venv/bin/snakemake --configfile config/megc2019_flow.yaml -- results/megc2019_flow_loso_metrics.csv"] == "config/megc2019_flow.yaml"
    assert conf["snakemake --profile profiles/slurm results/samm_loso_metrics.csv"] == "profiles/slurm/config.yaml"
    # fenced blocks hold commands only, no synopsis to be filled in
    for lang, lines in fenced_blocks((REPO / "README.md").read_text()):
        for c in filter(None, map(_command, lines if lang in ("", "bash", "sh") else [])):
            assert not PLACEHOLDER.search(c), f"README code block holds a synopsis, not a command: {c}"


def _uncomment_real_entries(text: str) -> str:
    """config/config.yaml with its commented real-dataset entries uncommented."""
    lines = text.splitlines()
    i = next(i for i, x in enumerate(lines) if x.startswith("  # samm:"))
    while i < len(lines) and lines[i].startswith("  # "):
        lines[i] = "  " + lines[i][4:]
        i += 1
    return "\n".join(lines) + "\n"


def _readme_mydata() -> dict:
    text = (REPO / "README.md").read_text()
    block = next("\n".join(lines) for lang, lines in fenced_blocks(text) if lang == "yaml" and "mydata" in "\n".join(lines))
    return yaml.safe_load(block)["datasets"]["mydata"]


@pytest.fixture(scope="module")
def docs_workdir(tmp_path_factory) -> Path:
    """A scratch folder laid out like the repository (Snakefile, workflow, profiles linked), its
    config with the real entries uncommented and /data/ mapped to ``<w>/data/``."""
    from mexp_lib.datasets import load_dataset

    w = tmp_path_factory.mktemp("docs")
    for name in ("Snakefile", "workflow", "profiles", "benchmarks"):
        (w / name).symlink_to(REPO / name)
    (w / "config").mkdir()
    for f in REPO.glob("config/*.yaml"):
        text = f.read_text()
        if f.name == "config.yaml":
            text = _uncomment_real_entries(text)
        (w / "config" / f.name).write_text(_local(text, w))
    cfg = yaml.safe_load((w / "config/config.yaml").read_text())
    mydata = {k: (_local(v, w) if isinstance(v, str) else v) for k, v in _readme_mydata().items()}
    cfg["datasets"]["mydata"] = mydata
    (w / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    # the sheets where the config says they are, and an empty folder per video under each root
    entries = {name: cfg["datasets"][name] for name in REAL_DATASETS}
    entries |= {f"megc2019.{db}": e for db, e in cfg["datasets"]["megc2019"]["sources"].items()}
    for key, entry in entries.items():
        sheet = Path(entry["annotations"])
        if sheet.exists():  # megc2019's sources share their databases' sheets
            continue
        sheet.parent.mkdir(parents=True, exist_ok=True)
        real = REAL / SHEETS.get(key, SHEETS.get(key.split(".")[-1], ""))
        if sheet.suffix != real.suffix:  # a CSV copy of the workbook the config names
            pd.read_csv(real).to_excel(sheet, index=False)
        else:
            sheet.symlink_to(real)
    for key, entry in entries.items():
        if "root" in entry:
            samples, _ = load_dataset(key.split(".")[-1], {k: v for k, v in entry.items() if k not in ("root", "sources")})
            for frames in samples.frames.unique():
                (Path(entry["root"]) / frames).mkdir(parents=True, exist_ok=True)
    # mydata: two subjects' clips of the generic format
    root = Path(mydata["root"])
    rows = []
    for i, (subject, emotion) in enumerate([("s1", "happiness"), ("s1", "disgust"), ("s2", "happiness"), ("s2", "surprise")]):
        (root / f"clip{i}").mkdir(parents=True)
        for k in range(1, 9):
            (root / f"clip{i}" / f"f{k:03d}.png").write_bytes(b"")
        rows.append({"subject": subject, "video": f"clip{i}", "onset": 1, "apex": 4, "offset": 8, "type": "micro", "emotion": emotion})
    pd.DataFrame(rows).to_csv(mydata["annotations"], index=False)
    return w


def _local(text: str, w: Path) -> str:
    """``../shared`` (beside the repository) made absolute, ``/data/...`` moved into ``w``."""
    text = text.replace("../shared", str(REPO.parent / "shared"))
    return re.sub(r"(?<![\w.])/data/", f"{w}/data/", text)


def _run(cmd: str, w: Path) -> subprocess.CompletedProcess:
    """A documented command as it is meant to be tried: Snakemake and make as dry runs."""
    argv = shlex.split(_local(cmd, w))
    exe = argv[0].removeprefix(".venv/bin/")
    cwd = w
    if exe == "make":
        argv, cwd = ["make", "-n", *argv[1:]], REPO
    elif exe == "snakemake":
        argv = [str(BIN / "snakemake"), "-n", *argv[1:]]
    elif exe == "mexp":
        argv = [sys.executable, "-m", "mexp_lib.cli", *argv[1:]]
    elif exe == "python":
        argv = [sys.executable, *argv[1:], "--dry-run"]
    else:
        raise AssertionError(f"no way to try {cmd!r}")
    return subprocess.run(argv, capture_output=True, text=True, cwd=cwd)


ALL = sorted(set(readme_commands()) | {c for _, c in config_comment_commands()})


@pytest.mark.slow
@pytest.mark.parametrize("cmd", ALL)
def test_documented_command_runs(docs_workdir, cmd):
    out = _run(cmd, docs_workdir)
    text = out.stdout + out.stderr
    assert out.returncode == 0, f"{cmd}\n{text[-3000:]}"
    assert "Traceback" not in text and "mexp: warning" not in text, text[-3000:]
    if "snakemake" in cmd and "--unlock" in cmd:
        assert "Unlocked working directory." in text, text[-2000:]
    elif "snakemake" in cmd:
        assert "Job stats:" in text or "Nothing to be done" in text, text[-2000:]


@pytest.mark.parametrize("name", REAL_DATASETS)
def test_commented_real_entry_loads_its_sheet(real, name):
    """Each commented entry of config/config.yaml, uncommented with the real sheet: valid under
    the schema, and the videos, fps and target its comment states."""
    from mexp_lib.config import config_problems
    from mexp_lib.datasets import load_dataset

    text = _uncomment_real_entries((REPO / "config/config.yaml").read_text())
    cfg = yaml.safe_load(text)
    schema = yaml.safe_load((REPO / "mexp_lib/schemas/config.schema.yaml").read_text())
    assert config_problems(cfg, schema) == []
    comment = re.search(rf"^  {name}:\s+# (.*)$", text, re.M).group(1)
    m = re.search(r"(\d+) videos(?:, (\d+) fps)? -> results/(\w+)_(loso|spotting)_metrics\.csv$", comment)
    assert m, comment
    entry = {k: v for k, v in cfg["datasets"][name].items() if k not in ("root", "sources")} | {"annotations": str(real / SHEETS[name])}
    samples, report = load_dataset(name, entry)
    assert samples.video.nunique() == int(m.group(1))
    if m.group(2):
        assert samples.fps.iloc[0] == float(m.group(2))
    assert m.group(3) == name and set(samples.task) == {"recognition" if m.group(4) == "loso" else "spotting"}
    assert report.skipped == [], "the official sheet loads with the entry's settings"


def test_readme_lists_a_layout_for_every_real_format():
    text = (REPO / "README.md").read_text()
    layout = text.split("### The real datasets")[1].split("```")[0]
    for fmt in ["casme2", "samm", "samm_lv", "smic", "casme_sq", "mmew", "casme3", "megc2019", "generic"]:
        assert re.search(rf"^\| `{fmt}` \|", layout, re.M), fmt
