import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Deferred } from "./undo";

describe("deferred actions", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("run after the grace period unless taken back", () => {
    const d = new Deferred();
    const ran: string[] = [];
    d.schedule("a", 5000, () => ran.push("a"));
    d.schedule("b", 5000, () => ran.push("b"));
    vi.advanceTimersByTime(4999);
    expect(ran).toEqual([]);
    expect(d.cancel("b")).toBe(true);
    expect(d.cancel("b")).toBe(false);
    vi.advanceTimersByTime(1);
    expect(ran).toEqual(["a"]);
    expect(d.has("a")).toBe(false);
  });

  it("replace a pending action of the same key, and run all at once on flush", () => {
    const d = new Deferred();
    const ran: string[] = [];
    d.schedule("a", 5000, () => ran.push("first"));
    d.schedule("a", 5000, () => ran.push("second"));
    d.schedule("b", 5000, () => ran.push("b"));
    d.flush();
    expect(ran).toEqual(["second", "b"]);
    vi.advanceTimersByTime(10_000);
    expect(ran).toEqual(["second", "b"]);
  });
});
