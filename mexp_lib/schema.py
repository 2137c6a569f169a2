"""Checking a workflow config against its JSON schema, with one line per problem.

Snakemake's own ``validate`` reports a typo with the whole schema and config (1,600 lines for
ours); :func:`check_config` runs first and names the key instead::

    config: trainig: unknown key (did you mean 'training'?)
    config: training.epochs: 'ten' is not of type 'integer'
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Any

import yaml

from mexp_lib.errors import ConfigError


def config_problems(config: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Every way ``config`` breaks ``schema``, one line each, naming the key (dotted path)."""
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    lines = []
    for err in sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]):
        where = ".".join(str(p) for p in err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            known = list((err.schema.get("properties") or {}))  # type: ignore[union-attr]
            for key in sorted(set(err.instance) - set(known)):
                hint = difflib.get_close_matches(str(key), known, n=1)
                near = f" (did you mean {hint[0]!r}?)" if hint else f" (known: {', '.join(known)})" if known else ""
                lines.append(f"{where + '.' if where else ''}{key}: unknown key{near}")
        elif err.validator == "required":
            lines.append(f"{where or '(top level)'}: {err.message}")
        else:
            value = repr(err.instance)
            msg = err.message if len(value) <= 80 else err.message.replace(value, value[:60] + "...")
            lines.append(f"{where or '(top level)'}: {msg}")
    return lines


def check_config(config: dict[str, Any], schema_path: str | Path, *, exit: bool = False) -> None:
    """Raise :class:`ConfigError` with one line per problem (the first few) when ``config``
    does not follow the schema at ``schema_path``; with ``exit``, print it as one
    ``mexp: error:`` line and exit (status 1) instead, so that Snakemake adds no traceback."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    problems = config_problems(config, schema)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        message = "config: " + "; ".join(problems[:3]) + more
        if exit:
            sys.exit(f"mexp: error: {message}")
        raise ConfigError(message)
