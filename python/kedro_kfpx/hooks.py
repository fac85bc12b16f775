"""Kedro CLI hook: one warning when ``kedro kubeflow`` is ambiguous.

kedro-kfpx and kedro-kubeflow both add a ``kubeflow`` command to Kedro. Kedro collects the
``kedro.project_commands`` entry points in the order ``importlib.metadata`` lists them (which
follows ``sys.path`` and the file system), merges groups of the same name, and runs the first
group holding the command; a project's own ``cli.py`` comes before every plugin
(kedro/framework/cli/cli.py, ``KedroCLI.project_groups``; kedro/framework/cli/utils.py,
``CommandCollection``). So which ``kedro kubeflow`` runs is not chosen by anyone. Before the
command runs, this hook redoes that lookup and, when kedro-kubeflow is installed, says on
stderr which one runs and how to get the other.

Kedro imports this module on every ``kedro`` command (``kedro.cli_hooks`` entry point): the
hook returns at once unless the command is ``kubeflow``.
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

from kedro.framework.cli.hooks import cli_hook_impl

KUBEFLOW_DIST = "kedro-kubeflow"
OUR_MODULE = "kedro_kfpx."
GROUP = "kedro.project_commands"


def _command_name(command_args: Sequence[str]) -> str | None:
    for arg in command_args:
        if not arg.startswith("-"):
            return arg
    return None


def _entry_points(group: str) -> list[Any]:
    import importlib.metadata as md

    eps = md.entry_points()
    if hasattr(eps, "select"):
        return list(eps.select(group=group))
    return list(eps.get(group, []))  # Python 3.9


def _kubeflow_owner(project_metadata: Any) -> str | None:
    """Who provides the ``kubeflow`` command Kedro will run: "kfpx", "project", a
    distribution name, or None when nobody does."""
    import importlib

    package = getattr(project_metadata, "package_name", None)
    if package:
        try:
            project_cli = importlib.import_module(f"{package}.cli")
            if "kubeflow" in getattr(getattr(project_cli, "cli", None), "commands", {}):
                return "project"
        except Exception:  # noqa: BLE001 (Kedro reports a broken cli.py itself)
            pass
    groups = []
    for ep in _entry_points(GROUP):
        try:
            group = ep.load()
        except Exception:  # noqa: BLE001 (Kedro skips a plugin that fails to load)
            continue
        groups.append((group, ep))
    # Kedro merges groups of the same name at the place of the first one.
    first_seen: dict[Any, int] = {}
    for group, _ in groups:
        first_seen.setdefault(getattr(group, "name", None), len(first_seen))
    groups.sort(key=lambda item: first_seen[getattr(item[0], "name", None)])
    for group, ep in groups:
        if "kubeflow" in getattr(group, "commands", {}):
            if ep.value.startswith(OUR_MODULE):
                return "kfpx"
            dist = getattr(ep, "dist", None)
            return getattr(dist, "name", None) or ep.value
    return None


def kubeflow_warning(project_metadata: Any, command_args: Sequence[str]) -> str | None:
    """The warning for ``kedro kubeflow`` with kedro-kubeflow installed, else None."""
    if project_metadata is None or _command_name(command_args) != "kubeflow":
        return None
    import importlib.metadata as md

    try:
        theirs = f"{KUBEFLOW_DIST} {md.version(KUBEFLOW_DIST)}"
    except md.PackageNotFoundError:
        return None
    owner = _kubeflow_owner(project_metadata)
    both = (
        f"warning: kedro-kfpx and {theirs} both provide `kedro kubeflow`, and Kedro picks one "
        "in no defined order"
    )
    if owner == "kfpx":
        return (
            f"{both}: this runs kfpx. For kedro-kubeflow's command, "
            "`pip uninstall kedro-kfpx` (`kedro kfpx …` always runs kfpx)."
        )
    if owner == "project":
        return (
            f"{both}; this runs the project's own `kubeflow` command from "
            f"{project_metadata.package_name}/cli.py. Run kfpx with `kedro kfpx …`."
        )
    return (
        f"{both}: this runs {theirs}. Run kfpx with `kedro kfpx …` "
        f"(or `pip uninstall {KUBEFLOW_DIST}`)."
    )


class KfpxCLIHooks:
    @cli_hook_impl
    def before_command_run(self, project_metadata: Any, command_args: list[str]) -> None:
        warning = kubeflow_warning(project_metadata, command_args)
        if warning:
            sys.stderr.write(warning + "\n")
            sys.stderr.flush()


cli_hooks = KfpxCLIHooks()
