// Defensive conversion of backend JSON into the types of types.ts.
// Malformed items are dropped rather than allowed to break the wall.

import type { MultiPolygon, Polygon } from "geojson";
import { isObj, list, num, str, time, type Obj } from "./json";
import { parseReplayState, parseSituation } from "./situationParse";
import {
  SIGNAL_STATES,
  SITE_STATUSES,
  type AppConfig,
  type BusLive,
  type DistrictInfo,
  type DistrictParking,
  type DistrictQueues,
  type DistrictSignals,
  type DistrictUpdate,
  type FeedHealth,
  type QueuePoint,
  type ServerMessage,
  type ServicePointInfo,
  type SignalInfo,
  type SignalState,
  type SignalUnit,
  type SiteInfo,
  type SiteLive,
  type SiteStatus,
} from "./types";

export const DEFAULT_CONFIG: AppConfig = {
  city: {
    name: "hanoi",
    title: { vi: "Hà Nội", en: "Hanoi" },
    centre: [105.83, 21.03],
    zoom: 9.5,
    timezone: "Asia/Ho_Chi_Minh",
    layer: "districts",
  },
  basemapStyleUrl: null,
};

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function parseConfig(x: unknown): AppConfig {
  const d = DEFAULT_CONFIG.city;
  const root = isObj(x) ? x : {};
  const c = isObj(root["city"]) ? root["city"] : {};
  const title = isObj(c["title"]) ? c["title"] : {};
  const centre = list(c["centre"]);
  const lng = num(centre[0]);
  const lat = num(centre[1]);
  const tz = str(c["timezone"]);
  const basemap = str(root["basemap_style_url"]);
  return {
    city: {
      name: str(c["name"]) ?? d.name,
      title: { vi: str(title["vi"]) ?? d.title.vi, en: str(title["en"]) ?? d.title.en },
      centre: lng !== null && lat !== null ? [lng, lat] : d.centre,
      zoom: num(c["zoom"]) ?? d.zoom,
      timezone: tz !== null && validTimeZone(tz) ? tz : d.timezone,
      layer: str(c["layer"]) ?? d.layer,
    },
    basemapStyleUrl: basemap !== null && basemap.trim() !== "" ? basemap : null,
  };
}

export function parseParking(x: unknown): DistrictParking | null {
  if (!isObj(x)) return null;
  return {
    sites: num(x["sites"]) ?? 0,
    capacity: num(x["capacity"]) ?? 0,
    occupied: num(x["occupied"]) ?? 0,
    available: num(x["available"]) ?? 0,
    occupancy: num(x["occupancy"]),
    fullSites: num(x["full_sites"]) ?? 0,
    updatedAt: str(x["updated_at"]),
  };
}

function parseGeometry(x: unknown): Polygon | MultiPolygon | null {
  if (!isObj(x)) return null;
  if ((x["type"] === "Polygon" || x["type"] === "MultiPolygon") && Array.isArray(x["coordinates"])) {
    return x as unknown as Polygon | MultiPolygon;
  }
  return null;
}

export interface DistrictRecord {
  info: DistrictInfo;
  parking: DistrictParking | null;
}

export function parseDistrictCollection(x: unknown): DistrictRecord[] {
  const out: DistrictRecord[] = [];
  if (!isObj(x)) return out;
  for (const f of list(x["features"])) {
    if (!isObj(f)) continue;
    const p = isObj(f["properties"]) ? f["properties"] : {};
    const code = str(p["code"]) ?? str(f["id"]);
    if (code === null) continue;
    const name = str(p["name"]) ?? code;
    out.push({
      info: {
        code,
        name,
        nameEn: str(p["name_en"]) ?? name,
        kind: str(p["kind"]) ?? "",
        geometry: parseGeometry(f["geometry"]),
      },
      parking: parseParking(p["parking"]),
    });
  }
  return out;
}

function parseStatus(x: unknown): SiteStatus | "unknown" {
  return (SITE_STATUSES as readonly unknown[]).includes(x) ? (x as SiteStatus) : "unknown";
}

export function parseSiteLive(x: unknown): SiteLive | null {
  if (!isObj(x)) return null;
  const id = str(x["id"]);
  if (id === null) return null;
  return {
    id,
    district: str(x["district"]) ?? "",
    capacity: num(x["capacity"]) ?? 0,
    occupied: num(x["occupied"]) ?? 0,
    available: num(x["available"]) ?? 0,
    occupancy: num(x["occupancy"]),
    status: parseStatus(x["status"]),
    updatedAt: str(x["updated_at"]),
  };
}

export interface SiteRecord {
  info: SiteInfo;
  live: SiteLive;
}

export function parseSiteCollection(x: unknown): SiteRecord[] {
  const out: SiteRecord[] = [];
  if (!isObj(x)) return out;
  for (const f of list(x["features"])) {
    if (!isObj(f)) continue;
    const p = isObj(f["properties"]) ? f["properties"] : {};
    const g = isObj(f["geometry"]) ? f["geometry"] : {};
    const coords = list(g["coordinates"]);
    const lng = num(coords[0]);
    const lat = num(coords[1]);
    const live = parseSiteLive({ id: p["id"] ?? f["id"], ...p });
    if (live === null || g["type"] !== "Point" || lng === null || lat === null) continue;
    out.push({
      info: {
        id: live.id,
        name: str(p["name"]) ?? live.id,
        address: str(p["address"]) ?? "",
        district: live.district,
        lngLat: [lng, lat],
      },
      live,
    });
  }
  return out;
}

function parseDistrictUpdates(x: unknown): DistrictUpdate[] {
  const out: DistrictUpdate[] = [];
  for (const d of list(x)) {
    if (!isObj(d)) continue;
    const code = str(d["code"]);
    if (code === null) continue;
    out.push({ code, parking: parseParking(d["parking"]) });
  }
  return out;
}

function parseSiteUpdates(x: unknown): SiteLive[] {
  const out: SiteLive[] = [];
  for (const s of list(x)) {
    const live = parseSiteLive(s);
    if (live !== null) out.push(live);
  }
  return out;
}

// ---- asset catalogues (GET /api/assets/{kind}) ----

/** The Point features of a FeatureCollection, with their properties and position. */
function pointFeatures(x: unknown): { p: Obj; id: string; lngLat: [number, number] }[] {
  const out: { p: Obj; id: string; lngLat: [number, number] }[] = [];
  if (!isObj(x)) return out;
  for (const f of list(x["features"])) {
    if (!isObj(f)) continue;
    const p = isObj(f["properties"]) ? f["properties"] : {};
    const g = isObj(f["geometry"]) ? f["geometry"] : {};
    const coords = list(g["coordinates"]);
    const lng = num(coords[0]);
    const lat = num(coords[1]);
    const id = str(p["id"]) ?? str(f["id"]);
    if (id === null || g["type"] !== "Point" || lng === null || lat === null) continue;
    out.push({ p, id, lngLat: [lng, lat] });
  }
  return out;
}

export function parseSignalCollection(x: unknown): SignalInfo[] {
  return pointFeatures(x).map(({ p, id, lngLat }) => ({
    id,
    name: str(p["name"]) ?? id,
    brt: p["brt"] === true,
    controller: str(p["controller"]) ?? "",
    phases: list(p["phases"]).length,
    detectors: list(p["detectors"]).length,
    lngLat,
  }));
}

export function parseServicePointCollection(x: unknown): ServicePointInfo[] {
  return pointFeatures(x).map(({ p, id, lngLat }) => ({
    id,
    name: str(p["name"]) ?? id,
    level: str(p["level"]) ?? "",
    counters: num(p["counters"]),
    serviceTypes: list(p["service_types"])
      .map(str)
      .filter((s): s is string => s !== null),
    openingHours: str(p["opening_hours"]) ?? "",
    targetWaitMin: num(p["target_wait_min"]),
    district: str(p["district"]) ?? "",
    lngLat,
  }));
}

// ---- live streams: signals, queues, brt ----

function parseSignalState(x: unknown): SignalState {
  return (SIGNAL_STATES as readonly unknown[]).includes(x) ? (x as SignalState) : "unknown";
}

function parseSignalUnit(x: unknown): SignalUnit | null {
  if (!isObj(x)) return null;
  const id = str(x["id"]);
  if (id === null) return null;
  return {
    id,
    state: parseSignalState(x["state"]),
    rawState: str(x["state"]) ?? "",
    reason: str(x["reason"]),
    since: str(x["since"]),
    district: str(x["district"]) ?? "",
    updatedAt: str(x["updated_at"]),
  };
}

function parseDistrictSignals(x: unknown): DistrictSignals | null {
  if (!isObj(x)) return null;
  return {
    signals: num(x["signals"]) ?? 0,
    normal: num(x["normal"]) ?? 0,
    flash: num(x["flash"]) ?? 0,
    dark: num(x["dark"]) ?? 0,
    commLost: num(x["comm_lost"]) ?? 0,
    shareNormal: num(x["share_normal"]),
    updatedAt: str(x["updated_at"]),
  };
}

function parseQueuePoint(x: unknown): QueuePoint | null {
  if (!isObj(x)) return null;
  const id = str(x["id"]);
  if (id === null) return null;
  const byService: [string, number][] = [];
  const raw = x["by_service"];
  if (isObj(raw)) {
    for (const [k, v] of Object.entries(raw)) {
      const n = num(v);
      if (n !== null) byService.push([k, n]);
    }
  }
  byService.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const waiting = num(x["waiting"]) ?? byService.reduce((sum, [, n]) => sum + n, 0);
  return {
    id,
    countersOpen: num(x["counters_open"]) ?? 0,
    waiting,
    byService,
    district: str(x["district"]) ?? "",
    updatedAt: str(x["updated_at"]),
  };
}

function parseDistrictQueues(x: unknown): DistrictQueues | null {
  if (!isObj(x)) return null;
  return {
    points: num(x["points"]) ?? 0,
    waiting: num(x["waiting"]) ?? 0,
    countersOpen: num(x["counters_open"]) ?? 0,
    updatedAt: str(x["updated_at"]),
  };
}

function parseBus(x: unknown): BusLive | null {
  if (!isObj(x)) return null;
  const id = str(x["id"]);
  if (id === null) return null;
  const lng = num(x["lon"]);
  const lat = num(x["lat"]);
  return {
    id,
    tripId: str(x["trip_id"]),
    routeId: str(x["route_id"]),
    directionId: num(x["direction_id"]),
    stopId: str(x["stop_id"]),
    status: str(x["status"]),
    occupancy: str(x["occupancy"]),
    lngLat: lng !== null && lat !== null ? [lng, lat] : null,
    district: str(x["district"]) ?? "",
    updatedAt: str(x["updated_at"]),
  };
}

function parseAll<T>(x: unknown, one: (item: unknown) => T | null): T[] {
  const out: T[] = [];
  for (const item of list(x)) {
    const v = one(item);
    if (v !== null) out.push(v);
  }
  return out;
}

function parseDistrictFigures<T>(x: unknown, key: string, one: (v: unknown) => T | null): { code: string; figures: T | null }[] {
  const out: { code: string; figures: T | null }[] = [];
  for (const d of list(x)) {
    if (!isObj(d)) continue;
    const code = str(d["code"]);
    if (code !== null) out.push({ code, figures: one(d[key]) });
  }
  return out;
}

/** The `feeds` of GET /api/health, by feed name; feeds without a status are left out. */
export function parseFeedHealth(x: unknown): Map<string, FeedHealth> {
  const out = new Map<string, FeedHealth>();
  if (!isObj(x) || !isObj(x["feeds"])) return out;
  const checkedAt = time(x["checked_at"]);
  for (const [name, f] of Object.entries(x["feeds"])) {
    const status = isObj(f) ? str(f["status"]) : null;
    if (!isObj(f) || status === null) continue;
    const allowance = num(f["lag_allowance_s"]);
    out.set(name, {
      status,
      lastObservation: time(f["last_observation"]),
      checkedAt,
      allowanceMs: allowance === null ? null : allowance * 1_000,
    });
  }
  return out;
}

/** Returns null for anything that is not a message this client understands. */
export function parseServerMessage(raw: string): ServerMessage | null {
  let x: unknown;
  try {
    x = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!isObj(x)) return null;
  switch (x["type"]) {
    case "hello":
      return { type: "hello", protocol: num(x["protocol"]), serverTime: time(x["server_time"]) };
    case "heartbeat":
      return { type: "heartbeat", serverTime: time(x["server_time"]) };
    case "pong":
      return { type: "pong", serverTime: time(x["server_time"]) };
    case "error":
      return { type: "error", code: str(x["code"]) ?? "", reason: str(x["reason"]) ?? "" };
    case "replay_state":
      return parseReplayState(x);
    case "snapshot":
    case "delta": {
      const type = x["type"];
      const seq = num(x["seq"]);
      if (x["stream"] === "districts") {
        return { type, stream: "districts", seq, districts: parseDistrictUpdates(x["districts"]) };
      }
      if (x["stream"] === "parking") {
        return { type, stream: "parking", seq, sites: parseSiteUpdates(x["sites"]) };
      }
      if (x["stream"] === "signals") {
        return {
          type,
          stream: "signals",
          seq,
          districts: parseDistrictFigures(x["districts"], "signals", parseDistrictSignals).map((d) => ({
            code: d.code,
            signals: d.figures,
          })),
          units: parseAll(x["units"], parseSignalUnit),
        };
      }
      if (x["stream"] === "queues") {
        return {
          type,
          stream: "queues",
          seq,
          districts: parseDistrictFigures(x["districts"], "queues", parseDistrictQueues).map((d) => ({
            code: d.code,
            queues: d.figures,
          })),
          points: parseAll(x["points"], parseQueuePoint),
        };
      }
      if (x["stream"] === "brt") {
        return { type, stream: "brt", seq, vehicles: parseAll(x["vehicles"], parseBus) };
      }
      if (x["stream"] === "situations") {
        // Snapshots, and deltas coalesced for a client that fell behind, carry a list; a plain delta one situation.
        const items = Array.isArray(x["situations"]) ? parseAll(x["situations"], parseSituation) : parseAll([x["situation"]], parseSituation);
        return { type, stream: "situations", seq, situations: items, change: str(x["change"]) };
      }
      return null;
    }
    default:
      return null;
  }
}
