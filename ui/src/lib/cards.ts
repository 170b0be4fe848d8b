// Job and application-status cards (protocol 1.1, §3): what they say in one line, the stage
// badges of the conversation list, and the candidate's quick replies. Pure.
import type { ApplicationStatus, ApplicationStatusCard, ConversationSummary, JobCard, LocalMessage } from "./bindings";

/** Every stage, in the order an application usually goes. */
export const STAGES: ApplicationStatus[] = ["applied", "screening", "interview", "offer", "hired", "rejected", "withdrawn"];

export const STAGE_LABEL: Record<ApplicationStatus, string> = {
  applied: "Applied",
  screening: "Screening",
  interview: "Interview",
  offer: "Offer",
  hired: "Hired",
  rejected: "Rejected",
  withdrawn: "Withdrawn",
};

/** The job card a message carries, if it is one. */
export function jobOf(m: Pick<LocalMessage, "kind" | "card" | "deleted_at">): JobCard | null {
  return m.kind === "job" && m.card && m.deleted_at === null && "title" in m.card ? m.card : null;
}

/** The status card a message carries, if it is one. */
export function statusOf(m: Pick<LocalMessage, "kind" | "card" | "deleted_at">): ApplicationStatusCard | null {
  return m.kind === "application_status" && m.card && m.deleted_at === null && "status" in m.card ? m.card : null;
}

function clean(text: string | null | undefined): string {
  return (text ?? "").replace(/\s+/g, " ").trim();
}

/** A card in one line: "Job: Rust engineer at Acme · Berlin", "Application for Rust engineer: Interview". */
export function cardLine(m: Pick<LocalMessage, "kind" | "card" | "deleted_at">): string | null {
  const job = jobOf(m);
  if (job) {
    const place = clean(job.location);
    return `Job: ${clean(job.title)} at ${clean(job.company)}${place ? ` · ${place}` : ""}`;
  }
  const status = statusOf(m);
  if (status) return `Application for ${clean(status.job_title)}: ${STAGE_LABEL[status.status]}`;
  return null;
}

/** What a message says in one line: its card's summary and its text, or its text alone. */
export function messageLine(m: Pick<LocalMessage, "kind" | "card" | "deleted_at" | "body">): string {
  const text = clean(m.body);
  const card = cardLine(m);
  if (!card) return text;
  return text ? `${card} — ${text}` : card;
}

/** The text of a candidate's quick answer to a job card (sent as a reply that quotes it). */
export function quickReply(job: JobCard, interested: boolean): string {
  const role = `${clean(job.title)} at ${clean(job.company)}`;
  return interested ? `Interested in ${role}` : `Not for me: ${role}`;
}

/** The stage filter of the sidebar: null shows everyone; "none" those with no application yet. */
export type StageFilter = ApplicationStatus | "none" | null;

export function matchesStage(c: Pick<ConversationSummary, "application">, filter: StageFilter): boolean {
  if (filter === null) return true;
  if (filter === "none") return c.application === null;
  return c.application?.status === filter;
}

/** How many conversations are at each stage (for the filter's counts). */
export function stageCounts(list: Pick<ConversationSummary, "application">[]): Record<ApplicationStatus, number> {
  const counts = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<ApplicationStatus, number>;
  for (const c of list) if (c.application) counts[c.application.status]++;
  return counts;
}

/** Checks a job card form: the trimmed card, or what is wrong with it. */
export function checkJob(form: { title: string; company: string; location: string; salary: string; url: string; description: string }):
  | { ok: true; card: JobCard }
  | { ok: false; error: string } {
  const title = form.title.trim();
  const company = form.company.trim();
  if (!title) return { ok: false, error: "A job card needs a title" };
  if (!company) return { ok: false, error: "A job card needs a company" };
  const url = form.url.trim();
  if (url && !/^https?:\/\/[^\s/]+\.[^\s]+$/i.test(url)) return { ok: false, error: "The link must be a web address (https://…)" };
  const optional = (v: string) => (v.trim() ? v.trim() : null);
  return {
    ok: true,
    card: { title, company, location: optional(form.location), salary: optional(form.salary), url: url || null, description: optional(form.description) },
  };
}
