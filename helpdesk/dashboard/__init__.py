"""The team lead's SLA dashboard: tiles, per-team and per-agent figures, daily series and the
tickets at risk, all aggregated in the database from tickets and SLA clocks."""
