// LiveConnection and loadThenFollow against a scripted server: fake sockets, fake timers.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  LiveConnection,
  followOn,
  liveState,
  othersOnTicket,
  type LiveEvent,
  type LiveListener,
  type SocketHandlers,
  type SocketLink,
} from "./live";

/** One socket as the connection opened it; the test plays the server's side. */
class FakeSocket implements SocketLink {
  open = true;
  readonly sent: Record<string, unknown>[] = [];
  closedWith: number | null = null;

  constructor(
    readonly query: string,
    private readonly handlers: SocketHandlers,
  ) {}

  send(text: string): void {
    this.sent.push(JSON.parse(text) as Record<string, unknown>);
  }

  close(code: number): void {
    this.closedWith = code;
    this.open = false;
  }

  deliver(message: Record<string, unknown>): void {
    this.handlers.message(JSON.stringify(message));
  }

  welcome(epoch: string, seq: number, heartbeatSeconds = 20): void {
    this.deliver({ type: "welcome", epoch, seq, agent_id: 1, heartbeat_seconds: heartbeatSeconds });
  }

  event(seq: number, event: Partial<LiveEvent> = {}): void {
    this.deliver({ type: "event", seq, event: { type: "ticket", op: "updated", id: 7, version: seq, data: {}, ...event } });
  }

  /** The connection dropped (or the server closed it) with this code. */
  drop(code: number): void {
    this.open = false;
    this.handlers.closed(code);
  }
}

/** Records what a view would see. */
class Recorder implements LiveListener {
  readonly seqs: number[] = [];
  resyncs = 0;

  onEvent(event: LiveEvent): void {
    this.seqs.push(event.version ?? -1);
  }

  onResync(): void {
    this.resyncs += 1;
  }
}

let sockets: FakeSocket[];
let connection: LiveConnection;

function latest(): FakeSocket {
  const socket = sockets.at(-1);
  if (!socket) throw new Error("no socket was opened");
  return socket;
}

beforeEach(() => {
  vi.useFakeTimers();
  sockets = [];
  const open = (query: string, handlers: SocketHandlers) => {
    const socket = new FakeSocket(query, handlers);
    sockets.push(socket);
    return socket;
  };
  connection = new LiveConnection(open, () => 0); // no jitter: retries come at half the ceiling
});

afterEach(() => {
  connection.stop();
  vi.useRealTimers();
});

describe("the first connection", () => {
  it("opens one socket without a resume point and goes live on welcome, telling views to refetch", () => {
    const views = new Recorder();
    connection.subscribe(views);
    connection.start();
    connection.start();
    expect(sockets).toHaveLength(1);
    expect(latest().query).toBe("");
    expect(liveState.status).toBe("connecting");

    latest().welcome("e1", 5);
    expect(liveState.status).toBe("live");
    expect(views.resyncs).toBe(1); // the views loaded over REST alone; nobody knows what they missed
  });

  it("passes events on in order, dropping duplicates and older numbers", () => {
    const views = new Recorder();
    connection.subscribe(views);
    connection.start();
    latest().welcome("e1", 5);
    for (const seq of [5, 6, 6, 9, 8, 10]) latest().event(seq);
    expect(views.seqs).toEqual([6, 9, 10]);
  });

  it("stops telling a listener once it unsubscribed", () => {
    const views = new Recorder();
    const unsubscribe = connection.subscribe(views);
    connection.start();
    latest().welcome("e1", 0);
    latest().event(1);
    unsubscribe();
    latest().event(2);
    expect(views.seqs).toEqual([1]);
  });
});

describe("reconnecting", () => {
  it("resumes from the last number seen and takes the replay without a refetch", () => {
    const views = new Recorder();
    connection.subscribe(views);
    connection.start();
    latest().welcome("e1", 0);
    latest().event(3);
    latest().drop(1006);
    expect(liveState.status).toBe("offline");

    vi.advanceTimersByTime(500); // first retry: half of one second, no jitter
    expect(sockets).toHaveLength(2);
    expect(latest().query).toBe("?epoch=e1&since=3");
    latest().welcome("e1", 5);
    latest().event(4);
    latest().event(5);
    latest().event(5);
    expect(views.seqs).toEqual([3, 4, 5]);
    expect(views.resyncs).toBe(1); // only the first welcome's
  });

  it("refetches when the server answers with a new epoch (it restarted)", () => {
    const views = new Recorder();
    connection.subscribe(views);
    connection.start();
    latest().welcome("e1", 0);
    latest().event(40);
    latest().drop(1012);
    vi.advanceTimersByTime(500);
    latest().welcome("e2", 2);
    expect(views.resyncs).toBe(2);
    latest().event(2); // covered by the refetch
    latest().event(3);
    expect(views.seqs).toEqual([40, 3]);
  });

  it("refetches on resync and then follows the server's new position", () => {
    const views = new Recorder();
    connection.subscribe(views);
    connection.start();
    latest().welcome("e1", 0);
    latest().event(30);
    latest().deliver({ type: "resync", epoch: "e2", seq: 0 });
    expect(views.resyncs).toBe(2);
    latest().event(1);
    expect(views.seqs).toEqual([30, 1]);

    latest().drop(4408); // too slow: resume from the new position
    vi.advanceTimersByTime(500);
    expect(latest().query).toBe("?epoch=e2&since=1");
  });

  it("backs off exponentially while the server is down, and starts over after a welcome", () => {
    connection.start();
    const retried: number[] = [];
    for (let failure = 0; failure < 4; failure += 1) {
      const opened = sockets.length;
      latest().drop(1006);
      retried.push(liveState.retryInSeconds);
      const delayMs = 500 * 2 ** failure;
      vi.advanceTimersByTime(delayMs - 1);
      expect(sockets).toHaveLength(opened); // not a moment early
      vi.advanceTimersByTime(1);
      expect(sockets).toHaveLength(opened + 1);
    }
    expect(retried).toEqual([1, 1, 2, 4]); // rounded up for the status badge

    latest().welcome("e1", 0);
    latest().drop(1006);
    vi.advanceTimersByTime(500);
    expect(sockets).toHaveLength(6);
  });

  it("starts a fresh stream when the server could not read the resume point", () => {
    connection.start();
    latest().welcome("e1", 0);
    latest().event(3);
    latest().drop(4400);
    vi.advanceTimersByTime(500);
    expect(latest().query).toBe("");
  });

  it("ends the session instead of retrying when the server says not authenticated", () => {
    const ended = vi.fn();
    connection.whenSessionEnds(ended);
    connection.start();
    latest().welcome("e1", 0);
    latest().drop(4401);
    expect(ended).toHaveBeenCalledOnce();
    expect(liveState.status).toBe("offline");
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
  });

  it("ignores a replaced socket's late messages and close", () => {
    const views = new Recorder();
    connection.subscribe(views);
    connection.start();
    const first = latest();
    first.welcome("e1", 0);
    connection.stop();
    connection.start();
    first.event(1);
    first.drop(1006);
    expect(views.seqs).toEqual([]);
    expect(sockets).toHaveLength(2);
    expect(latest().query).toBe(""); // logout forgot the stream position
  });
});

describe("heartbeats", () => {
  it("answers a ping with a pong", () => {
    connection.start();
    latest().welcome("e1", 0);
    latest().deliver({ type: "ping" });
    expect(latest().sent).toEqual([{ type: "pong" }]);
  });

  it("closes a socket that stayed silent for two and a half heartbeats, then reconnects", () => {
    connection.start();
    latest().welcome("e1", 0, 2);
    vi.advanceTimersByTime(4_000);
    latest().deliver({ type: "ping" }); // any message re-arms the watchdog
    vi.advanceTimersByTime(4_999);
    expect(latest().closedWith).toBeNull();
    vi.advanceTimersByTime(1);
    expect(latest().closedWith).toBe(4000);

    latest().drop(4000); // what the browser reports once the close completes
    vi.advanceTimersByTime(500);
    expect(sockets).toHaveLength(2);
    expect(latest().query).toBe("?epoch=e1&since=0");
  });
});

describe("presence", () => {
  it("announces claims only while live, and again after every reconnect", () => {
    connection.start();
    connection.claim(7, "viewing"); // before welcome: remembered, not sent
    expect(latest().sent).toEqual([]);
    latest().welcome("e1", 0);
    connection.claim(7, "viewing"); // unchanged: not sent again
    connection.claim(7, "replying");
    connection.claim(8, "viewing");
    connection.claim(8, null);
    expect(latest().sent).toEqual([
      { type: "viewing", ticket_id: 7 },
      { type: "replying", ticket_id: 7 },
      { type: "viewing", ticket_id: 8 },
      { type: "left", ticket_id: 8 },
    ]);

    latest().drop(1006);
    vi.advanceTimersByTime(500);
    latest().welcome("e1", 0);
    expect(latest().sent).toEqual([{ type: "replying", ticket_id: 7 }]);
  });

  it("shows who is on a ticket from snapshots and events, and forgets it when the socket closes", () => {
    connection.start();
    latest().welcome("e1", 0);
    latest().deliver({ type: "presence", ticket_id: 7, agents: [{ agent_id: 1, state: "viewing" }] });
    latest().event(1, {
      type: "presence",
      op: "changed",
      id: 7,
      version: null,
      data: { agents: [{ agent_id: 1, state: "viewing" }, { agent_id: 2, state: "replying" }] },
    });
    expect(othersOnTicket(7, 1)).toEqual([{ agent_id: 2, state: "replying" }]);

    latest().drop(1006);
    expect(othersOnTicket(7, 1)).toEqual([]);
  });
});

describe("presence board", () => {
  it("replaces what the tab knew with the board sent on connect", () => {
    connection.start();
    latest().welcome("e1", 0);
    latest().deliver({ type: "presence", ticket_id: 3, agents: [{ agent_id: 2, state: "viewing" }] });
    latest().deliver({
      type: "presence_board",
      tickets: [{ ticket_id: 7, agents: [{ agent_id: 2, state: "replying" }] }],
    });
    expect(othersOnTicket(3, 1)).toEqual([]);
    expect(othersOnTicket(7, 1)).toEqual([{ agent_id: 2, state: "replying" }]);
  });
});

describe("loadThenFollow", () => {
  interface Ticket {
    version: number;
  }

  function follower() {
    const applied: number[] = [];
    let refetches = 0;
    let finishLoad: (ticket: Ticket) => void = () => {};
    const options = {
      load: () => new Promise<Ticket>((resolve) => (finishLoad = resolve)),
      isNewer: (loaded: Ticket, event: LiveEvent) => (event.version ?? 0) > loaded.version,
      apply: (event: LiveEvent) => applied.push(event.version ?? -1),
      resync: () => (refetches += 1),
    };
    return {
      options,
      applied,
      refetches: () => refetches,
      finishLoad: (ticket: Ticket) => finishLoad(ticket),
    };
  }

  it("applies only the buffered events newer than what was fetched, then follows live", async () => {
    const view = follower();
    const following = followOn(connection, view.options);
    latest().welcome("e1", 0); // the resync of a first welcome is covered by the fetch that follows
    await vi.advanceTimersByTimeAsync(0);
    latest().event(1, { version: 3 }); // arrives while the fetch runs
    latest().event(2, { version: 5 });
    view.finishLoad({ version: 4 });
    const { loaded } = await following;
    expect(loaded).toEqual({ version: 4 });
    latest().event(3, { version: 6 });
    expect(view.applied).toEqual([5, 6]);
    expect(view.refetches()).toBe(0);
  });

  it("refetches instead of applying the buffer when a resync came during the fetch", async () => {
    const view = follower();
    const following = followOn(connection, view.options);
    latest().welcome("e1", 0);
    await vi.advanceTimersByTimeAsync(0);
    latest().event(1, { version: 5 });
    latest().deliver({ type: "resync", epoch: "e2", seq: 0 });
    view.finishLoad({ version: 4 });
    await following;
    expect(view.applied).toEqual([]);
    expect(view.refetches()).toBe(1);
  });

  it("does not wait for the socket longer than its patience when /ws does not answer", async () => {
    const view = follower();
    let loadStarted = false;
    const load = view.options.load;
    const following = followOn(connection, { ...view.options, load: () => ((loadStarted = true), load()) });
    await vi.advanceTimersByTimeAsync(1_499);
    expect(loadStarted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(loadStarted).toBe(true);
    view.finishLoad({ version: 1 });
    await following;
  });

  it("stops listening when the fetch fails", async () => {
    const view = follower();
    const following = followOn(connection, { ...view.options, load: () => Promise.reject(new Error("500")) });
    latest().welcome("e1", 0);
    await expect(following).rejects.toThrow("500");
    latest().event(1, { version: 9 });
    expect(view.applied).toEqual([]);
  });
});
