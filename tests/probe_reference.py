# What Kedro itself reports about a project, for comparison with kfpx's probe (tests/probe.rs).
#
#     <python> tests/probe_reference.py <project_root> <env>
#
# Unlike the probe, this uses the plain, heavyweight Kedro API the way `kedro run` does: a
# KedroSession, the context's parameters, the pipelines' nodes, and the real catalog with every
# dataset instantiated; a dataset is in memory when the object Kedro would use at run time is
# a MemoryDataset/SharedMemoryDataset (or, on 0.19, when there is no entry and no pattern
# matches, in which case the runner creates a MemoryDataset).
import inspect
import json
import os
import sys

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")

real_stdout = sys.stdout
sys.stdout = sys.stderr

from kedro.framework.project import pipelines  # noqa: E402
from kedro.framework.session import KedroSession  # noqa: E402
from kedro.framework.startup import bootstrap_project  # noqa: E402
from kedro.io import MemoryDataset, SharedMemoryDataset  # noqa: E402

try:
    from kedro.io import DatasetNotFoundError  # noqa: E402
except ImportError:  # pragma: no cover
    from kedro.io.core import DatasetNotFoundError  # noqa: E402

root, env = sys.argv[1], sys.argv[2]
bootstrap_project(root)
with KedroSession.create(project_path=root, env=env) as session:
    context = session.load_context()
    catalog = context.catalog
    params = context.params

    def runtime_dataset(name):
        get = getattr(catalog, "get", None)
        if get is not None and "fallback_to_runtime_pattern" in inspect.signature(get).parameters:
            return get(name, fallback_to_runtime_pattern=True)  # 1.x, as the runner does
        try:
            return catalog._get_dataset(name)  # 0.19: explicit entries and factory patterns
        except DatasetNotFoundError:
            return None  # the runner adds a MemoryDataset

    result = {"pipelines": {}, "memory": {}, "parameters": params}
    names = set()
    for pipe_name, pipe in sorted(dict(pipelines).items()):
        nodes = []
        for node in pipe.nodes:
            nodes.append(
                {
                    "name": node.name,
                    "inputs": list(node.inputs),
                    "outputs": list(node.outputs),
                    "tags": sorted(node.tags),
                    "namespace": node.namespace,
                }
            )
            names.update(node.inputs)
            names.update(node.outputs)
        result["pipelines"][pipe_name] = nodes
    for name in sorted(names):
        if name == "parameters" or name.startswith("params:"):
            continue
        ds = runtime_dataset(name)
        result["memory"][name] = ds is None or isinstance(ds, (MemoryDataset, SharedMemoryDataset))

real_stdout.write(json.dumps(result, sort_keys=True, default=str))
real_stdout.write("\n")
