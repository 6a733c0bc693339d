"""What the CPU can do, where it changes which precision is fast.

On a CPU without native bfloat16 (AVX512-BF16 or AMX), torch emulates bf16 autocast: a training
update took over 4x as long as in fp32 on an AVX2 EPYC (docs/RESULTS.md). Code that offers bf16
asks here before choosing it, and warns when a user asks for it explicitly on such a CPU.
"""

from __future__ import annotations

import logging
import platform
from pathlib import Path


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes bfloat16 matrix products in hardware (AVX512-BF16 or AMX), read from
    ``/proc/cpuinfo`` (or the text given); False where that cannot be read (not Linux: no guessing)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[-1].split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def cpu_name() -> str:
    """``model name`` from ``/proc/cpuinfo`` (the processor, where Linux says it), else ``platform``'s:
    what benchmarks print beside every figure."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def warn_if_emulated_bf16(log: logging.Logger, setting: str, instead: str) -> None:
    """Warn that ``setting`` (bf16 on the CPU, as the user spelled it) will be slow here, suggesting ``instead``."""
    if not cpu_has_native_bf16():
        log.warning("%s on a CPU without native bfloat16 (no AVX512-BF16 or AMX): torch emulates it, "
                    "several times slower than fp32; use %s", setting, instead)
