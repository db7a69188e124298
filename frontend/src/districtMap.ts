// The MapLibre map: district fills coloured by parking occupancy (via
// feature-state, so live updates never resend the boundaries), and circle
// layers fed with setData for car parks, public-service desks (sized by the
// queue), traffic signals (rings coloured by state) and BRT buses. No glyphs,
// sprites or tiles are fetched unless the city configures its own basemap style.

import type { Feature, FeatureCollection, MultiPolygon, Point, Polygon } from "geojson";
import {
  Map as MapLibreMap,
  setWorkerUrl,
  type ExpressionSpecification,
  type GeoJSONSource,
  type MapMouseEvent,
  type StyleSpecification,
} from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url";

import {
  BAND_COLOURS,
  BUS_COLOUR,
  BUS_STROKE,
  DESK_COLOUR,
  MAP_BACKGROUND,
  SIGNAL_COLOURS,
  SEVERITY_COLOURS,
  SIGNAL_RANK,
  STATUS_COLOURS,
  type Band,
} from "./colours";
import { focusKey, type Focus } from "./detailPanel";
import { DistrictLabels, type LabelContent } from "./districtLabels";
import { boundsOf, labelAnchor } from "./labelPoint";
import type {
  AppConfig,
  BusLive,
  DistrictInfo,
  QueuePoint,
  ServicePointInfo,
  SignalInfo,
  SignalUnit,
  SiteInfo,
  SiteLive,
} from "./types";

setWorkerUrl(workerUrl);

const SRC_DISTRICTS = "districts";
const SRC_SITES = "sites";
const L_BASE = "districts-nodata";
const L_FILL = "districts-fill";
const L_LINE = "districts-line";
const L_HIGHLIGHT = "districts-highlight";
const L_SITES = "sites-circle";
const SRC_DESKS = "desks";
const SRC_SIGNALS = "signals";
const SRC_BUSES = "buses";
const SRC_FOCUS = "focus";
const L_DESKS = "desks-circle";
const L_SIGNALS = "signals-circle";
const L_SIGNALS_CORE = "signals-core";
const L_BUSES = "buses-circle";
const L_FOCUS = "focus-ring";
const SRC_SITUATIONS = "situations";
const L_SITUATIONS = "situations-halo";
/** Point layers of each feed, for scenes that show one feed. */
const FEED_LAYERS: Record<FeedLayer, string[]> = {
  parking: ["sites-circle"],
  signals: ["signals-circle", "signals-core"],
  brt: ["buses-circle"],
  queues: ["desks-circle"],
};
export type FeedLayer = "parking" | "signals" | "brt" | "queues";
const HATCH = "nodata-hatch";
/** Point layers under the pointer, most specific first. */
const POINT_LAYERS = [L_BUSES, L_SIGNALS, L_SITES, L_DESKS];
/** Pointer slack around small dots, in pixels. */
const HIT_PX = 4;

type Points = FeatureCollection<Point>;

function emptyPoints(): Points {
  return { type: "FeatureCollection", features: [] };
}

/** After this long without touching the map, it returns to the city overview. */
const RETURN_HOME_AFTER_MS = 3 * 60_000;

export interface MapEvents {
  onHover(focus: Focus | null): void;
  onClick(focus: Focus | null): void;
}

export interface DistrictState {
  code: string;
  band: Band;
}

function plainStyle(): StyleSpecification {
  return {
    version: 8,
    sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": MAP_BACKGROUND } }],
  };
}

/** Diagonal grey stripes for districts without car parks. */
function hatchImage(): { width: number; height: number; data: Uint8Array } {
  const size = 12;
  const data = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y += 1) {
    for (let x = 0; x < size; x += 1) {
      const i = (y * size + x) * 4;
      const stripe = (x + y) % size < 3;
      const [r, g, b, a] = stripe ? [120, 130, 142, 220] : [40, 46, 54, 200];
      data[i] = r;
      data[i + 1] = g;
      data[i + 2] = b;
      data[i + 3] = a;
    }
  }
  return { width: size, height: size, data };
}

const BAND_STATE: ExpressionSpecification = ["coalesce", ["feature-state", "band"], 0];

export class DistrictMap {
  readonly map: MapLibreMap;
  private readonly labels: DistrictLabels;
  private styleReady = false;
  private districtData: FeatureCollection<Polygon | MultiPolygon> = { type: "FeatureCollection", features: [] };
  private siteData: Points = emptyPoints();
  private deskData: Points = emptyPoints();
  private signalData: Points = emptyPoints();
  private busData: Points = emptyPoints();
  private focusData: Points = emptyPoints();
  private situationData: Points = emptyPoints();
  private onlyFeed: FeedLayer | null = null;
  private readonly bands = new Map<string, Band>();
  private highlighted: string | null = null;
  private bounds: [number, number, number, number] | null = null;
  private padding = { top: 0, right: 0, bottom: 0, left: 0 };
  private lastInteraction = 0;
  private hoverKey = "";

  constructor(container: HTMLElement, config: AppConfig, private readonly events: MapEvents) {
    const basemap = config.basemapStyleUrl;
    this.map = new MapLibreMap({
      container,
      style: basemap ?? plainStyle(),
      center: config.city.centre,
      zoom: config.city.zoom,
      attributionControl: basemap ? { compact: true } : false,
      maplibreLogo: false,
      dragRotate: false,
      pitchWithRotate: false,
      touchPitch: false,
      fadeDuration: 0,
      renderWorldCopies: false,
      canvasContextAttributes: { antialias: true },
    });
    this.map.touchZoomRotate.disableRotation();
    this.map.keyboard.disableRotation();

    this.labels = new DistrictLabels(this.map);
    this.map.on("style.load", this.installLayers);
    // An inline style may already be loaded by the time the listener is attached.
    if (this.map.isStyleLoaded()) this.installLayers();
    this.map.on("error", (ev) => console.warn("map:", ev.error?.message ?? ev));
    if (basemap) this.guardBasemap();

    this.map.on("mousemove", this.onMouseMove);
    this.map.on("mouseout", () => this.hover(null));
    this.map.on("click", (ev) => this.events.onClick(this.focusAt(ev)));
    this.map.on("movestart", (ev) => {
      if ((ev as { originalEvent?: unknown }).originalEvent) this.lastInteraction = Date.now();
    });
    this.map.on("resize", () => this.homeIfIdle());
    setInterval(() => {
      if (this.lastInteraction !== 0 && Date.now() - this.lastInteraction > RETURN_HOME_AFTER_MS) {
        this.lastInteraction = 0;
        this.home(true);
      }
    }, 15_000);
  }

  /** If the city's basemap cannot be loaded, fall back to the plain background. */
  private guardBasemap(): void {
    const fallback = (): void => {
      if (this.styleReady) return;
      console.warn("basemap style unavailable; using the plain background");
      this.map.setStyle(plainStyle());
    };
    const timer = setTimeout(fallback, 15_000);
    const onError = (): void => {
      if (this.styleReady) return;
      clearTimeout(timer);
      this.map.off("error", onError);
      fallback();
    };
    this.map.on("error", onError);
    this.map.once("style.load", () => {
      clearTimeout(timer);
      this.map.off("error", onError);
    });
  }

  private readonly installLayers = (): void => {
    const m = this.map;
    if (!m.hasImage(HATCH)) m.addImage(HATCH, hatchImage(), { pixelRatio: 1 });
    if (!m.getSource(SRC_DISTRICTS)) {
      m.addSource(SRC_DISTRICTS, { type: "geojson", data: this.districtData, promoteId: "code" });
    }
    for (const [id, data] of [
      [SRC_SITES, this.siteData],
      [SRC_DESKS, this.deskData],
      [SRC_SIGNALS, this.signalData],
      [SRC_BUSES, this.busData],
      [SRC_FOCUS, this.focusData],
      [SRC_SITUATIONS, this.situationData],
    ] as const) {
      if (!m.getSource(id)) m.addSource(id, { type: "geojson", data });
    }
    if (!m.getLayer(L_BASE)) {
      // Hatched "no data" ground under every district; hidden where a band colour is drawn.
      m.addLayer({
        id: L_BASE,
        type: "fill",
        source: SRC_DISTRICTS,
        paint: { "fill-pattern": HATCH, "fill-opacity": ["case", [">", BAND_STATE, 0], 0, 1] },
      });
    }
    if (!m.getLayer(L_FILL)) {
      m.addLayer({
        id: L_FILL,
        type: "fill",
        source: SRC_DISTRICTS,
        paint: {
          "fill-color": [
            "match",
            BAND_STATE,
            1,
            BAND_COLOURS[1],
            2,
            BAND_COLOURS[2],
            3,
            BAND_COLOURS[3],
            4,
            BAND_COLOURS[4],
            BAND_COLOURS[0],
          ],
          "fill-opacity": ["case", [">", BAND_STATE, 0], 0.7, 0],
        },
      });
    }
    if (!m.getLayer(L_LINE)) {
      m.addLayer({
        id: L_LINE,
        type: "line",
        source: SRC_DISTRICTS,
        paint: { "line-color": MAP_BACKGROUND, "line-width": 1.5 },
      });
    }
    if (!m.getLayer(L_HIGHLIGHT)) {
      m.addLayer({
        id: L_HIGHLIGHT,
        type: "line",
        source: SRC_DISTRICTS,
        paint: {
          "line-color": "#ffffff",
          "line-width": 4,
          "line-opacity": ["case", ["boolean", ["feature-state", "highlight"], false], 1, 0],
        },
      });
    }
    if (!m.getLayer(L_DESKS)) {
      // Area grows with the number of people waiting; hollow without live data.
      const w = ["get", "waiting"] as ExpressionSpecification;
      const r: ExpressionSpecification = ["case", ["<", w, 0], 4, ["min", 30, ["+", 5, ["*", 2, ["sqrt", w]]]]];
      m.addLayer({
        id: L_DESKS,
        type: "circle",
        source: SRC_DESKS,
        paint: {
          "circle-color": DESK_COLOUR,
          "circle-opacity": ["case", ["<", w, 0], 0, 0.38],
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 9, r, 14, ["*", 1.5, r]],
          "circle-stroke-color": ["case", ["<", w, 0], "#9aa4b1", DESK_COLOUR],
          "circle-stroke-width": 2,
        },
      });
    }
    if (!m.getLayer(L_SITES)) {
      const status = ["get", "status"] as ExpressionSpecification;
      m.addLayer({
        id: L_SITES,
        type: "circle",
        source: SRC_SITES,
        paint: {
          "circle-color": [
            "match",
            status,
            "spacesAvailable",
            STATUS_COLOURS.spacesAvailable,
            "almostFull",
            STATUS_COLOURS.almostFull,
            "full",
            STATUS_COLOURS.full,
            "closed",
            STATUS_COLOURS.closed,
            STATUS_COLOURS.unknown,
          ],
          "circle-opacity": ["match", status, "unknown", 0, 1],
          "circle-radius": [
            "interpolate",
            ["linear"],
            ["zoom"],
            9,
            ["match", status, "full", 5.5, "closed", 3, 4],
            14,
            ["match", status, "full", 12, "closed", 6, 9],
          ],
          "circle-stroke-color": ["match", status, "unknown", STATUS_COLOURS.unknown, MAP_BACKGROUND],
          "circle-stroke-width": 1.5,
        },
      });
    }
    const st = ["get", "state"] as ExpressionSpecification;
    if (!m.getLayer(L_SIGNALS)) {
      m.addLayer({
        id: L_SIGNALS,
        type: "circle",
        source: SRC_SIGNALS,
        paint: {
          "circle-color": [
            "match",
            st,
            "normal",
            SIGNAL_COLOURS.normal,
            "coordination_failed",
            SIGNAL_COLOURS.coordination_failed,
            "flash",
            SIGNAL_COLOURS.flash,
            "dark",
            SIGNAL_COLOURS.dark,
            "comm_lost",
            SIGNAL_COLOURS.comm_lost,
            SIGNAL_COLOURS.unknown,
          ],
          // No status yet: a hollow grey ring.
          "circle-opacity": ["match", st, "unknown", 0, 1],
          "circle-radius": [
            "interpolate",
            ["linear"],
            ["zoom"],
            9,
            ["match", st, "normal", 4, "unknown", 3, 5.5],
            14,
            ["match", st, "normal", 8.5, "unknown", 6, 11],
          ],
          // A dark outline keeps the ring visible on a district filled with the same hue.
          "circle-stroke-color": ["match", st, "unknown", "#9aa4b1", MAP_BACKGROUND],
          "circle-stroke-width": ["match", st, "unknown", 1.5, 2],
        },
      });
    }
    if (!m.getLayer(L_SIGNALS_CORE)) {
      // The dark core that makes a signal a ring; "dark" signals get a wide hole.
      m.addLayer({
        id: L_SIGNALS_CORE,
        type: "circle",
        source: SRC_SIGNALS,
        paint: {
          "circle-color": MAP_BACKGROUND,
          "circle-opacity": ["match", st, "unknown", 0, 1],
          "circle-radius": [
            "interpolate",
            ["linear"],
            ["zoom"],
            9,
            ["match", st, "normal", 1.7, "dark", 3.2, 2.2],
            14,
            ["match", st, "normal", 3.6, "dark", 7, 4.5],
          ],
        },
      });
    }
    if (!m.getLayer(L_BUSES)) {
      m.addLayer({
        id: L_BUSES,
        type: "circle",
        source: SRC_BUSES,
        paint: {
          "circle-color": BUS_COLOUR,
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 9, 5.5, 14, 9],
          "circle-stroke-color": BUS_STROKE,
          "circle-stroke-width": 2,
        },
      });
    }
    if (!m.getLayer(L_SITUATIONS)) {
      // A wide halo under the asset a situation is about, coloured by severity.
      const sev = ["get", "severity"] as ExpressionSpecification;
      m.addLayer({
        id: L_SITUATIONS,
        type: "circle",
        source: SRC_SITUATIONS,
        paint: {
          "circle-opacity": 0,
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 9, 11, 14, 20],
          "circle-stroke-color": ["match", sev, "critical", SEVERITY_COLOURS.critical, "major", SEVERITY_COLOURS.major, "minor", SEVERITY_COLOURS.minor, SEVERITY_COLOURS.info],
          "circle-stroke-width": 3,
        },
      });
    }
    if (!m.getLayer(L_FOCUS)) {
      m.addLayer({
        id: L_FOCUS,
        type: "circle",
        source: SRC_FOCUS,
        paint: {
          "circle-opacity": 0,
          "circle-radius": 16,
          "circle-stroke-color": "#ffffff",
          "circle-stroke-width": 3,
        },
      });
    }
    this.styleReady = true;
    this.applyFeedFilter();
    this.pushDistricts();
    for (const [id, data] of this.pointSources()) this.push(id, data);
  };

  private pointSources(): [string, Points][] {
    return [
      [SRC_SITES, this.siteData],
      [SRC_DESKS, this.deskData],
      [SRC_SIGNALS, this.signalData],
      [SRC_BUSES, this.busData],
      [SRC_FOCUS, this.focusData],
      [SRC_SITUATIONS, this.situationData],
    ];
  }

  /** Show one feed's points only (a wall scene), or all of them (null). */
  showOnly(feed: FeedLayer | null): void {
    this.onlyFeed = feed;
    this.applyFeedFilter();
    this.map.getContainer().dataset["scene"] = feed ?? "";
  }

  private applyFeedFilter(): void {
    if (!this.styleReady) return;
    for (const [feed, layers] of Object.entries(FEED_LAYERS) as [FeedLayer, string[]][]) {
      const visible = this.onlyFeed === null || this.onlyFeed === feed ? "visible" : "none";
      for (const id of layers) if (this.map.getLayer(id)) this.map.setLayoutProperty(id, "visibility", visible);
    }
  }

  /** Frame a few districts (the worst ones), or the whole city with none. */
  fitDistricts(codes: string[], animate: boolean): void {
    const geoms = this.districtData.features.filter((f) => codes.includes(String(f.properties?.["code"]))).map((f) => f.geometry);
    const b = geoms.length > 0 ? boundsOf(geoms) : null;
    if (b === null) {
      this.home(animate);
      return;
    }
    const [w, s, e, n] = b;
    this.map.fitBounds([[w, s], [e, n]], { padding: this.padding, maxZoom: 13, animate, duration: animate ? 1_500 : 0 });
  }

  /** Halos around the assets that active situations are about. */
  setSituations(items: Iterable<{ id: number; severity: string; lngLat: [number, number] | null }>): void {
    const features: Feature<Point>[] = [];
    for (const s of items) {
      if (s.lngLat === null) continue;
      features.push({ type: "Feature", geometry: { type: "Point", coordinates: s.lngLat }, properties: { id: s.id, severity: s.severity } });
    }
    this.situationData = { type: "FeatureCollection", features };
    this.count("situations", features.length);
    this.push(SRC_SITUATIONS, this.situationData);
  }

  private push(source: string, data: Points): void {
    if (!this.styleReady) return;
    void this.map.getSource<GeoJSONSource>(source)?.setData(data);
  }

  /** Feature counts on the container, for tests: data-signals, data-buses, data-desks. */
  private count(name: string, n: number): void {
    const el = this.map.getContainer();
    if (el.dataset[name] !== String(n)) el.dataset[name] = String(n);
  }

  // ---- data ----

  setDistrictCatalogue(infos: Iterable<DistrictInfo>): void {
    const features: Feature<Polygon | MultiPolygon>[] = [];
    const anchors = new Map<string, [number, number]>();
    const geoms: (Polygon | MultiPolygon)[] = [];
    for (const d of infos) {
      if (d.geometry === null) continue;
      features.push({ type: "Feature", geometry: d.geometry, properties: { code: d.code } });
      geoms.push(d.geometry);
      const anchor = labelAnchor(d.geometry);
      if (anchor) anchors.set(d.code, anchor.lngLat);
    }
    this.districtData = { type: "FeatureCollection", features };
    this.bounds = boundsOf(geoms);
    this.labels.setAnchors(anchors);
    this.pushDistricts();
    this.home(false);
  }

  setDistrictStates(states: DistrictState[], labels: LabelContent[]): void {
    for (const s of states) {
      if (this.bands.get(s.code) === s.band) continue;
      this.bands.set(s.code, s.band);
      if (this.styleReady) this.map.setFeatureState({ source: SRC_DISTRICTS, id: s.code }, { band: s.band });
    }
    this.labels.setContent(labels);
  }

  setSites(infos: Iterable<SiteInfo>, liveOf: (id: string) => SiteLive | null): void {
    const features: Feature<Point>[] = [];
    for (const s of infos) {
      const live = liveOf(s.id);
      features.push({
        type: "Feature",
        geometry: { type: "Point", coordinates: s.lngLat },
        properties: { id: s.id, status: live?.status ?? "unknown" },
      });
    }
    // Full car parks are drawn last, i.e. on top.
    const rank = (f: Feature<Point>): number => (f.properties?.["status"] === "full" ? 1 : 0);
    features.sort((a, b) => rank(a) - rank(b));
    this.siteData = { type: "FeatureCollection", features };
    this.push(SRC_SITES, this.siteData);
  }

  /** Catalogued signals coloured by live state; worst drawn on top. */
  setSignals(infos: Iterable<SignalInfo>, unitOf: (id: string) => SignalUnit | null): void {
    const features: Feature<Point>[] = [];
    for (const s of infos) {
      const state = unitOf(s.id)?.state ?? "unknown";
      features.push({
        type: "Feature",
        geometry: { type: "Point", coordinates: s.lngLat },
        properties: { id: s.id, state, rank: SIGNAL_RANK[state] },
      });
    }
    features.sort((a, b) => (a.properties?.["rank"] as number) - (b.properties?.["rank"] as number));
    this.signalData = { type: "FeatureCollection", features };
    this.count("signals", features.length);
    this.push(SRC_SIGNALS, this.signalData);
  }

  /** Buses at their last reported position (those without one are not drawn). */
  setBuses(buses: Iterable<BusLive>): void {
    const features: Feature<Point>[] = [];
    for (const b of buses) {
      if (b.lngLat === null) continue;
      features.push({
        type: "Feature",
        geometry: { type: "Point", coordinates: b.lngLat },
        properties: { id: b.id },
      });
    }
    this.busData = { type: "FeatureCollection", features };
    this.count("buses", features.length);
    this.push(SRC_BUSES, this.busData);
  }

  /** Catalogued desks sized by people waiting (-1: no live data); small ones on top. */
  setDesks(infos: Iterable<ServicePointInfo>, liveOf: (id: string) => QueuePoint | null): void {
    const features: Feature<Point>[] = [];
    for (const d of infos) {
      features.push({
        type: "Feature",
        geometry: { type: "Point", coordinates: d.lngLat },
        properties: { id: d.id, waiting: liveOf(d.id)?.waiting ?? -1 },
      });
    }
    features.sort((a, b) => (b.properties?.["waiting"] as number) - (a.properties?.["waiting"] as number));
    this.deskData = { type: "FeatureCollection", features };
    this.count("desks", features.length);
    this.push(SRC_DESKS, this.deskData);
  }

  /** A white ring around the hovered or selected point (follows a moving bus). */
  setFocusPoint(lngLat: [number, number] | null): void {
    const prev = this.focusData.features[0]?.geometry.coordinates;
    if (lngLat === null ? prev === undefined : prev !== undefined && prev[0] === lngLat[0] && prev[1] === lngLat[1]) return;
    this.focusData = {
      type: "FeatureCollection",
      features: lngLat === null ? [] : [{ type: "Feature", geometry: { type: "Point", coordinates: lngLat }, properties: {} }],
    };
    this.push(SRC_FOCUS, this.focusData);
  }

  setHighlight(code: string | null): void {
    if (code === this.highlighted) return;
    if (this.styleReady && this.highlighted !== null) {
      this.map.setFeatureState({ source: SRC_DISTRICTS, id: this.highlighted }, { highlight: false });
    }
    this.highlighted = code;
    if (this.styleReady && code !== null) {
      this.map.setFeatureState({ source: SRC_DISTRICTS, id: code }, { highlight: true });
    }
  }

  private pushDistricts(): void {
    if (!this.styleReady) return;
    const src = this.map.getSource<GeoJSONSource>(SRC_DISTRICTS);
    if (!src) return;
    void src.setData(this.districtData);
    for (const [code, band] of this.bands) {
      this.map.setFeatureState({ source: SRC_DISTRICTS, id: code }, { band });
    }
    if (this.highlighted !== null) {
      this.map.setFeatureState({ source: SRC_DISTRICTS, id: this.highlighted }, { highlight: true });
    }
  }

  setLabel(label: string): void {
    this.map.getCanvas().setAttribute("aria-label", label);
  }

  // ---- camera ----

  /** Space taken by the overlay panels, so the city is framed between them. */
  setPadding(p: { top: number; right: number; bottom: number; left: number }): void {
    this.padding = p;
    this.homeIfIdle();
  }

  /** Re-frames the city unless an operator has been using the map recently. */
  private homeIfIdle(): void {
    if (Date.now() - this.lastInteraction > RETURN_HOME_AFTER_MS) this.home(false);
  }

  home(animate: boolean): void {
    if (this.bounds === null) return;
    const [w, s, e, n] = this.bounds;
    const c = this.map.getContainer();
    const pad = this.padding;
    // Do not pad away the whole map on small screens.
    const usable = c.clientWidth - pad.left - pad.right > 200 && c.clientHeight - pad.top - pad.bottom > 200;
    this.map.fitBounds(
      [
        [w, s],
        [e, n],
      ],
      { padding: usable ? pad : 20, animate, duration: animate ? 1_500 : 0 },
    );
  }

  // ---- pointer ----

  private focusAt(ev: MapMouseEvent): Focus | null {
    if (!this.styleReady) return null;
    const { x, y } = ev.point;
    const near = this.map.queryRenderedFeatures(
      [
        [x - HIT_PX, y - HIT_PX],
        [x + HIT_PX, y + HIT_PX],
      ],
      { layers: POINT_LAYERS },
    );
    for (const layer of POINT_LAYERS) {
      for (const f of near) {
        const id = (f.properties as Record<string, unknown> | null)?.["id"];
        if (f.layer.id !== layer || typeof id !== "string") continue;
        if (layer === L_BUSES) return { kind: "bus", id };
        if (layer === L_SIGNALS) return { kind: "signal", id };
        if (layer === L_SITES) return { kind: "site", id };
        return { kind: "desk", id };
      }
    }
    for (const f of this.map.queryRenderedFeatures(ev.point, { layers: [L_BASE] })) {
      const p = f.properties as Record<string, unknown> | null;
      if (typeof p?.["code"] === "string") return { kind: "district", code: p["code"] };
    }
    return null;
  }

  private readonly onMouseMove = (ev: MapMouseEvent): void => {
    this.hover(this.focusAt(ev));
  };

  private hover(focus: Focus | null): void {
    const key = focusKey(focus);
    this.map.getCanvas().style.cursor = focus === null ? "" : "pointer";
    if (key === this.hoverKey) return;
    this.hoverKey = key;
    this.events.onHover(focus);
  }
}
