// Defensive conversion of backend JSON into the types of types.ts.
// Malformed items are dropped rather than allowed to break the wall.

import type { MultiPolygon, Polygon } from "geojson";
import {
  SITE_STATUSES,
  type AppConfig,
  type DistrictInfo,
  type DistrictParking,
  type DistrictUpdate,
  type ServerMessage,
  type SiteInfo,
  type SiteLive,
  type SiteStatus,
} from "./types";

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function num(x: unknown): number | null {
  return typeof x === "number" && Number.isFinite(x) ? x : null;
}

function str(x: unknown): string | null {
  if (typeof x === "string") return x;
  if (typeof x === "number" && Number.isFinite(x)) return String(x);
  return null;
}

function list(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}

function time(x: unknown): number | null {
  const s = str(x);
  if (s === null) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

export const DEFAULT_CONFIG: AppConfig = {
  city: {
    name: "hanoi",
    title: { vi: "Hà Nội", en: "Hanoi" },
    centre: [105.83, 21.03],
    zoom: 9.5,
    timezone: "Asia/Ho_Chi_Minh",
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
    case "error":
      return { type: "error", code: str(x["code"]) ?? "", reason: str(x["reason"]) ?? "" };
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
      return null;
    }
    default:
      return null;
  }
}
