// SLA countdowns: one shared one-second tick, counted in the server's time (the API answers
// with its `now`, so a browser whose clock is off still shows the right time left).
import { computed, onBeforeUnmount, onMounted, ref, type ComputedRef } from "vue";
import type { SlaLevel } from "./api";

const offsetMs = ref(0); // server time minus browser time
const browserNow = ref(Date.now());
let users = 0;
let timer: number | undefined;

/** Remember how far the server's clock is from ours (call with the `now` of an API answer). */
export function syncServerTime(serverNow: string): void {
  const parsed = Date.parse(serverNow);
  if (Number.isFinite(parsed)) offsetMs.value = parsed - Date.now();
}

/** The server's time at this moment, in ms (not reactive). */
export function serverNow(): number {
  return Date.now() + offsetMs.value;
}

/** The server's time now, in ms, updated every second while a component using it is mounted. */
export function useServerNow(): ComputedRef<number> {
  onMounted(() => {
    users += 1;
    if (users === 1) timer = window.setInterval(() => (browserNow.value = Date.now()), 1000);
  });
  onBeforeUnmount(() => {
    users -= 1;
    if (users === 0) window.clearInterval(timer);
  });
  return computed(() => browserNow.value + offsetMs.value);
}

/** Breached once due, warning once past the warn time: judged now, not when the clock was stored. */
export function levelAt(dueAt: string, warnAt: string | null, now: number): SlaLevel {
  if (Date.parse(dueAt) <= now) return "breached";
  if (warnAt && Date.parse(warnAt) <= now) return "warning";
  return "ok";
}

/** "45m", "2h 05m", "3d 4h"; overdue times read "12m over". */
export function formatCountdown(dueAt: string, now: number): string {
  const ms = Date.parse(dueAt) - now;
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  let text: string;
  if (minutes < 1) text = `${Math.floor(Math.abs(ms) / 1000)}s`;
  else if (minutes < 60) text = `${minutes}m`;
  else if (minutes < 24 * 60) text = `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, "0")}m`;
  else text = `${Math.floor(minutes / 1440)}d ${Math.floor((minutes % 1440) / 60)}h`;
  return ms < 0 ? `${text} over` : text;
}

const TARGET_LABELS: Record<string, string> = {
  first_response: "First response",
  next_response: "Next response",
  resolution: "Resolution",
};

export function targetLabel(target: string): string {
  return TARGET_LABELS[target] ?? target.replace(/_/g, " ");
}
