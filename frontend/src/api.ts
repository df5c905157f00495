// The typed REST client: every call the agent app makes to /api goes through here.
// Types mirror the msgspec schemas in helpdesk/*/schemas.py (datetimes arrive as ISO strings).

export type TicketStatus = "new" | "open" | "pending" | "on_hold" | "solved" | "closed";
export type Priority = "low" | "normal" | "high" | "urgent";
export type MessageKind = "customer" | "reply" | "note" | "system" | "auto_reply";
export type ActivityKind = "call" | "meeting" | "email" | "note" | "task";

export const STATUSES: TicketStatus[] = ["new", "open", "pending", "on_hold", "solved", "closed"];
export const PRIORITIES: Priority[] = ["low", "normal", "high", "urgent"];

export interface Page<T> {
  items: T[];
  next: string | null;
}

export interface PersonRef {
  id: number;
  name: string;
  email: string | null;
}

export interface Agent {
  id: number;
  name: string;
  email: string;
  role: "admin" | "lead" | "agent";
  active: boolean;
  team_ids: number[];
  created_at: string;
}

export interface Team {
  id: number;
  name: string;
  lead_id: number | null;
  member_ids: number[];
}

export interface Ticket {
  id: number;
  number: string;
  subject: string;
  status: TicketStatus;
  priority: Priority;
  channel: string;
  requester: PersonRef | null;
  account: PersonRef | null;
  assignee_id: number | null;
  team_id: number | null;
  tags: string[];
  custom_fields: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  first_response_at: string | null;
  solved_at: string | null;
  version: number;
}

export interface Attachment {
  id: number;
  filename: string;
  content_type: string;
  size: number;
  content_id: string | null;
  inline: boolean;
  sha256: string;
}

export interface Message {
  id: number;
  ticket_id: number;
  kind: MessageKind | string;
  author_agent_id: number | null;
  author_contact_id: number | null;
  from_name: string;
  from_address: string;
  to: string[];
  cc: string[];
  subject: string;
  message_id: string | null;
  in_reply_to: string | null;
  references: string[];
  text: string;
  new_text: string;
  html: string | null; // already sanitised by the server; still shown only in a sandboxed frame
  auto_generated: string;
  created_at: string;
  delivery_state: string | null;
  delivery_error: string | null;
  thread_reason: string;
  thread_ref: string;
  attachments: Attachment[];
}

export interface TicketDetail {
  ticket: Ticket;
  messages: Message[];
  participants: string[];
}

export interface TicketUpdate {
  version: number;
  subject?: string;
  status?: TicketStatus;
  priority?: Priority;
  tags?: string[];
  assignee_id?: number | null;
  team_id?: number | null;
}

export interface AttachmentUpload {
  filename: string;
  content_type: string;
  content_base64: string;
}

export interface MessageCreate {
  kind: "reply" | "note";
  text: string;
  attachments?: AttachmentUpload[];
  version?: number; // the ticket version the agent saw; a newer one answers 409
}

export interface Account {
  id: number;
  name: string;
  tier: string;
  domains: string[];
  custom_fields: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export interface Contact {
  id: number;
  name: string;
  emails: string[];
  phone: string;
  account_id: number | null;
  role: string;
  custom_fields: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export interface Purchase {
  id: number;
  account_id: number;
  contact_id: number | null;
  order_number: string;
  sku: string;
  product: string;
  quantity: number;
  amount: string; // a decimal, sent as a string so no cents are lost
  currency: string;
  ordered_at: string;
  status: string;
}

export interface Activity {
  id: number;
  kind: ActivityKind | string;
  subject: string;
  body: string;
  account_id: number | null;
  contact_id: number | null;
  ticket_id: number | null;
  author_id: number | null;
  assignee_id: number | null;
  due_at: string | null;
  done: boolean;
  occurred_at: string;
  created_at: string;
}

export interface ActivityCreate {
  kind: ActivityKind;
  subject: string;
  body?: string;
  account_id?: number | null;
  contact_id?: number | null;
  ticket_id?: number | null;
  due_at?: string | null;
  done?: boolean;
}

export interface CustomerOverview {
  contact: Contact | null;
  account: Account | null;
  contacts: Contact[];
  purchases: Purchase[];
  open_tickets: Ticket[];
  recent_tickets: Ticket[];
  activities: Activity[];
}

export interface LoginResponse {
  agent: Agent;
  csrf_token: string;
}

/** GET /api/auth/session: csrf_token is null only for API tokens, which browsers do not use. */
export interface SessionAnswer {
  agent: Agent;
  csrf_token: string | null;
}

export interface TicketFilters {
  status?: string;
  priority?: string;
  assignee?: string;
  team_id?: number;
  tag?: string;
  q?: string;
  sort?: "updated" | "created" | "priority";
  cursor?: string;
  limit?: number;
}

/** The filters an agent can save under a name (the list's own names; sort and paging are not saved). */
export type SavedFilterFields = Pick<TicketFilters, "status" | "priority" | "assignee" | "team_id" | "tag" | "q">;

export interface SavedFilter {
  id: number;
  name: string;
  filters: SavedFilterFields;
  created_at: string;
  updated_at: string;
}

export type SlaLevel = "ok" | "warning" | "breached";

/** The SLA clock a ticket runs against next (helpdesk/queues/schemas.py). */
export interface SlaDue {
  ticket_id: number;
  target: string;
  due_at: string;
  warn_at: string | null;
  level: SlaLevel;
}

export interface SlaDueAnswer {
  now: string; // the server's time, to count down from
  items: SlaDue[];
}

export interface BreachingQueue {
  now: string;
  count: number;
  tickets: Ticket[];
  due: SlaDue[];
  next_entry_at: string | null; // when another ticket enters by time alone (no event announces that)
}

/** One SLA clock of a ticket (helpdesk/sla/schemas.py ClockRead). */
export interface SlaClock {
  target: string;
  state: "running" | "paused" | "met" | "breached" | string;
  policy_id: number | null;
  policy: string | null;
  started_at: string;
  due_at: string | null;
  warn_at: string | null;
  stopped_at: string | null;
  target_minutes: number;
  elapsed_minutes: number;
}

/** Every 4xx body is {error, detail, field}; a stale version also names the current one. */
export interface ApiErrorBody {
  error: string;
  detail: string;
  field: string | null;
  current_version?: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.detail || body.error || `HTTP ${status}`);
  }

  get isStale(): boolean {
    return this.status === 409 && this.body.error === "stale_version";
  }
}

// The CSRF token lives only in this module's memory: the session cookie is HttpOnly, and
// nothing secret is written to localStorage. After a reload the app asks /api/auth/session for it.
let csrfToken: string | null = null;
let onUnauthenticated: () => void = () => {};

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function hasCsrfToken(): boolean {
  return csrfToken !== null;
}

/** Called when the server says the session is gone (401), so the app can show the login. */
export function whenUnauthenticated(handler: () => void): void {
  onUnauthenticated = handler;
}

type QueryValue = string | number | undefined | null;
type Query = Record<string, QueryValue | QueryValue[]>;

// Answering 401 is how these say "not logged in"; it is no sign of a session that just ended.
const LOGIN_PATHS = new Set(["/api/auth/login", "/api/auth/session"]);

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined && item !== null && item !== "") params.append(key, String(item));
    }
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export async function request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  const response = await fetch(withQuery(path, query), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (response.status === 204) return undefined as T;
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(
      response.status,
      payload && typeof payload === "object" ? (payload as ApiErrorBody) : { error: "http_error", detail: response.statusText, field: null },
    );
    if (response.status === 401 && !LOGIN_PATHS.has(path)) onUnauthenticated();
    throw error;
  }
  return payload as T;
}

export const api = {
  login: (email: string, password: string) => request<LoginResponse>("POST", "/api/auth/login", { email, password }),
  logout: () => request<void>("POST", "/api/auth/logout"),
  me: () => request<Agent>("GET", "/api/auth/me"),
  /** The agent and CSRF token of the session cookie this browser already holds (401: none). */
  session: () => request<SessionAnswer>("GET", "/api/auth/session"),

  listAgents: () => request<Agent[]>("GET", "/api/agents"),
  listTeams: () => request<Team[]>("GET", "/api/teams"),

  listTickets: (filters: TicketFilters) => request<Page<Ticket>>("GET", "/api/tickets", undefined, { ...filters }),
  countTickets: (filters: TicketFilters) =>
    request<{ count: number }>("GET", "/api/tickets/count", undefined, { ...filters, sort: undefined, cursor: undefined, limit: undefined }),
  getTicket: (id: number) => request<TicketDetail>("GET", `/api/tickets/${id}`),
  ticketSla: (id: number) => request<SlaClock[]>("GET", `/api/tickets/${id}/sla`),
  slaDue: (ticketIds: number[]) => request<SlaDueAnswer>("GET", "/api/sla/due", undefined, { ticket_id: ticketIds }),
  slaBreaching: (withinMinutes: number, limit: number) =>
    request<BreachingQueue>("GET", "/api/sla/breaching", undefined, { within_minutes: withinMinutes, limit }),

  listSavedFilters: () => request<SavedFilter[]>("GET", "/api/saved-filters"),
  createSavedFilter: (name: string, filters: SavedFilterFields) =>
    request<SavedFilter>("POST", "/api/saved-filters", { name, filters }),
  deleteSavedFilter: (id: number) => request<void>("DELETE", `/api/saved-filters/${id}`),
  updateTicket: (id: number, change: TicketUpdate) => request<Ticket>("PATCH", `/api/tickets/${id}`, change),
  addMessage: (ticketId: number, message: MessageCreate) =>
    request<Message>("POST", `/api/tickets/${ticketId}/messages`, message),

  contactOverview: (contactId: number) => request<CustomerOverview>("GET", `/api/contacts/${contactId}/overview`),
  accountOverview: (accountId: number) => request<CustomerOverview>("GET", `/api/accounts/${accountId}/overview`),
  createActivity: (activity: ActivityCreate) => request<Activity>("POST", "/api/activities", activity),
};

/** A customer mail's HTML with remote https images kept: a sandboxed document with its own CSP. */
export function remoteImagesUrl(messageId: number): string {
  return `/api/messages/${messageId}/with-remote-images`;
}

/** Where an attachment downloads from (the server always answers it as a download). */
export function attachmentUrl(id: number): string {
  return `/api/attachments/${id}`;
}

/** An attachment's bytes as a data: URL, so a sandboxed frame can show it without any request of its own. */
export async function attachmentDataUrl(attachment: Attachment): Promise<string> {
  const response = await fetch(attachmentUrl(attachment.id), { credentials: "same-origin" });
  if (!response.ok) throw new ApiError(response.status, { error: "http_error", detail: response.statusText, field: null });
  const bytes = new Uint8Array(await response.arrayBuffer());
  return `data:${attachment.content_type};base64,${bytesToBase64(bytes)}`;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  const chunk = 0x8000; // String.fromCharCode takes arguments on the stack: go in slices
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}
