// How fresh a wall tile's figures are: the age of its feed's newest data on
// the server's clock, against the lag the server allows that feed
// (GET /api/health serves both). A feed idle as scheduled (BRT at night, a
// closed desk) is idle, not late; and the server's own verdict "ok" stands
// for one allowance after its check, since it knows the schedules (the first
// bus of the morning is not late by last night's silence).

import type { FeedHealth } from "./types";

/** The feed behind each headline tile, as /api/health names it. */
export const TILE_FEEDS = {
  parking: "parking",
  signals: "signals",
  brt: "brt_vehicles",
  queues: "queues",
} as const;

export type TileName = keyof typeof TILE_FEEDS;

/**
 * The allowance when the server states none (a server from before it did), and
 * in a replay: history is replayed from roll-ups and samples, not at the pace
 * the live feeds report.
 */
const FALLBACK_ALLOWANCE_MS = 10 * 60_000;

export type Freshness =
  /** Nothing to judge by: no data time, or none that says anything about freshness. */
  | { kind: "unknown" }
  /** Outside the source's scheduled hours. */
  | { kind: "idle" }
  | { kind: "fresh"; ageMs: number }
  | { kind: "lagging"; ageMs: number };

export interface FreshnessInput {
  /** The feed as /api/health last reported it, if it did. */
  health: FeedHealth | undefined;
  /** The newest source time among the tile's live figures (epoch ms). */
  newest: number | null;
  /** Whether `newest` moves while the feed works (signal statuses change only now and then). */
  newestTellsAge: boolean;
  /** The server's time now (epoch ms), or the replay's position. */
  now: number;
  /** Whether the health's status applies (live data, not a replay). */
  live: boolean;
}

/** Judge one tile's figures. */
export function judge(input: FreshnessInput): Freshness {
  const { health, now } = input;
  if (input.live && health?.status === "idle") return { kind: "idle" };
  const times: number[] = [];
  if (input.newest !== null && (input.newestTellsAge || (input.live && health !== undefined))) times.push(input.newest);
  if (input.live && health?.lastObservation != null) times.push(health.lastObservation);
  if (times.length === 0) return { kind: "unknown" };
  // Data stamped a little ahead of this clock (a source's own clock) is simply fresh.
  const ageMs = Math.max(0, now - Math.max(...times));
  const allowance = (input.live ? health?.allowanceMs : null) ?? FALLBACK_ALLOWANCE_MS;
  const vouched =
    input.live && health?.status === "ok" && health.checkedAt !== null && now - health.checkedAt <= allowance;
  return ageMs > allowance && !vouched ? { kind: "lagging", ageMs } : { kind: "fresh", ageMs };
}

/** An ISO time as epoch ms, or null. */
export function epoch(iso: string | null): number | null {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}
