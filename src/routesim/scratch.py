"""Working arrays that a model reuses from month to month instead of allocating them afresh.

A month at 10,000 enterprises makes a few dozen (routers x segments) arrays of about half a
megabyte each. Made afresh, those that live through a phase of the month land at the top of
the heap; when they are freed glibc hands the heap's top back to the system (its trim
threshold is a couple of megabytes) and the next month faults the same pages in again:
~43,000 minor page faults a run at 10k, a fifth of its time. Lent from buffers that live as
long as the model (the routers' priced rows, the search's per-router requirement and target,
settle's tasks per row), the same memory serves every month and is faulted in once; the
temporaries made and freed within one call are left to malloc, which recycles them (lending
those too only added to the peak memory: a buffer per use instead of shared freed memory).

A lent array is uninitialised (it holds whatever its buffer last held) and is valid until its
name is lent again: a name belongs to one use, and the code that borrows it must be done with
it before anything borrows it again. The values computed into lent arrays are those the same
operations give into fresh arrays, so nothing that is computed changes.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import DTypeLike


class Scratch:
    """Named buffers of up to ``rows`` rows, lent as arrays of the shape asked for.

    A buffer is allocated the first time its name (and dtype) is asked for, with room for
    ``rows`` rows of the trailing shape, so the number of routers growing month by month
    never reallocates it; it grows only if a request does not fit.
    """

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self._buffers: dict[tuple[str, np.dtype], np.ndarray] = {}

    def array(self, name: str, shape: tuple[int, ...], dtype: DTypeLike = float) -> np.ndarray:
        """An uninitialised C-contiguous array of ``shape`` in the buffer ``name``."""
        dtype = np.dtype(dtype)
        size = math.prod(shape)
        buffer = self._buffers.get((name, dtype))
        if buffer is None or buffer.size < size:
            room = max(self.rows, shape[0] if shape else 1) * math.prod(shape[1:])
            buffer = self._buffers[(name, dtype)] = np.empty(max(room, size), dtype=dtype)
        return buffer[:size].reshape(shape)


    def release(self) -> None:
        """Free every buffer (a later request allocates it again)."""
        self._buffers.clear()


def lend(scratch: Scratch | None, name: str, shape: tuple[int, ...],
         dtype: DTypeLike = float) -> np.ndarray:
    """``scratch.array(name, shape, dtype)``, or a fresh ``np.empty`` without a scratch (a function called alone)."""
    if scratch is None:
        return np.empty(shape, dtype=dtype)
    return scratch.array(name, shape, dtype)
