// Boot: build the wall, start the live feed, load catalogues, and redraw on
// change at most once per animation frame.

import "./styles.css";

import { fetchConfig, fetchDistricts, fetchSites, liveUrl } from "./api";
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
import { PENDING_FEEDS, ParkingTile, PlaceholderTile } from "./tiles";
import type { AppConfig, ServerMessage } from "./types";

const Redraw = {
  districts: Changed.districts,
  sites: Changed.sites,
  lang: 4,
  focus: 8,
  everything: 15,
} as const;

/** Refetch the car-park catalogue at most this often when unknown car parks appear. */
const SITE_REFETCH_MIN_MS = 60_000;

// ---- state ----

let config: AppConfig = DEFAULT_CONFIG;
let map: DistrictMap | null = null;
let pinned: Focus | null = null;
let hovered: Focus | null = null;
let dirty = 0;
let frame = 0;
let lastSiteFetch = 0;
let siteFetchInFlight = false;

const store = new Store((flags) => invalidate(flags));

// ---- layout ----

const appTitle = h("h1", { class: "app-title" });
const cityTitle = h("span", { class: "city-title" });
const clock = new Clock();
const connection = new ConnectionBadge();
const langToggle = h("button", { type: "button", class: "lang-toggle", "data-testid": "lang-toggle" });
const errorBanner = h("p", { class: "server-error", "data-testid": "server-error", role: "alert", hidden: "" });
const parkingTile = new ParkingTile();
const pendingTiles = PENDING_FEEDS.map((f) => new PlaceholderTile(f));
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
  ...pendingTiles.map((p) => p.element),
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
    for (const p of pendingTiles) p.render();
  }

  if (d & (Redraw.districts | Redraw.sites | Redraw.lang)) {
    parkingTile.render(store.headline());
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

  if (d & (Redraw.focus | Redraw.districts | Redraw.sites | Redraw.lang)) {
    const focus = shownFocus();
    detail.render(store, focus, pinned !== null && sameFocus(focus, pinned));
    const code =
      focus === null ? null : focus.kind === "district" ? focus.code : (store.site(focus.id)?.info.district ?? null);
    map?.setHighlight(code);
    districtList.setSelected(pinned?.kind === "district" ? pinned.code : null);
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
      if (msg.stream === "districts") {
        store.applyDistricts(msg.type, msg.seq, msg.districts);
      } else {
        store.applySites(msg.type, msg.seq, msg.sites);
        if (store.uncataloguedSites() > 0) void refreshSites();
      }
      return;
  }
}

const live = new LiveConnection(liveUrl(), {
  onOpen: () => store.beginConnection(),
  onMessage,
  onState: (state, retryInMs) => {
    connection.set(state, retryInMs);
    document.body.dataset["live"] = state === "live" ? "true" : "false";
  },
});

// ---- catalogues ----

async function refreshSites(): Promise<void> {
  if (siteFetchInFlight || Date.now() - lastSiteFetch < SITE_REFETCH_MIN_MS) return;
  siteFetchInFlight = true;
  lastSiteFetch = Date.now();
  try {
    store.setSiteCatalogue(await fetchSites());
  } catch (err) {
    console.warn("car-park catalogue refresh failed", err);
  } finally {
    siteFetchInFlight = false;
  }
}

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
  lastSiteFetch = Date.now();
  const sites = retryForever(fetchSites, "GET /api/parking/sites");
  config = await retryForever(fetchConfig, "GET /api/config");
  setTimeZone(config.city.timezone);
  invalidate(Redraw.everything);
  await createMap();

  const districtRecords = await districts;
  store.setDistrictCatalogue(districtRecords);
  map?.setDistrictCatalogue(store.districtInfos());

  store.setSiteCatalogue(await sites);
  lastSiteFetch = Date.now();
}

// Staleness of the headline figures is judged against the clock.
setInterval(() => invalidate(Redraw.districts), 30_000);

void boot();
