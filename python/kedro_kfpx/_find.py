"""Where pip put the ``kfpx`` binary of this distribution.

maturin's ``bin`` bindings install it as a script of the environment, so it sits in the
``scripts`` directory of the scheme the package was installed with: the environment's own
(venv, system), the user scheme (``pip install --user``), or a ``--prefix``/``--target``
directory next to the package. A ``kfpx`` elsewhere on PATH is not looked at: it may be
another version, or another project's command of the same name.
"""

from __future__ import annotations

import os
import sys
import sysconfig


class KfpxNotFound(FileNotFoundError):
    """The binary of this distribution is not where pip installs it."""


def _candidate_dirs() -> list[str]:
    dirs = [sysconfig.get_path("scripts")]
    user_scheme = "nt_user" if os.name == "nt" else "posix_user"
    if sys.platform == "darwin" and getattr(sys, "_framework", None):
        user_scheme = "osx_framework_user"
    try:
        dirs.append(sysconfig.get_path("scripts", scheme=user_scheme))
    except KeyError:  # a Python built without that scheme
        pass
    package_dir = os.path.dirname(os.path.abspath(__file__))
    site_dir = os.path.dirname(package_dir)
    # `pip install --target DIR`: DIR/kedro_kfpx and DIR/bin.
    dirs.append(os.path.join(site_dir, "bin"))
    # `pip install --prefix P`: P/lib/pythonX.Y/site-packages/kedro_kfpx and P/bin.
    lib_dir = os.path.dirname(os.path.dirname(site_dir))
    if os.path.basename(lib_dir) in ("lib", "lib64"):
        dirs.append(os.path.join(os.path.dirname(lib_dir), "bin"))
    seen: list[str] = []
    for d in dirs:
        if d and d not in seen:
            seen.append(d)
    return seen


def find_kfpx_bin() -> str:
    """The path of the ``kfpx`` binary installed with this package."""
    exe = "kfpx" + (sysconfig.get_config_var("EXE") or "")
    dirs = _candidate_dirs()
    for d in dirs:
        path = os.path.join(d, exe)
        if os.path.isfile(path):
            return path
    raise KfpxNotFound(
        f"the kfpx binary of kedro-kfpx is not installed (looked in {', '.join(dirs)})"
    )
