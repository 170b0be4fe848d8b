import { describe, expect, it } from "vitest";
import { cardLine, checkJob, matchesStage, messageLine, quickReply, stageCounts } from "./cards";
import type { Application, LocalMessage } from "./bindings";

const job = { title: "Rust engineer", company: "Acme", location: "Berlin", salary: null, url: null, description: null };
const msg = (over: Partial<LocalMessage>) => ({ kind: "text", card: null, deleted_at: null, body: "", ...over }) as LocalMessage;

describe("card summaries", () => {
  it("says what a job card is in one line, with its text after it", () => {
    expect(cardLine(msg({ kind: "job", card: job }))).toBe("Job: Rust engineer at Acme · Berlin");
    expect(messageLine(msg({ kind: "job", card: { ...job, location: null }, body: "Have a look\n at this" }))).toBe(
      "Job: Rust engineer at Acme — Have a look at this",
    );
  });
  it("names the stage of a status card", () => {
    expect(messageLine(msg({ kind: "application_status", card: { job_title: "Rust engineer", status: "interview" } }))).toBe(
      "Application for Rust engineer: Interview",
    );
  });
  it("a deleted card or a text message is only its text", () => {
    expect(cardLine(msg({ kind: "job", card: job, deleted_at: "2026-01-01T00:00:00Z" }))).toBeNull();
    expect(messageLine(msg({ body: "  hi   there " }))).toBe("hi there");
  });
  it("quick replies name the role", () => {
    expect(quickReply(job, true)).toBe("Interested in Rust engineer at Acme");
    expect(quickReply(job, false)).toBe("Not for me: Rust engineer at Acme");
  });
});

describe("the stage filter", () => {
  const at = (status: Application["status"] | null) => ({ application: status ? { job_title: "x", status, updated_at: "" } : null });
  it("keeps only the chosen stage, or those without an application", () => {
    const list = [at("interview"), at(null), at("offer"), at("interview")];
    expect(list.filter((c) => matchesStage(c, "interview"))).toHaveLength(2);
    expect(list.filter((c) => matchesStage(c, "none"))).toHaveLength(1);
    expect(list.filter((c) => matchesStage(c, null))).toHaveLength(4);
    expect(stageCounts(list)).toMatchObject({ interview: 2, offer: 1, applied: 0 });
  });
});

describe("the job card form", () => {
  const form = { title: " Rust engineer ", company: "Acme", location: "", salary: "€90k", url: "", description: "" };
  it("trims and drops empty optional fields", () => {
    expect(checkJob(form)).toEqual({ ok: true, card: { title: "Rust engineer", company: "Acme", location: null, salary: "€90k", url: null, description: null } });
  });
  it("refuses a missing title or company and a link that is not a web address", () => {
    expect(checkJob({ ...form, title: " " })).toEqual({ ok: false, error: "A job card needs a title" });
    expect(checkJob({ ...form, company: "" })).toEqual({ ok: false, error: "A job card needs a company" });
    expect(checkJob({ ...form, url: "javascript:alert(1)" }).ok).toBe(false);
    expect(checkJob({ ...form, url: "https://jobs.acme.example/rust" }).ok).toBe(true);
  });
});
