"""``python -m kedro_kfpx ARGS`` runs ``kfpx ARGS``."""

import sys

from ._exec import exec_kfpx

if __name__ == "__main__":
    exec_kfpx(sys.argv[1:])
