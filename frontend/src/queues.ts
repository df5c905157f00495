// The queue views in the sidebar: each is a saved filter on GET /api/tickets.
import type { TicketFilters } from "./api";

export interface QueueDefinition {
  key: string;
  label: string;
  filters: TicketFilters;
}

const OPEN = "new,open,pending,on_hold";

// "Breaching soon" needs the SLA engine's clocks, which do not exist yet.
export const QUEUES: QueueDefinition[] = [
  { key: "mine", label: "My open", filters: { assignee: "me", status: OPEN } },
  { key: "unassigned", label: "Unassigned", filters: { assignee: "none", status: "new,open" } },
  { key: "open", label: "All open", filters: { status: OPEN } },
  { key: "pending", label: "Pending", filters: { status: "pending" } },
  { key: "solved", label: "Recently solved", filters: { status: "solved,closed", sort: "updated" } },
];

export function findQueue(key: string): QueueDefinition | undefined {
  return QUEUES.find((queue) => queue.key === key);
}

// Counts come from one list call per queue: exact up to this many, shown as "N+" beyond.
export const COUNT_LIMIT = 100;
