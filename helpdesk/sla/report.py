"""The SLA report: compliance and business-time percentiles per policy, team or agent, in SQL."""

from __future__ import annotations

from datetime import datetime

from helpdesk.actors import Actor
from helpdesk.errors import ValidationFailed
from helpdesk.sla.schemas import SlaReport, SlaReportRow
from helpdesk.sla.tables import SlaClock

REPORT_GROUPS = {"policy": "c.policy", "team": "t.team", "agent": "t.assignee"}


async def report(actor: Actor, *, start: datetime, end: datetime, group_by: str, now: datetime,
                 team_id: int | None = None, policy_id: int | None = None) -> SlaReport:
    """Compliance and business-time percentiles per group, computed in the database.

    A clock is measured when it started in [start, end) and has stopped or passed its due time.
    Percentiles are nearest-rank over business minutes, with window functions both engines have.
    """
    actor.require("lead")
    if group_by not in REPORT_GROUPS:
        raise ValidationFailed(f"group_by must be one of {', '.join(REPORT_GROUPS)}", field="group_by")
    if end <= start:
        raise ValidationFailed("the period must end after it starts", field="end")
    group = REPORT_GROUPS[group_by]
    filters, args = "", [start, end, now]
    if team_id is not None:
        filters += " AND t.team = {}"
        args.append(team_id)
    if policy_id is not None:
        filters += " AND c.policy = {}"
        args.append(policy_id)
    measured = f"""
        SELECT {group} AS grp, c.target AS target, c.elapsed_seconds AS elapsed,
               CASE WHEN c.stopped_at IS NOT NULL THEN 1 ELSE 0 END AS stopped,
               CASE WHEN c.stopped_at IS NOT NULL AND c.elapsed_seconds <= c.target_minutes * 60 THEN 1 ELSE 0 END AS met
        FROM sla_clock c JOIN ticket t ON t.id = c.ticket
        WHERE c.started_at >= {{}} AND c.started_at < {{}}
          AND (c.stopped_at IS NOT NULL OR c.due_at <= {{}}){filters}"""
    rows = await SlaClock.raw(f"""
        WITH m AS ({measured}),
        ranked AS (
            SELECT grp, target, elapsed,
                   ROW_NUMBER() OVER (PARTITION BY grp, target ORDER BY elapsed) AS rn,
                   COUNT(*) OVER (PARTITION BY grp, target) AS n
            FROM m WHERE target IN ('first_response', 'resolution') AND stopped = 1
        ),
        percentiles AS (
            SELECT grp, target,
                   MIN(CASE WHEN rn >= n * 0.5 THEN elapsed END) AS p50,
                   MIN(CASE WHEN rn >= n * 0.9 THEN elapsed END) AS p90
            FROM ranked GROUP BY grp, target
        ),
        counts AS (SELECT grp, COUNT(*) AS measured, SUM(met) AS met FROM m GROUP BY grp)
        SELECT counts.grp AS grp, counts.measured AS measured, counts.met AS met,
               fr.p50 AS fr50, fr.p90 AS fr90, rs.p50 AS rs50, rs.p90 AS rs90
        FROM counts
        LEFT JOIN percentiles fr ON fr.grp IS NOT DISTINCT FROM counts.grp AND fr.target = 'first_response'
        LEFT JOIN percentiles rs ON rs.grp IS NOT DISTINCT FROM counts.grp AND rs.target = 'resolution'
        ORDER BY counts.grp
    """, *args).run()
    at_risk = await SlaClock.select(SlaClock.ticket).where(
        SlaClock.stopped_at.is_null() & (SlaClock.warn_at <= now) & (SlaClock.due_at > now)).run()
    breached = await SlaClock.select(SlaClock.ticket).where(
        SlaClock.stopped_at.is_null() & (SlaClock.due_at <= now)).run()
    return SlaReport(
        period_start=start, period_end=end, group_by=group_by,
        rows=[SlaReportRow(
            group=group_by, group_id=row["grp"], measured=row["measured"], met=row["met"] or 0,
            breached=row["measured"] - (row["met"] or 0),
            compliance_percent=round(100 * (row["met"] or 0) / row["measured"], 2) if row["measured"] else None,
            first_response_p50_minutes=_minutes(row["fr50"]), first_response_p90_minutes=_minutes(row["fr90"]),
            resolution_p50_minutes=_minutes(row["rs50"]), resolution_p90_minutes=_minutes(row["rs90"]),
        ) for row in rows],
        at_risk_ticket_ids=sorted({row["ticket"] for row in at_risk}),
        breached_ticket_ids=sorted({row["ticket"] for row in breached}),
    )


def _minutes(seconds: int | None) -> float | None:
    return round(seconds / 60, 2) if seconds is not None else None
