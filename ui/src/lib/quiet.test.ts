import { describe, expect, it } from "vitest";
import type { QuietHours, QuietStatus } from "./bindings";
import { editedSpan, endsNextDay, quietLabel, toggleDay, withSpan } from "./quiet";

const hours: QuietHours = {
  enabled: true,
  time_zone: "Europe/Paris",
  spans: [
    { days: ["monday", "friday"], start: "22:00", end: "07:00" },
    { days: ["saturday"], start: "00:00", end: "00:00" },
  ],
  busy_while_quiet: false,
};

describe("quiet hours in the settings pane", () => {
  it("edits the first span and keeps the others", () => {
    const changed = withSpan(hours, { start: "21:30" });
    expect(changed.spans[0]).toEqual({ days: ["monday", "friday"], start: "21:30", end: "07:00" });
    expect(changed.spans[1]).toEqual(hours.spans[1]);
    expect(hours.spans[0].start).toBe("22:00");
  });

  it("starts from a nightly span when there is none", () => {
    const none = { ...hours, spans: [] };
    expect(editedSpan(none)).toMatchObject({ start: "22:00", end: "07:00" });
    expect(withSpan(none, { end: "06:00" }).spans).toHaveLength(1);
  });

  it("switches days and keeps them in week order", () => {
    expect(toggleDay(["friday", "monday"], "wednesday")).toEqual(["monday", "wednesday", "friday"]);
    expect(toggleDay(["monday", "friday"], "monday")).toEqual(["friday"]);
  });

  it("knows a span that crosses midnight", () => {
    expect(endsNextDay({ days: [], start: "22:00", end: "07:00" })).toBe(true);
    expect(endsNextDay({ days: [], start: "12:00", end: "14:00" })).toBe(false);
    expect(endsNextDay({ days: [], start: "00:00", end: "00:00" })).toBe(true);
  });

  it("says why and until when it is quiet", () => {
    const status = (s: Partial<QuietStatus>): QuietStatus => ({ quiet: true, reason: null, until: null, until_local: null, paused_until: null, ...s });
    expect(quietLabel(null)).toBe("Notifications are on");
    expect(quietLabel(status({ quiet: false }))).toBe("Notifications are on");
    expect(quietLabel(status({ reason: "paused", until_local: "10:00" }))).toBe("Notifications paused until 10:00");
    expect(quietLabel(status({ reason: "schedule", until_local: "Sat 07:00" }))).toBe("Quiet hours until Sat 07:00");
  });
});
