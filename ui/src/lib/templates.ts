// Saved replies in the composer: when `/` opens the picker and which templates it offers. Pure.
import type { Template } from "./bindings";

/** The picker's query when the draft is a `/` command (a `/` then no line break), else null. */
export function pickerQuery(draft: string): string | null {
  if (!draft.startsWith("/") || draft.includes("\n")) return null;
  return draft.slice(1);
}

/** The templates matching a query (every word in the name or the text), names first. */
export function filterTemplates(list: Template[], query: string): Template[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...list].sort((a, b) => a.name.localeCompare(b.name));
  const scored: { t: Template; score: number }[] = [];
  for (const t of list) {
    const name = t.name.toLowerCase();
    const body = t.body.toLowerCase();
    if (!words.every((w) => name.includes(w) || body.includes(w))) continue;
    const score = (name.startsWith(words[0]) ? 0 : 2) + (words.every((w) => name.includes(w)) ? 0 : 1);
    scored.push({ t, score });
  }
  return scored.sort((a, b) => a.score - b.score || a.t.name.localeCompare(b.t.name)).map((s) => s.t);
}

/** The `{{variables}}` a template uses, in order of first use. */
export function variablesOf(body: string): string[] {
  const seen: string[] = [];
  for (const m of body.matchAll(/\{\{\s*([a-z_]+)\s*\}\}/gi)) if (!seen.includes(m[1])) seen.push(m[1]);
  return seen;
}

export const VARIABLES = ["first_name", "display_name", "job_title", "my_name"];
