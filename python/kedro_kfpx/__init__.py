"""kfpx for Python users: the ``kfpx`` binary ships in this distribution (``kedro-kfpx``).

``pip install kedro-kfpx`` puts ``kfpx`` on the environment's PATH and adds two Kedro
commands, ``kedro kfpx …`` and ``kedro kubeflow …``, which run that binary on the current
Kedro project (see :mod:`kedro_kfpx.plugin`). :func:`find_kfpx_bin` returns its path.

This module stays light: Kedro imports it on every ``kedro`` command in a project.
"""

from ._find import KfpxNotFound, find_kfpx_bin

__all__ = ["KfpxNotFound", "find_kfpx_bin"]
