"""What the fleet's /metrics reads from PostgreSQL (laambda/api/fleet.py turns it into
Prometheus metrics): durations of ended builds and releases, and builds in progress."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


class MetricsService:
    def ping(self, session: Session) -> None:
        """One round trip to the database; raises SQLAlchemyError when it does not answer."""
        session.execute(text("select 1"))

    def builds_in_progress(self, session: Session) -> dict[str, int]:
        """Build status ('pending', 'running') -> how many builds are in it (absent: none)."""
        rows = session.execute(
            text(
                "select status, count(*) from builds where status in ('pending', 'running') "
                "group by status"
            )
        ).all()
        return {str(status): int(count) for status, count in rows}

    def durations(
        self,
        session: Session,
        table: str,
        duration: str,
        outcomes: list[str],
        buckets: tuple[float, ...],
    ) -> list[tuple[str, int, float, list[int]]]:
        """(outcome, count, sum of seconds, cumulative count per bucket) for the table's rows that
        ended. The table, duration expression and buckets are written into the SQL: callers pass
        constants (laambda/api/fleet.py's), never user input."""
        filters = ", ".join(f"count(*) filter (where d <= {b})" for b in buckets)
        rows = session.execute(
            text(
                f"select status, count(*), coalesce(sum(d), 0), {filters} from ("  # noqa: S608 (constants)
                f"select status, extract(epoch from {duration}) as d from {table} "
                f"where status = any(:outcomes) and {duration.split(' - ')[0]} is not null"
                f") as ended where d is not null group by status order by status"
            ),
            {"outcomes": outcomes},
        ).all()
        return [(r[0], int(r[1]), float(r[2]), [int(c) for c in r[3:]]) for r in rows]


metrics_service = MetricsService()
