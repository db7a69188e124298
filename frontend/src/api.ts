// Same-origin REST calls of the backend contract, all through the signed-in
// session's fetch (set once at boot by useFetcher).

import { HttpError } from "./auth";
import { isObj, list, num, str, time } from "./json";
import {
  parseConfig,
  parseDistrictCollection,
  parseFeedHealth,
  parseServicePointCollection,
  parseSignalCollection,
  parseSiteCollection,
  type DistrictRecord,
  type SiteRecord,
} from "./parse";
import { parseSituationDetail, parseSituationList } from "./situationParse";
import type { AppConfig, FeedHealth, ServicePointInfo, SignalInfo, Situation, SituationDetail } from "./types";

type Fetcher = (path: string, init?: RequestInit) => Promise<Response>;

let fetcher: Fetcher = (path, init) => fetch(path, { cache: "no-store", ...init });

export function useFetcher(f: Fetcher): void {
  fetcher = f;
}

export async function getJson(path: string): Promise<unknown> {
  const res = await fetcher(path);
  if (!res.ok) throw new HttpError(res.status, `GET ${path}: HTTP ${res.status}`);
  return res.json();
}

export async function postJson(path: string, body: unknown = {}): Promise<unknown> {
  const res = await fetcher(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    const detail = await res.json().catch(() => null);
    const reason = isObj(detail) ? str(detail["detail"]) : null;
    throw new HttpError(res.status, reason ?? `POST ${path}: HTTP ${res.status}`);
  }
  return res.status === 204 ? null : res.json().catch(() => null);
}

function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}

export async function fetchConfig(): Promise<AppConfig> {
  return parseConfig(await getJson("/api/config"));
}

/** Each feed's freshness from GET /api/health; a 503 (database or Redis down) still reports the feeds. */
export async function fetchFeedHealth(): Promise<Map<string, FeedHealth>> {
  const res = await fetcher("/api/health");
  if (!res.ok && res.status !== 503) throw new HttpError(res.status, `GET /api/health: HTTP ${res.status}`);
  return parseFeedHealth(await res.json());
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

/** Every district's health score (0..1, higher is better) and KPIs, from GET /api/kpis/{layer}. */
export async function fetchHealth(layer: string, at: number | null = null): Promise<Map<string, number | null>> {
  const x = await getJson(`/api/kpis/${encodeURIComponent(layer)}${query({ at: at === null ? null : new Date(at).toISOString() })}`);
  const out = new Map<string, number | null>();
  const areas = isObj(x) ? x["areas"] : null;
  if (isObj(areas)) {
    for (const [code, k] of Object.entries(areas)) out.set(code, isObj(k) ? num(k["health"]) : null);
  } else {
    for (const a of list(areas)) {
      if (isObj(a) && str(a["code"]) !== null) out.set(str(a["code"])!, num(a["health"]));
    }
  }
  return out;
}

// ---- situations ----

export interface SituationQuery {
  status?: string;
  severity?: string;
  type?: string;
  district?: string;
  since?: number;
  until?: number;
}

export async function fetchSituations(q: SituationQuery = {}): Promise<Situation[]> {
  const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
  return parseSituationList(
    await getJson(
      `/api/situations${query({ status: q.status, severity: q.severity, type: q.type, district: q.district, since: iso(q.since), until: iso(q.until) })}`,
    ),
  );
}

export async function fetchSituation(id: number, lang: "vi" | "en"): Promise<SituationDetail | null> {
  return parseSituationDetail(await getJson(`/api/situations/${id}`), lang);
}

export type SituationAction = "acknowledge" | "start" | "resolve" | "close";

export async function situationAction(id: number, action: SituationAction): Promise<void> {
  await postJson(`/api/situations/${id}/${action}`);
}

export async function assignSituation(id: number, assignee: string): Promise<void> {
  await postJson(`/api/situations/${id}/assign`, { assignee });
}

export async function commentSituation(id: number, text: string): Promise<void> {
  await postJson(`/api/situations/${id}/comment`, { text });
}

export async function tickChecklist(id: number, itemId: number, done: boolean): Promise<void> {
  await postJson(`/api/situations/${id}/checklist/${itemId}`, { done });
}

/** "What changed in the last N minutes", for the wall. */
export interface Changes {
  opened: number;
  escalated: number;
  resolved: number;
  worse: string[];
  better: string[];
}

function countOrLength(x: unknown): number {
  return num(x) ?? list(x).length;
}

function codes(x: unknown): string[] {
  return list(x)
    .map((d) => (isObj(d) ? str(d["code"]) ?? str(d["district"]) : str(d)))
    .filter((c): c is string => c !== null);
}

export async function fetchChanges(minutes: number): Promise<Changes> {
  const x = await getJson(`/api/situations/changes${query({ minutes })}`);
  if (!isObj(x)) throw new Error("changes: not an object");
  const districts = isObj(x["districts"]) ? x["districts"] : x;
  return {
    opened: countOrLength(x["opened"]),
    escalated: countOrLength(x["escalated"]),
    resolved: countOrLength(x["resolved"]),
    worse: codes(districts["worse"]),
    better: codes(districts["better"]),
  };
}

// ---- history ----

export interface SeriesPoint {
  t: number;
  v: number | null;
}

/** Parses {points|series: [{time|t|bucket, value|v}]} or [[t, v], …]. */
export function parseSeries(x: unknown): SeriesPoint[] {
  const items = isObj(x) ? (x["points"] ?? x["series"] ?? x["values"]) : x;
  const out: SeriesPoint[] = [];
  for (const p of list(items)) {
    if (Array.isArray(p)) {
      const t = time(p[0]);
      if (t !== null) out.push({ t, v: num(p[1]) });
    } else if (isObj(p)) {
      const t = time(p["time"] ?? p["t"] ?? p["bucket"] ?? p["at"]);
      if (t !== null) out.push({ t, v: num(p["value"] ?? p["v"] ?? p["avg"]) });
    }
  }
  return out.sort((a, b) => a.t - b.t);
}

export async function fetchSeries(
  feed: string,
  kpi: string,
  district: string | null,
  start: number,
  end: number,
): Promise<SeriesPoint[]> {
  return parseSeries(
    await getJson(
      `/api/history/${encodeURIComponent(feed)}/${encodeURIComponent(kpi)}${query({
        district,
        start: new Date(start).toISOString(),
        end: new Date(end).toISOString(),
      })}`,
    ),
  );
}

export interface Comparison {
  current: SeriesPoint[];
  previous: SeriesPoint[];
}

export async function fetchComparison(
  feed: string,
  kpi: string,
  district: string | null,
  start: number,
  end: number,
  offset: string,
): Promise<Comparison> {
  const x = await getJson(
    `/api/history/compare${query({
      feed,
      kpi,
      district,
      start: new Date(start).toISOString(),
      end: new Date(end).toISOString(),
      offset,
    })}`,
  );
  if (!isObj(x)) return { current: [], previous: [] };
  return {
    current: parseSeries(x["current"] ?? x["a"] ?? x["this"]),
    previous: parseSeries(x["previous"] ?? x["b"] ?? x["other"]),
  };
}

export function exportUrl(feed: string, format: "csv" | "parquet" | "geojson", start: number, end: number, district: string | null): string {
  return `/api/export/${encodeURIComponent(feed)}${query({
    format,
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    district,
  })}`;
}

// ---- per-asset measures ----

export async function fetchSignalMeasures(id: string, start: number, end: number): Promise<unknown> {
  return getJson(`/api/signals/${encodeURIComponent(id)}/measures${query({ start: new Date(start).toISOString(), end: new Date(end).toISOString() })}`);
}

export async function fetchQueueMeasures(id: string, start: number, end: number): Promise<unknown> {
  return getJson(`/api/queues/${encodeURIComponent(id)}/measures${query({ start: new Date(start).toISOString(), end: new Date(end).toISOString() })}`);
}

export async function fetchBrtHeadways(start: number, end: number): Promise<unknown> {
  return getJson(`/api/brt/headways${query({ start: new Date(start).toISOString(), end: new Date(end).toISOString() })}`);
}

/** ws:// or wss:// URL of a WebSocket path, with the access token when signed in. */
export function wsUrl(path: string, token: string | null, loc: Location = window.location): string {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}${path}${token === null ? "" : `?token=${encodeURIComponent(token)}`}`;
}
