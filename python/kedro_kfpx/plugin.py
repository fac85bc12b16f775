"""Kedro CLI plugin: ``kedro kfpx <command> …`` and ``kedro kubeflow <command> …``.

Both run the ``kfpx`` binary of this distribution on the current Kedro project, as

    kfpx -C <project root> --python <this Python> <every argument, unchanged>

so the graph probe uses the interpreter (and virtualenv) that runs Kedro. Click parses
nothing here: ``--help``, ``--version``, ``--``, unknown options and their order all reach kfpx
as typed, and kfpx's output and exit code are the command's (see ``_exec``). An explicit
``-C``/``--project-dir`` or ``--python`` among the arguments wins over the ones added here.

``kedro kubeflow`` keeps kedro-kubeflow users' muscle memory and scripts working. When the
kedro-kubeflow distribution is installed too, Kedro picks one of the two ``kubeflow``
commands in no defined order; ``hooks`` then says which one runs.

Kedro finds this module through the ``kedro.project_commands`` entry point and imports it on
every ``kedro`` command in a project: keep it cheap.
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

import click

from ._exec import exec_kfpx


def _has_option(args: Sequence[str], long: str, short: str | None = None) -> bool:
    """Whether ``args`` set a kfpx option themselves (before a ``--``)."""
    for arg in args:
        if arg == "--":
            return False
        if arg == long or arg.startswith(long + "="):
            return True
        if short and arg.startswith(short) and not arg.startswith("--"):
            return True
    return False


def kfpx_argv(project_path: Any, python: str, args: Sequence[str]) -> list[str]:
    """The arguments for kfpx: project root and interpreter first, then the user's."""
    out: list[str] = []
    if project_path is not None and not _has_option(args, "--project-dir", "-C"):
        out += ["-C", str(project_path)]
    if not _has_option(args, "--python"):
        out += ["--python", python]
    return out + list(args)


class PassThrough(click.Command):
    """A command that hands its arguments to kfpx without parsing any of them."""

    def __init__(self, name: str, help: str) -> None:  # noqa: A002 (click's name)
        super().__init__(
            name=name,
            help=help,
            short_help=help,
            add_help_option=False,
            context_settings={
                "ignore_unknown_options": True,
                "allow_extra_args": True,
                "help_option_names": [],
            },
        )

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.args = list(args)
        return ctx.args

    def invoke(self, ctx: click.Context) -> Any:
        # Kedro passes its ProjectMetadata as the context object of project commands.
        project_path = getattr(ctx.obj, "project_path", None)
        exec_kfpx(kfpx_argv(project_path, sys.executable, ctx.args))


# The group's name is only Kedro's heading in `kedro --help` ("… from kfpx"); it has no help
# text because Kedro joins every plugin group's help into the top of `kedro --help`.
@click.group(name="kfpx")
def commands() -> None:
    pass


commands.add_command(
    PassThrough("kfpx", "Run kfpx (Kubeflow Pipelines) on this project: kedro kfpx --help.")
)
commands.add_command(
    PassThrough("kubeflow", "kfpx under kedro-kubeflow's name: kedro kubeflow --help.")
)
