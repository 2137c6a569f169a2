"""One name per stage: each rule, its script and the mexp_lib function the script calls share one
name, and the README's stage table says so."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from workflow_runner import REPO, SNAKEMAKE, tiny_workdir

RULE = re.compile(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", re.S | re.M)
SCRIPT = re.compile(r'^\s+script:\s*\n\s+"\.\./scripts/(\w+)\.py"', re.M)


def smk_rules() -> dict[str, str | None]:
    """rule -> the script it runs (None for a rule without one), from the Snakefile and
    workflow/rules/*.smk."""
    rules: dict[str, str | None] = {}
    for f in [REPO / "Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk"))]:
        for name, body in RULE.findall(f.read_text()):
            m = SCRIPT.search(body)
            rules[name] = m.group(1) if m else None
    return rules


def stage_module(script: Path, name: str) -> str | None:
    """The mexp_lib module a script imports ``name`` from, when it imports and calls it; else None."""
    tree = ast.parse(script.read_text())
    imported = {a.asname or a.name: (n.module, a.name) for n in tree.body if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("mexp_lib")
                for a in n.names}
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    if name in calls and name in imported and imported[name][1] == name:
        return imported[name][0]
    return None


def test_rules_scripts_and_functions_share_one_name(tmp_path):
    listed = subprocess.run([SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(tiny_workdir(tmp_path)), "--list-rules"],
                            capture_output=True, text=True, cwd=REPO, check=True).stdout.split()
    rules = smk_rules()
    assert set(listed) == set(rules), "every rule Snakemake lists is found in the workflow's files"
    assert set(rules) - {"all"} and rules["all"] is None
    scripts = {p.stem for p in (REPO / "workflow/scripts").glob("*.py")}
    for rule, script in rules.items():
        if rule == "all":
            continue
        assert script == rule, f"rule {rule} runs scripts/{script}.py"
        module = stage_module(REPO / "workflow/scripts" / f"{script}.py", rule)
        assert module is not None, f"scripts/{script}.py does not call a mexp_lib function named {rule}"
        fn = getattr(importlib.import_module(module), rule)
        assert callable(fn) and fn.__name__ == rule and fn.__module__ == module, f"{module}.{rule} is defined elsewhere ({fn.__module__})"
    assert scripts == set(rules) - {"all"}, "every script is some rule's"


def test_the_readme_stage_table_lists_rule_script_and_function():
    text = (REPO / "README.md").read_text()
    rows = {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(r"^\| `(\w+)` \| `workflow/scripts/(\w+)\.py` \| `([\w.]+)` \|", text, re.M)}
    for rule in set(smk_rules()) - {"all"}:
        assert rule in rows, f"README stage table lacks {rule}"
        script, function = rows[rule]
        module = stage_module(REPO / "workflow/scripts" / f"{rule}.py", rule)
        assert (script, function) == (rule, f"{module}.{rule}")


@pytest.mark.parametrize(("text", "found"), [
    ("from mexp_lib.motion.stage import compute_flow\ncompute_flow(1)\n", "mexp_lib.motion.stage"),
    ("from mexp_lib.motion.stage import flow_store\nflow_store(1)\n", None),                      # another name
    ("from mexp_lib.motion.stage import flow_store as compute_flow\ncompute_flow(1)\n", None),     # renamed on import
    ("from mexp_lib.motion.stage import compute_flow\n", None),                                    # imported, not called
])
def test_stage_module_reads_the_scripts_call(tmp_path, text, found):
    f = tmp_path / "compute_flow.py"
    f.write_text(text)
    assert stage_module(f, "compute_flow") == found


@pytest.mark.parametrize(("modules", "torch"), [
    (["mexp_lib.face.stage", "mexp_lib.face.qc", "mexp_lib.motion.stage", "mexp_lib.device", "mexp_lib.recognition",
      "mexp_lib.recognition.samples", "mexp_lib.recognition.inputs", "mexp_lib.datasets", "mexp_lib.spotting.stage"], False),
    (["mexp_lib.recognition.train"], True),  # the pairing case: a module that trains networks does import it
])
def test_face_motion_and_workflow_parsing_do_not_import_torch(modules, torch):
    """Face, motion and input-packing jobs (and the workflow when it parses) never pay for importing torch:
    select_device lives in mexp_lib.device and imports torch only when called."""
    code = f"import sys, {', '.join(modules)}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == str(torch)
