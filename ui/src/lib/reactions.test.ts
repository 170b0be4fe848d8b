import { describe, expect, it } from "vitest";
import { QUICK_EMOJI, reactionTitle, reactionTurnsOn } from "./reactions";

const names: Record<string, string> = { me: "Dana Whitfield", carl: "Carl Jensen", ana: "Ana Lind", ben: "Ben Ode", eve: "Eve Park", joe: "Joe Ray" };
const nameOf = (id: string) => names[id] ?? "Someone";

describe("reactions", () => {
  it("say who reacted, you first", () => {
    expect(reactionTitle({ emoji: "👍", user_ids: ["carl", "me"], mine: true, pending: false }, nameOf, "me")).toBe("You and Carl Jensen reacted with 👍");
    expect(reactionTitle({ emoji: "🎉", user_ids: ["carl"], mine: false, pending: false }, nameOf, "me")).toBe("Carl Jensen reacted with 🎉");
    expect(reactionTitle({ emoji: "🔥", user_ids: ["carl", "ana", "ben"], mine: false, pending: false }, nameOf, "me")).toBe("Carl Jensen, Ana Lind and Ben Ode reacted with 🔥");
    expect(reactionTitle({ emoji: "👀", user_ids: ["carl", "ana", "ben", "eve", "joe"], mine: false, pending: false }, nameOf, "me")).toBe(
      "Carl Jensen, Ana Lind, Ben Ode and 2 others reacted with 👀",
    );
  });

  it("toggle: a click adds my reaction unless it is there, then takes it back", () => {
    const list = [{ emoji: "👍", user_ids: ["carl"], mine: false, pending: false }, { emoji: "🎉", user_ids: ["me"], mine: true, pending: false }];
    expect(reactionTurnsOn(list, "👍")).toBe(true);
    expect(reactionTurnsOn(list, "🎉")).toBe(false);
    expect(reactionTurnsOn(list, "🔥")).toBe(true);
  });

  it("offers distinct emoji, each a valid reaction (1..32 bytes)", () => {
    expect(new Set(QUICK_EMOJI).size).toBe(QUICK_EMOJI.length);
    for (const e of QUICK_EMOJI) expect(new TextEncoder().encode(e).length).toBeLessThanOrEqual(32);
  });
});
