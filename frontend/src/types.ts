// Shapes of the backend contract (REST + /ws/live), after validation by parse.ts.

import type { MultiPolygon, Polygon } from "geojson";

export type Lang = "vi" | "en";

export interface CityConfig {
  name: string;
  title: Record<Lang, string>;
  centre: [number, number];
  zoom: number;
  timezone: string;
  /** The boundary layer the districts come from (for /api/kpis/{layer}). */
  layer: string;
}

export interface AppConfig {
  city: CityConfig;
  basemapStyleUrl: string | null;
}

/** Parking aggregate of one district. `occupancy` is 0..1, or null without car parks. */
export interface DistrictParking {
  sites: number;
  capacity: number;
  occupied: number;
  available: number;
  occupancy: number | null;
  fullSites: number;
  updatedAt: string | null;
}

/** Static description of a district (from GET /api/districts). */
export interface DistrictInfo {
  code: string;
  name: string;
  nameEn: string;
  kind: string;
  geometry: Polygon | MultiPolygon | null;
}

export const SITE_STATUSES = ["spacesAvailable", "almostFull", "full", "closed"] as const;
export type SiteStatus = (typeof SITE_STATUSES)[number];

/** Live figures of one car park. `status` is "unknown" when the feed has none. */
export interface SiteLive {
  id: string;
  district: string;
  capacity: number;
  occupied: number;
  available: number;
  occupancy: number | null;
  status: SiteStatus | "unknown";
  updatedAt: string | null;
}

/** Static description of a car park (from GET /api/parking/sites). */
export interface SiteInfo {
  id: string;
  name: string;
  address: string;
  district: string;
  lngLat: [number, number];
}

export interface DistrictUpdate {
  code: string;
  parking: DistrictParking | null;
}

// ---- traffic signals ----

export const SIGNAL_STATES = ["normal", "flash", "dark", "comm_lost", "coordination_failed"] as const;
/** "unknown": a state this client does not know, or (on the map) no status reported yet. */
export type SignalState = (typeof SIGNAL_STATES)[number] | "unknown";

/** Static description of a signalised crossing (from GET /api/assets/signals). */
export interface SignalInfo {
  id: string;
  name: string;
  brt: boolean;
  controller: string;
  phases: number;
  detectors: number;
  lngLat: [number, number];
}

/** Live status of one signal controller (stream "signals", `units`). */
export interface SignalUnit {
  id: string;
  state: SignalState;
  /** The state as sent, for display when this client does not know it. */
  rawState: string;
  reason: string | null;
  since: string | null;
  district: string;
  updatedAt: string | null;
}

/** Signal figures of one district (stream "signals", `districts`). */
export interface DistrictSignals {
  signals: number;
  normal: number;
  flash: number;
  dark: number;
  commLost: number;
  shareNormal: number | null;
  updatedAt: string | null;
}

// ---- public-service desks ----

/** Static description of a public-service desk (from GET /api/assets/service_points). */
export interface ServicePointInfo {
  id: string;
  name: string;
  level: string;
  counters: number | null;
  serviceTypes: string[];
  openingHours: string;
  targetWaitMin: number | null;
  district: string;
  lngLat: [number, number];
}

/** Latest counter snapshot of one desk (stream "queues", `points`). */
export interface QueuePoint {
  id: string;
  countersOpen: number;
  waiting: number;
  /** People waiting per service type, largest first. */
  byService: [string, number][];
  district: string;
  updatedAt: string | null;
}

/** Queue figures of one district (stream "queues", `districts`). */
export interface DistrictQueues {
  points: number;
  waiting: number;
  countersOpen: number;
  updatedAt: string | null;
}

// ---- BRT ----

/** Latest position of one bus (stream "brt", `vehicles`). */
export interface BusLive {
  id: string;
  tripId: string | null;
  routeId: string | null;
  directionId: number | null;
  stopId: string | null;
  /** GTFS-Realtime VehicleStopStatus name, e.g. "STOPPED_AT". */
  status: string | null;
  /** GTFS-Realtime OccupancyStatus name, e.g. "MANY_SEATS_AVAILABLE". */
  occupancy: string | null;
  lngLat: [number, number] | null;
  district: string;
  updatedAt: string | null;
}

export type StreamKind = "snapshot" | "delta";

/** One feed's freshness as GET /api/health reports it. Times are epoch ms on the server's clock. */
export interface FeedHealth {
  /** ok | lagging | failing | silent | idle (outside its scheduled hours). */
  status: string;
  lastObservation: number | null;
  /** When the server judged the status. */
  checkedAt: number | null;
  /** How old its newest observation may be before the feed is lagging; null when the server does not say. */
  allowanceMs: number | null;
}

export type ServerMessage =
  | { type: "hello"; protocol: number | null; serverTime: number | null }
  | { type: "heartbeat"; serverTime: number | null }
  | { type: "pong"; serverTime: number | null }
  | { type: "error"; code: string; reason: string }
  | { type: StreamKind; stream: "districts"; seq: number | null; districts: DistrictUpdate[] }
  | { type: StreamKind; stream: "parking"; seq: number | null; sites: SiteLive[] }
  | {
      type: StreamKind;
      stream: "signals";
      seq: number | null;
      districts: { code: string; signals: DistrictSignals | null }[];
      units: SignalUnit[];
    }
  | {
      type: StreamKind;
      stream: "queues";
      seq: number | null;
      districts: { code: string; queues: DistrictQueues | null }[];
      points: QueuePoint[];
    }
  | { type: StreamKind; stream: "brt"; seq: number | null; vehicles: BusLive[] }
  | { type: StreamKind; stream: "situations"; seq: number | null; situations: Situation[]; change: string | null }
  | ReplayState;

// ---- situations ----

export const SEVERITIES = ["info", "minor", "major", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];
export const SITUATION_STATUSES = ["open", "acknowledged", "in_progress", "resolved", "closed"] as const;
export type SituationStatus = (typeof SITUATION_STATUSES)[number];

/** One situation's summary (lists, the live stream). Times are epoch ms. */
export interface Situation {
  id: number;
  type: string;
  severity: Severity;
  status: SituationStatus;
  title: string;
  assetKind: string | null;
  assetId: string | null;
  district: string;
  lngLat: [number, number] | null;
  openedAt: number;
  updatedAt: number;
  escalated: boolean;
  acknowledgedBy: string | null;
  assignee: string | null;
  conditionCleared: boolean;
  alertCount: number;
}

export interface ChecklistItem {
  id: number;
  text: string;
  done: boolean;
  doneBy: string | null;
}

export interface SituationEvent {
  at: number;
  actor: string | null;
  action: string;
  text: string;
}

/** GET /api/situations/{id}: the summary plus what was done. */
export interface SituationDetail {
  summary: Situation;
  history: SituationEvent[];
  comments: SituationEvent[];
  checklist: ChecklistItem[];
  evidence: string[];
}

/** The replay's position, from the server (`replay_state`). Times are epoch ms. */
export interface ReplayState {
  type: "replay_state";
  position: number | null;
  start: number | null;
  end: number | null;
  speed: number;
  paused: boolean;
  finished: boolean;
}
