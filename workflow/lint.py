"""`make lint`: run `snakemake --lint` and pass when its only lint is the documented one.

Snakemake exits 1 on any lint. The Snakefile's header explains the one we keep on purpose,
"Specify a conda environment or container for each rule" (every script imports mexp_lib, so the
workflow runs in the one environment that installs it). Any other lint, or a workflow that does
not parse, fails. Extra arguments go to snakemake (e.g. `-d WORKDIR`).
"""
import re
import subprocess
import sys
from pathlib import Path

ALLOWED = {"Specify a conda environment or container for each rule."}

snakemake = Path(sys.executable).parent / "snakemake"
out = subprocess.run([str(snakemake), "--lint", *sys.argv[1:]], capture_output=True, text=True)
text = out.stdout + out.stderr
lints = re.findall(r"^\s+\* (.+?):$", text, re.M)
other = sorted(set(lints) - ALLOWED)
if out.returncode == 0 or (lints and not other):
    print(f"snakemake --lint: {len(lints)} lint(s), all the documented one: {', '.join(sorted(ALLOWED))}")
    sys.exit(0)
print(text, file=sys.stderr)
sys.exit(f"snakemake --lint: lints other than the documented one: {other}" if other else f"snakemake --lint failed (exit {out.returncode})")
