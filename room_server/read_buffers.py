"""The pages of a TLS connection's read buffer that hold nothing, given back to the system.

The event loop's TLS layer gives every connection a 256 KiB buffer to receive into
(uvloop and asyncio alike); a tablet's control messages use a few kB of it. The buffer
comes from the C heap, often over memory that earlier, shorter-lived allocations had
written to, so most of it was resident from the start: about 100 kB a connection, 99 MB
of 1,000 connections' buffers (bench/signin_memory.py, counted with mincore). Its bytes
mean nothing between two reads (each read is handed on at once), so once the handshake
is done its whole pages are dropped with ``madvise(MADV_DONTNEED)``: they read as zeros
and take memory again only where a later read writes. Linux only; anything else, or a
transport that is not one of these, is left as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import mmap
import sys
from typing import Any

log = logging.getLogger(__name__)

MADV_DONTNEED = 4  # <sys/mman.h> on Linux
PAGE = mmap.PAGESIZE


def _madvise() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.madvise
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    function.restype = ctypes.c_int
    return function


_MADVISE = _madvise()


def tls_read_buffer(transport: object) -> memoryview | None:
    """The buffer the TLS layer under ``transport`` receives into (a view of it), or None
    when it is not a TLS transport of uvloop or asyncio."""
    ssl_protocol = getattr(transport, "_ssl_protocol", None)  # asyncio's
    if ssl_protocol is None:
        # uvloop's transport keeps its SSL protocol in a C field: found as a referent.
        ssl_protocol = next(
            (
                o
                for o in gc.get_referents(transport)
                if type(o).__name__ == "SSLProtocol" and hasattr(o, "get_buffer")
            ),
            None,
        )
    if ssl_protocol is None:
        return None
    try:
        view = ssl_protocol.get_buffer(1)  # the whole buffer (it only ever grows)
    except Exception:  # another implementation: leave it alone
        return None
    return view if isinstance(view, memoryview) and not view.readonly else None


def page_range(address: int, size: int) -> tuple[int, int]:
    """The whole pages inside ``size`` bytes from ``address``: (first page's address,
    bytes); the partial pages at either end are left out (they hold the heap's own
    bookkeeping)."""
    start = -(-address // PAGE) * PAGE
    end = (address + size) // PAGE * PAGE
    return start, max(0, end - start)


def release(transport: object) -> int:
    """Drop the resident pages of ``transport``'s TLS read buffer; the bytes given back
    (0 when there was nothing to do or it could not be done)."""
    if _MADVISE is None:
        return 0
    view = tls_read_buffer(transport)
    if view is None:
        return 0
    # Not released here: asyncio hands out the same view every time.
    anchor = ctypes.c_char.from_buffer(view)
    start, size = page_range(ctypes.addressof(anchor), view.nbytes)
    del anchor
    if size == 0:
        return 0
    if _MADVISE(start, size, MADV_DONTNEED) != 0:
        log.debug("madvise failed: errno %d", ctypes.get_errno())
        return 0
    return size
