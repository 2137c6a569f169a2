"""One source of defaults: the workflow's schema (``mexp_lib/schemas/config.schema.yaml``).

Every setting's default lives in the schema and nowhere else. The workflow resolves its whole
config once (:func:`resolve_config`: defaults filled in, then validated); each stage function
resolves the section it is given (:func:`settings`), so that a partial section -- from a test,
a benchmark, the command line -- runs with the same defaults as the workflow. Defaults are
filled recursively and *deep*: setting ``flow.tvl1.warps`` keeps the other TV-L1 defaults.

Option objects are closed in the schema (``additionalProperties: false``): an unknown key fails
naming it, ``flow.tvl1.warsp: unknown key (did you mean 'warps'?)``.

:func:`settings` only fills defaults and checks keys (no jsonschema import: it runs in every
job); :func:`resolve_config` and :func:`cli_settings` also check types and ranges.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from mexp_lib.errors import ConfigError

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The workflow's JSON schema (read once per process)."""
    import yaml

    if not SCHEMA_PATH.is_file():
        raise ConfigError(f"{SCHEMA_PATH}: the config schema is missing from the installed package (reinstall mexp: `make install`)")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(SCHEMA_PATH) as f:
        return dict(yaml.load(f, Loader=loader))


def _local_ref(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a ``$ref`` into ``#/$defs/`` (shared option objects). References to other
    properties (a dataset's own ``recognition`` keys) are not followed: those keys have no
    default of their own, they take the global section's value."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return load_schema()["$defs"][ref.split("/")[-1]]  # type: ignore[no-any-return]
    return schema


def fill_defaults(instance: Any, schema: Mapping[str, Any], where: str = "", *, passthrough: Iterable[str] = ()) -> Any:
    """A copy of ``instance`` with every missing key that has a schema default filled in,
    recursively (into defaults just filled, too). Keys of a closed object
    (``additionalProperties: false``) that the schema does not know raise a
    :class:`ConfigError` naming the dotted key; ``passthrough`` keys (top level only) are kept
    as they are. An object marked ``x-fill-defaults: false`` (a demo's ``generator``: its
    stage fills its defaults itself) is checked for unknown keys but not filled."""
    schema = _local_ref(schema)
    if not isinstance(instance, dict):
        return copy.deepcopy(instance)
    props: Mapping[str, Any] = schema.get("properties") or {}
    extra = schema.get("additionalProperties", True)
    keep = set(passthrough)
    out: dict[str, Any] = {}
    for key, value in instance.items():
        dotted = f"{where}.{key}" if where else str(key)
        if key in keep:
            out[key] = value
        elif key in props:
            out[key] = fill_defaults(value, props[key], dotted)
        elif extra is False:
            hint = difflib.get_close_matches(str(key), list(props), n=1)
            near = f" (did you mean {hint[0]!r}?)" if hint else f" (known: {', '.join(props)})"
            raise ConfigError(f"{dotted}: unknown key{near}")
        elif isinstance(extra, dict):
            out[key] = fill_defaults(value, extra, dotted)
        else:
            out[key] = copy.deepcopy(value)
    if schema.get("x-fill-defaults", True) is False:
        return out
    for key, sub in props.items():
        sub = _local_ref(sub)
        if key not in out and "default" in sub:
            out[key] = fill_defaults(copy.deepcopy(sub["default"]), sub, f"{where}.{key}" if where else key)
    return out


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any] | None) -> dict[str, Any]:
    """``base`` updated with ``over``, mappings merged key by key (``over`` wins)."""
    out = copy.deepcopy(dict(base))
    for key, value in (over or {}).items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def section_schema(section: str) -> Mapping[str, Any]:
    props = load_schema()["properties"]
    if section not in props:
        raise ConfigError(f"config has no section {section!r} (sections: {', '.join(props)})")
    return props[section]  # type: ignore[no-any-return]


def settings(section: str, cfg: Mapping[str, Any] | None = None, *overrides: Mapping[str, Any] | None,
             passthrough: Iterable[str] = ()) -> dict[str, Any]:
    """A config section as a stage runs it: ``cfg`` deep-merged with each of ``overrides`` in
    turn, every missing key filled from the schema's defaults, unknown keys refused (naming
    them as ``<section>.<key>``). Idempotent: a resolved section comes back unchanged."""
    merged: dict[str, Any] = dict(cfg or {})
    for o in overrides:
        merged = deep_merge(merged, o)
    return dict(fill_defaults(merged, section_schema(section), section, passthrough=passthrough))


def dataset_section(config: Mapping[str, Any], dataset: str, section: str) -> dict[str, Any]:
    """A resolved config's ``section`` as one dataset runs it: the global section deep-merged
    with the dataset's own entry (``datasets.<name>.<section>``, e.g. ``training:
    {selection: {folds: 3}}`` keeps the global ``selection.method``)."""
    return deep_merge(config[section], (config["datasets"][dataset] or {}).get(section))


# Sections a dataset's entry may override (datasets.<name>.recognition / .training / .spotting).
PER_DATASET_SECTIONS = ("recognition", "training", "spotting")


def read_settings(config: Mapping[str, Any], reads: Iterable[str], *, dataset: str | None = None) -> dict[str, Any]:
    """The settings a stage reads, picked from a resolved config as a nested mapping of the
    same shape: ``reads`` holds dotted paths (``"flow"`` a whole section, ``"face.size"`` one
    key, ``"datasets.{dataset}.generator"`` a dataset's own entry). With ``dataset``, the
    per-dataset sections (:data:`PER_DATASET_SECTIONS`) are that dataset's
    (:func:`dataset_section`). Mappings come back with their keys sorted (Snakemake compares
    params by their text: reordering a config file must not rerun anything). A last key that
    is not set (one without a default, e.g. a demo entry's ``generator``) is left out; any other
    part of a path the config does not hold raises a :class:`ConfigError` naming it."""
    out: dict[str, Any] = {}
    for path in reads:
        parts = path.format(dataset=dataset).split(".")
        if dataset is not None and parts[0] in PER_DATASET_SECTIONS:
            value: Any = dataset_section(config, dataset, parts[0])
        elif parts[0] in config:
            value = config[parts[0]]
        else:
            raise ConfigError(f"{path}: the config has no such setting")
        missing = False
        for i, part in enumerate(parts[1:], 1):
            if isinstance(value, Mapping) and part not in value and i == len(parts) - 1 and _schema_knows(parts):
                missing = True
                break
            if not isinstance(value, Mapping) or part not in value:
                raise ConfigError(f"{path}: the config has no such setting ({'.'.join(parts[:i + 1])})")
            value = value[part]
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if not missing:
            node[parts[-1]] = canonical(value)
    return canonical(out)  # type: ignore[no-any-return]


def _schema_knows(parts: list[str]) -> bool:
    """Whether the schema has a key at this path (a dataset's name matches any)."""
    node: Mapping[str, Any] = load_schema()
    for part in parts:
        node = _local_ref(node)
        props = node.get("properties") or {}
        extra = node.get("additionalProperties")
        if part in props:
            node = props[part]
        elif isinstance(extra, Mapping):
            node = extra
        else:
            return False
    return True


def canonical(obj: Any) -> Any:
    """``obj`` with every mapping's keys sorted, deep (a copy): Snakemake compares params by their
    text, so reordering keys in a config file must not rerun anything."""
    if isinstance(obj, Mapping):
        return {k: canonical(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list | tuple):
        return [canonical(v) for v in obj]
    return copy.deepcopy(obj)


def default(dotted: str) -> Any:
    """The schema's default of one key, e.g. ``default("magnification.alpha")`` -> 4."""
    section, _, rest = dotted.partition(".")
    value: Any = settings(section)
    for part in rest.split(".") if rest else []:
        if not isinstance(value, dict) or part not in value:
            raise ConfigError(f"{dotted}: the schema gives no default")
        value = value[part]
    return value


def config_problems(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Every way ``config`` breaks ``schema`` (types, ranges, enums, unknown keys), one line
    each, naming the dotted key::

        trainig: unknown key (did you mean 'training'?)
        training.epochs: 'ten' is not of type 'integer'

    (Snakemake's own ``validate`` printed the whole schema and config, 1,600 lines, for a typo.)"""
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    lines = [f"{where}: {value!r} is not a finite number" for where, value in _non_finite(config)]
    for err in sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]):
        where = ".".join(str(p) for p in err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            known = list(err.schema.get("properties") or {})  # type: ignore[union-attr]
            for key in sorted(set(err.instance) - set(known)):
                hint = difflib.get_close_matches(str(key), known, n=1)
                near = f" (did you mean {hint[0]!r}?)" if hint else f" (known: {', '.join(known)})" if known else ""
                lines.append(f"{where + '.' if where else ''}{key}: unknown key{near}")
        elif err.validator == "pattern" and isinstance(err.schema, dict) and err.schema.get("description"):
            lines.append(f"{where or '(top level)'}: {err.instance!r}: not allowed: {err.schema['description']}")
        elif err.validator == "required":
            lines.append(f"{where or '(top level)'}: {err.message}")
        else:
            value = repr(err.instance)
            msg = err.message if len(value) <= 80 else err.message.replace(value, value[:60] + "...")
            lines.append(f"{where or '(top level)'}: {msg}")
    return lines


def _non_finite(value: Any, where: str = "") -> list[tuple[str, float]]:
    """Every NaN or infinite number in a config (``fps: .nan`` passes a schema's bounds: NaN
    compares false with them), as ``(dotted key, value)``."""
    import math

    if isinstance(value, Mapping):
        return [hit for k, v in value.items() for hit in _non_finite(v, f"{where}.{k}" if where else str(k))]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in _non_finite(v, f"{where}[{i}]")]
    return [(where or "(top level)", value)] if isinstance(value, float) and not math.isfinite(value) else []


def _raise_problems(problems: list[str], what: str) -> None:
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ConfigError(f"{what}: " + "; ".join(problems[:3]) + more)


_SCALARS: dict[str, type | tuple[type, ...]] = {"integer": int, "number": (int, float), "boolean": bool}


def command_line_scalars(instance: Any, schema: Mapping[str, Any]) -> Any:
    """``instance`` with the text values that Snakemake's ``--config`` makes of nested values
    (``--config 'batching={clips_per_job: 50}'``, as a profile's ``config:`` gives it, reads
    ``'50'``) read as YAML scalars where the schema expects a number or a boolean and the text is
    one; any other value is left as it is (and fails validation, naming the key)."""
    import yaml

    schema = _local_ref(schema)
    if isinstance(instance, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        return {k: command_line_scalars(v, props[k]) if k in props else command_line_scalars(v, extra) if isinstance(extra, dict) else v
                for k, v in instance.items()}
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    if isinstance(instance, str) and "string" not in types and any(t in _SCALARS for t in types):
        try:
            value = yaml.safe_load(instance)
        except yaml.YAMLError:
            return instance
        if any(isinstance(value, _SCALARS[t]) for t in types if t in _SCALARS) and (isinstance(value, bool) == ("boolean" in types)):
            return value
    return instance


def resolve_config(config: Mapping[str, Any], *, exit: bool = False) -> dict[str, Any]:
    """The workflow's config resolved once: checked against the schema as written (every typo
    and bad value, one line each, naming the key), every default filled in (deep), then the
    result checked again. A problem raises a :class:`ConfigError` (``config: <key>: ...``);
    with ``exit`` (the Snakefile), it is printed as one ``mexp: error:`` line and the process
    exits with status 1, so that Snakemake adds no traceback."""
    import sys

    schema = load_schema()
    config = command_line_scalars(dict(config), schema)
    try:
        _raise_problems(config_problems(config, schema), "config")
        try:
            resolved = dict(fill_defaults(dict(config), schema))
        except ConfigError as e:
            raise ConfigError(f"config: {e}") from None
        _raise_problems(config_problems(resolved, schema), "config")
    except ConfigError as e:
        if exit:
            sys.exit(f"mexp: error: {e}")
        raise
    return resolved


def check_section(section: str, cfg: Mapping[str, Any], what: str = "settings") -> None:
    """Validate one resolved section (types, ranges, enums) against the schema."""
    schema = dict(load_schema())
    schema["required"] = []
    _raise_problems(config_problems({section: dict(cfg)}, schema), what)


# --- the command line: every stage command takes its section's settings the same way --------

# What `mexp spot --no-model` changes in the schema's spotting defaults (no trained model; without
# --model, `mexp spot` runs the shipped mexp_lib/spotting/models/default_spotter.pt instead): a
# classical MDMD score (no training) and fixed thresholds (default_p, default_floor; the noise
# floor keeps a video without any expression from yielding intervals), measured as before the
# workflow's face-region / blink-regression / multiscale-boundary defaults (fixed boundaries
# keep an interval out of a faceless stretch; those defaults were chosen with thresholds
# selected on training subjects, which a single video has not). Every other key is the schema's.
SPOT_WITHOUT_MODEL: dict[str, Any] = {
    "spotter": "classical", "method": "mdmd", "default_floor": 4.0, "flow_method": "dis", "eye_dilate": 0.25,
    "region": "crop", "blinks": "mask", "boundaries": "fixed", "type_by": "ratio",
}


def parse_assignments(items: Iterable[str] | None, example: str = "") -> dict[str, Any]:
    """``["tvl1.warps=5", "rois=[mouth]"]`` -> ``{"tvl1": {"warps": 5}, "rois": ["mouth"]}``
    (values read as YAML; a tab reads as a space). Malformed YAML, or one key set twice
    (``tvl1=5`` then ``tvl1.warps=3``), is a :class:`ConfigError` naming the ``--set``."""
    import yaml

    out: dict[str, Any] = {}
    given: dict[str, str] = {}  # dotted key -> the --set that gave it
    for item in items or []:
        key, eq, text = item.partition("=")
        parts = key.strip().split(".")
        if not eq or not all(p.strip() for p in parts):
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE" + (f" (e.g. {example})" if example else ""))
        try:
            value = yaml.safe_load(text.replace("\t", " "))
        except yaml.YAMLError as e:
            problem = " ".join(str(getattr(e, "problem", None) or e).split())
            raise ConfigError(f"--set {item!r}: the value is not valid YAML ({problem})") from None
        node = out
        for i, part in enumerate(parts):
            dotted = ".".join(parts[: i + 1])
            last = i == len(parts) - 1
            if part in node and (last or not isinstance(node[part], dict)):
                earlier = given.get(dotted) or next(g for d, g in given.items() if d.startswith(dotted + "."))
                raise ConfigError(f"--set {item!r} conflicts with --set {earlier!r}: {dotted} is set twice")
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        given[".".join(parts)] = item
    return out


def load_yaml_file(path: str | Path, what: str = "") -> Any:
    """The YAML document of ``path``; a :class:`ConfigError` naming the file, and the line and
    column of malformed YAML (``config/config.yaml: line 4, column 4: not valid YAML (...)``),
    prefixed with ``what`` (``"--config "``)."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what}{p}: No such file or directory")
    try:
        return yaml.safe_load(p.read_text(errors="replace"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
        problem = " ".join(str(getattr(e, "problem", None) or e).split())
        raise ConfigError(f"{what}{p}:{where} not valid YAML ({problem})") from None


def check_config_yaml(path: str | Path) -> None:
    """For the Snakefile, before its ``configfile:``: a config file that is not valid YAML stops
    with one ``mexp: error:`` line naming the file and line (Snakemake's own message names
    neither). A missing file is left to Snakemake."""
    import sys

    if Path(path).is_file():
        try:
            load_yaml_file(path)
        except ConfigError as e:
            sys.exit(f"mexp: error: {e}")


def read_config_file(config_file: str | Path, what: str = "") -> dict[str, Any]:
    """A workflow config file resolved as the workflow resolves it (:func:`resolve_config`):
    a :class:`ConfigError` naming the file -- and the line, for malformed YAML -- otherwise,
    prefixed with ``what`` (``"--config "``)."""
    p = Path(config_file)
    data = load_yaml_file(p, what)
    if not isinstance(data, dict):
        raise ConfigError(f"{what}{p}: expected a mapping of sections (datasets:, face:, ...), not {type(data).__name__}")
    try:
        return resolve_config(data)
    except ConfigError as e:
        raise ConfigError(f"{what}{p}: {e}") from None


def read_section(config_file: str | Path | None, section: str) -> dict[str, Any]:
    """The ``section`` of a workflow config file (``{}`` when absent or no file is given)."""
    if not config_file:
        return {}
    import yaml

    p = Path(config_file)
    if not p.is_file():
        raise ConfigError(f"--config {p}: file not found")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"--config {p}: not valid YAML ({e})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--config {p}: expected a mapping of sections")
    value = data.get(section) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"--config {p}: {section} must be a mapping")
    return dict(value)


def _flatten(d: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out += _flatten(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", v))
    return out


def describe_defaults(section: str, *, base: Mapping[str, Any] | None = None) -> str:
    """Every key of a section and its default, one per line (for ``--help``)."""
    import json

    values = settings(section, base)
    lines = [f"  {k} = {json.dumps(v)}" for k, v in _flatten(values)]
    return f"settings ({section} section of mexp_lib/schemas/config.schema.yaml; "\
           f"--config FILE reads a workflow config's section, --set KEY=VALUE sets one key, a flag wins):\n" + "\n".join(lines)


def add_settings_options(parser: argparse.ArgumentParser, section: str, *, base: Mapping[str, Any] | None = None) -> None:
    """``--config FILE`` and ``--set KEY=VALUE`` for a stage command, and its settings with
    their defaults in ``--help``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = describe_defaults(section, base=base)
    parser.add_argument("--config", metavar="FILE", help=f"a workflow config (config/config.yaml): its {section} section is used")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                        help=f"one {section} setting, e.g. --set {example_assignment(section, base=base)} (repeatable; YAML values)")


def example_assignment(section: str, *, base: Mapping[str, Any] | None = None) -> str:
    """A ``KEY=VALUE`` the section accepts, for help texts: its first numeric key (nested keys
    dotted) at its default, e.g. ``tvl1.tau=0.25`` for flow, ``size=128`` for face."""
    import json

    items = _flatten(settings(section, base))
    key, value = next(((k, v) for k, v in items if isinstance(v, int | float) and not isinstance(v, bool)), items[0])
    return f"{key}={json.dumps(value)}"


def flag_help(dotted: str, text: str = "") -> str:
    """Help of a flag that sets a schema key, ending with the key's default."""
    return f"{text + ' ' if text else ''}(default: {default(dotted)!r}; {dotted})"


def cli_settings(args: argparse.Namespace, section: str, flags: Mapping[str, Any] | None = None, *,
                 base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A stage command's settings: the schema's defaults (``base`` over them, for a command
    that documents other defaults), under the ``--config`` file's section, under ``--set``,
    under the flags given (``None`` = not given). Validated; errors name the key."""
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    out = settings(section, base, read_section(getattr(args, "config", None), section),
                   parse_assignments(getattr(args, "set", None), example_assignment(section, base=base)), given)
    check_section(section, out)
    return out


# --- targets that name a dataset ---------------------------------------------------------------

# Folders under results/ whose next path component is a dataset name (Snakefile path convention).
_STAGE_FOLDERS = ("datasets", "samples", "landmarks", "faces", "tim", "magnified", "flow", "train", "spotting_features", "spotting", "qc")
_NAMED_TABLE = re.compile(r"^(?P<name>.+?)_(?:loso_metrics|spotting_metrics|faces|report)(?:[._].*)?$")


def target_dataset(target: str) -> str | None:
    """The dataset a ``results/`` target names (``results/samm_loso_metrics.csv`` -> ``samm``,
    ``results/flow/demo/0/x.h5`` -> ``demo``, ``results/qc/demo_faces.csv`` -> ``demo``), or None
    for a target outside that convention."""
    parts = Path(target).as_posix().removeprefix("./").split("/")
    if len(parts) < 2 or parts[0] != "results":
        return None
    if len(parts) == 2 or (parts[1] == "qc" and len(parts) == 3):
        m = _NAMED_TABLE.match(parts[-1])
        return m.group("name") if m else None
    if parts[1] in _STAGE_FOLDERS and len(parts) >= 3:
        return parts[2].removesuffix(".csv").removesuffix(".skipped") if parts[1] == "samples" else parts[2]
    return None


def check_target_datasets(targets: Iterable[str], datasets: Iterable[str], config_file: str | Path = "config/config.yaml") -> None:
    """A :class:`ConfigError` (one line) when a requested target names a dataset that is not
    configured: it names the dataset, the configured ones, and the entry to uncomment in
    ``config_file`` (or to add, when the file holds no commented entry of that name)."""
    known = set(datasets)
    for target in targets:
        name = target_dataset(str(target))
        if name is None or name in known:
            continue
        entry = _commented_entry(config_file, name)
        how = (f"uncomment its entry `# {name}:` in {config_file} (line {entry}) and set its root and annotations" if entry
               else f"add an entry `{name}:` under datasets in {config_file} (formats and layouts: README, 'Your own data')")
        raise ConfigError(f"{target}: dataset {name!r} is not configured (configured: {', '.join(sorted(known)) or 'none'}); {how}")


def _commented_entry(config_file: str | Path, name: str) -> int | None:
    """The line of a commented-out ``#   <name>:`` dataset entry in ``config_file``, if any."""
    try:
        lines = Path(config_file).read_text(errors="replace").splitlines()
    except OSError:
        return None
    rx = re.compile(rf"^\s*#\s*{re.escape(name)}\s*:")
    return next((i + 1 for i, line in enumerate(lines) if rx.match(line)), None)
