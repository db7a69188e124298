// Boot: build the wall, start the live feed, load catalogues, and redraw on
// change at most once per animation frame.

import "./styles.css";

import { fetchConfig, fetchDistricts, fetchServicePoints, fetchSignals, fetchSites, liveUrl } from "./api";
import { retryForever } from "./backoff";
import { Clock } from "./clock";
import { occupancyBand } from "./colours";
import { ConnectionBadge } from "./connectionBadge";
import { DetailPanel, sameFocus, type Focus } from "./detailPanel";
import { DistrictList } from "./districtList";
import type { DistrictMap } from "./districtMap";
import { h, setText } from "./dom";
import { percent, setTimeZone } from "./format";
import { districtName, lang, setLang, t } from "./i18n";
import { Legend } from "./legend";
import { LiveConnection } from "./live";
import { DEFAULT_CONFIG } from "./parse";
import { Changed, Store } from "./store";
import { BrtTile, ParkingTile, QueuesTile, SignalsTile } from "./tiles";
import type { AppConfig, ServerMessage } from "./types";

const Redraw = {
  districts: Changed.districts,
  sites: Changed.sites,
  signals: Changed.signals,
  queues: Changed.queues,
  brt: Changed.brt,
  lang: 32,
  focus: 64,
  /** Tiles judge staleness against the clock and the connection. */
  tiles: 128,
  everything: 255,
} as const;

/** Refetch a catalogue at most this often when unknown car parks, signals or desks appear. */
const CATALOGUE_REFETCH_MIN_MS = 60_000;

// ---- state ----

let config: AppConfig = DEFAULT_CONFIG;
let map: DistrictMap | null = null;
let pinned: Focus | null = null;
let hovered: Focus | null = null;
let dirty = 0;
let frame = 0;
let connected = false;

const clock = new Clock();
const store = new Store(
  (flags) => invalidate(flags),
  () => clock.now(),
);

// ---- layout ----

const appTitle = h("h1", { class: "app-title" });
const cityTitle = h("span", { class: "city-title" });
const connection = new ConnectionBadge();
const langToggle = h("button", { type: "button", class: "lang-toggle", "data-testid": "lang-toggle" });
const errorBanner = h("p", { class: "server-error", "data-testid": "server-error", role: "alert", hidden: "" });
const parkingTile = new ParkingTile();
const signalsTile = new SignalsTile();
const brtTile = new BrtTile();
const queuesTile = new QueuesTile();
const legend = new Legend();
const detail = new DetailPanel(() => select(null));
const districtList = new DistrictList({
  onSelect: (code) => select({ kind: "district", code }),
  onHover: (code) => hover(code === null ? null : { kind: "district", code }),
});
const mapContainer = h("div", { class: "map", "data-testid": "map" });
const mapMessage = h("p", { class: "map-message", hidden: "" });

const header = h(
  "header",
  { class: "topbar" },
  h("div", { class: "titles" }, appTitle, cityTitle),
  errorBanner,
  h("div", { class: "topbar-right" }, connection.element, clock.element, langToggle),
);
const leftColumn = h(
  "aside",
  { class: "column column-left" },
  parkingTile.element,
  signalsTile.element,
  brtTile.element,
  queuesTile.element,
);
const rightColumn = h("aside", { class: "column column-right" }, districtList.element);
const bottom = h("div", { class: "bottom" }, legend.element, detail.element);
const hud = h("div", { class: "hud" }, header, leftColumn, bottom, rightColumn);

document.getElementById("app")!.replaceChildren(h("div", { class: "map-frame" }, mapContainer), mapMessage, hud);

langToggle.addEventListener("click", () => {
  setLang(lang() === "vi" ? "en" : "vi");
  invalidate(Redraw.everything);
});
document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && pinned !== null) select(null);
});

// ---- interaction ----

function select(focus: Focus | null): void {
  pinned = focus === null || sameFocus(focus, pinned) ? null : focus;
  invalidate(Redraw.focus);
}

function hover(focus: Focus | null): void {
  if (sameFocus(focus, hovered)) return;
  hovered = focus;
  invalidate(Redraw.focus);
}

function shownFocus(): Focus | null {
  return hovered ?? pinned;
}

// ---- rendering ----

function invalidate(flags: number): void {
  dirty |= flags;
  if (frame === 0) frame = requestAnimationFrame(flush);
}

function flush(): void {
  frame = 0;
  const d = dirty;
  dirty = 0;

  if (d & Redraw.lang) {
    document.documentElement.lang = lang();
    document.title = `${t("appTitle")} ${config.city.title[lang()]}`;
    setText(appTitle, t("appTitle"));
    setText(cityTitle, config.city.title[lang()]);
    setText(langToggle, t("langButton"));
    langToggle.setAttribute("aria-label", t("langButtonLabel"));
    langToggle.setAttribute("lang", lang() === "vi" ? "en" : "vi");
    setText(mapMessage, t("mapUnavailable"));
    map?.setLabel(t("mapLabel"));
    clock.render();
    connection.render();
    legend.render();
  }

  if (d & (Redraw.districts | Redraw.sites | Redraw.lang | Redraw.tiles)) {
    parkingTile.render(store.headline());
  }
  if (d & (Redraw.signals | Redraw.lang | Redraw.tiles)) {
    signalsTile.render(store.signalsHeadline(), connected);
  }
  if (d & (Redraw.brt | Redraw.lang | Redraw.tiles)) {
    brtTile.render(store.brtHeadline(), connected, clock.now());
  }
  if (d & (Redraw.queues | Redraw.lang | Redraw.tiles)) {
    queuesTile.render(store.queuesHeadline(), connected, clock.now());
  }

  if (d & (Redraw.districts | Redraw.lang)) {
    const rows = store.districtRows();
    districtList.render(rows);
    map?.setDistrictStates(
      rows.map((r) => ({ code: r.code, band: occupancyBand(r.parking?.occupancy ?? null) })),
      rows.map((r, i) => ({
        code: r.code,
        name: districtName(r.info, r.code),
        pct: percent(r.parking?.occupancy ?? null),
        priority: rows.length - i,
      })),
    );
  }

  if (d & Redraw.sites) {
    map?.setSites(store.siteInfos(), (id) => store.siteLiveOf(id));
  }
  if (d & Redraw.signals) {
    map?.setSignals(store.signalInfos(), (id) => store.signalUnitOf(id));
  }
  if (d & Redraw.queues) {
    map?.setDesks(store.deskInfos(), (id) => store.deskLiveOf(id));
  }
  if (d & Redraw.brt) {
    map?.setBuses(store.allBuses());
  }

  const focus = shownFocus();
  if (d & (Redraw.focus | Redraw.lang | feedsOf(focus))) {
    detail.render(store, focus, pinned !== null && sameFocus(focus, pinned));
    const where = locate(focus);
    map?.setHighlight(where.district);
    map?.setFocusPoint(where.lngLat);
    districtList.setSelected(pinned?.kind === "district" ? pinned.code : null);
  }
}

/** The live feeds the detail of a focus is drawn from (the panel is rebuilt only when they change). */
function feedsOf(focus: Focus | null): number {
  switch (focus?.kind) {
    case undefined:
      return 0;
    case "district":
      return Redraw.districts | Redraw.signals | Redraw.queues;
    case "site":
      return Redraw.sites | Redraw.districts;
    case "signal":
      return Redraw.signals | Redraw.districts;
    case "bus":
      return Redraw.brt | Redraw.districts;
    case "desk":
      return Redraw.queues | Redraw.districts;
  }
}

/** The district to outline and the point to ring for a focus. */
function locate(focus: Focus | null): { district: string | null; lngLat: [number, number] | null } {
  switch (focus?.kind) {
    case undefined:
      return { district: null, lngLat: null };
    case "district":
      return { district: focus.code, lngLat: null };
    case "site": {
      const s = store.site(focus.id);
      return { district: s?.info.district ?? null, lngLat: s?.info.lngLat ?? null };
    }
    case "signal": {
      const s = store.signal(focus.id);
      return { district: s?.unit?.district || null, lngLat: s?.info?.lngLat ?? null };
    }
    case "bus": {
      const b = store.bus(focus.id);
      return { district: b?.district || null, lngLat: b?.lngLat ?? null };
    }
    case "desk": {
      const d = store.desk(focus.id);
      return { district: d?.live?.district || d?.info?.district || null, lngLat: d?.info?.lngLat ?? null };
    }
  }
}

// ---- live feed ----

function onMessage(msg: ServerMessage): void {
  switch (msg.type) {
    case "hello":
      if (msg.protocol !== null && msg.protocol !== 1) console.warn(`server speaks protocol ${msg.protocol}`);
      if (msg.serverTime !== null) clock.syncTo(msg.serverTime);
      return;
    case "heartbeat":
      if (msg.serverTime !== null) clock.syncTo(msg.serverTime);
      return;
    case "error":
      console.warn("server error", msg.code, msg.reason);
      errorBanner.textContent = `${t("serverError")}: ${msg.reason || msg.code}`;
      errorBanner.hidden = false;
      return;
    case "snapshot":
    case "delta":
      if (msg.type === "snapshot") errorBanner.hidden = true;
      switch (msg.stream) {
        case "districts":
          store.applyDistricts(msg.type, msg.seq, msg.districts);
          return;
        case "parking":
          store.applySites(msg.type, msg.seq, msg.sites);
          if (store.uncataloguedSites() > 0) siteCatalogue.refresh();
          return;
        case "signals":
          store.applySignals(msg.type, msg.seq, msg.districts, msg.units);
          if (store.uncataloguedSignals() > 0) signalCatalogue.refresh();
          return;
        case "queues":
          store.applyQueues(msg.type, msg.seq, msg.districts, msg.points);
          if (store.uncataloguedDesks() > 0) deskCatalogue.refresh();
          return;
        case "brt":
          store.applyBuses(msg.type, msg.seq, msg.vehicles);
          return;
      }
  }
}

const live = new LiveConnection(liveUrl(), {
  onOpen: () => store.beginConnection(),
  onMessage,
  onState: (state, retryInMs) => {
    connection.set(state, retryInMs);
    document.body.dataset["live"] = state === "live" ? "true" : "false";
    if (connected !== (state === "live")) {
      connected = state === "live";
      invalidate(Redraw.tiles);
    }
  },
});

// ---- catalogues ----

/**
 * A catalogue loaded at start-up (retrying until it succeeds) and refetched,
 * at most every CATALOGUE_REFETCH_MIN_MS, when the live feed mentions ids it
 * does not hold.
 */
class Catalogue<T> {
  private lastFetch = 0;
  private inFlight = false;

  constructor(
    private readonly label: string,
    private readonly fetcher: () => Promise<T>,
    private readonly apply: (value: T) => void,
  ) {}

  async load(): Promise<void> {
    this.lastFetch = Date.now();
    this.inFlight = true;
    try {
      this.apply(await retryForever(this.fetcher, `GET ${this.label}`));
    } finally {
      this.lastFetch = Date.now();
      this.inFlight = false;
    }
  }

  refresh(): void {
    if (this.inFlight || Date.now() - this.lastFetch < CATALOGUE_REFETCH_MIN_MS) return;
    this.inFlight = true;
    this.lastFetch = Date.now();
    this.fetcher()
      .then(this.apply)
      .catch((err: unknown) => console.warn(`${this.label} refresh failed`, err))
      .finally(() => {
        this.inFlight = false;
      });
  }
}

const siteCatalogue = new Catalogue("/api/parking/sites", fetchSites, (r) => store.setSiteCatalogue(r));
const signalCatalogue = new Catalogue("/api/assets/signals", fetchSignals, (r) => store.setSignalCatalogue(r));
const deskCatalogue = new Catalogue("/api/assets/service_points", fetchServicePoints, (r) => store.setDeskCatalogue(r));

function updateMapPadding(): void {
  if (map === null) return;
  const W = window.innerWidth;
  const H = window.innerHeight;
  const margin = 16;
  const top = header.getBoundingClientRect().bottom + margin;
  const left = leftColumn.getBoundingClientRect().right + margin;
  const right = W - rightColumn.getBoundingClientRect().left + margin;
  const bottomEdge = H - bottom.getBoundingClientRect().top + margin;
  map.setPadding({ top, left, right, bottom: Math.min(bottomEdge, H / 3) });
}

async function createMap(): Promise<void> {
  try {
    const { DistrictMap } = await import("./districtMap");
    map = new DistrictMap(mapContainer, config, {
      onHover: hover,
      onClick: (focus) => select(focus),
    });
  } catch (err) {
    console.error("map unavailable", err);
    mapMessage.hidden = false;
    return;
  }
  updateMapPadding();
  let resizeTimer: ReturnType<typeof setTimeout> | null = null;
  window.addEventListener("resize", () => {
    if (resizeTimer !== null) clearTimeout(resizeTimer);
    resizeTimer = setTimeout(updateMapPadding, 200);
  });
  invalidate(Redraw.everything);
}

async function boot(): Promise<void> {
  setLang(lang());
  invalidate(Redraw.everything);
  clock.start();
  live.start();

  const districts = retryForever(fetchDistricts, "GET /api/districts");
  // Car parks, signals and desks load on their own: one slow catalogue does not hold up the others.
  const catalogues = [siteCatalogue, signalCatalogue, deskCatalogue].map((c) => c.load());
  config = await retryForever(fetchConfig, "GET /api/config");
  setTimeZone(config.city.timezone);
  invalidate(Redraw.everything);
  await createMap();

  const districtRecords = await districts;
  store.setDistrictCatalogue(districtRecords);
  map?.setDistrictCatalogue(store.districtInfos());
  await Promise.all(catalogues);
}

// Staleness of the headline figures is judged against the clock.
setInterval(() => invalidate(Redraw.tiles), 30_000);
// Buses that stopped reporting leave the map and the count.
setInterval(() => store.pruneBuses(), 15_000);

void boot();
