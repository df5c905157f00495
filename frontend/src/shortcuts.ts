// Single-key shortcuts. A component registers the keys it handles while it is mounted; if two
// mounted ones handle the same key, the one mounted last wins. Keys typed into a field are the
// field's, never a shortcut (Escape leaves the field).
import { onBeforeUnmount, onMounted } from "vue";

export type ShortcutMap = Record<string, () => void>;

/** What the help overlay lists. */
export const SHORTCUT_HELP: { keys: string[]; action: string }[] = [
  { keys: ["j", "k"], action: "Next / previous ticket in the list" },
  { keys: ["o", "Enter"], action: "Open the selected ticket" },
  { keys: ["r"], action: "Reply to the customer" },
  { keys: ["n"], action: "Write an internal note" },
  { keys: ["a"], action: "Assign the ticket to me" },
  { keys: ["/"], action: "Search tickets" },
  { keys: ["?"], action: "Show or hide this help" },
  { keys: ["Esc"], action: "Leave a text field, close this help" },
];

const layers: ShortcutMap[] = [];

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) return !["checkbox", "radio", "button", "submit", "reset", "file"].includes(target.type);
  return false;
}

function onKeydown(event: KeyboardEvent): void {
  if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing || event.defaultPrevented) return;
  if (isTyping(event.target)) {
    if (event.key === "Escape") (event.target as HTMLElement).blur();
    return;
  }
  // Enter on a focused link or button keeps its own meaning.
  if (event.key === "Enter" && event.target instanceof HTMLElement && event.target.closest("a, button")) return;
  for (let i = layers.length - 1; i >= 0; i -= 1) {
    const handler = layers[i][event.key];
    if (handler) {
      event.preventDefault();
      handler();
      return;
    }
  }
}

let listening = false;

/** Handle these keys while the calling component is mounted. */
export function useShortcuts(map: ShortcutMap): void {
  onMounted(() => {
    if (!listening) {
      window.addEventListener("keydown", onKeydown);
      listening = true;
    }
    layers.push(map);
  });
  onBeforeUnmount(() => {
    const index = layers.indexOf(map);
    if (index >= 0) layers.splice(index, 1);
  });
}
