// "Send later": the times the composer offers, worked out in a time zone. Pure.

/** The wall-clock fields of an instant in a time zone. */
function wallClock(at: Date, timeZone: string): { y: number; mo: number; d: number; h: number; mi: number } {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? "0");
  return { y: get("year"), mo: get("month"), d: get("day"), h: get("hour"), mi: get("minute") };
}

/** The instant at which a zone's clock shows the given date and time (the later one across a DST fold). */
export function atWallClock(y: number, mo: number, d: number, h: number, mi: number, timeZone: string): Date {
  const wanted = Date.UTC(y, mo - 1, d, h, mi);
  // Two rounds of "how far off is the zone's clock": enough across any DST change.
  let guess = wanted;
  for (let i = 0; i < 2; i++) {
    const c = wallClock(new Date(guess), timeZone);
    guess += wanted - Date.UTC(c.y, c.mo - 1, c.d, c.h, c.mi);
  }
  return new Date(guess);
}

/** Tomorrow at 09:00 on the clock of `timeZone` (IANA name), as seen from `now`. */
export function tomorrowAtNine(now: Date, timeZone: string): Date {
  const today = wallClock(now, timeZone);
  const tomorrow = new Date(Date.UTC(today.y, today.mo - 1, today.d + 1));
  return atWallClock(tomorrow.getUTCFullYear(), tomorrow.getUTCMonth() + 1, tomorrow.getUTCDate(), 9, 0, timeZone);
}

/** A valid IANA zone name, or null. */
export function knownZone(zone: string | null | undefined): string | null {
  if (!zone) return null;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return zone;
  } catch {
    return null;
  }
}

/** The value of a `datetime-local` input for an instant, on this computer's clock. */
export function toLocalInput(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

export const MIN_AHEAD_MS = 60_000;
export const MAX_AHEAD_MS = 90 * 24 * 3600_000;

/** Why a chosen time cannot be used (the hub's window: 1 minute to 90 days ahead), or null. */
export function checkSendAt(at: Date, now: Date): string | null {
  if (Number.isNaN(at.getTime())) return "Choose a date and a time";
  const ahead = at.getTime() - now.getTime();
  if (ahead < MIN_AHEAD_MS) return "Choose a time at least a minute from now";
  if (ahead > MAX_AHEAD_MS) return "Messages can be scheduled up to 90 days ahead";
  return null;
}

/** "Tomorrow 09:00", "Mon 3 Dec 14:30": when a scheduled message goes, on this computer's clock. */
export function whenLabel(at: Date, now: Date): string {
  const time = at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", hour12: false });
  const day = (d: Date) => `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
  if (day(at) === day(now)) return `Today ${time}`;
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  if (day(at) === day(tomorrow)) return `Tomorrow ${time}`;
  return `${at.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short" })} ${time}`;
}
