"""One job: run the fidelity metrics' matrix products and tree fits on a single thread.

On the few thousand rows those metrics use, BLAS and OpenMP threads gain
little, and on a busy machine their spinning made matrix products and tree fits
several times slower (measured). The fidelity metrics limit every thread pool,
BLAS included; the utility models in ``_models`` limit only OpenMP.

>>> with one_thread():
...     sorted({pool["num_threads"] for pool in _THREADS[0].info()})   # every pool found is held at one thread
[1]
"""

from __future__ import annotations

__all__ = ["one_thread"]

_THREADS: list = []


def one_thread(*, user_api: str | None = None, limits: int = 1):
    """A context in which BLAS and OpenMP code (or only ``user_api``: ``"openmp"``, ``"blas"``) runs on
    ``limits`` threads, one by default; the thread pools are found once."""
    if not _THREADS:  # finding the thread pools takes milliseconds: do it once, after the OpenMP runtime loads
        import sklearn.ensemble  # noqa: F401 - loads the OpenMP runtime the trees use, so it is found
        from threadpoolctl import ThreadpoolController

        _THREADS.append(ThreadpoolController())
    return _THREADS[0].limit(limits=limits, user_api=user_api)
