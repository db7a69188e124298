// Headline tiles: parking, traffic signals, BRT and public-service queues.
// Each tile has data-state = waiting (nothing received yet: it says so, no
// made-up numbers) | live | stale, and every figure carries its raw number in
// data-value for tests.

import { BAND_COLOURS, BAND_LIMITS, SIGNAL_COLOURS, occupancyBand } from "./colours";
import { h, setAttr, setText } from "./dom";
import { integer, percent, stamp } from "./format";
import { signalSwatchClass } from "./detailPanel";
import { t } from "./i18n";
import type { BrtHeadline, Headline, QueuesHeadline, SignalsHeadline } from "./store";
import type { SignalState } from "./types";

/** Figures older than this are flagged on the tile. */
const STALE_AFTER_MS = 10 * 60_000;

export class ParkingTile {
  readonly element: HTMLElement;
  private readonly title = h("h2", { class: "tile-title" });
  private readonly occValue = h("span", { class: "metric-value metric-xl", "data-testid": "parking-occupancy" });
  private readonly occLabel = h("span", { class: "metric-label" });
  private readonly barFill = h("span", { class: "bar-fill" });
  private readonly availValue = h("span", { class: "metric-value", "data-testid": "parking-available" });
  private readonly availLabel = h("span", { class: "metric-label" });
  private readonly fullValue = h("span", { class: "metric-value", "data-testid": "parking-full" });
  private readonly fullLabel = h("span", { class: "metric-label" });
  private readonly fullOf = h("span", { class: "metric-sub" });
  private readonly foot = h("p", { class: "tile-foot", "data-testid": "parking-updated" });
  private last: Headline | null = null;

  constructor() {
    const bar = h("div", { class: "bar", "aria-hidden": "true" }, this.barFill);
    for (const limit of BAND_LIMITS) {
      const tick = h("span", { class: "bar-tick" });
      tick.style.left = `${limit * 100}%`;
      bar.append(tick);
    }
    this.element = h(
      "section",
      { class: "tile tile-live", "data-testid": "tile-parking", "data-state": "waiting" },
      this.title,
      h("div", { class: "metric metric-main metric-inline" }, this.occValue, this.occLabel),
      bar,
      h(
        "div",
        { class: "metric-row" },
        h("div", { class: "metric" }, this.availValue, this.availLabel),
        h("div", { class: "metric" }, this.fullValue, this.fullLabel, this.fullOf),
      ),
      this.foot,
    );
    this.render(null);
  }

  /** Pass null to re-render the last figures (language change, staleness check). */
  render(headline: Headline | null): void {
    if (headline !== null) this.last = headline;
    const hl = this.last;
    setText(this.title, t("parkingTitle"));
    setText(this.occLabel, t("parkingOccupancy"));
    setText(this.availLabel, t("parkingAvailable"));
    setText(this.fullLabel, t("parkingFull"));
    if (hl === null || hl.occupancy === null) {
      setAttr(this.element, "data-state", "waiting");
      for (const el of [this.occValue, this.availValue, this.fullValue]) {
        setText(el, "—");
        setAttr(el, "data-value", "");
      }
      setText(this.fullOf, "");
      setText(this.foot, t("waiting"));
      this.barFill.style.width = "0";
      return;
    }
    const updated = hl.updatedAt === null ? NaN : Date.parse(hl.updatedAt);
    const stale = !Number.isNaN(updated) && Date.now() - updated > STALE_AFTER_MS;
    setAttr(this.element, "data-state", stale ? "stale" : "live");
    setText(this.occValue, percent(hl.occupancy));
    setAttr(this.occValue, "data-value", String(hl.occupancy));
    setText(this.availValue, integer(hl.available));
    setAttr(this.availValue, "data-value", String(hl.available));
    setText(this.fullValue, integer(hl.fullSites));
    setAttr(this.fullValue, "data-value", String(hl.fullSites));
    setText(this.fullOf, t("parkingFullOf", { n: integer(hl.sites) }));
    this.barFill.style.width = `${Math.min(100, Math.max(0, hl.occupancy * 100))}%`;
    this.barFill.style.backgroundColor = BAND_COLOURS[occupancyBand(hl.occupancy)];
    const when = `${t("updated")} ${stamp(hl.updatedAt)}`;
    setText(this.foot, stale ? `${t("staleData")} · ${when}` : when);
  }
}

/** A bus report older than this makes the BRT tile stale (buses report every few seconds). */
const BRT_STALE_AFTER_MS = 2 * 60_000;

type TileState = "waiting" | "live" | "stale";

/** A number with its label; `data-value` holds the raw number, "" without one. */
class Figure {
  readonly value: HTMLElement;
  readonly label = h("span", { class: "metric-label" });
  readonly element: HTMLElement;

  constructor(testId: string, valueClass = "metric-value", ...extra: HTMLElement[]) {
    this.value = h("span", { class: valueClass, "data-testid": testId, "data-value": "" }, "—");
    this.element = h("div", { class: "metric" }, this.value, this.label, ...extra);
  }

  set(text: string, raw: number | null): void {
    setText(this.value, text);
    setAttr(this.value, "data-value", raw === null ? "" : String(raw));
  }
}

function ageMs(iso: string | null, now: number): number | null {
  if (iso === null) return null;
  const t0 = Date.parse(iso);
  return Number.isNaN(t0) ? null : now - t0;
}

function foot(state: TileState, connected: boolean, line: string): string {
  if (state !== "stale") return line;
  return `${connected ? t("staleData") : t("connectionLostData")} · ${line}`;
}

/** Traffic signals: share operating normally, and the faults by kind. */
export class SignalsTile {
  readonly element: HTMLElement;
  private readonly title = h("h2", { class: "tile-title" });
  private readonly share = new Figure("signals-normal-share", "metric-value metric-lg");
  private readonly shareOf = h("span", { class: "metric-sub" });
  private readonly bar = h("div", { class: "bar bar-stack", "aria-hidden": "true" });
  private readonly segments = new Map<SignalState, HTMLElement>();
  private readonly flash = new Figure("signals-flash");
  private readonly dark = new Figure("signals-dark");
  private readonly commLost = new Figure("signals-comm-lost");
  private readonly footEl = h("p", { class: "tile-foot", "data-testid": "signals-updated" });
  private last: SignalsHeadline | null = null;

  constructor() {
    for (const state of ["normal", "coordination_failed", "flash", "dark", "comm_lost"] as const) {
      const seg = h("span", { class: "bar-seg" });
      seg.style.backgroundColor = SIGNAL_COLOURS[state];
      this.segments.set(state, seg);
      this.bar.append(seg);
    }
    const swatched = (f: Figure, state: SignalState): HTMLElement => {
      const sw = h("span", { class: signalSwatchClass(state), "aria-hidden": "true" });
      sw.style.setProperty("--ring", SIGNAL_COLOURS[state]);
      f.value.before(sw);
      f.element.classList.add("metric-swatched");
      return f.element;
    };
    this.share.element.append(this.shareOf);
    this.share.element.classList.add("metric-inline");
    this.element = h(
      "section",
      { class: "tile tile-live", "data-testid": "tile-signals", "data-state": "waiting" },
      this.title,
      this.share.element,
      this.bar,
      h(
        "div",
        { class: "metric-row metric-row-3" },
        swatched(this.flash, "flash"),
        swatched(this.dark, "dark"),
        swatched(this.commLost, "comm_lost"),
      ),
      this.footEl,
    );
    this.render(null, false);
  }

  /** Pass null to re-render the last figures. */
  render(headline: SignalsHeadline | null, connected: boolean): void {
    if (headline !== null) this.last = headline;
    const hl = this.last;
    setText(this.title, t("feedSignals"));
    setText(this.share.label, t("signalsNormalShare"));
    setText(this.flash.label, t("stateFlash"));
    setText(this.dark.label, t("stateDark"));
    setText(this.commLost.label, t("stateCommLost"));
    if (hl === null || hl.shareNormal === null) {
      setAttr(this.element, "data-state", "waiting");
      for (const f of [this.share, this.flash, this.dark, this.commLost]) f.set("—", null);
      setText(this.shareOf, "");
      for (const seg of this.segments.values()) seg.style.width = "0";
      setText(this.footEl, hl?.received ? t("signalsNone") : t("waiting"));
      return;
    }
    // Status is reported on change only, so its age says nothing about
    // freshness: the figures are stale only while the live feed is down.
    const state: TileState = connected ? "live" : "stale";
    setAttr(this.element, "data-state", state);
    this.share.set(percent(hl.shareNormal), hl.shareNormal);
    setText(this.shareOf, t("signalsOfTotal", { n: integer(hl.normal), total: integer(hl.total) }));
    this.flash.set(integer(hl.flash), hl.flash);
    this.dark.set(integer(hl.dark), hl.dark);
    this.commLost.set(integer(hl.commLost), hl.commLost);
    const counts: Record<string, number> = {
      normal: hl.normal,
      coordination_failed: hl.coordinationFailed,
      flash: hl.flash,
      dark: hl.dark,
      comm_lost: hl.commLost,
    };
    for (const [st, seg] of this.segments) seg.style.width = `${((counts[st] ?? 0) / hl.total) * 100}%`;
    const parts = [`${t("signalsLastChange")} ${stamp(hl.lastChange)}`];
    if (hl.coordinationFailed > 0) parts.push(t("signalsCoordFailed", { n: integer(hl.coordinationFailed) }));
    if (hl.silent > 0) parts.push(t("signalsSilent", { n: integer(hl.silent) }));
    setText(this.footEl, foot(state, connected, parts.join(" · ")));
  }
}

/** BRT: buses reporting in the last 10 minutes, and the newest report. */
export class BrtTile {
  readonly element: HTMLElement;
  private readonly title = h("h2", { class: "tile-title" });
  private readonly buses = new Figure("brt-buses", "metric-value metric-lg");
  private readonly sub = h("span", { class: "metric-sub" });
  private readonly footEl = h("p", { class: "tile-foot", "data-testid": "brt-updated", "data-value": "" });
  private last: BrtHeadline | null = null;

  constructor() {
    this.buses.element.append(this.sub);
    this.buses.element.classList.add("metric-inline");
    this.element = h(
      "section",
      { class: "tile tile-live", "data-testid": "tile-brt", "data-state": "waiting" },
      this.title,
      this.buses.element,
      this.footEl,
    );
    this.render(null, false, Date.now());
  }

  render(headline: BrtHeadline | null, connected: boolean, now: number): void {
    if (headline !== null) this.last = headline;
    const hl = this.last;
    setText(this.title, t("feedBrt"));
    setText(this.buses.label, t("brtBuses"));
    if (hl === null || hl.newest === null) {
      setAttr(this.element, "data-state", "waiting");
      this.buses.set("—", null);
      setText(this.sub, "");
      setAttr(this.footEl, "data-value", "");
      setText(this.footEl, hl?.received ? t("brtNone") : t("waiting"));
      return;
    }
    const age = ageMs(hl.newest, now);
    const state: TileState = !connected || (age !== null && age > BRT_STALE_AFTER_MS) ? "stale" : "live";
    setAttr(this.element, "data-state", state);
    this.buses.set(integer(hl.buses), hl.buses);
    const sub = [t("brtBusesHint")];
    if (hl.routes > 0) sub.unshift(hl.routes === 1 ? t("brtRoute1") : t("brtRoutes", { n: integer(hl.routes) }));
    setText(this.sub, sub.join(" · "));
    setAttr(this.footEl, "data-value", hl.newest);
    setText(this.footEl, foot(state, connected, `${t("brtNewest")} ${stamp(hl.newest)}`));
  }
}

/** Public-service desks: people waiting and counters open, city-wide. */
export class QueuesTile {
  readonly element: HTMLElement;
  private readonly title = h("h2", { class: "tile-title" });
  private readonly waiting = new Figure("queues-waiting", "metric-value metric-lg");
  private readonly countersOf = h("span", { class: "metric-of" });
  private readonly counters = new Figure("queues-counters", "metric-value metric-lg");
  private readonly busiest = h("p", { class: "tile-note", "data-testid": "queues-busiest" });
  private readonly footEl = h("p", { class: "tile-foot", "data-testid": "queues-updated" });
  private last: QueuesHeadline | null = null;

  constructor() {
    // "245 / 396": counters open, then (smaller) all counters of the catalogue.
    this.counters.value.after(this.countersOf);
    this.counters.element.classList.add("metric-with-of");
    this.element = h(
      "section",
      { class: "tile tile-live", "data-testid": "tile-queues", "data-state": "waiting" },
      this.title,
      h("div", { class: "metric-row metric-row-top" }, this.waiting.element, this.counters.element),
      this.busiest,
      this.footEl,
    );
    this.render(null, false, Date.now());
  }

  render(headline: QueuesHeadline | null, connected: boolean, now: number): void {
    if (headline !== null) this.last = headline;
    const hl = this.last;
    setText(this.title, t("feedQueues"));
    setText(this.waiting.label, t("queuesWaiting"));
    setText(this.counters.label, t("queuesCounters"));
    if (hl === null || hl.points === 0) {
      setAttr(this.element, "data-state", "waiting");
      this.waiting.set("—", null);
      this.counters.set("—", null);
      setText(this.countersOf, "");
      setText(this.busiest, "");
      setText(this.footEl, hl?.received ? t("queuesNone") : t("waiting"));
      return;
    }
    const age = ageMs(hl.updatedAt, now);
    const state: TileState = !connected || (age !== null && age > STALE_AFTER_MS) ? "stale" : "live";
    setAttr(this.element, "data-state", state);
    this.waiting.set(integer(hl.waiting), hl.waiting);
    this.counters.set(integer(hl.countersOpen), hl.countersOpen);
    setText(this.countersOf, hl.countersTotal === null ? "" : t("queuesCountersOf", { n: integer(hl.countersTotal) }));
    const points = t("queuesPoints", { n: integer(hl.points) });
    setText(
      this.busiest,
      hl.busiest === null ? points : `${points} · ${t("queuesBusiest")}: ${hl.busiest.name} (${integer(hl.busiest.waiting)})`,
    );
    setText(this.footEl, foot(state, connected, `${t("updated")} ${stamp(hl.updatedAt)}`));
  }
}
