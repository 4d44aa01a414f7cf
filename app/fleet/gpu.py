"""Is there an NVIDIA GPU this host's sandbox can hand to a snippet, and what exactly does it need?

A CUDA run needs three things from the host, and the sandbox gives it only these (on top of
what every run gets): the NVIDIA device nodes (`/dev/nvidiactl`, `/dev/nvidia-uvm`,
`/dev/nvidia0`, ...), the driver's user-space libraries (`libcuda.so.1` and the
`libnvidia-*` it loads), and CuPy (with the CUDA runtime libraries its wheel brings) in the
interpreter's site-packages. Found without importing CuPy or touching the GPU: the server
never initialises CUDA itself (a CUDA context does not survive fork, so each run makes its own).
"""

from __future__ import annotations

import glob
import importlib.util
import os
from dataclasses import dataclass, field

CONTROL_NODES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")
LIBRARY_DIRS = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/nvidia/lib64",
)
# The driver's user-space half: what libcuda.so.1 loads for compute (no graphics, no video).
LIBRARY_PATTERNS = ("libcuda.so*", "libnvidia-ptxjitcompiler.so*", "libnvidia-nvvm.so*", "libnvidia-ml.so*")


@dataclass(frozen=True)
class CudaHost:
    device_nodes: list[str] = field(default_factory=list)
    driver_libraries: list[str] = field(default_factory=list)
    cupy: bool = False

    @property
    def usable(self) -> bool:
        return not self.missing

    @property
    def missing(self) -> list[str]:
        problems = []
        if not any(os.path.basename(node) == "nvidiactl" for node in self.device_nodes):
            problems.append("no /dev/nvidiactl (no NVIDIA driver)")
        if not any(os.path.basename(node)[len("nvidia") :].isdigit() for node in self.device_nodes):
            problems.append("no /dev/nvidia<N> (no GPU)")
        if not any(os.path.basename(lib).startswith("libcuda.so") for lib in self.driver_libraries):
            problems.append("no libcuda.so (no driver library)")
        if not self.cupy:
            problems.append("CuPy is not installed (pip install cupy-cuda12x)")
        return problems

    def describe(self) -> str:
        if self.usable:
            gpus = sum(os.path.basename(node)[len("nvidia") :].isdigit() for node in self.device_nodes)
            return f"CUDA: {gpus} GPU device node(s), {len(self.driver_libraries)} driver libraries, CuPy"
        return "no GPU: " + "; ".join(self.missing)


def find_cuda(dev: str = "/dev", library_dirs: tuple[str, ...] = LIBRARY_DIRS) -> CudaHost:
    nodes = sorted(glob.glob(os.path.join(dev, "nvidia[0-9]*")))
    nodes += [os.path.join(dev, name) for name in CONTROL_NODES if os.path.exists(os.path.join(dev, name))]
    nodes += sorted(glob.glob(os.path.join(dev, "nvidia-caps", "*")))
    libraries: list[str] = []
    for directory in library_dirs:
        for pattern in LIBRARY_PATTERNS:
            for path in sorted(glob.glob(os.path.join(directory, pattern))):
                if path not in libraries:  # symlinks too: libcuda.so.1 is the name the loader asks for
                    libraries.append(path)
    return CudaHost(nodes, libraries, importlib.util.find_spec("cupy") is not None)
