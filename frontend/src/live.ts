// Live updates over /ws (helpdesk/live/protocol.py): committed events, presence, catch-up.
//
// A view never trusts the socket alone. It subscribes first (events are buffered), then fetches
// its state over REST, then applies only the buffered events newer than what it fetched
// (`loadThenFollow`). On reconnect we send the epoch and last sequence number we saw; the server
// replays what we missed or answers `resync`, and then every view refetches. When /ws is missing
// or down, views still load over REST and the socket is retried with backoff.
import { reactive, readonly } from "vue";

export interface LiveEvent {
  type: string; // "ticket", "message", "activity", "presence", ...
  op: string;
  id: number;
  version: number | null;
  data: Record<string, unknown>;
}

export type PresenceState = "viewing" | "replying";

export interface PresenceEntry {
  agent_id: number;
  state: PresenceState;
}

export type LiveStatus = "offline" | "connecting" | "live";

type ServerMessage =
  | { type: "welcome"; epoch: string; seq: number; agent_id: number | null; heartbeat_seconds: number }
  | { type: "event"; seq: number; event: LiveEvent }
  | { type: "resync"; epoch: string; seq: number }
  | { type: "ping" }
  | { type: "presence"; ticket_id: number; agents: PresenceEntry[] }
  | { type: "error"; detail: string };

export interface LiveListener {
  onEvent(event: LiveEvent): void;
  /** Events may have been missed: refetch. */
  onResync(): void;
}

// Close codes from helpdesk/live/protocol.py.
const CLOSE_BAD_REQUEST = 4400;
const CLOSE_NOT_AUTHENTICATED = 4401;

const MAX_BACKOFF_SECONDS = 30;
const DEFAULT_HEARTBEAT_SECONDS = 20;

const state = reactive({
  status: "offline" as LiveStatus,
  retryInSeconds: 0,
  presence: {} as Record<number, PresenceEntry[]>, // ticket id → who is on it (every agent, me included)
});

/** What the views show: connection status and who is on which ticket. */
export const liveState = readonly(state);

class LiveConnection {
  private socket: WebSocket | null = null;
  private running = false;
  private epoch: string | null = null;
  private lastSeq = 0;
  private attempts = 0;
  private heartbeatSeconds = DEFAULT_HEARTBEAT_SECONDS;
  private retryTimer: number | undefined;
  private watchdogTimer: number | undefined;
  private readonly listeners = new Set<LiveListener>();
  private readonly claims = new Map<number, PresenceState>(); // what this tab announces
  private welcomeWaiters: (() => void)[] = [];
  private sessionEnded: () => void = () => {};

  /** Open the socket (idempotent). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  /** Close for good (logout): forget the stream position and presence. */
  stop(): void {
    this.running = false;
    window.clearTimeout(this.retryTimer);
    window.clearTimeout(this.watchdogTimer);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "logged out");
    this.epoch = null;
    this.lastSeq = 0;
    this.attempts = 0;
    this.claims.clear();
    state.presence = {};
    state.status = "offline";
    this.releaseWaiters();
  }

  whenSessionEnds(handler: () => void): void {
    this.sessionEnded = handler;
  }

  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves once a connection attempt in progress has said welcome or failed, or after
   * `timeoutMs`; at once when live or waiting to retry (a missing /ws must not slow views down).
   */
  whenConnected(timeoutMs: number): Promise<void> {
    if (state.status !== "connecting" || !this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = window.setTimeout(resolve, timeoutMs);
      this.welcomeWaiters.push(() => {
        window.clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Announce this tab viewing or replying to a ticket; null when it leaves. */
  claim(ticketId: number, presence: PresenceState | null): void {
    if (presence === null) {
      if (!this.claims.delete(ticketId)) return;
      this.send({ type: "left", ticket_id: ticketId });
      return;
    }
    if (this.claims.get(ticketId) === presence) return;
    this.claims.set(ticketId, presence);
    this.send({ type: presence, ticket_id: ticketId });
  }

  private connect(): void {
    window.clearTimeout(this.retryTimer);
    state.status = "connecting";
    state.retryInSeconds = 0;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const resume = this.epoch === null ? "" : `?epoch=${encodeURIComponent(this.epoch)}&since=${this.lastSeq}`;
    const socket = new WebSocket(`${scheme}//${location.host}/ws${resume}`);
    this.socket = socket;
    socket.onmessage = (message) => {
      if (this.socket !== socket) return;
      this.armWatchdog();
      try {
        this.receive(JSON.parse(String(message.data)) as ServerMessage);
      } catch (error) {
        console.warn("live: unreadable message", error);
      }
    };
    socket.onclose = (close) => {
      if (this.socket === socket) this.closed(close.code);
    };
  }

  private receive(message: ServerMessage): void {
    switch (message.type) {
      case "welcome": {
        // Same epoch: the server replays what we missed (or says resync). Another epoch, or a
        // first stream after loading over REST alone: nobody can tell what was missed.
        const continues = this.epoch === message.epoch;
        this.epoch = message.epoch;
        // When continuing, the replay that follows carries numbers up to message.seq: keep ours.
        if (!continues) this.lastSeq = message.seq;
        this.heartbeatSeconds = message.heartbeat_seconds || DEFAULT_HEARTBEAT_SECONDS;
        this.attempts = 0;
        state.status = "live";
        for (const [ticketId, presence] of this.claims) this.send({ type: presence, ticket_id: ticketId });
        if (!continues) this.resyncAll();
        this.releaseWaiters();
        return;
      }
      case "event": {
        // Numbers only increase; gaps are events meant for others, so only order is checked.
        if (message.seq <= this.lastSeq) return;
        this.lastSeq = message.seq;
        const event = message.event;
        if (event.type === "presence") {
          state.presence[event.id] = (event.data.agents as PresenceEntry[] | undefined) ?? [];
        }
        for (const listener of [...this.listeners]) listener.onEvent(event);
        return;
      }
      case "resync":
        this.epoch = message.epoch;
        this.lastSeq = message.seq;
        this.resyncAll();
        return;
      case "ping":
        this.send({ type: "pong" });
        return;
      case "presence":
        state.presence[message.ticket_id] = message.agents;
        return;
      case "error":
        console.warn("live:", message.detail);
        return;
    }
  }

  private resyncAll(): void {
    for (const listener of [...this.listeners]) listener.onResync();
  }

  private closed(code: number): void {
    this.socket = null;
    window.clearTimeout(this.watchdogTimer);
    // Presence cannot be kept current without the socket.
    state.presence = {};
    if (!this.running) return;
    if (code === CLOSE_NOT_AUTHENTICATED) {
      this.stop();
      this.sessionEnded();
      return;
    }
    if (code === CLOSE_BAD_REQUEST) {
      // The server could not read our resume point: start a fresh stream next time.
      this.epoch = null;
      this.lastSeq = 0;
    }
    // Backoff with jitter, so a restarted server is not hit by every tab at the same moment.
    const ceiling = Math.min(MAX_BACKOFF_SECONDS, 2 ** this.attempts);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempts += 1;
    state.status = "offline";
    state.retryInSeconds = Math.ceil(delay);
    this.retryTimer = window.setTimeout(() => this.connect(), delay * 1000);
    this.releaseWaiters();
  }

  private armWatchdog(): void {
    // The server pings every heartbeat; silence for much longer means a dead connection.
    window.clearTimeout(this.watchdogTimer);
    this.watchdogTimer = window.setTimeout(() => this.socket?.close(4000, "heartbeat missed"), this.heartbeatSeconds * 2500);
  }

  private send(message: Record<string, unknown>): void {
    if (this.socket?.readyState === WebSocket.OPEN && state.status === "live") this.socket.send(JSON.stringify(message));
  }

  private releaseWaiters(): void {
    const waiters = this.welcomeWaiters;
    this.welcomeWaiters = [];
    for (const waiter of waiters) waiter();
  }
}

export const live = new LiveConnection();

/** Who else is on a ticket (this agent's own tabs left out). */
export function othersOnTicket(ticketId: number, myAgentId: number | null | undefined): PresenceEntry[] {
  return (state.presence[ticketId] ?? []).filter((entry) => entry.agent_id !== myAgentId);
}

export interface FollowOptions<T> {
  /** Fetch the state over REST (and put it where the view shows it). */
  load: () => Promise<T>;
  /** Whether an event is about something newer than the loaded state (by version or id). */
  isNewer: (loaded: T, event: LiveEvent) => boolean;
  /** Apply an event that arrived after loading. */
  apply: (event: LiveEvent) => void;
  /** Events were missed: refetch. */
  resync: () => void;
}

/**
 * Socket first, buffer, fetch, then apply buffered events newer than what was fetched.
 * Returns the loaded state and the function that stops following.
 */
export async function loadThenFollow<T>(options: FollowOptions<T>): Promise<{ loaded: T; stop: () => void }> {
  live.start();
  let loaded: T | undefined;
  let ready = false;
  let missed = false;
  const buffer: LiveEvent[] = [];
  const stop = live.subscribe({
    onEvent: (event) => (ready ? options.apply(event) : buffer.push(event)),
    onResync: () => (ready ? options.resync() : (missed = true)),
  });
  try {
    await live.whenConnected(1500);
    missed = false; // a resync that came before the fetch started is covered by the fetch itself
    loaded = await options.load();
  } catch (error) {
    stop();
    throw error;
  }
  ready = true;
  if (missed) {
    options.resync();
  } else {
    for (const event of buffer) if (options.isNewer(loaded, event)) options.apply(event);
  }
  return { loaded, stop };
}

/** Run `task` once after calls stop coming for `ms` (bursts of events cause one refetch). */
export function debounce(task: () => void, ms: number): () => void {
  let timer: number | undefined;
  return () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(task, ms);
  };
}
