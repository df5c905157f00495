import { describe, expect, it } from "vitest";
import { MAX_BACKOFF_SECONDS, StreamPosition, retryDelaySeconds, watchdogMs } from "./liveStream";

describe("StreamPosition", () => {
  it("starts fresh: no resume query, and the first welcome asks for a refetch", () => {
    const position = new StreamPosition();
    expect(position.resumeQuery()).toBe("");
    expect(position.welcome("e1", 12)).toBe(false);
    expect(position.lastSeq).toBe(12);
    expect(position.resumeQuery()).toBe("?epoch=e1&since=12");
  });

  it("accepts increasing numbers with gaps, and drops duplicates and older ones", () => {
    const position = new StreamPosition();
    position.welcome("e1", 0);
    const accepted = [1, 2, 2, 5, 3, 5, 6].filter((seq) => position.accept(seq));
    expect(accepted).toEqual([1, 2, 5, 6]);
    expect(position.resumeQuery()).toBe("?epoch=e1&since=6");
  });

  it("keeps its number on a welcome of the same epoch, so the replay that follows is accepted", () => {
    const position = new StreamPosition();
    position.welcome("e1", 0);
    position.accept(4);
    expect(position.welcome("e1", 9)).toBe(true);
    expect(position.lastSeq).toBe(4);
    expect([5, 6, 9].map((seq) => position.accept(seq))).toEqual([true, true, true]);
  });

  it("takes the server's number on a welcome of another epoch (a restart: events may be lost)", () => {
    const position = new StreamPosition();
    position.welcome("e1", 0);
    position.accept(40);
    expect(position.welcome("e2", 3)).toBe(false);
    expect(position.accept(3)).toBe(false); // already covered by the refetch
    expect(position.accept(4)).toBe(true);
  });

  it("continues from the server's position after a resync, even if that number is lower", () => {
    const position = new StreamPosition();
    position.welcome("e1", 0);
    position.accept(30);
    position.resync("e2", 0); // the server's listener reconnected and began a new epoch
    expect(position.accept(1)).toBe(true);
    expect(position.resumeQuery()).toBe("?epoch=e2&since=1");
  });

  it("escapes the epoch in the resume query and forgets everything on request", () => {
    const position = new StreamPosition();
    position.welcome("a b&c", 2);
    expect(position.resumeQuery()).toBe("?epoch=a%20b%26c&since=2");
    position.forget();
    expect(position.resumeQuery()).toBe("");
    expect(position.lastSeq).toBe(0);
  });
});

describe("retryDelaySeconds", () => {
  it("doubles per attempt within the upper half of its ceiling", () => {
    expect([0, 1, 2, 3].map((attempt) => retryDelaySeconds(attempt, 0))).toEqual([0.5, 1, 2, 4]);
    [1, 2, 4, 8].forEach((ceiling, attempt) => expect(retryDelaySeconds(attempt, 0.999)).toBeCloseTo(ceiling * 0.9995));
  });

  it("never exceeds the ceiling however many attempts failed", () => {
    expect(retryDelaySeconds(40, 0.999)).toBeLessThan(MAX_BACKOFF_SECONDS);
    expect(retryDelaySeconds(40, 0)).toBe(MAX_BACKOFF_SECONDS / 2);
  });
});

describe("watchdogMs", () => {
  it("allows two and a half heartbeats of silence", () => {
    expect(watchdogMs(20)).toBe(50_000);
    expect(watchdogMs(1)).toBe(2_500);
  });
});
