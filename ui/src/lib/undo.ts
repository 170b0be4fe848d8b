// Actions that happen after a grace period unless taken back ("Message deleted · Undo").
// Unit-tested in undo.test.ts with fake timers.

export class Deferred {
  #pending = new Map<string, { timer: ReturnType<typeof setTimeout>; run: () => void }>();

  /** Runs `run` after `ms` unless `cancel(key)` comes first; the same key again replaces it. */
  schedule(key: string, ms: number, run: () => void) {
    this.cancel(key);
    const timer = setTimeout(() => {
      this.#pending.delete(key);
      run();
    }, ms);
    this.#pending.set(key, { timer, run });
  }

  /** Takes a pending action back; whether there was one. */
  cancel(key: string): boolean {
    const p = this.#pending.get(key);
    if (!p) return false;
    clearTimeout(p.timer);
    this.#pending.delete(key);
    return true;
  }

  /** Runs every pending action now (the window is going away). */
  flush() {
    const all = [...this.#pending.values()];
    for (const p of all) clearTimeout(p.timer);
    this.#pending.clear();
    for (const p of all) p.run();
  }

  has(key: string): boolean {
    return this.#pending.has(key);
  }
}
