// Shapes of the backend contract (REST + /ws/live), after validation by parse.ts.

import type { MultiPolygon, Polygon } from "geojson";

export type Lang = "vi" | "en";

export interface CityConfig {
  name: string;
  title: Record<Lang, string>;
  centre: [number, number];
  zoom: number;
  timezone: string;
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

export type StreamKind = "snapshot" | "delta";

export type ServerMessage =
  | { type: "hello"; protocol: number | null; serverTime: number | null }
  | { type: "heartbeat"; serverTime: number | null }
  | { type: "error"; code: string; reason: string }
  | { type: StreamKind; stream: "districts"; seq: number | null; districts: DistrictUpdate[] }
  | { type: StreamKind; stream: "parking"; seq: number | null; sites: SiteLive[] };
