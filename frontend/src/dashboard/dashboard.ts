// The SLA dashboard's data: typed calls to /api/dashboard (helpdesk/dashboard/schemas.py) and
// which live events can change what it shows.
import { request, withQuery, type Team } from "../api";
import type { LiveEvent } from "../live";

export interface Compliance {
  measured: number;
  met: number;
  percent: number | null;
}

export interface Summary {
  generated_at: string;
  period_days: number;
  open_backlog: number;
  unassigned: number;
  at_risk: number;
  breached: number;
  compliance_today: Compliance;
  compliance_7d: Compliance;
  compliance_30d: Compliance;
  first_response_p50_minutes: number | null;
  first_response_p90_minutes: number | null;
}

export interface BreakdownRow {
  group_id: number | null;
  name: string;
  open: number;
  solved: number;
  measured: number;
  met: number;
  compliance_percent: number | null;
  first_response_median_minutes: number | null;
}

export interface DayPoint {
  day: string;
  backlog: number;
  created: number;
  solved: number;
  measured: number;
  breaches: number;
  compliance_percent: number | null;
}

export interface RiskTicket {
  id: number;
  number: string;
  subject: string;
  priority: string;
  status: string;
  team_id: number | null;
  assignee_id: number | null;
  target: string;
  due_at: string;
}

export interface RiskTickets {
  state: RiskState;
  total: number;
  tickets: RiskTicket[];
}

export interface PolicyRef {
  id: number;
  name: string;
}

export type RiskState = "at_risk" | "breached";

export interface DashboardFilters {
  days: number;
  team_id: number | null;
  policy_id: number | null;
}

export interface DashboardData {
  summary: Summary;
  byTeam: BreakdownRow[];
  byAgent: BreakdownRow[];
  days: DayPoint[];
  atRisk: RiskTickets;
  breached: RiskTickets;
}

export const PERIODS = [7, 30, 90];
const LIST_LIMIT = 50;

function query(filters: DashboardFilters, extra: Record<string, string | number> = {}) {
  return { days: filters.days, team_id: filters.team_id, policy_id: filters.policy_id, ...extra };
}

/** Everything on the dashboard, fetched in parallel (each figure is one small aggregate query). */
export async function loadDashboard(filters: DashboardFilters): Promise<DashboardData> {
  const get = <T>(path: string, extra?: Record<string, string | number>) =>
    request<T>("GET", `/api/dashboard/${path}`, undefined, query(filters, extra));
  const [summary, byTeam, byAgent, series, atRisk, breached] = await Promise.all([
    get<Summary>("summary"),
    get<BreakdownRow[]>("breakdown", { by: "team" }),
    get<BreakdownRow[]>("breakdown", { by: "agent" }),
    get<{ days: DayPoint[] }>("series"),
    get<RiskTickets>("tickets", { state: "at_risk", limit: LIST_LIMIT }),
    get<RiskTickets>("tickets", { state: "breached", limit: LIST_LIMIT }),
  ]);
  return { summary, byTeam, byAgent, days: series.days, atRisk, breached };
}

export function loadFilterChoices(): Promise<[Team[], PolicyRef[]]> {
  return Promise.all([request<Team[]>("GET", "/api/teams"), request<PolicyRef[]>("GET", "/api/sla/policies")]);
}

/** Where a table downloads as CSV, with the filters on screen. */
export function csvUrl(table: "breakdown" | "series" | "tickets", filters: DashboardFilters,
  extra: Record<string, string> = {}): string {
  return withQuery(`/api/dashboard/${table}.csv`, query(filters, extra));
}

/** Events that can move a figure: ticket changes, new messages (first responses) and SLA warnings/breaches. */
export function affectsDashboard(event: LiveEvent): boolean {
  return event.type === "ticket" || event.type === "message" || event.type === "sla";
}

export function formatPercent(value: number | null): string {
  return value === null ? "–" : `${value.toFixed(1)} %`;
}

export function formatMinutes(value: number | null): string {
  if (value === null) return "–";
  if (value < 60) return `${Math.round(value)} min`;
  const hours = Math.floor(value / 60);
  return `${hours} h ${Math.round(value - hours * 60)} min`;
}
