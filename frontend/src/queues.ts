// The queue views in the sidebar: built-in filters on GET /api/tickets, the SLA's breaching-soon
// queue, and the agent's own saved filters. Every one has an exact count from the server.
import { reactive } from "vue";
import { api, type SavedFilter, type SavedFilterFields, type TicketFilters } from "./api";
import { serverNow, syncServerTime } from "./sla";

/** Tickets that breached, warn, or fall due within this window show in "Breaching soon". */
export const BREACHING_WINDOW_MINUTES = 60;

export type QueueSource = { kind: "filters"; filters: TicketFilters } | { kind: "breaching" };

export interface QueueDefinition {
  key: string;
  label: string;
  source: QueueSource;
  savedFilterId?: number;
}

export const OPEN = "new,open,pending,on_hold";

function filtered(key: string, label: string, filters: TicketFilters): QueueDefinition {
  return { key, label, source: { kind: "filters", filters } };
}

export const QUEUES: QueueDefinition[] = [
  filtered("mine", "My open", { assignee: "me", status: OPEN }),
  filtered("unassigned", "Unassigned", { assignee: "none", status: "new,open" }),
  filtered("open", "All open", { status: OPEN }),
  filtered("pending", "Pending", { status: "pending" }),
  { key: "breaching", label: "Breaching soon", source: { kind: "breaching" } },
  filtered("solved", "Recently solved", { status: "solved,closed", sort: "updated" }),
];

// ---------------------------------------------------------------- saved filters (per agent, server-side)

export const savedFilters = reactive<{ items: SavedFilter[]; loaded: boolean }>({ items: [], loaded: false });

export async function loadSavedFilters(): Promise<SavedFilter[]> {
  const items = await api.listSavedFilters();
  savedFilters.items = items;
  savedFilters.loaded = true;
  return items;
}

export function forgetSavedFilters(): void {
  savedFilters.items = [];
  savedFilters.loaded = false;
}

export function savedQueueKey(id: number): string {
  return `saved-${id}`;
}

export function savedQueue(saved: SavedFilter): QueueDefinition {
  return { ...filtered(savedQueueKey(saved.id), saved.name, { ...saved.filters }), savedFilterId: saved.id };
}

export function findQueue(key: string): QueueDefinition | undefined {
  const builtIn = QUEUES.find((queue) => queue.key === key);
  if (builtIn) return builtIn;
  const saved = savedFilters.items.find((item) => savedQueueKey(item.id) === key);
  return saved ? savedQueue(saved) : undefined;
}

/** What can be saved of a list's filters (sort and paging are the list's, not the filter's). */
export function saveableFields(filters: TicketFilters): SavedFilterFields {
  const fields: SavedFilterFields = {};
  if (filters.status) fields.status = filters.status;
  if (filters.priority) fields.priority = filters.priority;
  if (filters.assignee) fields.assignee = filters.assignee;
  if (filters.team_id) fields.team_id = filters.team_id;
  if (filters.tag) fields.tag = filters.tag;
  if (filters.q) fields.q = filters.q;
  return fields;
}

// ---------------------------------------------------------------- counts

export interface QueueCount {
  count: number;
  /** When the count changes by time alone (server time, ISO); events announce every other change. */
  changesAt: string | null;
}

/** The queue's exact size: the count endpoint for filters, the SLA answer's count for breaching. */
export async function countQueue(queue: QueueDefinition): Promise<QueueCount> {
  if (queue.source.kind === "breaching") {
    const answer = await api.slaBreaching(BREACHING_WINDOW_MINUTES, 1);
    syncServerTime(answer.now);
    return { count: answer.count, changesAt: answer.next_entry_at };
  }
  return { count: (await api.countTickets(queue.source.filters)).count, changesAt: null };
}

// setTimeout takes at most 2^31-1 ms; a day is far enough: any event recounts before then anyway.
const LONGEST_WAIT_MS = 24 * 3600 * 1000;

/**
 * Run `task` once at a server time (plus a little, so the server sees it as past), replacing the
 * previous plan of the same timer. A time-driven change is not an event, so it is planned, not polled.
 */
export function planAt(previous: number | undefined, when: string | null, task: () => void): number | undefined {
  window.clearTimeout(previous);
  if (!when) return undefined;
  const wait = Date.parse(when) - serverNow() + 1000;
  return window.setTimeout(task, Math.min(LONGEST_WAIT_MS, Math.max(1000, wait)));
}
