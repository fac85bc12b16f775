"""Hand the process over to the ``kfpx`` binary."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import NoReturn, Sequence

from ._find import KfpxNotFound, find_kfpx_bin


def exec_kfpx(args: Sequence[str]) -> NoReturn:
    """Run ``kfpx ARGS`` in place of this process.

    On POSIX the process becomes kfpx (``execv``): its output, exit code and signal handling
    (Ctrl-C while waiting for a run) are exactly the binary's, and no Python stays around. On
    Windows, which has no real exec, kfpx runs as a child and its exit code is passed on.
    """
    try:
        kfpx = find_kfpx_bin()
    except KfpxNotFound as exc:
        sys.stderr.write(
            f"error: {exc}\n"
            "  help: reinstall it with `pip install --force-reinstall kedro-kfpx`\n"
        )
        sys.exit(1)
    argv = [kfpx, *args]
    sys.stdout.flush()
    sys.stderr.flush()
    if sys.platform == "win32":
        try:
            code = subprocess.call(argv)
        except KeyboardInterrupt:
            code = 130
        sys.exit(code)
    os.execv(kfpx, argv)
