"""A snippet's NumPy on the GPU: inside a CUDA run process, `import numpy` gives CuPy.

Only the snippet's own imports are mapped (through the `__import__` of the builtins its
code sees); the executor, matplotlib and everything else keep the real NumPy. What comes
back is converted to the host: `plot_xy` and matplotlib's own input conversion copy CuPy
arrays with `cupy.asnumpy`, and printing a CuPy array or scalar already prints host values.
The chapter's snippets run unchanged: `np.random.default_rng`, `np.linalg.svd`,
`np.allclose` and the rest exist in CuPy with the same names and meaning (the random
streams differ from NumPy's, so numbers differ; the conclusions must not).

Imported only in a run process of a CUDA pool (the template process imports CuPy but never
touches the GPU: a CUDA context does not survive fork, so each run makes its own).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any


def snippet_builtins(plot_xy: Callable[..., Any]) -> dict[str, Any]:
    """The builtins a CUDA snippet runs with: NumPy imports mapped to CuPy, plot_xy on host copies."""
    import cupy
    from matplotlib import cbook

    real_import = builtins.__import__

    def gpu_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
        if level == 0 and (name == "numpy" or name.startswith("numpy.")):
            name = "cupy" + name[len("numpy") :]
        return real_import(name, globals, locals, fromlist, level)

    def to_host(value: Any) -> Any:
        if isinstance(value, cupy.ndarray):
            return cupy.asnumpy(value)
        if isinstance(value, list | tuple) and any(isinstance(item, cupy.ndarray) for item in value):
            return [to_host(item) for item in value]
        return value

    def plot_xy_on_host(x: Any, y: Any = None, **options: Any) -> Any:
        return plot_xy(to_host(x), to_host(y), **options)

    # matplotlib turns its inputs into NumPy arrays through this hook; CuPy refuses implicit copies.
    unpack = cbook._unpack_to_numpy
    cbook._unpack_to_numpy = lambda x: unpack(to_host(x))

    namespace = dict(vars(builtins))
    namespace["__import__"] = gpu_import
    namespace["plot_xy"] = plot_xy_on_host
    return namespace


def warm_up() -> None:
    """In the template process: load CuPy's modules (forked runs inherit them), without CUDA."""
    import cupy  # noqa: F401
