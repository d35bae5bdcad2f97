"""Lambda's managed runtimes that laambda builds for, as data.

Dates from AWS's "Lambda runtimes" page (Supported runtimes table): deprecation, then the day
Lambda blocks creating functions, then the day it blocks updating them. After the last one a
build would produce an artifact nobody can deploy, so laambda refuses it. Edit this table when
AWS publishes a runtime or moves a date; nothing else needs to change.

`glibc` is the manylinux level of the runtime's Amazon Linux: 2.17 on Amazon Linux 2, 2.34 on
Amazon Linux 2023; the wheel builder asks for wheels no newer than it.
"""

from __future__ import annotations

from datetime import date
from typing import Final, TypedDict


class RuntimeRow(TypedDict):
    identifier: str
    language: str
    version: str
    os: str
    glibc: str
    deprecation: date
    block_create: date
    block_update: date


RUNTIMES: Final[tuple[RuntimeRow, ...]] = (
    {
        "identifier": "python3.14",
        "language": "python",
        "version": "3.14",
        "os": "Amazon Linux 2023",
        "glibc": "2_34",
        "deprecation": date(2029, 6, 30),
        "block_create": date(2029, 7, 31),
        "block_update": date(2029, 8, 31),
    },
    {
        "identifier": "python3.13",
        "language": "python",
        "version": "3.13",
        "os": "Amazon Linux 2023",
        "glibc": "2_34",
        "deprecation": date(2029, 6, 30),
        "block_create": date(2029, 7, 31),
        "block_update": date(2029, 8, 31),
    },
    {
        "identifier": "python3.12",
        "language": "python",
        "version": "3.12",
        "os": "Amazon Linux 2023",
        "glibc": "2_34",
        "deprecation": date(2028, 10, 31),
        "block_create": date(2028, 11, 30),
        "block_update": date(2029, 1, 10),
    },
    {
        "identifier": "python3.11",
        "language": "python",
        "version": "3.11",
        "os": "Amazon Linux 2",
        "glibc": "2_17",
        "deprecation": date(2026, 6, 30),
        "block_create": date(2027, 1, 31),
        "block_update": date(2027, 2, 28),
    },
    {
        "identifier": "python3.10",
        "language": "python",
        "version": "3.10",
        "os": "Amazon Linux 2",
        "glibc": "2_17",
        "deprecation": date(2026, 6, 30),
        "block_create": date(2027, 1, 31),
        "block_update": date(2027, 2, 28),
    },
    {
        "identifier": "python3.9",
        "language": "python",
        "version": "3.9",
        "os": "Amazon Linux 2",
        "glibc": "2_17",
        "deprecation": date(2025, 12, 15),
        "block_create": date(2026, 6, 1),
        "block_update": date(2026, 7, 1),
    },
    {
        "identifier": "nodejs24.x",
        "language": "node",
        "version": "24",
        "os": "Amazon Linux 2023",
        "glibc": "2_34",
        "deprecation": date(2028, 4, 30),
        "block_create": date(2028, 6, 1),
        "block_update": date(2028, 7, 1),
    },
    {
        "identifier": "nodejs22.x",
        "language": "node",
        "version": "22",
        "os": "Amazon Linux 2023",
        "glibc": "2_34",
        "deprecation": date(2027, 4, 30),
        "block_create": date(2027, 6, 1),
        "block_update": date(2027, 7, 1),
    },
    {
        "identifier": "nodejs20.x",
        "language": "node",
        "version": "20",
        "os": "Amazon Linux 2023",
        "glibc": "2_34",
        "deprecation": date(2026, 4, 30),
        "block_create": date(2027, 3, 9),
        "block_update": date(2027, 4, 8),
    },
    {
        "identifier": "nodejs18.x",
        "language": "node",
        "version": "18",
        "os": "Amazon Linux 2",
        "glibc": "2_17",
        "deprecation": date(2025, 9, 1),
        "block_create": date(2026, 3, 9),
        "block_update": date(2026, 4, 8),
    },
)
