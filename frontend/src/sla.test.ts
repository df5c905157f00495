// SLA countdown helpers: levels judged at a given instant, and how time left reads.
import { describe, expect, it } from "vitest";
import { formatCountdown, levelAt, targetLabel } from "./sla";

const DUE = "2026-11-28T12:00:00Z";
const WARN = "2026-11-28T11:30:00Z";
const at = (iso: string) => Date.parse(iso);

describe("levelAt", () => {
  it("is ok before the warn time, warning after it, breached from the due time on", () => {
    expect(levelAt(DUE, WARN, at("2026-11-28T11:00:00Z"))).toBe("ok");
    expect(levelAt(DUE, WARN, at("2026-11-28T11:30:00Z"))).toBe("warning");
    expect(levelAt(DUE, WARN, at("2026-11-28T12:00:00Z"))).toBe("breached");
  });

  it("never warns without a warn time", () => {
    expect(levelAt(DUE, null, at("2026-11-28T11:59:00Z"))).toBe("ok");
  });
});

describe("formatCountdown", () => {
  it("reads seconds, minutes, hours and days left", () => {
    expect(formatCountdown(DUE, at("2026-11-28T11:59:20Z"))).toBe("40s");
    expect(formatCountdown(DUE, at("2026-11-28T11:15:00Z"))).toBe("45m");
    expect(formatCountdown(DUE, at("2026-11-28T09:55:00Z"))).toBe("2h 05m");
    expect(formatCountdown(DUE, at("2026-11-25T08:00:00Z"))).toBe("3d 4h");
  });

  it("says how long ago an overdue clock was due", () => {
    expect(formatCountdown(DUE, at("2026-11-28T12:12:30Z"))).toBe("12m over");
  });
});

describe("targetLabel", () => {
  it("names the known targets and keeps unknown ones readable", () => {
    expect(targetLabel("first_response")).toBe("First response");
    expect(targetLabel("custom_target")).toBe("custom target");
  });
});
