import { describe, expect, it } from "vitest";
import { banner, dayLabel, initials, lastSeen, linkify, preview, sameGroup, typingText } from "./format";
import type { LocalMessage } from "./bindings";

const msg = (over: Partial<LocalMessage>): LocalMessage => ({
  id: "m1",
  conversation_id: "c1",
  seq: 1,
  sender_id: "u1",
  body: "hi",
  client_msg_id: "k1",
  created_at: "2026-03-02T10:00:00Z",
  state: "sent",
  error: null,
  kind: "text",
  card: null,
  reply_to: null,
  reply: null,
  attachments: [],
  reactions: [],
  edited_at: null,
  deleted_at: null,
  rev: 0,
  change: null,
  upload: null,
  ...over,
});

describe("connection banner", () => {
  it("is hidden while connected", () => {
    expect(banner({ state: "connected", transport: "websocket" }, 0, 0, null)).toBeNull();
  });

  it("counts down to the next attempt, with the issue's wording", () => {
    const b = banner({ state: "reconnecting", attempt: 3, retry_in_ms: 4000 }, 1000, 1100, null)!;
    expect(`${b.text} — ${b.actionText}`).toBe("Reconnecting in 4 s (attempt 3) — Retry now");
    expect(b.state).toBe("reconnecting");
    const later = banner({ state: "reconnecting", attempt: 3, retry_in_ms: 4000 }, 1000, 3500, null)!;
    expect(later.text).toBe("Reconnecting in 2 s (attempt 3)");
  });

  it("says what offline and signed out mean", () => {
    expect(banner({ state: "offline", reason: "x" }, 0, 0, null)!.text).toBe("Offline — your messages will be sent when you're back");
    const s = banner({ state: "signed_out" }, 0, 0, null)!;
    expect(`${s.text} — ${s.actionText}`).toBe("Signed out — sign in again");
  });

  it("announces a catch-up, singular and plural", () => {
    expect(banner({ state: "connected", transport: "websocket" }, 0, 0, 17)!.text).toBe("Synced 17 new messages");
    expect(banner({ state: "connected", transport: "websocket" }, 0, 0, 1)!.text).toBe("Synced 1 new message");
    expect(banner({ state: "connected", transport: "websocket" }, 0, 0, 0)).toBeNull();
    expect(banner({ state: "connected", transport: "http_fallback" }, 0, 0, null)!.text).toBe(
      "Connected · via HTTP fallback (this network blocks live connections)",
    );
    expect(banner({ state: "connected", transport: "http_fallback" }, 0, 0, 3)!.state).toBe("synced");
  });
});

describe("linkify", () => {
  it("keeps markup as text and finds only web links", () => {
    const parts = linkify("<img src=x onerror=alert(1)> see https://jobs.example/42. or javascript:alert(1)");
    expect(parts[0]).toEqual({ kind: "text", text: "<img src=x onerror=alert(1)> see " });
    expect(parts[1]).toEqual({ kind: "link", text: "https://jobs.example/42", href: "https://jobs.example/42" });
    expect(parts.filter((p) => p.kind === "link")).toHaveLength(1);
    expect(parts.map((p) => p.text).join("")).toBe("<img src=x onerror=alert(1)> see https://jobs.example/42. or javascript:alert(1)");
  });

  it("returns plain text untouched", () => {
    expect(linkify("hello")).toEqual([{ kind: "text", text: "hello" }]);
  });
});

describe("names and times", () => {
  it("makes initials", () => {
    expect(initials("Carl Jensen")).toBe("CJ");
    expect(initials("ana")).toBe("A");
    expect(initials("  ")).toBe("?");
    expect(initials("Ana Maria Lima")).toBe("AL");
  });

  it("labels days relative to now", () => {
    const now = new Date(2026, 2, 10, 12, 0);
    expect(dayLabel(new Date(2026, 2, 10, 8, 0).toISOString(), now)).toBe("Today");
    expect(dayLabel(new Date(2026, 2, 9, 23, 0).toISOString(), now)).toBe("Yesterday");
    expect(dayLabel(new Date(2026, 2, 6, 9, 0).toISOString(), now)).toBe("Friday");
    expect(dayLabel(new Date(2025, 11, 24, 9, 0).toISOString(), now)).toContain("2025");
  });

  it("says when someone was last seen", () => {
    const now = new Date(2026, 2, 10, 12, 0);
    expect(lastSeen(new Date(2026, 2, 10, 11, 59, 40).toISOString(), now)).toBe("last seen just now");
    expect(lastSeen(new Date(2026, 2, 10, 11, 55).toISOString(), now)).toBe("last seen 5 min ago");
    expect(lastSeen(new Date(2026, 2, 9, 18, 40).toISOString(), now)).toMatch(/^last seen yesterday at 18:40$/);
    expect(lastSeen(null, now)).toBe("offline");
  });

  it("words typing", () => {
    expect(typingText(["Carl"])).toBe("Carl is typing");
    expect(typingText(["Carl", "Ana"])).toBe("Carl and Ana are typing");
    expect(typingText(["a", "b", "c"])).toBe("3 people are typing");
    expect(typingText([])).toBe("");
  });
});

describe("grouping and previews", () => {
  it("groups one sender's messages within five minutes", () => {
    const a = msg({});
    expect(sameGroup(a, msg({ created_at: "2026-03-02T10:04:00Z" }))).toBe(true);
    expect(sameGroup(a, msg({ created_at: "2026-03-02T10:06:00Z" }))).toBe(false);
    expect(sameGroup(a, msg({ sender_id: "u2" }))).toBe(false);
    expect(sameGroup(undefined, a)).toBe(false);
  });

  it("previews own messages with You:", () => {
    expect(preview(msg({ body: "hello\n  there" }), "u1")).toBe("You: hello there");
    expect(preview(msg({}), "u2")).toBe("hi");
    expect(preview(null, "u1")).toBe("No messages yet");
  });
});
