// The dashboard's pure helpers: which live events refetch it, CSV links and number formats.
import { describe, expect, it } from "vitest";
import type { LiveEvent } from "../live";
import { affectsDashboard, csvUrl, formatMinutes, formatPercent } from "./dashboard";

function event(type: string, op = "updated"): LiveEvent {
  return { type, op, id: 1, version: null, data: {} };
}

describe("the SLA dashboard", () => {
  it("refetches on ticket, message and SLA events, and ignores presence", () => {
    expect(affectsDashboard(event("ticket"))).toBe(true);
    expect(affectsDashboard(event("message", "created"))).toBe(true);
    expect(affectsDashboard(event("sla", "breach"))).toBe(true);
    expect(affectsDashboard(event("presence"))).toBe(false);
    expect(affectsDashboard(event("saved_filter"))).toBe(false);
  });

  it("puts the filters on screen into the CSV links, leaving out the unset ones", () => {
    const url = csvUrl("breakdown", { days: 7, team_id: 3, policy_id: null }, { by: "agent" });
    expect(url).toBe("/api/dashboard/breakdown.csv?days=7&team_id=3&by=agent");
  });

  it("formats business minutes and percentages, with a dash for nothing measured", () => {
    expect(formatMinutes(null)).toBe("–");
    expect(formatMinutes(42.4)).toBe("42 min");
    expect(formatMinutes(125)).toBe("2 h 5 min");
    expect(formatPercent(null)).toBe("–");
    expect(formatPercent(87.456)).toBe("87.5 %");
  });
});
