// Quiet hours in the settings pane: the span it edits, the days, and what the quiet state says.
// Pure functions over the engine's types, so that they are tested without a window.
import type { QuietHours, QuietSpan, QuietStatus, Weekday } from "./bindings";

export const WEEKDAYS: { day: Weekday; short: string }[] = [
  { day: "monday", short: "Mo" },
  { day: "tuesday", short: "Tu" },
  { day: "wednesday", short: "We" },
  { day: "thursday", short: "Th" },
  { day: "friday", short: "Fr" },
  { day: "saturday", short: "Sa" },
  { day: "sunday", short: "Su" },
];

const NIGHT: QuietSpan = { days: WEEKDAYS.map((d) => d.day), start: "22:00", end: "07:00" };

/** The span the pane edits: the first one (a nightly 22:00–07:00 when there is none). */
export function editedSpan(hours: QuietHours): QuietSpan {
  return hours.spans[0] ?? NIGHT;
}

/** `hours` with the edited span changed; the other spans (set elsewhere) stay. */
export function withSpan(hours: QuietHours, change: Partial<QuietSpan>): QuietHours {
  const span = { ...editedSpan(hours), ...change };
  return { ...hours, spans: [span, ...hours.spans.slice(1)] };
}

/** The days with `day` switched, in week order. */
export function toggleDay(days: Weekday[], day: Weekday): Weekday[] {
  const on = new Set(days);
  if (on.has(day)) on.delete(day);
  else on.add(day);
  return WEEKDAYS.map((d) => d.day).filter((d) => on.has(d));
}

/** Whether the span ends on the day after it starts (22:00–07:00, or a whole day). */
export function endsNextDay(span: QuietSpan): boolean {
  return span.end <= span.start;
}

/** What the pane and the sidebar say about notifications now. */
export function quietLabel(status: QuietStatus | null): string {
  if (!status?.quiet) return "Notifications are on";
  const until = status.until_local ? ` until ${status.until_local}` : "";
  return status.reason === "paused" ? `Notifications paused${until}` : `Quiet hours${until}`;
}

/** The IANA time zones this WebView knows (none when it cannot tell: the field stays free text). */
export function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  try {
    return intl.supportedValuesOf?.("timeZone") ?? [];
  } catch {
    return [];
  }
}
