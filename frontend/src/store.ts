// The dashboard's whole state: catalogues (static, from REST: districts, car
// parks, signals, public-service desks) and their live figures (from REST at
// start-up for parking, then /ws/live). Every collection is keyed by id, so its
// size is bounded by the city's data however long the wall runs; buses, the
// one collection whose members come and go, are dropped after
// BUS_DROP_AFTER_MS without a report.

import type { DistrictRecord, SiteRecord } from "./parse";
import type {
  BusLive,
  DistrictInfo,
  DistrictParking,
  DistrictQueues,
  DistrictSignals,
  DistrictUpdate,
  QueuePoint,
  ServicePointInfo,
  SignalInfo,
  SignalUnit,
  SiteInfo,
  SiteLive,
  StreamKind,
} from "./types";

/** Bit flags passed to the change callback. */
export const Changed = {
  districts: 1,
  sites: 2,
  signals: 4,
  queues: 8,
  brt: 16,
} as const;

/** A bus that has not reported for this long is no longer shown or counted. */
export const BUS_DROP_AFTER_MS = 10 * 60_000;

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

export interface SignalsHeadline {
  /** A snapshot of the stream has arrived since the page loaded. */
  received: boolean;
  /** Signals with a live status. */
  total: number;
  normal: number;
  flash: number;
  dark: number;
  commLost: number;
  coordinationFailed: number;
  unknown: number;
  /** normal / total, or null without any status. */
  shareNormal: number | null;
  /** Newest status change (the feed reports changes, not a periodic status). */
  lastChange: string | null;
  /** Catalogued signals that have no live status yet. */
  silent: number;
}

export interface QueuesHeadline {
  received: boolean;
  /** Desks that have reported counters. */
  points: number;
  waiting: number;
  countersOpen: number;
  /** Counters of all catalogued desks, or null when the catalogue has none. */
  countersTotal: number | null;
  updatedAt: string | null;
  busiest: { id: string; name: string; waiting: number } | null;
}

export interface BrtHeadline {
  received: boolean;
  /** Buses that reported within BUS_DROP_AFTER_MS. */
  buses: number;
  routes: number;
  /** Newest report of any bus since the last snapshot (also of buses since dropped). */
  newest: string | null;
}

type Stream = "districts" | "parking" | "signals" | "queues" | "brt";
const STREAMS: readonly Stream[] = ["districts", "parking", "signals", "queues", "brt"];

function ms(iso: string | null): number {
  if (iso === null) return NaN;
  return Date.parse(iso);
}

/** False when `next` is older than `held` (a delta racing a snapshot); equal or unknown times pass. */
function notOlder(held: { updatedAt: string | null } | undefined, next: { updatedAt: string | null }): boolean {
  if (held === undefined) return true;
  const a = ms(held.updatedAt);
  const b = ms(next.updatedAt);
  return Number.isNaN(a) || Number.isNaN(b) || b >= a;
}

export class Store {
  private readonly districtInfo = new Map<string, DistrictInfo>();
  private readonly districtParking = new Map<string, DistrictParking | null>();
  private readonly siteInfo = new Map<string, SiteInfo>();
  private readonly siteLive = new Map<string, SiteLive>();
  private readonly signalInfo = new Map<string, SignalInfo>();
  private readonly signalUnits = new Map<string, SignalUnit>();
  private readonly signalDistricts = new Map<string, DistrictSignals | null>();
  private readonly deskInfo = new Map<string, ServicePointInfo>();
  private readonly deskLive = new Map<string, QueuePoint>();
  private readonly queueDistricts = new Map<string, DistrictQueues | null>();
  private readonly buses = new Map<string, BusLive>();
  /** When each bus last reported (its updated_at, or arrival time without one). */
  private readonly busSeenAt = new Map<string, number>();
  private brtNewest: { ms: number; iso: string } | null = null;
  private readonly seq: Record<Stream, number | null> = {
    districts: null,
    parking: null,
    signals: null,
    queues: null,
    brt: null,
  };
  /** Streams whose snapshot has arrived at least once since the page loaded. */
  private readonly received = new Set<Stream>();
  /** Deltas whose seq skipped ahead (messages lost upstream); diagnostic only. */
  gaps = 0;

  /** `now` is the (server-corrected) wall clock, used to age buses. */
  constructor(
    private readonly onChange: (flags: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

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

  setSignalCatalogue(infos: SignalInfo[]): void {
    this.signalInfo.clear();
    for (const s of infos) this.signalInfo.set(s.id, s);
    this.onChange(Changed.signals);
  }

  setDeskCatalogue(infos: ServicePointInfo[]): void {
    this.deskInfo.clear();
    for (const d of infos) this.deskInfo.set(d.id, d);
    this.onChange(Changed.queues);
  }

  // ---- live stream ----

  /** A new WebSocket connection: the server will send fresh snapshots. */
  beginConnection(): void {
    for (const s of STREAMS) this.seq[s] = null;
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

  applySignals(
    kind: StreamKind,
    seq: number | null,
    districts: { code: string; signals: DistrictSignals | null }[],
    units: SignalUnit[],
  ): void {
    // Without a snapshot a delta is only part of the picture: city-wide sums would be wrong.
    if (kind === "delta" && !this.received.has("signals")) return;
    if (!this.acceptSeq("signals", kind, seq)) return;
    if (kind === "snapshot") {
      this.signalDistricts.clear();
      this.signalUnits.clear();
      this.received.add("signals");
    }
    for (const d of districts) this.signalDistricts.set(d.code, d.signals);
    for (const u of units) if (notOlder(this.signalUnits.get(u.id), u)) this.signalUnits.set(u.id, u);
    this.onChange(Changed.signals);
  }

  applyQueues(
    kind: StreamKind,
    seq: number | null,
    districts: { code: string; queues: DistrictQueues | null }[],
    points: QueuePoint[],
  ): void {
    // Without a snapshot a delta is only part of the picture: city-wide sums would be wrong.
    if (kind === "delta" && !this.received.has("queues")) return;
    if (!this.acceptSeq("queues", kind, seq)) return;
    if (kind === "snapshot") {
      this.queueDistricts.clear();
      this.deskLive.clear();
      this.received.add("queues");
    }
    for (const d of districts) this.queueDistricts.set(d.code, d.queues);
    for (const p of points) if (notOlder(this.deskLive.get(p.id), p)) this.deskLive.set(p.id, p);
    this.onChange(Changed.queues);
  }

  applyBuses(kind: StreamKind, seq: number | null, vehicles: BusLive[]): void {
    // Without a snapshot a delta is only part of the picture: city-wide sums would be wrong.
    if (kind === "delta" && !this.received.has("brt")) return;
    if (!this.acceptSeq("brt", kind, seq)) return;
    if (kind === "snapshot") {
      this.buses.clear();
      this.busSeenAt.clear();
      this.brtNewest = null;
      this.received.add("brt");
    }
    const arrived = this.now();
    for (const v of vehicles) {
      if (!notOlder(this.buses.get(v.id), v)) continue;
      const reported = ms(v.updatedAt);
      const at = Number.isNaN(reported) ? arrived : reported;
      if (v.updatedAt !== null && !Number.isNaN(reported) && (this.brtNewest === null || reported > this.brtNewest.ms)) {
        this.brtNewest = { ms: reported, iso: v.updatedAt };
      }
      this.buses.set(v.id, v);
      this.busSeenAt.set(v.id, at);
    }
    this.pruneBuses(false);
    this.onChange(Changed.brt);
  }

  /** Drops buses not reported for BUS_DROP_AFTER_MS; call now and then. */
  pruneBuses(notify = true): void {
    const cutoff = this.now() - BUS_DROP_AFTER_MS;
    let dropped = false;
    for (const [id, at] of this.busSeenAt) {
      if (at < cutoff) {
        this.busSeenAt.delete(id);
        this.buses.delete(id);
        dropped = true;
      }
    }
    if (dropped && notify) this.onChange(Changed.brt);
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

  // ---- signals ----

  signal(id: string): { info: SignalInfo | null; unit: SignalUnit | null } | null {
    const info = this.signalInfo.get(id) ?? null;
    const unit = this.signalUnits.get(id) ?? null;
    return info === null && unit === null ? null : { info, unit };
  }

  signalInfos(): IterableIterator<SignalInfo> {
    return this.signalInfo.values();
  }

  signalUnitOf(id: string): SignalUnit | null {
    return this.signalUnits.get(id) ?? null;
  }

  districtSignals(code: string): DistrictSignals | null {
    return this.signalDistricts.get(code) ?? null;
  }

  /** Signals reporting a status that the catalogue has no location for. */
  uncataloguedSignals(): number {
    let n = 0;
    for (const id of this.signalUnits.keys()) if (!this.signalInfo.has(id)) n += 1;
    return n;
  }

  signalsHeadline(): SignalsHeadline {
    const hl: SignalsHeadline = {
      received: this.received.has("signals"),
      total: 0,
      normal: 0,
      flash: 0,
      dark: 0,
      commLost: 0,
      coordinationFailed: 0,
      unknown: 0,
      shareNormal: null,
      lastChange: null,
      silent: 0,
    };
    let newest = -Infinity;
    // Summed from the units rather than the district figures: units without a
    // district count too, and the map draws the same units.
    for (const u of this.signalUnits.values()) {
      hl.total += 1;
      switch (u.state) {
        case "normal":
          hl.normal += 1;
          break;
        case "flash":
          hl.flash += 1;
          break;
        case "dark":
          hl.dark += 1;
          break;
        case "comm_lost":
          hl.commLost += 1;
          break;
        case "coordination_failed":
          hl.coordinationFailed += 1;
          break;
        default:
          hl.unknown += 1;
      }
      const t = ms(u.updatedAt);
      if (!Number.isNaN(t) && t > newest) {
        newest = t;
        hl.lastChange = u.updatedAt;
      }
    }
    for (const id of this.signalInfo.keys()) if (!this.signalUnits.has(id)) hl.silent += 1;
    if (hl.total > 0) hl.shareNormal = hl.normal / hl.total;
    return hl;
  }

  // ---- public-service desks ----

  desk(id: string): { info: ServicePointInfo | null; live: QueuePoint | null } | null {
    const info = this.deskInfo.get(id) ?? null;
    const live = this.deskLive.get(id) ?? null;
    return info === null && live === null ? null : { info, live };
  }

  deskInfos(): IterableIterator<ServicePointInfo> {
    return this.deskInfo.values();
  }

  deskLiveOf(id: string): QueuePoint | null {
    return this.deskLive.get(id) ?? null;
  }

  districtQueues(code: string): DistrictQueues | null {
    return this.queueDistricts.get(code) ?? null;
  }

  uncataloguedDesks(): number {
    let n = 0;
    for (const id of this.deskLive.keys()) if (!this.deskInfo.has(id)) n += 1;
    return n;
  }

  queuesHeadline(): QueuesHeadline {
    const hl: QueuesHeadline = {
      received: this.received.has("queues"),
      points: 0,
      waiting: 0,
      countersOpen: 0,
      countersTotal: null,
      updatedAt: null,
      busiest: null,
    };
    let newest = -Infinity;
    for (const p of this.deskLive.values()) {
      hl.points += 1;
      hl.waiting += p.waiting;
      hl.countersOpen += p.countersOpen;
      const t = ms(p.updatedAt);
      if (!Number.isNaN(t) && t > newest) {
        newest = t;
        hl.updatedAt = p.updatedAt;
      }
      if (p.waiting > 0 && (hl.busiest === null || p.waiting > hl.busiest.waiting)) {
        hl.busiest = { id: p.id, name: this.deskInfo.get(p.id)?.name ?? p.id, waiting: p.waiting };
      }
    }
    for (const d of this.deskInfo.values()) {
      if (d.counters !== null) hl.countersTotal = (hl.countersTotal ?? 0) + d.counters;
    }
    return hl;
  }

  // ---- BRT ----

  bus(id: string): BusLive | null {
    return this.buses.get(id) ?? null;
  }

  allBuses(): IterableIterator<BusLive> {
    return this.buses.values();
  }

  brtHeadline(): BrtHeadline {
    const routes = new Set<string>();
    for (const b of this.buses.values()) if (b.routeId !== null) routes.add(b.routeId);
    return {
      received: this.received.has("brt"),
      buses: this.buses.size,
      routes: routes.size,
      newest: this.brtNewest?.iso ?? null,
    };
  }
}
