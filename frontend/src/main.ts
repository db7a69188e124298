// Boot: sign in (or find the server open), then the three views over one
// map: the wall (live city at a glance), the operator's desk (assets and the
// situation queue) and the planner's time machine (replay, charts, export).
// Redraws happen at most once per animation frame, from whichever source the
// view shows: the live stores, or the replay's stores filled by the same code.

import "./styles.css";

import {
  fetchChanges,
  fetchConfig,
  fetchDistricts,
  fetchFeedHealth,
  fetchHealth,
  fetchServicePoints,
  fetchSignals,
  fetchSites,
  fetchSituations,
  useFetcher,
  wsUrl,
  type Changes,
} from "./api";
import { AssetHistory } from "./assetHistory";
import { Auth, HttpError, viewsFor, type ViewName } from "./auth";
import { retryForever } from "./backoff";
import { Clock } from "./clock";
import { healthBand, occupancyBand } from "./colours";
import { ConnectionBadge } from "./connectionBadge";
import { DetailPanel, sameFocus, type Focus } from "./detailPanel";
import { DistrictList } from "./districtList";
import type { DistrictMap, FeedLayer } from "./districtMap";
import { h, setText } from "./dom";
import { percent, setTimeZone } from "./format";
import { epoch, judge, TILE_FEEDS, type Freshness, type TileName } from "./freshness";
import { districtName, lang, setDistrictNames, setLang, t, type StringKey } from "./i18n";
import { Legend } from "./legend";
import { LiveConnection } from "./live";
import { AssetList, SituationQueue } from "./operatorPanels";
import { DEFAULT_CONFIG } from "./parse";
import { HistoryPanel, ReplayControls } from "./plannerPanels";
import { applyStreamMessage, ReplaySession } from "./replay";
import { LoginScreen, Navigation } from "./shell";
import { SituationStore } from "./situations";
import { Changed, Store } from "./store";
import { BrtTile, ParkingTile, QueuesTile, SignalsTile, type TileContext } from "./tiles";
import type { AppConfig, FeedHealth, ServerMessage } from "./types";
import { ChangesPanel, Ticker } from "./wallPanels";

const Redraw = {
  districts: Changed.districts,
  sites: Changed.sites,
  signals: Changed.signals,
  queues: Changed.queues,
  brt: Changed.brt,
  lang: 32,
  focus: 64,
  /** The connection went up or down. */
  tiles: 128,
  situations: 256,
  view: 512,
  replay: 1024,
  /** Tiles and the badge judge their data's age: every second, and when the feeds' health arrives. */
  ages: 2048,
  everything: 4095,
} as const;

/** What redraws every tile, whatever its feed. */
const TILE_REDRAW = Redraw.lang | Redraw.tiles | Redraw.view | Redraw.replay | Redraw.ages;

/** Refetch a catalogue at most this often when unknown car parks, signals or desks appear. */
const CATALOGUE_REFETCH_MIN_MS = 60_000;
const SCENE_MS = 20_000;
const CHANGES_EVERY_MS = 30_000;
const HEALTH_EVERY_MS = 60_000;
/** Each feed's freshness (GET /api/health) is polled this often. */
const FEED_HEALTH_EVERY_MS = 10_000;
/** Without a "situations" stream, the list is polled this often. */
const SITUATIONS_POLL_MS = 15_000;

// ---- state ----

let config: AppConfig = DEFAULT_CONFIG;
let map: DistrictMap | null = null;
let pinned: Focus | null = null;
let hovered: Focus | null = null;
let dirty = 0;
let frame = 0;
let connected = false;
let view: ViewName = viewFromHash() ?? "wall";
let started = false;
let colourBy: "parking" | "health" = "parking";
let health = new Map<string, number | null>();
let feedHealth = new Map<string, FeedHealth>();
let changes: Changes | null = null;
/** null: not known yet; false: this server has no situations API. */
let situationsApi: boolean | null = null;
let replay: ReplaySession | null = null;
let scenesOn = false;
let sceneIndex = 0;
let sceneTimer: ReturnType<typeof setInterval> | null = null;

const clock = new Clock();
const store = new Store(
  (flags) => invalidate(flags),
  () => clock.now(),
);
const situations = new SituationStore(() => invalidate(Redraw.situations));
const replayStore = new Store(
  (flags) => invalidate(flags),
  () => replay?.view.position ?? clock.now(),
);
const replaySituations = new SituationStore(() => invalidate(Redraw.situations));

/** The stores the current view draws: the replay's in the planner once a range is loaded. */
function shown(): { store: Store; situations: SituationStore } {
  return view === "planner" && replay !== null ? { store: replayStore, situations: replaySituations } : { store, situations };
}

const auth = new Auth((state) => void onAuth(state));
useFetcher((path, init) => auth.fetch(path, init));

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
const ticker = new Ticker();
const changesPanel = new ChangesPanel();
const colourSelect = h("select", { class: "control", "data-testid": "colour-by", id: "colour-by" });
const colourLabel = h("label", { for: "colour-by" });
const scenesButton = h("button", { type: "button", class: "action action-quiet", "data-testid": "scenes-toggle", "aria-pressed": "false" });
const sceneName = h("span", { class: "scene-name", "data-testid": "scene", "aria-live": "polite" });
const wallControls = h("div", { class: "panel wall-controls" }, colourLabel, colourSelect, scenesButton, sceneName);
const assetList = new AssetList(
  (focus) => select(focus),
  () => invalidate(Redraw.view),
);
const assetHistory = new AssetHistory(() => clock.now());
const queue = new SituationQueue(
  situations,
  () => auth.user?.username ?? "",
  (id) => {
    const s = situations.get(id);
    if (s?.assetId && s.assetKind) {
      const kind = ({ signal: "signal", signals: "signal", bus: "bus", brt: "bus", site: "site", parking: "site", desk: "desk", queue: "desk", service_point: "desk" } as const)[
        s.assetKind as "signal"
      ];
      if (kind !== undefined) select({ kind, id: s.assetId }, true);
    } else if (s?.district) select({ kind: "district", code: s.district }, true);
  },
);
const replayControls = new ReplayControls(
  {
    load: (start, end) => startReplay(start, end),
    play: () => replay?.play(),
    pause: () => replay?.pause(),
    speed: (s) => replay?.setSpeed(s),
    seek: (at) => void replay?.seek(at),
    live: () => stopReplay(),
  },
  () => clock.now(),
);
const historyPanel = new HistoryPanel(() => clock.now());
const nav = new Navigation(
  (v) => go(v),
  () => void auth.logout(),
);
const login = new LoginScreen(auth, () => toggleLang());

const mapContainer = h("div", { class: "map", "data-testid": "map" });
const mapMessage = h("p", { class: "map-message", hidden: "" });

const header = h(
  "header",
  { class: "topbar" },
  h("div", { class: "titles" }, appTitle, cityTitle),
  nav.element,
  errorBanner,
  h("div", { class: "topbar-right" }, connection.element, clock.element, langToggle),
);
const tiles = h("div", { class: "tiles" }, parkingTile.element, signalsTile.element, brtTile.element, queuesTile.element);
const leftColumn = h("aside", { class: "column column-left" });
const rightColumn = h("aside", { class: "column column-right" });
const bottom = h("div", { class: "bottom" });
const tickerRow = h("div", { class: "ticker-row" }, ticker.element);
const hud = h("div", { class: "hud", hidden: "" }, header, leftColumn, bottom, rightColumn, tickerRow);

document.getElementById("app")!.replaceChildren(h("div", { class: "map-frame" }, mapContainer), mapMessage, hud, login.element);

langToggle.addEventListener("click", toggleLang);
colourSelect.addEventListener("change", () => {
  colourBy = colourSelect.value === "health" ? "health" : "parking";
  if (colourBy === "health") void loadHealth();
  invalidate(Redraw.districts | Redraw.lang);
});
scenesButton.addEventListener("click", () => setScenes(!scenesOn));
document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && pinned !== null) select(null);
});
window.addEventListener("hashchange", () => {
  const v = viewFromHash();
  if (v !== null && v !== view) go(v);
});

function toggleLang(): void {
  setLang(lang() === "vi" ? "en" : "vi");
  login.render();
  invalidate(Redraw.everything);
}

// ---- views ----

function viewFromHash(): ViewName | null {
  const v = window.location.hash.replace(/^#\/?/, "");
  return v === "wall" || v === "operator" || v === "planner" ? v : null;
}

function allowedViews(): ViewName[] {
  return auth.user === null ? [] : viewsFor(auth.user.role);
}

function go(next: ViewName): void {
  const allowed = allowedViews();
  view = allowed.includes(next) ? next : (allowed[0] ?? "wall");
  if (window.location.hash !== `#/${view}`) history.replaceState(null, "", `#/${view}`);
  if (view !== "wall") setScenes(false);
  layout();
  invalidate(Redraw.everything);
}

/** Put each view's panels in the overlay's columns. */
function layout(): void {
  document.body.dataset["view"] = view;
  hud.dataset["view"] = view;
  switch (view) {
    case "wall":
      leftColumn.replaceChildren(tiles);
      rightColumn.replaceChildren(wallControls, changesPanel.element, districtList.element);
      bottom.replaceChildren(legend.element, detail.element);
      tickerRow.hidden = false;
      break;
    case "operator":
      leftColumn.replaceChildren(assetList.element);
      rightColumn.replaceChildren(queue.element);
      bottom.replaceChildren(detail.element, assetHistory.element);
      tickerRow.hidden = true;
      break;
    case "planner":
      leftColumn.replaceChildren(tiles);
      rightColumn.replaceChildren(historyPanel.element);
      bottom.replaceChildren(replayControls.element);
      tickerRow.hidden = false;
      break;
  }
  requestAnimationFrame(updateMapPadding);
}

// ---- interaction ----

function select(focus: Focus | null, keep = false): void {
  pinned = focus === null || (!keep && sameFocus(focus, pinned)) ? null : focus;
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

// ---- wall scenes ----

type Scene = { key: StringKey; feed: FeedLayer | null; worst: boolean };
const SCENES: Scene[] = [
  { key: "sceneCity", feed: null, worst: false },
  { key: "sceneWorst", feed: null, worst: true },
  { key: "sceneSignals", feed: "signals", worst: false },
  { key: "sceneParking", feed: "parking", worst: false },
  { key: "sceneBrt", feed: "brt", worst: false },
  { key: "sceneQueues", feed: "queues", worst: false },
];

function setScenes(on: boolean): void {
  if (on === scenesOn) return;
  scenesOn = on;
  if (sceneTimer !== null) clearInterval(sceneTimer);
  sceneTimer = null;
  sceneIndex = 0;
  if (on) {
    showScene();
    sceneTimer = setInterval(() => {
      sceneIndex = (sceneIndex + 1) % SCENES.length;
      showScene();
    }, SCENE_MS);
  } else {
    map?.showOnly(null);
    map?.home(true);
  }
  invalidate(Redraw.lang);
}

function showScene(): void {
  const scene = SCENES[sceneIndex]!;
  map?.showOnly(scene.feed);
  if (scene.worst) map?.fitDistricts(worstDistricts(3), true);
  else map?.home(true);
  invalidate(Redraw.lang);
}

/** Districts in the worst state of the current colouring. */
function worstDistricts(n: number): string[] {
  const rows = store.districtRows();
  const score = (code: string, occ: number | null): number => (colourBy === "health" ? 1 - (health.get(code) ?? 1) : (occ ?? 0));
  return rows
    .map((r) => ({ code: r.code, s: score(r.code, r.parking?.occupancy ?? null) }))
    .sort((a, b) => b.s - a.s)
    .slice(0, n)
    .map((r) => r.code);
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
  const src = shown();

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
    legend.mode = colourBy;
    legend.render();
    setText(colourLabel, t("colourBy"));
    colourSelect.replaceChildren(h("option", { value: "parking" }, t("kpiOccupancy")), h("option", { value: "health" }, t("kpiHealth")));
    colourSelect.value = colourBy;
    setText(scenesButton, t(scenesOn ? "scenesStop" : "scenesStart"));
    scenesButton.setAttribute("aria-pressed", scenesOn ? "true" : "false");
    setText(sceneName, scenesOn ? t(SCENES[sceneIndex]!.key) : "");
    nav.set(allowedViews(), view, auth.user, auth.state === "open");
  }

  const replaying = src.store === replayStore;
  const now = replaying ? (replay?.view.position ?? clock.now()) : clock.now();
  const tile = (name: TileName): TileContext => ({
    connected: connected || replaying,
    freshness: freshnessOf(name, src.store, now, !replaying),
    now,
  });
  if (d & (Redraw.districts | Redraw.sites | TILE_REDRAW)) parkingTile.render(src.store.headline(), tile("parking"));
  if (d & (Redraw.signals | TILE_REDRAW)) signalsTile.render(src.store.signalsHeadline(), tile("signals"));
  if (d & (Redraw.brt | TILE_REDRAW)) brtTile.render(src.store.brtHeadline(), tile("brt"));
  if (d & (Redraw.queues | TILE_REDRAW)) queuesTile.render(src.store.queuesHeadline(), tile("queues"));
  if (d & (Redraw.ages | Redraw.tiles)) {
    // The badge speaks for the live feeds, also while the tiles show a replay.
    const judged = (Object.keys(TILE_FEEDS) as TileName[]).map((name) => freshnessOf(name, store, clock.now(), true));
    connection.setLagging(
      judged.filter((f) => f.kind === "lagging").length,
      judged.filter((f) => f.kind !== "unknown").length,
    );
  }

  if (d & (Redraw.districts | Redraw.lang | Redraw.view)) {
    const rows = src.store.districtRows();
    districtList.render(rows);
    map?.setDistrictStates(
      rows.map((r) => ({
        code: r.code,
        band: colourBy === "health" && src.store === store ? healthBand(health.get(r.code) ?? null) : occupancyBand(r.parking?.occupancy ?? null),
      })),
      rows.map((r, i) => ({
        code: r.code,
        name: districtName(r.info, r.code),
        pct: colourBy === "health" && src.store === store ? percent(health.get(r.code) ?? null) : percent(r.parking?.occupancy ?? null),
        priority: rows.length - i,
      })),
    );
  }

  if (d & (Redraw.sites | Redraw.view)) map?.setSites(src.store.siteInfos(), (id) => src.store.siteLiveOf(id));
  if (d & (Redraw.signals | Redraw.view)) map?.setSignals(src.store.signalInfos(), (id) => src.store.signalUnitOf(id));
  if (d & (Redraw.queues | Redraw.view)) map?.setDesks(src.store.deskInfos(), (id) => src.store.deskLiveOf(id));
  if (d & (Redraw.brt | Redraw.view)) map?.setBuses(src.store.allBuses());

  if (d & (Redraw.situations | Redraw.lang | Redraw.view | Redraw.tiles)) {
    const active = src.situations.list();
    map?.setSituations(active);
    ticker.render(active, src.situations.counts(), src.situations.received, situationsApi !== false || src.situations.received);
    if (view === "wall") changesPanel.render(changes ?? localChanges());
    if (view === "operator") queue.render();
  }

  if (view === "operator" && d & (Redraw.signals | Redraw.sites | Redraw.queues | Redraw.brt | Redraw.lang | Redraw.view)) {
    assetList.render(store);
    assetList.setSelected(pinned);
  }
  if (view === "planner" && d & (Redraw.replay | Redraw.lang | Redraw.view)) {
    replayControls.render(replay?.view ?? null);
    if (d & (Redraw.lang | Redraw.view)) historyPanel.render();
  }

  const focus = shownFocus();
  if (d & (Redraw.focus | Redraw.lang | Redraw.view | feedsOf(focus))) {
    detail.render(src.store, focus, pinned !== null && sameFocus(focus, pinned));
    const where = locate(src.store, focus);
    map?.setHighlight(where.district);
    map?.setFocusPoint(where.lngLat);
    districtList.setSelected(pinned?.kind === "district" ? pinned.code : null);
    if (view === "operator") {
      assetHistory.show(pinned);
      assetList.setSelected(pinned);
    }
  }
}

/** The newest source time behind a tile's figures, and whether it moves while the feed works. */
function newestOf(name: TileName, src: Store): { at: string | null; tellsAge: boolean } {
  switch (name) {
    case "parking":
      return { at: src.headline().updatedAt, tellsAge: true };
    case "signals":
      // Statuses are reported on change only: their age says nothing about the feed.
      return { at: src.signalsHeadline().lastChange, tellsAge: false };
    case "brt":
      return { at: src.brtHeadline().newest, tellsAge: true };
    case "queues":
      return { at: src.queuesHeadline().updatedAt, tellsAge: true };
  }
}

/** How fresh a tile's figures in `src` are at `now` (the server's time, or the replay's position). */
function freshnessOf(name: TileName, src: Store, now: number, live: boolean): Freshness {
  const newest = newestOf(name, src);
  return judge({
    health: feedHealth.get(TILE_FEEDS[name]),
    newest: epoch(newest.at),
    newestTellsAge: newest.tellsAge,
    now,
    live,
  });
}

/** Without the server's summary: what the held situations say about the last 15 minutes. */
function localChanges(): Changes | null {
  if (!situations.received) return null;
  return { ...situations.recent(clock.now(), 15 * 60_000), worse: [], better: [] };
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
function locate(src: Store, focus: Focus | null): { district: string | null; lngLat: [number, number] | null } {
  switch (focus?.kind) {
    case undefined:
      return { district: null, lngLat: null };
    case "district":
      return { district: focus.code, lngLat: null };
    case "site": {
      const s = src.site(focus.id);
      return { district: s?.info.district ?? null, lngLat: s?.info.lngLat ?? null };
    }
    case "signal": {
      const s = src.signal(focus.id);
      return { district: s?.unit?.district || null, lngLat: s?.info?.lngLat ?? null };
    }
    case "bus": {
      const b = src.bus(focus.id);
      return { district: b?.district || null, lngLat: b?.lngLat ?? null };
    }
    case "desk": {
      const d = src.desk(focus.id);
      return { district: d?.live?.district || d?.info?.district || null, lngLat: d?.info?.lngLat ?? null };
    }
  }
}

// ---- live feed ----

function onMessage(msg: ServerMessage): void {
  switch (msg.type) {
    case "hello":
      if (msg.serverTime !== null) clock.syncTo(msg.serverTime, true);
      return;
    case "heartbeat":
    case "pong":
      if (msg.serverTime !== null) clock.syncTo(msg.serverTime);
      return;
    case "replay_state":
      return;
    case "error":
      console.warn("server error", msg.code, msg.reason);
      errorBanner.textContent = `${t("serverError")}: ${msg.reason || msg.code}`;
      errorBanner.hidden = false;
      return;
    case "snapshot":
    case "delta":
      if (msg.type === "snapshot") errorBanner.hidden = true;
      applyStreamMessage(msg, store, situations);
      if (msg.stream === "parking" && store.uncataloguedSites() > 0) siteCatalogue.refresh();
      if (msg.stream === "signals" && store.uncataloguedSignals() > 0) signalCatalogue.refresh();
      if (msg.stream === "queues" && store.uncataloguedDesks() > 0) deskCatalogue.refresh();
      if (msg.stream === "situations") {
        situationsApi = true;
        for (const s of msg.situations) queue.changed(s.id);
      }
      return;
  }
}

const live = new LiveConnection(() => wsUrl("/ws/live", auth.token()), {
  onOpen: () => {
    store.beginConnection();
    situations.beginConnection();
  },
  onRefused: () => void auth.refreshNow(),
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

// ---- catalogues and polled figures ----

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

// Catalogues are static: the replay's store gets the same ones (its live figures come from the replay).
const siteCatalogue = new Catalogue("/api/parking/sites", fetchSites, (r) => {
  store.setSiteCatalogue(r);
  replayStore.setSiteCatalogue(r);
});
const signalCatalogue = new Catalogue("/api/assets/signals", fetchSignals, (r) => {
  store.setSignalCatalogue(r);
  replayStore.setSignalCatalogue(r);
});
const deskCatalogue = new Catalogue("/api/assets/service_points", fetchServicePoints, (r) => {
  store.setDeskCatalogue(r);
  replayStore.setDeskCatalogue(r);
});

async function loadHealth(): Promise<void> {
  try {
    health = await fetchHealth(config.city.layer);
    invalidate(Redraw.districts);
  } catch (err) {
    console.warn("health", err);
  }
}

async function loadFeedHealth(): Promise<void> {
  try {
    feedHealth = await fetchFeedHealth();
  } catch (err) {
    // The last report stays: its allowances still hold, and the live socket says whether the server is there.
    console.warn("feed health", err);
    return;
  }
  invalidate(Redraw.ages);
}

async function loadChanges(): Promise<void> {
  try {
    changes = await fetchChanges(15);
  } catch (err) {
    changes = null;
    if (!(err instanceof HttpError && err.status === 404)) console.warn("changes", err);
  }
  invalidate(Redraw.situations);
}

/** The situation list by REST until (or unless) the live stream carries it. */
async function pollSituations(): Promise<void> {
  if (situationsApi === true && situations.received) return;
  try {
    situations.seed(await fetchSituations({ status: "open,acknowledged,in_progress,resolved" }));
    situationsApi = true;
  } catch (err) {
    if (err instanceof HttpError && err.status === 404) situationsApi = false;
    else console.warn("situations", err);
  }
  invalidate(Redraw.situations);
}

// ---- replay ----

function startReplay(start: number, end: number): void {
  replay?.stop();
  replayStore.beginConnection();
  replaySituations.clear();
  replay = new ReplaySession(replayStore, replaySituations, () => auth.token(), () => invalidate(Redraw.replay | Redraw.situations), start, end);
  replay.begin();
  historyPanel.setRange(start, end);
  invalidate(Redraw.everything);
}

function stopReplay(): void {
  replay?.stop();
  replay = null;
  invalidate(Redraw.everything);
}

// ---- map ----

function updateMapPadding(): void {
  if (map === null) return;
  const W = window.innerWidth;
  const H = window.innerHeight;
  const margin = 16;
  const top = header.getBoundingClientRect().bottom + margin;
  const left = leftColumn.getBoundingClientRect().right + margin;
  const right = W - rightColumn.getBoundingClientRect().left + margin;
  const lowest = Math.min(bottom.getBoundingClientRect().top, tickerRow.hidden ? H : tickerRow.getBoundingClientRect().top);
  map.setPadding({ top, left, right, bottom: Math.min(H - lowest + margin, H / 3) });
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

// ---- sign-in and start ----

async function onAuth(state: string): Promise<void> {
  const signedIn = state === "signed-in" || state === "open";
  login.show(state === "signed-out");
  hud.hidden = !signedIn;
  if (!signedIn) {
    if (state === "signed-out") {
      live.stop();
      stopReplay();
      situations.clear();
    }
    return;
  }
  go(viewFromHash() ?? view);
  if (!started) {
    started = true;
    await startApp();
  } else {
    live.start();
  }
}

async function startApp(): Promise<void> {
  clock.start();
  live.start();
  void loadFeedHealth();
  const districts = retryForever(fetchDistricts, "GET /api/districts");
  // Car parks, signals and desks load on their own: one slow catalogue does not hold up the others.
  const catalogues = [siteCatalogue, signalCatalogue, deskCatalogue].map((c) => c.load());
  config = await retryForever(fetchConfig, "GET /api/config");
  setTimeZone(config.city.timezone);
  invalidate(Redraw.everything);
  await createMap();

  const districtRecords = await districts;
  store.setDistrictCatalogue(districtRecords);
  replayStore.setDistrictCatalogue(districtRecords);
  setDistrictNames(districtRecords.map((r) => r.info));
  historyPanel.setDistricts(districtRecords.map((r) => r.info.code));
  map?.setDistrictCatalogue(store.districtInfos());
  void pollSituations();
  void loadChanges();
  await Promise.all(catalogues);
}

// The age of the headline figures moves with the clock (a minute a second in a time-lapse).
setInterval(() => invalidate(Redraw.ages), 1_000);
setInterval(() => {
  if (started && auth.user !== null) void loadFeedHealth();
}, FEED_HEALTH_EVERY_MS);
// Buses that stopped reporting leave the map and the count.
setInterval(() => {
  store.pruneBuses();
  replayStore.pruneBuses();
}, 15_000);
setInterval(() => {
  if (started && auth.user !== null) void pollSituations();
}, SITUATIONS_POLL_MS);
setInterval(() => {
  if (started && auth.user !== null && view === "wall") void loadChanges();
}, CHANGES_EVERY_MS);
setInterval(() => {
  if (started && auth.user !== null && colourBy === "health") void loadHealth();
}, HEALTH_EVERY_MS);

setLang(lang());
invalidate(Redraw.everything);
void auth.init();
