import { describe, expect, it } from "vitest";
import { filterTemplates, pickerQuery, variablesOf } from "./templates";
import type { Template } from "./bindings";

const t = (name: string, body: string) => ({ id: name, name, body, created_at: "", updated_at: "" }) as Template;
const list = [t("Thanks", "Thanks {{first_name}}!"), t("Intro call", "Would you have 20 minutes for a call about {{job_title}}?"), t("Rejection", "Sorry, no call")];

describe("the template picker", () => {
  it("opens on a leading slash, not inside a text or across lines", () => {
    expect(pickerQuery("/")).toBe("");
    expect(pickerQuery("/intro")).toBe("intro");
    expect(pickerQuery("see /intro")).toBeNull();
    expect(pickerQuery("/a\nb")).toBeNull();
  });
  it("filters by every word, name matches first", () => {
    expect(filterTemplates(list, "").map((x) => x.name)).toEqual(["Intro call", "Rejection", "Thanks"]);
    expect(filterTemplates(list, "call").map((x) => x.name)).toEqual(["Intro call", "Rejection"]);
    expect(filterTemplates(list, "in call").map((x) => x.name)).toEqual(["Intro call"]);
    expect(filterTemplates(list, "zzz")).toEqual([]);
  });
  it("lists the variables a template uses once each", () => {
    expect(variablesOf("Hi {{first_name}}, {{ job_title }} — {{first_name}}")).toEqual(["first_name", "job_title"]);
  });
});
