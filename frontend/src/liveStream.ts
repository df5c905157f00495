// Where a tab stands in the server's event stream, and the reconnect arithmetic (pure: no socket,
// no timers, no Vue). The protocol is described in helpdesk/live/__init__.py.

// Close codes from helpdesk/live/protocol.py.
export const CLOSE_BAD_REQUEST = 4400;
export const CLOSE_NOT_AUTHENTICATED = 4401;
export const CLOSE_HEARTBEAT_MISSED = 4000; // ours: the server went silent

export const MAX_BACKOFF_SECONDS = 30;
export const DEFAULT_HEARTBEAT_SECONDS = 20;

/**
 * The epoch and the last sequence number this tab has seen. A sequence number only means
 * something within its epoch; a new epoch (server restart) means events may have been missed.
 */
export class StreamPosition {
  epoch: string | null = null;
  lastSeq = 0;

  /** The `?epoch=…&since=…` that asks the server to replay what was missed; empty for a fresh start. */
  resumeQuery(): string {
    return this.epoch === null ? "" : `?epoch=${encodeURIComponent(this.epoch)}&since=${this.lastSeq}`;
  }

  /**
   * A welcome arrived. Returns true when it continues our stream (the server then replays what
   * we missed, or says resync); false when nobody can tell what was missed, so views must refetch.
   */
  welcome(epoch: string, seq: number): boolean {
    const continues = this.epoch === epoch;
    this.epoch = epoch;
    // When continuing, the replay that follows carries numbers up to `seq`: keep ours.
    if (!continues) this.lastSeq = seq;
    return continues;
  }

  /** Whether an event is new to us (and remember it). Numbers only increase; gaps are events meant for others. */
  accept(seq: number): boolean {
    if (seq <= this.lastSeq) return false;
    this.lastSeq = seq;
    return true;
  }

  /** The server could not replay: continue from where it stands now (after a refetch). */
  resync(epoch: string, seq: number): void {
    this.epoch = epoch;
    this.lastSeq = seq;
  }

  /** Start a fresh stream next time (logout, or the server could not read our resume point). */
  forget(): void {
    this.epoch = null;
    this.lastSeq = 0;
  }
}

/**
 * Seconds to wait before reconnect attempt `attempt` (0 for the first): exponential up to
 * MAX_BACKOFF_SECONDS, with jitter in its upper half so a restarted server is not hit by every
 * tab at once. `random` is in [0, 1).
 */
export function retryDelaySeconds(attempt: number, random: number): number {
  const ceiling = Math.min(MAX_BACKOFF_SECONDS, 2 ** attempt);
  return ceiling / 2 + random * (ceiling / 2);
}

/** The server pings every heartbeat; silence for much longer (2.5 beats) means a dead connection. */
export function watchdogMs(heartbeatSeconds: number): number {
  return heartbeatSeconds * 2500;
}
