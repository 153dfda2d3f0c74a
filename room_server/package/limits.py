"""How big a package may be, and the messages that name a size."""

from __future__ import annotations

from dataclasses import dataclass

MAX_MANIFEST_BYTES = 8 * 1024 * 1024  # a 2,000-delegate roster is well under 1 MiB
RATIO_FLOOR_BYTES = 1024 * 1024  # compression ratios of smaller entries say nothing


@dataclass(frozen=True, slots=True)
class PackageLimits:
    max_document_bytes: int = 512 * 1024 * 1024
    max_package_bytes: int = 4 * 1024 * 1024 * 1024  # total uncompressed
    max_files: int = 5_000
    max_pages: int = 20_000  # per document
    max_compression_ratio: int = 200  # zip-bomb guard, per entry
    # A page drawn at import (a heavy or a repaired one) taking this long at tablet size
    # is named as slow; after page_draw_limit_seconds import stops waiting for it.
    slow_page_seconds: float = 1.0
    page_draw_limit_seconds: float = 5.0


def too_big_document(size: int, limits: PackageLimits) -> str:
    return (
        f"is {mib(size)}, larger than the {mib(limits.max_document_bytes)} limit "
        "for one document; split it or reduce image resolution"
    )


def too_big_package(total: int, limits: PackageLimits) -> str:
    return f"holds {mib(total)} in all, more than the {mib(limits.max_package_bytes)} limit"


def mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB" if size >= 1024 * 1024 else f"{size} bytes"
