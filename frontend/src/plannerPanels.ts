// The planner's panels: the time range and replay controls (play, pause,
// speed, scrub, go to a time), and the history panel (a KPI per district over
// the range, compared with an earlier period, and export links).

import { exportUrl, fetchComparison, fetchSeries, type SeriesPoint } from "./api";
import { lineChart } from "./charts";
import { h, replaceChildren, setAttr, setText } from "./dom";
import { clockTime, dateTime, fromCityInput, percent, toCityInput } from "./format";
import { districtNameOf, t, type StringKey } from "./i18n";
import type { ReplayView } from "./replay";

const HOUR_MS = 3600_000;
export const SPEEDS = [1, 10, 60, 300, 900, 3600] as const;
const PRESETS: [StringKey, number][] = [
  ["last1h", HOUR_MS],
  ["last6h", 6 * HOUR_MS],
  ["last24h", 24 * HOUR_MS],
  ["last7d", 7 * 24 * HOUR_MS],
];
/** Scrub steps of the slider: one minute. */
const STEP_MS = 60_000;

export interface ReplayControlsEvents {
  load(start: number, end: number): void;
  play(): void;
  pause(): void;
  speed(speed: number): void;
  seek(at: number): void;
  live(): void;
}

export class ReplayControls {
  readonly element: HTMLElement;
  private readonly title = h("h2", { class: "tile-title", id: "replay-title" });
  private readonly startIn = h("input", { type: "datetime-local", class: "control", "data-testid": "range-start", id: "range-start" });
  private readonly endIn = h("input", { type: "datetime-local", class: "control", "data-testid": "range-end", id: "range-end" });
  private readonly startLabel = h("label", { for: "range-start" });
  private readonly endLabel = h("label", { for: "range-end" });
  private readonly presets = h("div", { class: "presets" });
  private readonly loadBtn = h("button", { type: "submit", class: "action", "data-testid": "replay-load" });
  private readonly liveBtn = h("button", { type: "button", class: "action action-quiet", "data-testid": "replay-live" });
  private readonly playBtn = h("button", { type: "button", class: "action action-play", "data-testid": "replay-play", "aria-pressed": "false", disabled: "" });
  private readonly speedSel = h("select", { class: "control", "data-testid": "replay-speed", id: "replay-speed", disabled: "" });
  private readonly speedLabel = h("label", { for: "replay-speed", class: "sr-only" });
  private readonly scrub = h("input", { type: "range", class: "scrub", "data-testid": "replay-scrub", min: "0", max: "0", step: String(STEP_MS), disabled: "" });
  private readonly position = h("output", { class: "replay-position", "data-testid": "replay-position", "aria-live": "polite" });
  /** To the second: a moment typed here may fall within the minute of an event. */
  private readonly atIn = h("input", { type: "datetime-local", step: "1", class: "control", "data-testid": "replay-at", id: "replay-at", disabled: "" });
  private readonly atLabel = h("label", { for: "replay-at" });
  private readonly atBtn = h("button", { type: "submit", class: "action", "data-testid": "replay-go", disabled: "" });
  private readonly status = h("p", { class: "tile-foot", "data-testid": "replay-status" });
  private scrubbing = false;
  /** Until the planner edits the range, it is "the last hour up to now", now being when it is loaded. */
  private followingNow = true;

  constructor(
    private readonly events: ReplayControlsEvents,
    /** The server's (city's) time in epoch ms: "now" is the city's, never the browser's. */
    private readonly now: () => number,
  ) {
    this.showRange(this.now() - HOUR_MS, this.now());
    const rangeForm = h(
      "form",
      { class: "range-form" },
      h("div", { class: "field" }, this.startLabel, this.startIn),
      h("div", { class: "field" }, this.endLabel, this.endIn),
      this.loadBtn,
    );
    const atForm = h("form", { class: "at-form" }, h("div", { class: "field" }, this.atLabel, this.atIn), this.atBtn);
    this.element = h(
      "section",
      { class: "panel panel-replay", "data-testid": "replay", "aria-labelledby": "replay-title" },
      h("div", { class: "replay-head" }, this.title, this.presets, this.liveBtn),
      rangeForm,
      h("div", { class: "replay-bar" }, this.playBtn, this.speedLabel, this.speedSel, this.scrub, this.position),
      h("div", { class: "replay-foot" }, atForm, this.status),
    );
    for (const input of [this.startIn, this.endIn]) input.addEventListener("input", () => (this.followingNow = false));
    rangeForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (this.followingNow) {
        const end = this.now();
        this.loadRange(end - HOUR_MS, end);
        return;
      }
      const start = fromCityInput(this.startIn.value);
      const end = fromCityInput(this.endIn.value);
      if (start !== null && end !== null && start < end) this.events.load(start, end);
      else setText(this.status, t("rangeInvalid"));
    });
    atForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const at = fromCityInput(this.atIn.value);
      if (at !== null) this.events.seek(at);
    });
    this.presets.addEventListener("click", (ev) => {
      const b = ev.target instanceof Element ? ev.target.closest<HTMLElement>("[data-span]") : null;
      if (b === null) return;
      const end = this.now();
      this.followingNow = false;
      this.loadRange(end - Number(b.dataset["span"]), end);
    });
    this.liveBtn.addEventListener("click", () => this.events.live());
    this.playBtn.addEventListener("click", () => (this.playBtn.getAttribute("aria-pressed") === "true" ? this.events.pause() : this.events.play()));
    this.speedSel.addEventListener("change", () => this.events.speed(Number(this.speedSel.value)));
    this.scrub.addEventListener("input", () => {
      this.scrubbing = true;
      setText(this.position, dateTime(Number(this.scrub.value)));
    });
    this.scrub.addEventListener("change", () => {
      this.scrubbing = false;
      this.events.seek(Number(this.scrub.value));
    });
  }

  /** Load a range to the millisecond (the fields show it to the minute). */
  private loadRange(start: number, end: number): void {
    this.showRange(start, end);
    this.events.load(start, end);
  }

  private showRange(start: number, end: number): void {
    this.startIn.value = toCityInput(start);
    this.endIn.value = toCityInput(end);
  }

  render(view: ReplayView | null): void {
    setText(this.title, t("replayTitle"));
    setText(this.startLabel, t("rangeStart"));
    setText(this.endLabel, t("rangeEnd"));
    setText(this.loadBtn, t("replayLoad"));
    setText(this.liveBtn, t("backToLive"));
    setText(this.speedLabel, t("speed"));
    setText(this.atLabel, t("goToTime"));
    setText(this.atBtn, t("go"));
    setAttr(this.scrub, "aria-label", t("scrub"));
    replaceChildren(this.presets, ...PRESETS.map(([key, span]) => h("button", { type: "button", class: "chip", "data-span": String(span) }, t(key))));
    const chosen = this.speedSel.value;
    replaceChildren(this.speedSel, ...SPEEDS.map((s) => h("option", { value: String(s) }, `${s}×`)));
    this.speedSel.value = chosen || "60";

    const on = view !== null;
    for (const el of [this.playBtn, this.speedSel, this.scrub, this.atIn, this.atBtn]) el.disabled = !on;
    this.liveBtn.hidden = !on;
    this.element.dataset["state"] = on ? (view.loading ? "loading" : "ready") : "off";
    if (view === null) {
      if (this.followingNow) this.showRange(this.now() - HOUR_MS, this.now());
      setText(this.playBtn, `▶ ${t("play")}`);
      setText(this.position, t("showingLive"));
      this.position.dataset["value"] = "";
      setText(this.status, "");
      return;
    }
    setAttr(this.playBtn, "aria-pressed", view.paused ? "false" : "true");
    setText(this.playBtn, view.paused ? `▶ ${t("play")}` : `❚❚ ${t("pause")}`);
    this.speedSel.value = String(view.speed);
    setAttr(this.scrub, "min", String(view.start));
    setAttr(this.scrub, "max", String(view.end));
    if (!this.scrubbing) this.scrub.value = String(view.position);
    setAttr(this.scrub, "aria-valuetext", dateTime(view.position));
    this.position.dataset["value"] = new Date(view.position).toISOString();
    if (!this.scrubbing) setText(this.position, dateTime(view.position));
    if (document.activeElement !== this.atIn) this.atIn.value = toCityInput(view.position, true);
    const socket = view.connection === "live" ? t("replayStreaming") : view.connection === "off" ? t("replayStatic") : t("connReconnecting");
    setText(this.status, `${view.loading ? `${t("loading")} · ` : ""}${socket}${view.error && view.error !== "replay-unavailable" ? ` · ${view.error}` : ""}`);
  }
}

// ---- history charts ----

interface KpiChoice {
  feed: string;
  kpi: string;
  key: StringKey;
  format: (v: number) => string;
  yMin?: number;
  yMax?: number;
}

const KPIS: KpiChoice[] = [
  { feed: "parking", kpi: "occupancy", key: "kpiOccupancy", format: percent, yMin: 0, yMax: 1 },
  { feed: "signals", kpi: "normal_share", key: "kpiSignalsNormal", format: percent, yMin: 0, yMax: 1 },
  { feed: "queues", kpi: "waiting", key: "kpiWaiting", format: (v) => v.toFixed(0) },
  { feed: "brt", kpi: "buses", key: "kpiBuses", format: (v) => v.toFixed(0) },
];
const OFFSETS: [string, StringKey][] = [
  ["1d", "offsetDay"],
  ["7d", "offsetWeek"],
];
const EXPORT_FEEDS = ["parking", "signals", "queues", "brt_vehicles"] as const;

export class HistoryPanel {
  readonly element: HTMLElement;
  private readonly title = h("h2", { class: "tile-title", id: "history-title" });
  private readonly district = h("select", { class: "control", "data-testid": "chart-district", id: "chart-district" });
  private readonly kpi = h("select", { class: "control", "data-testid": "chart-kpi", id: "chart-kpi" });
  private readonly offset = h("select", { class: "control", "data-testid": "chart-offset", id: "chart-offset" });
  private readonly labels = { district: h("label", { for: "chart-district" }), kpi: h("label", { for: "chart-kpi" }), offset: h("label", { for: "chart-offset" }) };
  private readonly chart = h("div", { class: "chart-box", "data-testid": "chart" });
  private readonly legend = h("p", { class: "chart-legend" });
  private readonly exportTitle = h("h3", { class: "history-title" });
  private readonly exports = h("div", { class: "exports", "data-testid": "exports" });
  private range: [number, number];
  private ticket = 0;
  private districts: string[] = [];

  constructor(now: () => number) {
    this.range = [now() - HOUR_MS, now()];
    const field = (label: HTMLElement, control: HTMLElement): HTMLElement => h("div", { class: "field" }, label, control);
    this.element = h(
      "section",
      { class: "panel panel-history", "data-testid": "history", "aria-labelledby": "history-title" },
      this.title,
      h("div", { class: "filters" }, field(this.labels.district, this.district), field(this.labels.kpi, this.kpi), field(this.labels.offset, this.offset)),
      this.chart,
      this.legend,
      this.exportTitle,
      this.exports,
    );
    for (const sel of [this.district, this.kpi, this.offset]) sel.addEventListener("change", () => void this.load());
  }

  setDistricts(codes: string[]): void {
    this.districts = codes;
    this.render();
  }

  setRange(start: number, end: number): void {
    this.range = [start, end];
    void this.load();
  }

  render(): void {
    setText(this.title, t("historyTitle"));
    setText(this.labels.district, t("district"));
    setText(this.labels.kpi, t("kpi"));
    setText(this.labels.offset, t("compareWith"));
    setText(this.exportTitle, t("exportTitle"));
    const keep = (sel: HTMLSelectElement, options: HTMLOptionElement[]): void => {
      const v = sel.value;
      replaceChildren(sel, ...options);
      if (v !== "") sel.value = v;
    };
    keep(this.district, [h("option", { value: "" }, t("wholeCity")), ...this.districts.map((c) => h("option", { value: c }, districtNameOf(c)))]);
    keep(this.kpi, KPIS.map((k, i) => h("option", { value: String(i) }, t(k.key))));
    keep(this.offset, [h("option", { value: "" }, t("noComparison")), ...OFFSETS.map(([v, key]) => h("option", { value: v }, t(key)))]);
    const [start, end] = this.range;
    const district = this.district.value || null;
    replaceChildren(
      this.exports,
      ...EXPORT_FEEDS.map((feed) =>
        h(
          "div",
          { class: "export-row" },
          h("span", {}, t(`feed_${feed}` as StringKey)),
          ...(["csv", "parquet", "geojson"] as const).map((fmt) =>
            h("a", { class: "chip", href: exportUrl(feed, fmt, start, end, district), download: "", "data-testid": `export-${feed}-${fmt}` }, fmt.toUpperCase()),
          ),
        ),
      ),
    );
  }

  async load(): Promise<void> {
    this.render();
    const ticket = ++this.ticket;
    const choice = KPIS[Number(this.kpi.value || 0)] ?? KPIS[0]!;
    const district = this.district.value || null;
    const offset = this.offset.value;
    const [start, end] = this.range;
    this.chart.dataset["state"] = "loading";
    let current: SeriesPoint[] = [];
    let previous: SeriesPoint[] = [];
    let failed = false;
    try {
      if (offset === "") current = await fetchSeries(choice.feed, choice.kpi, district, start, end);
      else ({ current, previous } = await fetchComparison(choice.feed, choice.kpi, district, start, end, offset));
    } catch (err) {
      failed = true;
      console.warn("history", err);
    }
    if (ticket !== this.ticket) return;
    // The earlier period is drawn on the current period's time axis.
    const shift = current.length > 0 && previous.length > 0 ? current[0]!.t - previous[0]!.t : 0;
    const lines = [
      { points: current, colour: "#56b4e9", label: t("thisPeriod") },
      ...(previous.length > 0 ? [{ points: previous.map((p) => ({ t: p.t + shift, v: p.v })), colour: "#e69f00", dashed: true, label: t("earlierPeriod") }] : []),
    ];
    const opts = {
      width: 420,
      height: 180,
      title: `${t(choice.key)} · ${district === null ? t("wholeCity") : districtNameOf(district)}`,
      yFormat: choice.format,
      xFormat: (ms: number): string => (end - start > 36 * HOUR_MS ? dateTime(ms) : clockTime(ms)),
      xRange: [start, end] as [number, number],
      ...(choice.yMin !== undefined ? { yMin: choice.yMin } : {}),
      ...(choice.yMax !== undefined ? { yMax: choice.yMax } : {}),
    };
    replaceChildren(this.chart, failed ? h("p", { class: "tile-foot" }, t("historyUnavailable")) : lineChart(lines, opts));
    this.chart.dataset["state"] = failed ? "unavailable" : "ready";
    this.chart.dataset["points"] = String(current.length);
    replaceChildren(
      this.legend,
      h("span", { class: "legend-line" }, "— ", t("thisPeriod")),
      previous.length > 0 ? h("span", { class: "legend-line legend-dashed" }, " - - ", t("earlierPeriod")) : null,
    );
  }
}
