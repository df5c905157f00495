// Live updates over /ws (helpdesk/live/protocol.py): committed events, presence, catch-up.
//
// A view never trusts the socket alone. It subscribes first (events are buffered), then fetches
// its state over REST, then applies only the buffered events newer than what it fetched
// (`loadThenFollow`). On reconnect we send the epoch and last sequence number we saw; the server
// replays what we missed or answers `resync`, and then every view refetches. When /ws is missing
// or down, views still load over REST and the socket is retried with backoff.
import { reactive, readonly } from "vue";
import {
  CLOSE_BAD_REQUEST,
  CLOSE_HEARTBEAT_MISSED,
  CLOSE_NOT_AUTHENTICATED,
  DEFAULT_HEARTBEAT_SECONDS,
  StreamPosition,
  retryDelaySeconds,
  watchdogMs,
} from "./liveStream";

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
  | { type: "presence_board"; tickets: { ticket_id: number; agents: PresenceEntry[] }[] }
  | { type: "error"; detail: string };

export interface LiveListener {
  onEvent(event: LiveEvent): void;
  /** Events may have been missed: refetch. */
  onResync(): void;
}

/** What the connection calls when its socket says something. */
export interface SocketHandlers {
  message(data: string): void;
  closed(code: number): void;
}

/** The little of a WebSocket the connection uses, so tests can hand it a fake. */
export interface SocketLink {
  readonly open: boolean;
  send(text: string): void;
  close(code: number, reason: string): void;
}

/** Opens /ws with the given resume query (`?epoch=…&since=…` or empty). */
export type SocketFactory = (query: string, handlers: SocketHandlers) => SocketLink;

/** The browser's WebSocket to /ws on the page's own host. */
export const browserSocket: SocketFactory = (query, handlers) => {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/ws${query}`);
  socket.onmessage = (message) => handlers.message(String(message.data));
  socket.onclose = (close) => handlers.closed(close.code);
  return {
    get open() {
      return socket.readyState === WebSocket.OPEN;
    },
    send: (text) => socket.send(text),
    close: (code, reason) => socket.close(code, reason),
  };
};

const state = reactive({
  status: "offline" as LiveStatus,
  retryInSeconds: 0,
  presence: {} as Record<number, PresenceEntry[]>, // ticket id → who is on it (every agent, me included)
});

/** What the views show: connection status and who is on which ticket. */
export const liveState = readonly(state);

export class LiveConnection {
  private socket: SocketLink | null = null;
  private running = false;
  private readonly position = new StreamPosition();
  private attempts = 0;
  private heartbeatSeconds = DEFAULT_HEARTBEAT_SECONDS;
  private retryTimer: number | undefined;
  private watchdogTimer: number | undefined;
  private readonly listeners = new Set<LiveListener>();
  private readonly claims = new Map<number, PresenceState>(); // what this tab announces
  private welcomeWaiters: (() => void)[] = [];
  private sessionEnded: () => void = () => {};

  constructor(
    private readonly openSocket: SocketFactory = browserSocket,
    private readonly random: () => number = Math.random,
  ) {}

  /** Open the socket (idempotent). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  /** Close for good (logout): forget the stream position and presence. */
  stop(): void {
    this.running = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.watchdogTimer);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "logged out");
    this.position.forget();
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
      const timer = setTimeout(resolve, timeoutMs);
      this.welcomeWaiters.push(() => {
        clearTimeout(timer);
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
    clearTimeout(this.retryTimer);
    state.status = "connecting";
    state.retryInSeconds = 0;
    // Handlers check that their socket is still the current one: a replaced socket's late
    // messages and close must not touch the new stream.
    const socket: SocketLink = this.openSocket(this.position.resumeQuery(), {
      message: (data) => {
        if (this.socket !== socket) return;
        this.armWatchdog();
        try {
          this.receive(JSON.parse(data) as ServerMessage);
        } catch (error) {
          console.warn("live: unreadable message", error);
        }
      },
      closed: (code) => {
        if (this.socket === socket) this.closed(code);
      },
    });
    this.socket = socket;
  }

  private receive(message: ServerMessage): void {
    switch (message.type) {
      case "welcome": {
        // Same epoch: the server replays what we missed (or says resync). Another epoch, or a
        // first stream after loading over REST alone: nobody can tell what was missed.
        const continues = this.position.welcome(message.epoch, message.seq);
        this.heartbeatSeconds = message.heartbeat_seconds || DEFAULT_HEARTBEAT_SECONDS;
        this.attempts = 0;
        state.status = "live";
        for (const [ticketId, presence] of this.claims) this.send({ type: presence, ticket_id: ticketId });
        if (!continues) this.resyncAll();
        this.releaseWaiters();
        return;
      }
      case "event": {
        if (!this.position.accept(message.seq)) return; // a duplicate, or older than what we have
        const event = message.event;
        if (event.type === "presence") {
          state.presence[event.id] = (event.data.agents as PresenceEntry[] | undefined) ?? [];
        }
        for (const listener of [...this.listeners]) listener.onEvent(event);
        return;
      }
      case "resync":
        this.position.resync(message.epoch, message.seq);
        this.resyncAll();
        return;
      case "ping":
        this.send({ type: "pong" });
        return;
      case "presence":
        state.presence[message.ticket_id] = message.agents;
        return;
      case "presence_board": {
        // Sent on (re)connect: who is on which ticket right now, replacing whatever we had.
        const board: Record<number, PresenceEntry[]> = {};
        for (const entry of message.tickets) board[entry.ticket_id] = entry.agents;
        state.presence = board;
        return;
      }
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
    clearTimeout(this.watchdogTimer);
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
      this.position.forget();
    }
    const delay = retryDelaySeconds(this.attempts, this.random());
    this.attempts += 1;
    state.status = "offline";
    state.retryInSeconds = Math.ceil(delay);
    this.retryTimer = setTimeout(() => this.connect(), delay * 1000);
    this.releaseWaiters();
  }

  private armWatchdog(): void {
    clearTimeout(this.watchdogTimer);
    this.watchdogTimer = setTimeout(
      () => this.socket?.close(CLOSE_HEARTBEAT_MISSED, "heartbeat missed"),
      watchdogMs(this.heartbeatSeconds),
    );
  }

  private send(message: Record<string, unknown>): void {
    if (this.socket?.open && state.status === "live") this.socket.send(JSON.stringify(message));
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
export function loadThenFollow<T>(options: FollowOptions<T>): Promise<{ loaded: T; stop: () => void }> {
  return followOn(live, options);
}

/** `loadThenFollow` on a given connection (tests use their own). */
export async function followOn<T>(
  connection: LiveConnection,
  options: FollowOptions<T>,
): Promise<{ loaded: T; stop: () => void }> {
  connection.start();
  let loaded: T | undefined;
  let ready = false;
  let missed = false;
  const buffer: LiveEvent[] = [];
  const stop = connection.subscribe({
    onEvent: (event) => (ready ? options.apply(event) : buffer.push(event)),
    onResync: () => (ready ? options.resync() : (missed = true)),
  });
  try {
    await connection.whenConnected(1500);
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
    clearTimeout(timer);
    timer = setTimeout(task, ms);
  };
}
