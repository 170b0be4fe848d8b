// Reactions as the thread shows them. Pure; unit-tested in reactions.test.ts.
import type { LocalReaction } from "./bindings";

/** The picker's emoji: the reactions people use at work. */
export const QUICK_EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀", "✅", "🔥", "👏", "💯"];

/** "You and Carl Jensen reacted with 👍", "Ana, Ben and 3 others reacted with 🎉" */
export function reactionTitle(r: LocalReaction, nameOf: (userId: string) => string, meId: string | undefined): string {
  const names = r.user_ids.filter((id) => id !== meId).map(nameOf);
  if (r.mine) names.unshift("You");
  let who: string;
  if (names.length === 0) who = "Nobody";
  else if (names.length === 1) who = names[0];
  else if (names.length <= 4) who = `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
  else who = `${names.slice(0, 3).join(", ")} and ${names.length - 3} others`;
  return `${who} reacted with ${r.emoji}`;
}

/** Whether a click on an emoji adds this user's reaction (`true`) or takes it back. */
export function reactionTurnsOn(reactions: LocalReaction[], emoji: string): boolean {
  return !reactions.some((r) => r.emoji === emoji && r.mine);
}
