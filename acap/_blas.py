"""BLAS thread limits for the estimators, through one cached threadpoolctl controller.

``threadpoolctl.threadpool_limits`` inspects every loaded library each time it is entered
(about 1 ms, reading the process's memory map); a validation report enters such a limit dozens
of times (every CFA fit), so one controller is built and reused. It is built on first use, by
which time numpy and scipy (both imported by every module that limits threads) have loaded
their BLAS libraries.
"""

from __future__ import annotations

import functools

from threadpoolctl import ThreadpoolController

__all__ = ["blas_threads"]


@functools.lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


def blas_threads(limit: int = 1):
    """Context manager limiting BLAS (and OpenMP) pools to ``limit`` threads.

    Parameters
    ----------
    limit : int, default 1
        Threads allowed inside the context.

    Returns
    -------
    context manager
        As :meth:`threadpoolctl.ThreadpoolController.limit`; the previous limits come back on
        exit.
    """
    return _controller().limit(limits=limit)
