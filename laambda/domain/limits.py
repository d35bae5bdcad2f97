"""Lambda's limits on a deployment package, checked before anything is uploaded.

Pure: takes sizes, raises BuildFailed with a message that says what to trim.
"""

from __future__ import annotations

from collections.abc import Mapping

from laambda.errors import BuildFailed

MB = 1024 * 1024
MAX_UNZIPPED_BYTES = 250 * MB  # code and dependencies, unzipped, layers included
MAX_ZIP_ENTRIES = 65_535  # laambda writes plain (not zip64) archives


def check_artifact(unzipped: int, entries: int, *, sizes: Mapping[str, int]) -> None:
    """Refuse an artifact Lambda would refuse, naming the largest top-level packages."""
    if unzipped > MAX_UNZIPPED_BYTES:
        largest = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))[:5]
        named = ", ".join(f"{name} ({size / MB:.1f} MB)" for name, size in largest)
        raise BuildFailed(
            f"the artifact unzips to {unzipped / MB:.1f} MB, over Lambda's limit of "
            f"{MAX_UNZIPPED_BYTES // MB} MB; the largest parts are {named}: drop dependencies "
            "the functions do not import, or move large data to S3"
        )
    if entries > MAX_ZIP_ENTRIES:
        raise BuildFailed(
            f"the artifact holds {entries} files, over the {MAX_ZIP_ENTRIES} laambda can pack: "
            "drop dependencies the functions do not import"
        )


def top_level(name: str) -> str:
    """The package an archive entry belongs to: its first path part (two under node_modules)."""
    parts = name.split("/")
    if parts[0] == "node_modules" and len(parts) > 2:
        depth = 3 if parts[1].startswith("@") and len(parts) > 3 else 2
        return "/".join(parts[:depth])
    return parts[0]
