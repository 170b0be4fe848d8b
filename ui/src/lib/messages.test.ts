import { describe, expect, it } from "vitest";
import { excerpt, lastEditable, mergeMessages, oldestSeq, quoteText, removeMessage, upsertConversation, withReactions, withUpload } from "./messages";
import type { ConversationSummary, LocalMessage } from "./bindings";

const m = (seq: number | null, key: string, over: Partial<LocalMessage> = {}): LocalMessage => ({
  id: seq === null ? null : `id-${key}`,
  conversation_id: "c1",
  seq,
  sender_id: "me",
  body: key,
  client_msg_id: key,
  created_at: `2026-03-02T10:00:${String(seq ?? 59).padStart(2, "0")}Z`,
  state: seq === null ? "pending" : "sent",
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

const conv = (id: string, at: string): ConversationSummary => ({
  id,
  kind: "direct",
  title: null,
  display_title: id,
  members: [],
  last_seq: 0,
  last_message: null,
  unread_count: 0,
  muted: false,
  application: null,
  bridge: null,
  created_at: at,
});

describe("mergeMessages", () => {
  it("replaces a pending message by its acknowledged self, without duplicating it", () => {
    const pending = m(null, "k3");
    const list = mergeMessages([m(1, "k1"), m(2, "k2")], [pending]);
    expect(list.map((x) => x.client_msg_id)).toEqual(["k1", "k2", "k3"]);
    const acked = mergeMessages(list, [m(3, "k3", { state: "delivered" })]);
    expect(acked).toHaveLength(3);
    expect(acked[2]).toMatchObject({ seq: 3, state: "delivered" });
  });

  it("keeps the acknowledged copy when the pending one comes back late", () => {
    // The send command's answer can reach the UI after the engine's ack event.
    const acked = mergeMessages([m(1, "k1")], [m(2, "k2", { state: "delivered" })]);
    const late = mergeMessages(acked, [m(null, "k2")]);
    expect(late).toHaveLength(2);
    expect(late[1]).toMatchObject({ seq: 2, state: "delivered" });
  });

  it("never moves a stored message's state backward", () => {
    const read = mergeMessages([], [m(4, "k4", { state: "read" })]);
    expect(mergeMessages(read, [m(4, "k4", { state: "sent" })])[0].state).toBe("read");
    expect(mergeMessages(read, [m(4, "k4", { state: "read", body: "edited" })])[0].body).toBe("edited");
  });

  it("lets a failed message go back to pending when retried", () => {
    const failed = mergeMessages([], [m(null, "f", { state: "failed", error: "rate_limited" })]);
    expect(mergeMessages(failed, [m(null, "f")])[0].state).toBe("pending");
  });

  it("puts an older page before the loaded one and keeps pending messages last", () => {
    const loaded = mergeMessages([], [m(51, "a"), m(52, "b"), m(null, "p")]);
    const withOlder = mergeMessages(loaded, [m(49, "y"), m(50, "z")]);
    expect(withOlder.map((x) => x.seq)).toEqual([49, 50, 51, 52, null]);
    expect(oldestSeq(withOlder)).toBe(49);
  });

  it("does not duplicate a message delivered twice (live and through catch-up)", () => {
    const once = mergeMessages([], [m(7, "x")]);
    expect(mergeMessages(once, [m(7, "x")])).toHaveLength(1);
  });

  it("removes discarded messages", () => {
    expect(removeMessage([m(1, "a"), m(null, "b")], "b").map((x) => x.client_msg_id)).toEqual(["a"]);
  });
});

describe("conversation order", () => {
  it("keeps the most recently active first", () => {
    let list = upsertConversation([], conv("old", "2026-01-01T00:00:00Z"));
    list = upsertConversation(list, conv("new", "2026-02-01T00:00:00Z"));
    expect(list.map((c) => c.id)).toEqual(["new", "old"]);
    list = upsertConversation(list, { ...conv("old", "2026-01-01T00:00:00Z"), last_message: m(1, "z", { created_at: "2026-03-01T00:00:00Z" }) });
    expect(list.map((c) => c.id)).toEqual(["old", "new"]);
    expect(list).toHaveLength(2);
  });
});

describe("Up to edit", () => {
  it("finds the last own message that is not deleted, sent or still queued", () => {
    expect(lastEditable([m(1, "a"), m(null, "b", { state: "failed" })], "me")?.client_msg_id).toBe("b");
    expect(lastEditable([m(1, "a"), m(2, "b", { sender_id: "other" })], "me")?.client_msg_id).toBe("a");
    expect(lastEditable([m(1, "a"), m(2, "b", { deleted_at: "2026-03-02T10:01:00Z" })], "me")?.client_msg_id).toBe("a");
    expect(lastEditable([m(1, "a", { sender_id: "other" })], "me")).toBeUndefined();
    expect(lastEditable([m(1, "a", { kind: "system" })], "me")).toBeUndefined();
  });
});

describe("changes to shown messages", () => {
  it("replaces the reactions of the one message they belong to", () => {
    const r = [{ emoji: "👍", user_ids: ["other"], mine: false, pending: false }];
    const list = withReactions([m(1, "a"), m(2, "b")], "id-b", r);
    expect(list[1].reactions).toEqual(r);
    expect(list[0].reactions).toEqual([]);
  });

  it("moves the upload progress of a pending message only", () => {
    const list = withUpload([m(1, "a"), m(null, "b")], "b", 5, 10);
    expect(list[1].upload).toEqual({ done: 5, total: 10 });
    expect(withUpload([m(1, "a")], "a", 5, 10)[0].upload).toBeNull();
  });

  it("lets an edit replace the body but never move the state back", () => {
    const read = m(1, "a", { state: "read" });
    const edited = m(1, "a", { body: "fixed", edited_at: "2026-03-02T10:05:00Z", state: "sent" });
    const [shown] = mergeMessages([read], [edited]);
    expect([shown.body, shown.edited_at, shown.state]).toEqual(["fixed", "2026-03-02T10:05:00Z", "read"]);
  });
});

describe("quotes", () => {
  const preview = { message_id: "id-a", seq: 1, sender_id: "other", body: "When  can\nyou start?", attachments: 0, deleted: false };
  it("quote the answered message's text on one line, or say what it was", () => {
    expect(quoteText(preview)).toBe("When can you start?");
    expect(quoteText({ ...preview, body: "", attachments: 2 })).toBe("2 files");
    expect(quoteText({ ...preview, body: "", attachments: 1 })).toBe("1 file");
    expect(quoteText({ ...preview, body: "", deleted: true })).toBe("Message deleted");
  });

  it("cut long text for the composer and name a lone file", () => {
    expect(excerpt(m(1, "x".repeat(300)), 10)).toBe("xxxxxxxxx…");
    const file = { id: "f", filename: "CV.pdf", content_type: "application/pdf", size: 3, sha256: "", width: null, height: null };
    expect(excerpt(m(1, "", { body: "", attachments: [file] }))).toBe("CV.pdf");
  });
});
