// Occupancy bands and car-park status colours: one source for the map, the
// district list and the legend.
//
// Bands follow SFpark's 60–80% target occupancy. The hues are from the
// Okabe–Ito palette, chosen to stay distinguishable with the common forms of
// colour blindness; they also differ in lightness, and every coloured thing
// on the wall carries its number or label as text too.

import type { SignalState, SiteStatus } from "./types";

/** 0 = no data, 1 = under 60%, 2 = 60–80% (target), 3 = 80–90%, 4 = 90% and over. */
export type Band = 0 | 1 | 2 | 3 | 4;

export const BAND_LIMITS = [0.6, 0.8, 0.9] as const;

export const BAND_COLOURS: Record<Band, string> = {
  0: "#5b6470", // no data: neutral grey (hatched on the map)
  1: "#56b4e9", // sky blue: plenty of space
  2: "#009e73", // bluish green: on target
  3: "#f0e442", // yellow: nearly full
  4: "#d55e00", // vermilion: full
};

export function occupancyBand(occupancy: number | null): Band {
  if (occupancy === null) return 0;
  if (occupancy < BAND_LIMITS[0]) return 1;
  if (occupancy < BAND_LIMITS[1]) return 2;
  if (occupancy < BAND_LIMITS[2]) return 3;
  return 4;
}

export const STATUS_COLOURS: Record<SiteStatus | "unknown", string> = {
  spacesAvailable: "#009e73",
  almostFull: "#f0e442",
  full: "#d55e00",
  closed: "#9aa4b1",
  unknown: "#ffffff",
};

export const MAP_BACKGROUND = "#0a0f15";

// ---- operations layers ----
// Signals are drawn as rings (a coloured disc with a dark core) so that they
// never read as car-park dots; faults are also drawn larger than "normal".
// Okabe–Ito hues again: bluish green / orange / yellow / vermilion / grey
// differ in lightness as well as hue.

export const SIGNAL_COLOURS: Record<SignalState, string> = {
  normal: "#009e73", // bluish green: operating normally
  coordination_failed: "#f0e442", // yellow: running, but out of coordination
  flash: "#e69f00", // orange (amber): flashing
  dark: "#d55e00", // vermilion: dark, no lights
  comm_lost: "#9aa4b1", // grey: we cannot see it
  unknown: "#5b6470", // no status yet (drawn hollow on the map)
};

/** Draw order and legend order: worst on top / first. */
export const SIGNAL_RANK: Record<SignalState, number> = {
  unknown: 0,
  normal: 1,
  comm_lost: 2,
  coordination_failed: 3,
  flash: 4,
  dark: 5,
};

/** BRT buses: Okabe–Ito blue with a white outline. */
export const BUS_COLOUR = "#0072b2";
export const BUS_STROKE = "#ffffff";

/** Public-service desks: reddish purple discs sized by the queue. */
export const DESK_COLOUR = "#cc79a7";

/** District health (0..1, higher is better) on the same colours: 2 good (≥ 0.8), 3 fair (≥ 0.6), 4 poor. */
export function healthBand(health: number | null): Band {
  if (health === null) return 0;
  if (health >= 0.8) return 2;
  if (health >= 0.6) return 3;
  return 4;
}

/** Situation severities: info grey-blue, minor yellow, major orange, critical vermilion. */
export const SEVERITY_COLOURS = { info: "#9aa4b1", minor: "#f0e442", major: "#e69f00", critical: "#d55e00" } as const;
