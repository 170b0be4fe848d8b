// The UI's layering, checked on the source: components are a view of the state module, the
// state module talks to the shell through the one adapter, and only the adapter knows Tauri.
import { describe, expect, it } from "vitest";

// Every source file of the UI as text (Vite reads them at test time), tests aside.
const texts = import.meta.glob(["/src/**/*.ts", "/src/**/*.svelte", "!/src/**/*.test.ts"], { query: "?raw", import: "default", eager: true }) as Record<
  string,
  string
>;

/** What a file imports (the module specifiers of its import statements). */
function imports(text: string): string[] {
  return [...text.matchAll(/^\s*import\s[^"']*["']([^"']+)["']/gm)].map((m) => m[1]);
}

const files = Object.entries(texts).map(([path, text]) => ({ name: path.replace(/^\/src\//, ""), imports: imports(text) }));

describe("layering", () => {
  it("finds the sources it checks", () => {
    // A wrong pattern would make the checks below pass on nothing.
    expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(["lib/backend.ts", "lib/state.svelte.ts", "App.svelte", "components/Conversation.svelte"]));
  });

  it("lets only the adapter module touch @tauri-apps/api", () => {
    const offenders = files.filter((f) => f.name !== "lib/backend.ts" && f.imports.some((i) => i.startsWith("@tauri-apps/")));
    expect(offenders.map((f) => f.name)).toEqual([]);
  });

  it("lets components reach the backend only through the state module", () => {
    const views = files.filter((f) => f.name.endsWith(".svelte"));
    const offenders = views.filter((f) => f.imports.some((i) => /(^|\/)backend$/.test(i)));
    expect(offenders.map((f) => f.name)).toEqual([]);
  });
});
