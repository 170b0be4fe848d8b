// How the message list of one conversation changes: merging pages and live events. Pure.
import { messageLine } from "./cards";
import type { ConversationSummary, LocalMessage, LocalReaction, MessageState, ReplyPreview } from "./bindings";

/** The identity of a message across its states (pending → sent → read). */
export function messageKey(m: LocalMessage): string {
  return m.client_msg_id || m.id || `${m.conversation_id}:${m.seq}`;
}

const RANK: Record<MessageState, number> = { failed: -1, pending: 0, sent: 1, delivered: 2, read: 3 };

function order(a: LocalMessage, b: LocalMessage): number {
  // Stored messages by seq; pending and failed ones (no seq yet) after them, oldest first.
  if (a.seq !== null && b.seq !== null) return a.seq - b.seq;
  if (a.seq !== null) return -1;
  if (b.seq !== null) return 1;
  return a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0;
}

/** Adds or replaces messages (by identity, and by id for a message seen under another key). */
export function mergeMessages(list: LocalMessage[], incoming: LocalMessage[]): LocalMessage[] {
  const byKey = new Map<string, LocalMessage>();
  const keyOfId = new Map<string, string>();
  for (const m of list) {
    byKey.set(messageKey(m), m);
    if (m.id) keyOfId.set(m.id, messageKey(m));
  }
  for (const m of incoming) {
    const key = (m.id && keyOfId.get(m.id)) || messageKey(m);
    const known = byKey.get(key);
    byKey.set(key, known ? later(known, m) : m);
    if (m.id) keyOfId.set(m.id, key);
  }
  return [...byKey.values()].sort(order);
}

/**
 * Which of two copies of one message to keep. Copies can arrive out of order: the `send`
 * command's pending copy may come back after the engine already announced the hub's ack. A
 * stored message never returns to the outbox, and its state only moves forward.
 */
function later(known: LocalMessage, incoming: LocalMessage): LocalMessage {
  if (known.seq === null) return incoming;
  if (incoming.seq === null) return known;
  return RANK[incoming.state] >= RANK[known.state] ? incoming : { ...incoming, state: known.state };
}

export function removeMessage(list: LocalMessage[], clientMsgId: string): LocalMessage[] {
  return list.filter((m) => m.client_msg_id !== clientMsgId);
}

/** When a conversation was last active, for sorting the list. */
export function activity(c: ConversationSummary): string {
  return c.last_message?.created_at ?? c.created_at;
}

/** Adds or replaces a conversation and keeps the list by recent activity, newest first. */
export function upsertConversation(list: ConversationSummary[], c: ConversationSummary): ConversationSummary[] {
  const rest = list.filter((x) => x.id !== c.id);
  rest.push(c);
  return rest.sort((a, b) => (activity(a) < activity(b) ? 1 : activity(a) > activity(b) ? -1 : 0));
}

/** The oldest stored seq of a loaded page: where the next (older) page ends. */
export function oldestSeq(list: LocalMessage[]): number | null {
  for (const m of list) if (m.seq !== null) return m.seq;
  return null;
}

/** The last own message that can still be edited (not deleted), for Up-to-edit. */
export function lastEditable(list: LocalMessage[], meId: string): LocalMessage | undefined {
  for (let i = list.length - 1; i >= 0; i--) {
    const m = list[i];
    if (m.sender_id === meId && m.deleted_at === null && m.kind === "text") return m;
  }
  return undefined;
}

/** The list with one message's reactions replaced (a `reactions` event). */
export function withReactions(list: LocalMessage[], messageId: string, reactions: LocalReaction[]): LocalMessage[] {
  return list.map((m) => (m.id === messageId ? { ...m, reactions } : m));
}

/** The list with a pending message's upload progress updated (an `upload_progress` event). */
export function withUpload(list: LocalMessage[], clientMsgId: string, done: number, total: number): LocalMessage[] {
  return list.map((m) => (m.client_msg_id === clientMsgId && m.seq === null ? { ...m, upload: { done, total } } : m));
}

/** What a quote of an answered message says. */
export function quoteText(r: ReplyPreview): string {
  if (r.deleted) return "Message deleted";
  const text = r.body.replace(/\s+/g, " ").trim();
  if (text) return text;
  if (r.attachments === 0) return "A card";
  return r.attachments === 1 ? "1 file" : `${r.attachments} files`;
}

/** What the composer quotes of a message being answered or edited. */
export function excerpt(m: LocalMessage, max = 120): string {
  const text = messageLine(m);
  const shown = text || (m.attachments.length === 1 ? m.attachments[0].filename : `${m.attachments.length} files`);
  return [...shown].length > max ? `${[...shown].slice(0, max - 1).join("")}…` : shown;
}
