// Queue definitions: finding built-in and saved queues, and what of a list's filters can be saved.
import { afterEach, describe, expect, it } from "vitest";
import { QUEUES, findQueue, forgetSavedFilters, saveableFields, savedFilters, savedQueueKey } from "./queues";

afterEach(forgetSavedFilters);

describe("findQueue", () => {
  it("finds built-in queues, breaching soon among them", () => {
    expect(findQueue("mine")?.label).toBe("My open");
    expect(findQueue("breaching")?.source).toEqual({ kind: "breaching" });
    expect(QUEUES.map((queue) => queue.key)).toContain("solved");
  });

  it("finds the agent's saved filters by key, once loaded", () => {
    expect(findQueue(savedQueueKey(7))).toBeUndefined();
    savedFilters.items = [
      { id: 7, name: "VIP", filters: { tag: "vip", priority: "urgent" }, created_at: "", updated_at: "" },
    ];
    const queue = findQueue("saved-7");
    expect(queue?.label).toBe("VIP");
    expect(queue?.savedFilterId).toBe(7);
    expect(queue?.source).toEqual({ kind: "filters", filters: { tag: "vip", priority: "urgent" } });
  });
});

describe("saveableFields", () => {
  it("keeps the filters and leaves out sorting, paging and empty values", () => {
    expect(
      saveableFields({ status: "open", assignee: "me", tag: "", q: "printer", sort: "created", cursor: "x", limit: 50 }),
    ).toEqual({ status: "open", assignee: "me", q: "printer" });
  });
});
