import { describe, expect, it } from "vitest";
import { fileKind, formatSize, isImage, MAX_FILE_BYTES, MAX_FILES, percent, previewBox, refusal } from "./attachments";
import type { LocalAttachment } from "./bindings";

const a = (over: Partial<LocalAttachment> = {}): LocalAttachment => ({
  id: "a1", filename: "CV.pdf", content_type: "application/pdf", size: 1000, sha256: "00", width: null, height: null, ...over,
});

describe("attachments", () => {
  it("formats sizes the way people read them", () => {
    expect(formatSize(812)).toBe("812 B");
    expect(formatSize(14 * 1024 + 100)).toBe("14 KB");
    expect(formatSize(2.44 * 1024 * 1024)).toBe("2.4 MB");
    expect(formatSize(MAX_FILE_BYTES)).toBe("25 MB");
  });

  it("previews only what the hub measured as an image", () => {
    expect(isImage(a())).toBe(false);
    expect(isImage(a({ width: 640, height: 480 }))).toBe(true);
    expect(isImage(a({ width: 0, height: 480 }))).toBe(false);
  });

  it("fits previews into the box, keeping their shape and never enlarging", () => {
    expect(previewBox(640, 480)).toEqual({ width: 320, height: 240 });
    expect(previewBox(1000, 100)).toEqual({ width: 320, height: 32 });
    expect(previewBox(100, 1000)).toEqual({ width: 24, height: 240 });
    expect(previewBox(50, 40)).toEqual({ width: 50, height: 40 });
  });

  it("labels files by their extension", () => {
    expect(fileKind("CV.pdf")).toBe("PDF");
    expect(fileKind("job.description.docx")).toBe("DOCX");
    expect(fileKind("README")).toBe("File");
    expect(fileKind(".bashrc")).toBe("File");
    expect(fileKind("archive.verylongext")).toBe("File");
  });

  it("refuses empty, too large and one too many files, with the reason", () => {
    expect(refusal("a.txt", 10, 0)).toBeNull();
    expect(refusal("a.txt", 0, 0)).toMatch(/empty/);
    expect(refusal("big.mov", MAX_FILE_BYTES + 1, 0)).toMatch(/larger than 25 MB/);
    expect(refusal("a.txt", 10, MAX_FILES)).toMatch(/at most 10/);
  });

  it("computes progress within 0..100", () => {
    expect(percent(5, 10)).toBe(50);
    expect(percent(0, 0)).toBe(0);
    expect(percent(20, 10)).toBe(100);
  });
});
