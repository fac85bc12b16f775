# kfpx probe: prints a "kfpx-snapshot" (version 1) JSON document describing a Kedro project.
#
# Run by kfpx with the project's interpreter, in the project root:
#     <python> - <project_root> <env>        (this script on stdin)
#
# It reads the project WITHOUT running it and WITHOUT instantiating datasets: it loads the
# registered pipelines (which imports the project's pipeline code), the catalog config and the
# parameters for the env. On Kedro >= 1.4 the official read-only inspection API
# (kedro.inspection.get_project_snapshot) supplies nodes and datasets; on older versions the
# same is built from bootstrap_project + pipelines + the project's config loader, resolving
# dataset factory patterns as Kedro does.
#
# KFPX_PROBE_MODE=lite (set by kfpx unless the user asks for full) loads the pipelines with
# stand-ins for third-party packages (see "Lite mode" below) and always takes the second path;
# when a stand-in could change the result it exits with kind "lite-fallback" and kfpx runs it
# again with KFPX_PROBE_MODE=full.
#
# stdout carries the JSON and nothing else (everything else written to stdout, by Kedro's
# logging or by the project, is redirected to stderr). On failure the last stderr line is
#     kfpx-probe-error: <kind>: <one-line reason>
# and the exit code tells the kind (see EXIT_CODES).
#
# Keep this file compatible with Python 3.8+ (and parseable by 2.7, for the version check) and
# free of imports beyond the standard library, kedro and its own dependencies (parse).

import datetime
import json
import math
import os
import re
import sys
import traceback

if sys.version_info < (3, 8):  # this file still parses on Python 2.7, so say it clearly
    sys.stderr.write(
        "kfpx-probe-error: old-python: Python %d.%d is too old, kfpx needs Python 3.8 or later\n"
        % sys.version_info[:2]
    )
    sys.exit(15)

EXIT_CODES = {
    "usage": 2,
    "kedro-missing": 10,
    "not-a-project": 11,
    "project-import": 12,
    "config": 13,
    "internal": 14,
    "old-python": 15,
    "lite-fallback": 16,
}
MARKER = "kfpx-probe-error"
MEMORY_TYPES = {"MemoryDataset", "MemoryDataSet", "SharedMemoryDataset", "SharedMemoryDataSet"}
# URL credentials in a filepath (scheme://user:password@host/...) are never printed. Broad on
# purpose (as Kedro 1.4's inspection API): better a path over-redacted than a secret shown.
CREDENTIALS_RE = re.compile(r"(://)[^@\s]*:[^@\s]*(@)")


class ProbeError(Exception):
    def __init__(self, kind, message):
        Exception.__init__(self, message)
        self.kind = kind
        self.message = message


def one_line(text):
    return " ".join(str(text).split())


PROJECT_ROOT = None
# "lite": third-party imports of the pipeline code are stand-ins (see LiteFinder); "full": real.
MODE = os.environ.get("KFPX_PROBE_MODE", "full")


def in_project(filename):
    path = os.path.abspath(filename)
    return (
        PROJECT_ROOT is not None
        and path.startswith(PROJECT_ROOT + os.sep)
        and "site-packages" not in path
    )


def exception_line(exc):
    """`ExcType: message (at file:line)` on one line; the location is the innermost frame in
    the project when there is one (where the user has to look), else the innermost frame."""
    text = "%s: %s" % (type(exc).__name__, one_line(exc)) if str(exc) else type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        inside = [f for f in frames if in_project(f.filename)]
        where = inside[-1] if inside else frames[-1]
        filename = where.filename
        if in_project(filename):
            filename = os.path.relpath(os.path.abspath(filename), PROJECT_ROOT)
        text += " (at %s:%s)" % (filename, where.lineno)
    return text


def fail(kind, message):
    remove_temp_files()
    sys.stderr.write("%s: %s: %s\n" % (MARKER, kind, one_line(message)))
    sys.stderr.flush()
    os._exit(EXIT_CODES[kind])


def is_param(name):
    return name == "parameters" or name.startswith("params:")


def is_memory_type(type_name):
    if not isinstance(type_name, str) or not type_name:
        return False
    return type_name.rsplit(".", 1)[-1] in MEMORY_TYPES


def redact(filepath):
    try:  # recent Kedro 1.x also redacts query strings (pre-signed URLs)
        from kedro.io.core import _redact_url_credentials  # noqa: PLC0415

        filepath = _redact_url_credentials(filepath)
    except Exception:  # noqa: BLE001
        pass
    return CREDENTIALS_RE.sub(r"\1<redacted>\2", filepath)


def json_safe(value):
    """Parameters as plain JSON: dates as ISO strings, non-finite floats as strings."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((json_safe(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, (datetime.date, datetime.time)):  # datetime is a date
        return value.isoformat()
    # OmegaConf containers, if a custom loader returns them.
    try:
        from omegaconf import OmegaConf  # noqa: PLC0415

        if OmegaConf.is_config(value):
            return json_safe(OmegaConf.to_container(value, resolve=True))
    except Exception:  # noqa: BLE001
        pass
    return str(value)


# ---------------------------------------------------------------------------------------------
# Dataset factory patterns (Kedro's own rules; Kedro's implementation is used when available).


def _specificity(pattern):
    return len(re.sub(r"\{.*?\}", "", pattern))


def sort_patterns(patterns):
    try:
        from kedro.io.catalog_config_resolver import CatalogConfigResolver  # 0.19.10+, 1.x

        return list(CatalogConfigResolver._sort_patterns(patterns).keys())
    except (ImportError, AttributeError):
        return sorted(patterns, key=lambda p: (-_specificity(p), -p.count("{"), p))


def resolve_pattern_config(name, pattern, config):
    from parse import parse  # a Kedro dependency  # noqa: PLC0415

    fields = parse(pattern, name).named

    def walk(value):
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v) for v in value]
        if isinstance(value, str) and "}" in value:
            return value.format_map(fields)
        return value

    return walk(config)


def match_pattern(name, sorted_patterns):
    from parse import parse  # noqa: PLC0415

    for pattern in sorted_patterns:
        if parse(pattern, name):
            return pattern
    return None


# ---------------------------------------------------------------------------------------------


def load_config(config_loader, key):
    from kedro.config import MissingConfigException  # noqa: PLC0415

    try:
        value = config_loader[key]
    except (KeyError, MissingConfigException):
        return {}
    return value or {}


def make_config_loader(root, env):
    from pathlib import Path  # noqa: PLC0415

    from kedro.framework.project import settings  # noqa: PLC0415

    try:
        conf_source = str(Path(root) / settings.CONF_SOURCE)
        loader_class = settings.CONFIG_LOADER_CLASS
        loader_args = dict(settings.CONFIG_LOADER_ARGS or {})
    except Exception as exc:  # noqa: BLE001
        raise ProbeError("project-import", "cannot read the project's settings.py: " + exception_line(exc))
    try:
        return loader_class(conf_source=conf_source, env=env, **loader_args)
    except Exception as exc:  # noqa: BLE001
        raise ProbeError("config", "cannot create the config loader: " + exception_line(exc))


def node_entry(name, namespace, tags, inputs, outputs):
    entry = {
        "name": name,
        "inputs": list(inputs),
        "outputs": list(outputs),
        "tags": sorted(tags),
    }
    if namespace:
        entry["namespace"] = namespace
    return entry


def load_pipelines():
    from kedro.framework.project import pipelines  # noqa: PLC0415

    try:
        loaded = dict(pipelines)
    except Exception as exc:  # noqa: BLE001
        raise ProbeError(
            "project-import", exception_line(exc)
        )
    result = {}
    for name in sorted(loaded):
        pipe = loaded[name]
        if pipe is None:
            continue
        result[name] = {
            "nodes": [
                node_entry(n.name, n.namespace, n.tags, n.inputs, n.outputs) for n in pipe.nodes
            ]
        }
    return result


def used_datasets(pipelines):
    names = set()
    for pipe in pipelines.values():
        for node in pipe["nodes"]:
            names.update(x for x in node["inputs"] + node["outputs"] if not is_param(x))
    return sorted(names)


def dataset_entry(config):
    """The snapshot entry of a dataset with catalog config `config` (None: no entry)."""
    if not isinstance(config, dict):
        return {"memory": True}
    entry = {}
    ds_type = config.get("type")
    if isinstance(ds_type, str) and ds_type:
        entry["type"] = ds_type
    entry["memory"] = is_memory_type(ds_type)
    filepath = config.get("filepath")
    if isinstance(filepath, str) and filepath:
        entry["filepath"] = redact(filepath)
    return entry


def datasets_from_catalog(catalog, names):
    catalog = {
        k: v for k, v in catalog.items() if isinstance(k, str) and not k.startswith("_")
    }
    patterns = {k: v for k, v in catalog.items() if "{" in k and isinstance(v, dict)}
    try:
        sorted_patterns = sort_patterns(patterns)
    except Exception as exc:  # noqa: BLE001  (e.g. two catch-all patterns)
        raise ProbeError("config", "invalid dataset factory patterns: " + exception_line(exc))
    result = {}
    for name in names:
        if name in catalog:
            result[name] = dataset_entry(catalog[name])
            continue
        pattern = match_pattern(name, sorted_patterns)
        if pattern is None:
            result[name] = dataset_entry(None)
            continue
        try:
            config = resolve_pattern_config(name, pattern, patterns[pattern])
        except Exception as exc:  # noqa: BLE001
            raise ProbeError(
                "config",
                "cannot resolve dataset %r with pattern %r: %s" % (name, pattern, exception_line(exc)),
            )
        result[name] = dataset_entry(config)
    return result


def probe_with_inspection(root, env, metadata, get_project_snapshot):
    """Kedro >= 1.4: the official read-only inspection API."""
    import inspect  # noqa: PLC0415

    kwargs = {"env": env}
    if "metadata" in inspect.signature(get_project_snapshot).parameters:  # 1.5+
        kwargs["metadata"] = metadata
    try:
        snap = get_project_snapshot(root, **kwargs)
    except Exception as exc:  # noqa: BLE001
        raise ProbeError("project-import", exception_line(exc))
    pipelines = {}
    for pipe in sorted(snap.pipelines, key=lambda p: p.name):
        pipelines[pipe.name] = {
            "nodes": [
                node_entry(n.name, n.namespace, n.tags, n.inputs, n.outputs) for n in pipe.nodes
            ]
        }
    datasets = {}
    for name in used_datasets(pipelines):
        ds = snap.datasets.get(name)
        if ds is None:
            datasets[name] = dataset_entry(None)
        else:
            datasets[name] = dataset_entry({"type": ds.type, "filepath": ds.filepath})
    return pipelines, datasets


# ---------------------------------------------------------------------------------------------
# Lite mode: third-party packages imported by the project's pipeline code are replaced by inert
# stand-ins (lazy stub modules), so `import torch` in a nodes.py costs nothing. Kedro only needs
# node functions to exist to build the graph. Anything that could let a stand-in decide the graph
# (truth value, comparison, iteration, length, conversion to str/int, a stub used as a node
# function, a failed or warning construction, a guarded import) aborts lite mode: the probe exits
# with kind "lite-fallback" and kfpx runs it again with the real imports (full mode).


class StubTouched(BaseException):
    """A stand-in was used in a way whose real answer could change the graph. A BaseException
    so that the project's `except Exception` cannot swallow it (LITE_TOUCHED records it too)."""


LITE_TOUCHED = []  # reasons, in order
LITE_STUBBED = set()  # top-level names replaced by stubs
LITE_LOCATIONS = {}  # stubbed module name -> where its real submodules are
# Dunder names a library or `typing` may probe with hasattr/getattr(default) that reveal nothing
# about the library: answered with AttributeError, as for an object that lacks them.
BENIGN_DUNDERS = frozenset(
    (
        "__typing_subst__",
        "__typing_is_unpacked_typevartuple__",
        "__typing_unpacked_tuple_args__",
        "__parameters__",
        "__origin__",
        "__args__",
        "__forward_arg__",
        "__isabstractmethod__",
        "__set_name__",
        "__class_getitem__",
        "__dataclass_fields__",
        "__attrs_attrs__",
        "__objclass__",
    )
)


def _touch(stub, what):
    reason = "%s of %s" % (what, object.__getattribute__(stub, "_kfpx_name"))
    LITE_TOUCHED.append(reason)
    raise StubTouched(reason)


def _from_typing():
    """Whether the comparison comes from `typing` building an annotation (`Optional[X]` checks
    `arg in (Generic, Protocol)` and `type(None) in parameters`): those are identity checks
    whatever the library is."""
    frame = sys._getframe(2)
    return frame is not None and frame.f_globals.get("__name__") in ("typing", "typing_extensions")


class StubBase(object):
    """What a project class deriving from a stand-in derives from instead."""

    def __init__(self, *args, **kwargs):
        pass

    def __init_subclass__(cls, **kwargs):
        pass


class Stub(object):
    """An attribute of a stand-in module (or anything reached from it): inert until used in a
    way that yields a real value."""

    __slots__ = ("_kfpx_name", "_kfpx_attrs", "_kfpx_base", "__weakref__")

    def __init__(self, name):
        object.__setattr__(self, "_kfpx_name", name)
        object.__setattr__(self, "_kfpx_attrs", {})
        object.__setattr__(self, "_kfpx_base", None)

    def __getattr__(self, attr):
        if attr.startswith("__") and attr.endswith("__"):
            if attr in BENIGN_DUNDERS:
                raise AttributeError(attr)
            _touch(self, "attribute " + attr)  # __name__, __signature__, __wrapped__, __version__...
        attrs = object.__getattribute__(self, "_kfpx_attrs")
        if attr not in attrs:
            attrs[attr] = Stub("%s.%s" % (object.__getattribute__(self, "_kfpx_name"), attr))
        return attrs[attr]

    def __setattr__(self, attr, value):
        object.__getattribute__(self, "_kfpx_attrs")[attr] = value

    def __delattr__(self, attr):
        object.__getattribute__(self, "_kfpx_attrs").pop(attr, None)

    def __call__(self, *args, **kwargs):
        return Stub(object.__getattribute__(self, "_kfpx_name") + "()")

    def __getitem__(self, key):
        return Stub(object.__getattribute__(self, "_kfpx_name") + "[]")

    def __setitem__(self, key, value):
        pass

    def __delitem__(self, key):
        pass

    def __mro_entries__(self, bases):
        base = object.__getattribute__(self, "_kfpx_base")
        if base is None:
            name = object.__getattribute__(self, "_kfpx_name")
            base = type(name.rsplit(".", 1)[-1], (StubBase,), {"__module__": name.rsplit(".", 1)[0]})
            object.__setattr__(self, "_kfpx_base", base)
        return (base,)

    def __enter__(self):
        return Stub(object.__getattribute__(self, "_kfpx_name") + ".__enter__()")

    def __exit__(self, *exc):
        return False

    __hash__ = object.__hash__

    def __eq__(self, other):
        # `typing` compares annotation arguments with its special forms (`arg in (Any, ...)`):
        # those compare by identity whatever the library is.
        if _from_typing():
            return NotImplemented
        _touch(self, "==")

    def __ne__(self, other):
        if _from_typing():
            return NotImplemented
        _touch(self, "!=")

    def _arith(self, *other):
        return Stub(object.__getattribute__(self, "_kfpx_name") + "(op)")

    for _op in (
        "add radd sub rsub mul rmul truediv rtruediv floordiv rfloordiv mod rmod pow rpow "
        "matmul rmatmul and rand or ror xor rxor lshift rlshift rshift rrshift neg pos invert abs"
    ).split():
        locals()["__%s__" % _op] = _arith

    def _touching(what):
        def method(self, *args, **kwargs):
            _touch(self, what)

        return method

    for _op in (
        "bool len iter reversed contains lt le gt ge int float complex index str repr "
        "format bytes fspath round trunc floor ceil next await aiter anext instancecheck "
        "subclasscheck copy deepcopy"
    ).split():
        locals()["__%s__" % _op] = _touching("__%s__" % _op)
    del _op, _touching, _arith


class StubModule(type(sys)):
    """A stand-in module: attributes are created on first access."""

    def __getattr__(self, attr):
        if attr.startswith("__") and attr.endswith("__"):
            if attr in ("__version__", "__version_info__"):
                LITE_TOUCHED.append("attribute %s of %s" % (attr, self.__name__))
                raise StubTouched(LITE_TOUCHED[-1])
            raise AttributeError(attr)
        value = Stub("%s.%s" % (self.__name__, attr))
        setattr(self, attr, value)
        return value


class StubLoader(object):
    def create_module(self, spec):
        module = StubModule(spec.name)
        module.__path__ = []  # a package, so that submodules are stubs too
        return module

    def exec_module(self, module):
        pass


class LiteFinder(object):
    """Stands in for a package when the project's own code imports it and it is third-party:
    found on sys.path in site-packages/dist-packages, not part of Kedro or of what Kedro
    depends on, not the project's package."""

    def __init__(self, root, package, protected):
        self.root = root
        self.package = package
        self.protected = protected
        self.loader = StubLoader()

    def find_spec(self, name, path=None, target=None):
        import importlib.machinery  # noqa: PLC0415

        top = name.partition(".")[0]
        if top in LITE_STUBBED:
            # A submodule is a stand-in only if it exists: a missing one must fail as it would.
            parent = LITE_LOCATIONS.get(name.rpartition(".")[0])
            spec = importlib.machinery.PathFinder.find_spec(name, parent) if parent else None
            if spec is None:
                return None
            LITE_LOCATIONS[name] = list(spec.submodule_search_locations or [])
            return importlib.machinery.ModuleSpec(name, self.loader, is_package=True)
        if "." in name or top == self.package or top in self.protected or top.startswith("kedro"):
            return None
        if top in getattr(sys, "stdlib_module_names", ()):
            return None
        if not self.imported_by_project():
            return None
        spec = importlib.machinery.PathFinder.find_spec(top)
        if spec is None:
            return None  # not installed: the import fails as it would for real
        places = [spec.origin] if spec.origin and spec.has_location else []
        places += list(spec.submodule_search_locations or [])
        if not places or not all(self.third_party(p) for p in places):
            return None
        LITE_STUBBED.add(top)
        LITE_LOCATIONS[top] = list(spec.submodule_search_locations or [])
        return importlib.machinery.ModuleSpec(name, self.loader, is_package=True)

    def third_party(self, path):
        path = os.path.abspath(path)
        parts = path.split(os.sep)
        return ("site-packages" in parts or "dist-packages" in parts) and not path.startswith(
            self.root + os.sep
        )

    def imported_by_project(self):
        frame = sys._getframe(2)
        while frame is not None:
            filename = frame.f_code.co_filename
            if not (filename.startswith("<frozen importlib") or "importlib" in filename.split(os.sep)):
                return in_project(filename)
            frame = frame.f_back
        return False


def protected_modules():
    """Top-level module names of Kedro and of every distribution Kedro depends on
    (transitively): pipeline construction may import them lazily, so they are never stubbed.
    METADATA and RECORD are read as text (the email and csv parsers of importlib.metadata
    cost more than the rest of lite mode)."""
    from importlib import metadata  # noqa: PLC0415

    requires_re = re.compile(r"^Requires-Dist:\s*([A-Za-z0-9][A-Za-z0-9._-]*)([^\n]*)$", re.M)
    seen, todo, tops = set(), ["kedro"], set()
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except Exception:  # noqa: BLE001
            continue
        text = dist.read_text("top_level.txt")
        if text:
            tops.update(text.split())
        else:
            for line in (dist.read_text("RECORD") or "").splitlines():
                head = line.split(",", 1)[0].replace("\\", "/").split("/", 1)[0]
                if head and head != ".." and not head.endswith((".dist-info", ".egg-info")):
                    tops.add(head[:-3] if head.endswith(".py") else head)
        for req, rest in requires_re.findall(dist.read_text("METADATA") or ""):
            if not re.search(r";.*\bextra\s*==", rest):
                todo.append(req)
    return tops


class LiteFallback(Exception):
    pass


def guarded_imports(module_names):
    """Project modules whose outcome could depend on whether an import or attribute exists
    (an import inside `try`, hasattr, getattr with a default): with a stand-in these always
    succeed, so lite mode could take another branch than the real import."""
    import ast  # noqa: PLC0415

    found = []
    for name in sorted(module_names):
        module = sys.modules.get(name)
        filename = getattr(module, "__file__", None)
        if not filename or not in_project(filename) or not filename.endswith(".py"):
            continue
        try:
            with open(filename, "rb") as f:
                tree = ast.parse(f.read(), filename)
        except Exception:  # noqa: BLE001
            found.append("%s cannot be parsed" % filename)
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and any(
                isinstance(n, (ast.Import, ast.ImportFrom)) for b in node.body for n in ast.walk(b)
            ):
                found.append("an import inside try at %s:%d" % (filename, node.lineno))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and (node.func.id == "hasattr" or (node.func.id == "getattr" and len(node.args) > 2))
            ):
                found.append("%s() at %s:%d" % (node.func.id, filename, node.lineno))
    return found


def load_pipelines_lite(package):
    """load_pipelines() with stand-ins for third-party packages; LiteFallback when the result
    could differ from the real imports'."""
    import warnings  # noqa: PLC0415

    before = set(sys.modules)
    finder = LiteFinder(PROJECT_ROOT, package, protected_modules())
    sys.meta_path.insert(0, finder)
    try:
        with warnings.catch_warnings(record=True) as caught:
            try:
                result = load_pipelines()
            except BaseException as exc:  # noqa: BLE001
                raise LiteFallback(
                    "pipeline construction failed with stand-ins: " + exception_line(exc)
                )
    finally:
        sys.meta_path.remove(finder)
    if LITE_TOUCHED:
        raise LiteFallback("a stand-in was used: " + LITE_TOUCHED[0])
    for w in caught:
        text = one_line(w.message)
        # find_pipelines() turns a pipeline module that fails to import (or lacks a usable
        # create_pipeline) into a warning and leaves the pipeline out: with stand-ins that
        # failure may not be the real one.
        if (
            "framework" + os.sep + "project" in str(w.filename)
            or "create_pipeline" in text
            or "error occurred while importing" in text
        ):
            raise LiteFallback("pipeline discovery warned: " + text[:200])
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if LITE_STUBBED:
        guarded = guarded_imports(set(sys.modules) - before)
        if guarded:
            raise LiteFallback(guarded[0])
    return result


LOGGING_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {},  # Kedro 0.19 adds the project package's logger here
}
TEMP_FILES = []


def plain_logging():
    """Kedro applies Rich logging (wrapped at 80 columns) or the project's conf/logging.yml
    (which may write log files) when imported; plain one-line records on stderr are easier to
    read in the tail kfpx shows on failure. KEDRO_LOGGING_CONFIG takes precedence over both;
    JSON is YAML, so the config is written as JSON."""
    import tempfile  # noqa: PLC0415

    fd, path = tempfile.mkstemp(prefix="kfpx-probe-logging-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(LOGGING_CONFIG, f)
    TEMP_FILES.append(path)
    os.environ["KEDRO_LOGGING_CONFIG"] = path


def remove_temp_files():
    for path in TEMP_FILES:
        try:
            os.unlink(path)
        except OSError:
            pass


def probe(root, env):
    plain_logging()
    try:
        import kedro  # noqa: PLC0415
        from kedro.framework.startup import bootstrap_project  # noqa: PLC0415
    except Exception as exc:  # noqa: BLE001
        raise ProbeError("kedro-missing", "%s: %s" % (type(exc).__name__, one_line(exc)))

    try:
        metadata = bootstrap_project(root)
    except Exception as exc:  # noqa: BLE001
        raise ProbeError("not-a-project", one_line(exc) or exception_line(exc))

    # Configuration first, so that its errors are reported as such (the inspection API would
    # report them mixed with the project's import errors).
    config_loader = make_config_loader(root, env)
    try:
        catalog = load_config(config_loader, "catalog")
    except Exception as exc:  # noqa: BLE001
        raise ProbeError("config", "cannot load the catalog config: " + exception_line(exc))
    try:
        parameters = load_config(config_loader, "parameters")
    except Exception as exc:  # noqa: BLE001
        raise ProbeError("config", "cannot load the parameters: " + exception_line(exc))

    get_project_snapshot = None
    if MODE == "lite":
        try:
            pipelines = load_pipelines_lite(metadata.package_name)
        except LiteFallback as exc:
            raise ProbeError("lite-fallback", str(exc))
        datasets = datasets_from_catalog(catalog, used_datasets(pipelines))
    elif os.environ.get("KFPX_PROBE_NO_INSPECTION") != "1":
        try:
            from kedro.inspection import get_project_snapshot  # noqa: PLC0415  Kedro >= 1.4
        except ImportError:
            pass

    if MODE == "lite":
        pass
    elif get_project_snapshot is not None:
        pipelines, datasets = probe_with_inspection(root, env, metadata, get_project_snapshot)
    else:
        pipelines = load_pipelines()
        datasets = datasets_from_catalog(catalog, used_datasets(pipelines))

    return {
        "format": "kfpx-snapshot",
        "version": 1,
        "project": {
            "name": metadata.project_name,
            "package": metadata.package_name,
            "kedro_version": kedro.__version__,
        },
        "env": env,
        "pipelines": pipelines,
        "datasets": datasets,
        "parameters": json_safe(parameters),
    }


def main():
    # The real stdout is kept for the JSON; fd 1 and sys.stdout now point at stderr, so prints
    # and logging from Kedro or the project (even from C code or subprocesses) cannot corrupt it.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    if len(sys.argv) != 3:
        fail("usage", "usage: python - <project_root> <env>")
    root, env = os.path.abspath(sys.argv[1]), sys.argv[2]
    global PROJECT_ROOT  # noqa: PLW0603
    PROJECT_ROOT = root
    try:
        snapshot = probe(root, env)
        text = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except ProbeError as exc:
        cause = exc.__cause__ or exc.__context__
        if cause is not None and exc.kind in ("project-import", "config", "not-a-project"):
            # The end of the traceback is what kfpx shows under the error line.
            traceback.print_exception(type(cause), cause, cause.__traceback__, file=sys.stderr)
        fail(exc.kind, exc.message)
    except BaseException as exc:  # noqa: BLE001
        traceback.print_exc(file=sys.stderr)
        fail("internal", exception_line(exc))
    remove_temp_files()
    out.write(text)
    out.write("\n")
    out.flush()
    sys.stderr.flush()
    os._exit(0)


main()
