// How attachments are shown and what the composer accepts. Pure; unit-tested in attachments.test.ts.
import type { LocalAttachment } from "./bindings";

/** protocol-v1.1 §2: one file is at most 25 MiB, one message carries at most 10. */
export const MAX_FILE_BYTES = 25 * 1024 * 1024;
export const MAX_FILES = 10;

/** 812 B, 14 KB, 2.4 MB */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  const mb = bytes / (1024 * 1024);
  return `${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB`;
}

/** Whether the hub made a preview of it (it does for the images it could read). */
export function isImage(a: LocalAttachment): boolean {
  return a.width !== null && a.height !== null && a.width > 0 && a.height > 0;
}

/** The box an image preview takes in the thread: its shape, at most `maxW` × `maxH`. */
export function previewBox(width: number, height: number, maxW = 320, maxH = 240): { width: number; height: number } {
  if (width <= 0 || height <= 0) return { width: maxW, height: maxH };
  const scale = Math.min(1, maxW / width, maxH / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** A short label of what kind of file it is: "PDF", "DOCX", or "File" without an extension. */
export function fileKind(filename: string): string {
  const dot = filename.lastIndexOf(".");
  if (dot <= 0 || dot === filename.length - 1) return "File";
  const ext = filename.slice(dot + 1);
  return ext.length <= 5 ? ext.toUpperCase() : "File";
}

/** Why a chosen file cannot be attached, or null. */
export function refusal(name: string, size: number, alreadyAttached: number): string | null {
  if (alreadyAttached >= MAX_FILES) return `A message carries at most ${MAX_FILES} files`;
  if (size === 0) return `${name} is empty`;
  if (size > MAX_FILE_BYTES) return `${name} is larger than 25 MB`;
  return null;
}

/** Percent done of a transfer, 0..100. */
export function percent(done: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(100, Math.max(0, Math.round((done / total) * 100)));
}
