// Same-origin REST calls of the backend contract.

import {
  parseConfig,
  parseDistrictCollection,
  parseServicePointCollection,
  parseSignalCollection,
  parseSiteCollection,
  type DistrictRecord,
  type SiteRecord,
} from "./parse";
import type { AppConfig, ServicePointInfo, SignalInfo } from "./types";

const TIMEOUT_MS = 20_000;

async function getJson(path: string): Promise<unknown> {
  const res = await fetch(path, {
    headers: { Accept: "application/json" },
    cache: "no-store",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return res.json();
}

export async function fetchConfig(): Promise<AppConfig> {
  return parseConfig(await getJson("/api/config"));
}

export async function fetchDistricts(): Promise<DistrictRecord[]> {
  return parseDistrictCollection(await getJson("/api/districts"));
}

export async function fetchSites(): Promise<SiteRecord[]> {
  return parseSiteCollection(await getJson("/api/parking/sites"));
}

export async function fetchSignals(): Promise<SignalInfo[]> {
  return parseSignalCollection(await getJson("/api/assets/signals"));
}

export async function fetchServicePoints(): Promise<ServicePointInfo[]> {
  return parseServicePointCollection(await getJson("/api/assets/service_points"));
}

/** ws:// or wss:// URL of the live feed, matching the page's scheme and host. */
export function liveUrl(loc: Location = window.location): string {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}/ws/live`;
}
