// The dashboard's whole state: district and car-park catalogues (static, from
// REST) and their live figures (from REST at start-up, then /ws/live).
// Every collection is keyed by id, so its size is bounded by the city's data,
// however long the wall runs.

import type { DistrictRecord, SiteRecord } from "./parse";
import type {
  DistrictInfo,
  DistrictParking,
  DistrictUpdate,
  SiteInfo,
  SiteLive,
  StreamKind,
} from "./types";

/** Bit flags passed to the change callback. */
export const Changed = {
  districts: 1,
  sites: 2,
} as const;

export interface DistrictRow {
  code: string;
  info: DistrictInfo | null;
  parking: DistrictParking | null;
}

export interface Headline {
  occupancy: number | null;
  capacity: number;
  occupied: number;
  available: number;
  fullSites: number;
  sites: number;
  updatedAt: string | null;
}

type Stream = "districts" | "parking";

export class Store {
  private readonly districtInfo = new Map<string, DistrictInfo>();
  private readonly districtParking = new Map<string, DistrictParking | null>();
  private readonly siteInfo = new Map<string, SiteInfo>();
  private readonly siteLive = new Map<string, SiteLive>();
  private readonly seq: Record<Stream, number | null> = { districts: null, parking: null };
  /** Deltas whose seq skipped ahead (messages lost upstream); diagnostic only. */
  gaps = 0;

  constructor(private readonly onChange: (flags: number) => void) {}

  // ---- catalogues (REST) ----

  setDistrictCatalogue(records: DistrictRecord[]): void {
    this.districtInfo.clear();
    const seedLive = this.seq.districts === null;
    if (seedLive) this.districtParking.clear();
    for (const r of records) {
      this.districtInfo.set(r.info.code, r.info);
      if (seedLive) this.districtParking.set(r.info.code, r.parking);
    }
    this.onChange(Changed.districts);
  }

  setSiteCatalogue(records: SiteRecord[]): void {
    this.siteInfo.clear();
    const seedLive = this.seq.parking === null;
    if (seedLive) this.siteLive.clear();
    for (const r of records) {
      this.siteInfo.set(r.info.id, r.info);
      if (seedLive) this.siteLive.set(r.live.id, r.live);
    }
    this.onChange(Changed.sites);
  }

  // ---- live stream ----

  /** A new WebSocket connection: the server will send fresh snapshots. */
  beginConnection(): void {
    this.seq.districts = null;
    this.seq.parking = null;
  }

  /** Returns false when the message was stale and ignored. */
  private acceptSeq(stream: Stream, kind: StreamKind, seq: number | null): boolean {
    const last = this.seq[stream];
    if (kind === "delta" && seq !== null && last !== null) {
      if (seq <= last) return false;
      if (seq > last + 1) this.gaps += 1;
    }
    if (seq !== null) this.seq[stream] = seq;
    return true;
  }

  applyDistricts(kind: StreamKind, seq: number | null, updates: DistrictUpdate[]): void {
    if (!this.acceptSeq("districts", kind, seq)) return;
    if (kind === "snapshot") this.districtParking.clear();
    for (const u of updates) this.districtParking.set(u.code, u.parking);
    this.onChange(Changed.districts);
  }

  applySites(kind: StreamKind, seq: number | null, updates: SiteLive[]): void {
    if (!this.acceptSeq("parking", kind, seq)) return;
    if (kind === "snapshot") this.siteLive.clear();
    for (const s of updates) this.siteLive.set(s.id, s);
    this.onChange(Changed.sites);
  }

  // ---- reads ----

  district(code: string): DistrictRow | null {
    const info = this.districtInfo.get(code) ?? null;
    if (info === null && !this.districtParking.has(code)) return null;
    return { code, info, parking: this.districtParking.get(code) ?? null };
  }

  districtInfos(): IterableIterator<DistrictInfo> {
    return this.districtInfo.values();
  }

  /** All known districts, worst occupancy first; districts without data last. */
  districtRows(): DistrictRow[] {
    const rows: DistrictRow[] = [];
    for (const [code, info] of this.districtInfo) {
      rows.push({ code, info, parking: this.districtParking.get(code) ?? null });
    }
    for (const [code, parking] of this.districtParking) {
      if (!this.districtInfo.has(code)) rows.push({ code, info: null, parking });
    }
    rows.sort((a, b) => {
      const oa = a.parking?.occupancy ?? null;
      const ob = b.parking?.occupancy ?? null;
      if (oa !== ob) {
        if (oa === null) return 1;
        if (ob === null) return -1;
        return ob - oa;
      }
      return a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
    });
    return rows;
  }

  site(id: string): { info: SiteInfo; live: SiteLive | null } | null {
    const info = this.siteInfo.get(id);
    return info === undefined ? null : { info, live: this.siteLive.get(id) ?? null };
  }

  siteInfos(): IterableIterator<SiteInfo> {
    return this.siteInfo.values();
  }

  siteLiveOf(id: string): SiteLive | null {
    return this.siteLive.get(id) ?? null;
  }

  /** Live car parks the catalogue has no location for (new since the page loaded). */
  uncataloguedSites(): number {
    let n = 0;
    for (const id of this.siteLive.keys()) if (!this.siteInfo.has(id)) n += 1;
    return n;
  }

  /** City-wide parking figures, summed from the district aggregates. */
  headline(): Headline {
    const h: Headline = {
      occupancy: null,
      capacity: 0,
      occupied: 0,
      available: 0,
      fullSites: 0,
      sites: 0,
      updatedAt: null,
    };
    let newest = -Infinity;
    let any = false;
    const take = (updatedAt: string | null): void => {
      if (updatedAt === null) return;
      const t = Date.parse(updatedAt);
      if (!Number.isNaN(t) && t > newest) {
        newest = t;
        h.updatedAt = updatedAt;
      }
    };
    for (const p of this.districtParking.values()) {
      if (p === null) continue;
      any = true;
      h.capacity += p.capacity;
      h.occupied += p.occupied;
      h.available += p.available;
      h.fullSites += p.fullSites;
      h.sites += p.sites;
      take(p.updatedAt);
    }
    if (!any) {
      // No district aggregates yet: fall back to the car parks themselves.
      for (const s of this.siteLive.values()) {
        any = true;
        h.capacity += s.capacity;
        h.occupied += s.occupied;
        h.available += s.available;
        h.sites += 1;
        if (s.status === "full") h.fullSites += 1;
        take(s.updatedAt);
      }
    }
    if (any && h.capacity > 0) h.occupancy = h.occupied / h.capacity;
    return h;
  }
}
