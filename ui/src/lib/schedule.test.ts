import { describe, expect, it } from "vitest";
import { checkSendAt, knownZone, tomorrowAtNine } from "./schedule";

describe("send later", () => {
  it("is 09:00 tomorrow on the recipient's clock", () => {
    // 22:30 UTC on 3 Dec is already 4 Dec in Tokyo (UTC+9): tomorrow there is 5 Dec.
    expect(tomorrowAtNine(new Date("2026-12-03T22:30:00Z"), "Asia/Tokyo").toISOString()).toBe("2026-12-05T00:00:00.000Z");
    expect(tomorrowAtNine(new Date("2026-12-03T22:30:00Z"), "Europe/Paris").toISOString()).toBe("2026-12-04T08:00:00.000Z");
    expect(tomorrowAtNine(new Date("2026-12-03T02:00:00Z"), "America/New_York").toISOString()).toBe("2026-12-03T14:00:00.000Z");
  });
  it("follows a DST change in the night before", () => {
    // Europe/Paris goes to summer time on 29 Mar 2026: 09:00 that day is 07:00 UTC.
    expect(tomorrowAtNine(new Date("2026-03-28T12:00:00Z"), "Europe/Paris").toISOString()).toBe("2026-03-29T07:00:00.000Z");
  });
  it("knows a zone name from a typo", () => {
    expect(knownZone("Europe/Paris")).toBe("Europe/Paris");
    expect(knownZone("Mars/Olympus_Mons")).toBeNull();
    expect(knownZone("")).toBeNull();
  });
  it("keeps to the hub's window of 1 minute to 90 days", () => {
    const now = new Date("2026-12-03T10:00:00Z");
    expect(checkSendAt(new Date("2026-12-03T10:00:30Z"), now)).toMatch(/at least a minute/);
    expect(checkSendAt(new Date("2027-06-01T10:00:00Z"), now)).toMatch(/90 days/);
    expect(checkSendAt(new Date("invalid"), now)).toMatch(/Choose/);
    expect(checkSendAt(new Date("2026-12-04T09:00:00Z"), now)).toBeNull();
  });
});
