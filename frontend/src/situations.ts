// Situations held by the client: the "situations" stream's snapshot, then its
// deltas (or a REST list when the stream is not there). Bounded: closed
// situations are dropped at once, and only the most recent resolved ones kept.

import type { Severity, Situation, SituationStatus, StreamKind } from "./types";

export const SEVERITY_RANK: Record<Severity, number> = { info: 0, minor: 1, major: 2, critical: 3 };
export const ACTIVE_STATUSES: readonly SituationStatus[] = ["open", "acknowledged", "in_progress"];
/** Resolved situations kept for the "last 15 minutes" and the operator's "all" list. */
const MAX_RESOLVED = 200;

/** Most severe first, then escalated, then oldest first (waiting longest). */
export function bySeverity(a: Situation, b: Situation): number {
  return (
    SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
    Number(b.escalated) - Number(a.escalated) ||
    a.openedAt - b.openedAt ||
    a.id - b.id
  );
}

export class SituationStore {
  private readonly items = new Map<number, Situation>();
  private seq: number | null = null;
  /** A snapshot (or REST list) has arrived: an empty list means "none", not "unknown". */
  received = false;

  constructor(private readonly onChange: () => void) {}

  beginConnection(): void {
    this.seq = null;
  }

  apply(kind: StreamKind, seq: number | null, situations: Situation[]): void {
    if (kind === "delta" && seq !== null && this.seq !== null && seq <= this.seq) return;
    if (seq !== null) this.seq = seq;
    if (kind === "snapshot") {
      this.items.clear();
      this.received = true;
    }
    for (const s of situations) this.put(s);
    this.trim();
    this.onChange();
  }

  /** A REST list: replaces what is held unless the live stream already feeds the store. */
  seed(situations: Situation[]): void {
    if (this.seq !== null) return;
    this.items.clear();
    for (const s of situations) this.put(s);
    this.received = true;
    this.trim();
    this.onChange();
  }

  /** The answer of an action on one situation (applied before its delta arrives). */
  update(s: Situation): void {
    this.put(s);
    this.onChange();
  }

  clear(): void {
    this.items.clear();
    this.seq = null;
    this.received = false;
    this.onChange();
  }

  private put(s: Situation): void {
    const held = this.items.get(s.id);
    if (held !== undefined && held.updatedAt > s.updatedAt) return;
    if (s.status === "closed") this.items.delete(s.id);
    else this.items.set(s.id, s);
  }

  private trim(): void {
    const resolved = [...this.items.values()].filter((s) => s.status === "resolved");
    if (resolved.length <= MAX_RESOLVED) return;
    resolved.sort((a, b) => b.updatedAt - a.updatedAt);
    for (const s of resolved.slice(MAX_RESOLVED)) this.items.delete(s.id);
  }

  get(id: number): Situation | null {
    return this.items.get(id) ?? null;
  }

  /** Situations whose status is one of `statuses`, most severe first. */
  list(statuses: readonly SituationStatus[] = ACTIVE_STATUSES): Situation[] {
    return [...this.items.values()].filter((s) => statuses.includes(s.status)).sort(bySeverity);
  }

  /** Active situations per severity. */
  counts(): Record<Severity, number> {
    const out: Record<Severity, number> = { info: 0, minor: 0, major: 0, critical: 0 };
    for (const s of this.items.values()) if (ACTIVE_STATUSES.includes(s.status)) out[s.severity] += 1;
    return out;
  }

  /** Opened, escalated and resolved within the last `ms` before `now`, from what is held. */
  recent(now: number, ms: number): { opened: number; escalated: number; resolved: number } {
    let opened = 0;
    let escalated = 0;
    let resolved = 0;
    for (const s of this.items.values()) {
      if (now - s.openedAt <= ms) opened += 1;
      if (s.escalated && now - s.updatedAt <= ms) escalated += 1;
      if (s.status === "resolved" && now - s.updatedAt <= ms) resolved += 1;
    }
    return { opened, escalated, resolved };
  }

  /** The worst active severity per district. */
  worstByDistrict(): Map<string, Severity> {
    const out = new Map<string, Severity>();
    for (const s of this.items.values()) {
      if (!ACTIVE_STATUSES.includes(s.status) || s.district === "") continue;
      const held = out.get(s.district);
      if (held === undefined || SEVERITY_RANK[s.severity] > SEVERITY_RANK[held]) out.set(s.district, s.severity);
    }
    return out;
  }

  get size(): number {
    return this.items.size;
  }
}
