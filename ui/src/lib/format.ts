// Pure presentation helpers: no DOM, no shell. Unit-tested in format.test.ts.
import { messageLine } from "./cards";
import type { ConnectionState, LocalMessage, MessageState, Presence, PresenceStatus } from "./bindings";

/** "Carl Jensen" → "CJ", "ana" → "A", "" → "?" */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return "?";
  const first = [...words[0]][0] ?? "";
  const last = words.length > 1 ? ([...words[words.length - 1]][0] ?? "") : "";
  return (first + last).toUpperCase();
}

/** A stable colour slot (0..7) for an avatar, from the user or conversation id. */
export function hueSlot(key: string): number {
  let h = 0;
  for (const ch of key) h = (h * 31 + ch.codePointAt(0)!) >>> 0;
  return h % 8;
}

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

const DAY = 86_400_000;

/** The label of a day separator: Today, Yesterday, a weekday within the week, else a date. */
export function dayLabel(iso: string, now: Date = new Date()): string {
  const d = new Date(iso);
  const days = Math.round((startOfDay(now) - startOfDay(d)) / DAY);
  if (days === 0) return "Today";
  if (days === 1) return "Yesterday";
  if (days > 1 && days < 7) return d.toLocaleDateString("en-GB", { weekday: "long" });
  const sameYear = d.getFullYear() === now.getFullYear();
  return d.toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "long", ...(sameYear ? {} : { year: "numeric" }) });
}

/** The day key used to place separators. */
export function dayKey(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** 14:05 */
export function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
}

/** The time shown in the conversation list: a clock today, "Yesterday", a weekday, or a date. */
export function listTime(iso: string, now: Date = new Date()): string {
  const d = new Date(iso);
  const days = Math.round((startOfDay(now) - startOfDay(d)) / DAY);
  if (days <= 0) return clock(iso);
  if (days === 1) return "Yesterday";
  if (days < 7) return d.toLocaleDateString("en-GB", { weekday: "short" });
  return d.toLocaleDateString("en-GB", { day: "numeric", month: "short" });
}

/** "last seen just now / 5 min ago / today at 09:12 / yesterday at 18:40 / on 3 Mar" */
export function lastSeen(iso: string | null, now: Date = new Date()): string {
  if (!iso) return "offline";
  const d = new Date(iso);
  const ms = now.getTime() - d.getTime();
  if (ms < 60_000) return "last seen just now";
  if (ms < 3_600_000) return `last seen ${Math.floor(ms / 60_000)} min ago`;
  const days = Math.round((startOfDay(now) - startOfDay(d)) / DAY);
  if (days === 0) return `last seen today at ${clock(iso)}`;
  if (days === 1) return `last seen yesterday at ${clock(iso)}`;
  return `last seen on ${d.toLocaleDateString("en-GB", { day: "numeric", month: "short" })}`;
}

/** What the header says about someone. */
export function presenceText(p: Presence | undefined, now: Date = new Date()): string {
  if (!p) return "offline";
  switch (p.status) {
    case "online":
      return "online";
    case "away":
      return "away";
    case "busy":
      return "busy — do not disturb";
    default:
      return lastSeen(p.last_seen, now);
  }
}

export function statusLabel(s: PresenceStatus | "invisible"): string {
  return { online: "Online", away: "Away", busy: "Busy", offline: "Offline", invisible: "Invisible" }[s];
}

/** "Carl is typing", "Carl and Ana are typing", "3 people are typing" */
export function typingText(names: string[]): string {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing`;
  return `${names.length} people are typing`;
}

export interface BannerView {
  state: string;
  text: string;
  action: "retry" | "sign_in" | null;
  actionText: string;
}

/**
 * The connection banner, or null when there is nothing to say (connected). `now` and `since`
 * give the countdown of a scheduled retry; `synced` is the catch-up result to announce.
 */
export function banner(conn: ConnectionState, since: number, now: number, synced: number | null): BannerView | null {
  switch (conn.state) {
    case "connected":
      if (synced && synced > 0) {
        return { state: "synced", text: `Synced ${synced} new message${synced === 1 ? "" : "s"}`, action: null, actionText: "" };
      }
      if (conn.transport === "http_fallback") {
        // Live, but over polls: say so, since messages can take a little longer than usual.
        return { state: "fallback", text: "Connected · via HTTP fallback (this network blocks live connections)", action: null, actionText: "" };
      }
      return null;
    case "connecting":
      return { state: "connecting", text: "Connecting…", action: null, actionText: "" };
    case "reconnecting": {
      const left = Math.max(0, Math.ceil((conn.retry_in_ms - (now - since)) / 1000));
      return {
        state: "reconnecting",
        text: left > 0 ? `Reconnecting in ${left} s (attempt ${conn.attempt})` : `Reconnecting… (attempt ${conn.attempt})`,
        action: "retry",
        actionText: "Retry now",
      };
    }
    case "offline":
      return { state: "offline", text: "Offline — your messages will be sent when you're back", action: "retry", actionText: "Retry now" };
    case "signed_out":
      return { state: "signed_out", text: "Signed out", action: "sign_in", actionText: "sign in again" };
  }
}

export type Piece = { kind: "text"; text: string } | { kind: "link"; text: string; href: string };

const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;

/** Splits message text into plain text and http(s) links (trailing punctuation stays text). */
export function linkify(text: string): Piece[] {
  const out: Piece[] = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    let href = m[0];
    const trail = /[.,;:!?)\]}]+$/.exec(href);
    if (trail) href = href.slice(0, -trail[0].length);
    const start = m.index ?? 0;
    if (start > last) out.push({ kind: "text", text: text.slice(last, start) });
    out.push({ kind: "link", text: href, href });
    last = start + href.length;
  }
  if (last < text.length) out.push({ kind: "text", text: text.slice(last) });
  return out;
}

export const stateLabel: Record<MessageState, string> = {
  pending: "Sending",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  failed: "Not sent",
};

/** Whether two neighbouring messages belong to one visual group (same sender, within 5 min). */
export function sameGroup(a: LocalMessage | undefined, b: LocalMessage): boolean {
  if (!a) return false;
  if (a.sender_id !== b.sender_id || dayKey(a.created_at) !== dayKey(b.created_at)) return false;
  return Math.abs(new Date(b.created_at).getTime() - new Date(a.created_at).getTime()) < 5 * 60_000;
}

/** One line of preview for the conversation list. */
export function preview(m: LocalMessage | null, meId: string | undefined): string {
  if (!m) return "No messages yet";
  const text = messageLine(m);
  return m.sender_id === meId ? `You: ${text}` : text;
}
