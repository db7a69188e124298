// Headline tiles: parking, traffic signals, BRT and public-service queues.
// Each tile has data-state = waiting (nothing received yet: it says so, no
// made-up numbers) | live | stale (the feed lags, or the live connection is
// down: amber, with the data's age) | idle (the source is idle as scheduled),
// and every figure carries its raw number in data-value for tests.

import { BAND_COLOURS, BAND_LIMITS, SIGNAL_COLOURS, occupancyBand } from "./colours";
import { h, setAttr, setText } from "./dom";
import type { Freshness } from "./freshness";
import { ago, integer, percent, stamp } from "./format";
import { signalSwatchClass } from "./detailPanel";
import { t } from "./i18n";
import type { BrtHeadline, Headline, QueuesHeadline, SignalsHeadline } from "./store";
import type { SignalState } from "./types";

/** What the wall knows about a tile's figures besides the figures. */
export interface TileContext {
  /** The live socket is up (or a replay feeds the tile). */
  connected: boolean;
  freshness: Freshness;
  /** The server's time (or the replay's position), in epoch ms. */
  now: number;
}

/** A tile's context until the first redraw (it has no figures to stamp). */
const BEFORE_ANY_DATA: TileContext = { connected: false, freshness: { kind: "unknown" }, now: 0 };

type TileState = "waiting" | "live" | "stale" | "idle";

function stateOf(ctx: TileContext): TileState {
  if (!ctx.connected || ctx.freshness.kind === "lagging") return "stale";
  return ctx.freshness.kind === "idle" ? "idle" : "live";
}

/** The parts every tile shares: title, the age of lagging data, and the foot line. */
class TileFrame {
  readonly title = h("h2", { class: "tile-title" });
  readonly head: HTMLElement;
  private readonly age: HTMLElement;

  constructor(
    name: string,
    readonly foot: HTMLElement,
  ) {
    this.age = h("span", { class: "tile-age", "data-testid": `${name}-age`, "data-value": "", hidden: "" });
    this.head = h("div", { class: "tile-head" }, this.title, this.age);
  }

  /** A tile without figures: what it waits for, or that its source is idle as scheduled. */
  waiting(element: HTMLElement, ctx: TileContext, text: string): void {
    const idle = ctx.freshness.kind === "idle";
    setAttr(element, "data-state", idle ? "idle" : "waiting");
    this.showAge(null);
    setText(this.foot, idle ? t("idleScheduled") : text);
  }

  /** A tile with figures: its state, the data's age when it lags, and `line` under the figures. */
  show(element: HTMLElement, ctx: TileContext, line: string): void {
    const state = stateOf(ctx);
    setAttr(element, "data-state", state);
    const lagging = ctx.freshness.kind === "lagging" ? ctx.freshness.ageMs : null;
    this.showAge(ctx.connected ? lagging : null);
    let prefix: string | null = null;
    if (!ctx.connected) prefix = t("connectionLostData");
    else if (lagging !== null) prefix = t("staleData");
    else if (state === "idle") prefix = t("idleScheduled");
    setText(this.foot, prefix === null ? line : `${prefix} · ${line}`);
  }

  private showAge(ageMs: number | null): void {
    this.age.hidden = ageMs === null;
    setAttr(this.age, "data-value", ageMs === null ? "" : String(Math.round(ageMs)));
    setText(this.age, ageMs === null ? "" : ago(ageMs));
  }
}

export class ParkingTile {
  readonly element: HTMLElement;
  private readonly frame = new TileFrame("parking", h("p", { class: "tile-foot", "data-testid": "parking-updated" }));
  private readonly occValue = h("span", { class: "metric-value metric-xl", "data-testid": "parking-occupancy" });
  private readonly occLabel = h("span", { class: "metric-label" });
  private readonly barFill = h("span", { class: "bar-fill" });
  private readonly availValue = h("span", { class: "metric-value", "data-testid": "parking-available" });
  private readonly availLabel = h("span", { class: "metric-label" });
  private readonly fullValue = h("span", { class: "metric-value", "data-testid": "parking-full" });
  private readonly fullLabel = h("span", { class: "metric-label" });
  private readonly fullOf = h("span", { class: "metric-sub" });
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
      this.frame.head,
      h("div", { class: "metric metric-main metric-inline" }, this.occValue, this.occLabel),
      bar,
      h(
        "div",
        { class: "metric-row" },
        h("div", { class: "metric" }, this.availValue, this.availLabel),
        h("div", { class: "metric" }, this.fullValue, this.fullLabel, this.fullOf),
      ),
      this.frame.foot,
    );
    this.render(null, BEFORE_ANY_DATA);
  }

  /** Pass null to re-render the last figures (language change, staleness check). */
  render(headline: Headline | null, ctx: TileContext): void {
    if (headline !== null) this.last = headline;
    const hl = this.last;
    setText(this.frame.title, t("parkingTitle"));
    setText(this.occLabel, t("parkingOccupancy"));
    setText(this.availLabel, t("parkingAvailable"));
    setText(this.fullLabel, t("parkingFull"));
    if (hl === null || hl.occupancy === null) {
      for (const el of [this.occValue, this.availValue, this.fullValue]) {
        setText(el, "—");
        setAttr(el, "data-value", "");
      }
      setText(this.fullOf, "");
      this.barFill.style.width = "0";
      this.frame.waiting(this.element, ctx, t("waiting"));
      return;
    }
    setText(this.occValue, percent(hl.occupancy));
    setAttr(this.occValue, "data-value", String(hl.occupancy));
    setText(this.availValue, integer(hl.available));
    setAttr(this.availValue, "data-value", String(hl.available));
    setText(this.fullValue, integer(hl.fullSites));
    setAttr(this.fullValue, "data-value", String(hl.fullSites));
    setText(this.fullOf, t("parkingFullOf", { n: integer(hl.sites) }));
    this.barFill.style.width = `${Math.min(100, Math.max(0, hl.occupancy * 100))}%`;
    this.barFill.style.backgroundColor = BAND_COLOURS[occupancyBand(hl.occupancy)];
    this.frame.show(this.element, ctx, `${t("updated")} ${stamp(hl.updatedAt, ctx.now)}`);
  }
}

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

/** Traffic signals: share operating normally, and the faults by kind. */
export class SignalsTile {
  readonly element: HTMLElement;
  private readonly frame = new TileFrame("signals", h("p", { class: "tile-foot", "data-testid": "signals-updated" }));
  private readonly share = new Figure("signals-normal-share", "metric-value metric-lg");
  private readonly shareOf = h("span", { class: "metric-sub" });
  private readonly bar = h("div", { class: "bar bar-stack", "aria-hidden": "true" });
  private readonly segments = new Map<SignalState, HTMLElement>();
  private readonly flash = new Figure("signals-flash");
  private readonly dark = new Figure("signals-dark");
  private readonly commLost = new Figure("signals-comm-lost");
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
      this.frame.head,
      this.share.element,
      this.bar,
      h(
        "div",
        { class: "metric-row metric-row-3" },
        swatched(this.flash, "flash"),
        swatched(this.dark, "dark"),
        swatched(this.commLost, "comm_lost"),
      ),
      this.frame.foot,
    );
    this.render(null, BEFORE_ANY_DATA);
  }

  /** Pass null to re-render the last figures. */
  render(headline: SignalsHeadline | null, ctx: TileContext): void {
    if (headline !== null) this.last = headline;
    const hl = this.last;
    setText(this.frame.title, t("feedSignals"));
    setText(this.share.label, t("signalsNormalShare"));
    setText(this.flash.label, t("stateFlash"));
    setText(this.dark.label, t("stateDark"));
    setText(this.commLost.label, t("stateCommLost"));
    if (hl === null || hl.shareNormal === null) {
      for (const f of [this.share, this.flash, this.dark, this.commLost]) f.set("—", null);
      setText(this.shareOf, "");
      for (const seg of this.segments.values()) seg.style.width = "0";
      this.frame.waiting(this.element, ctx, hl?.received ? t("signalsNone") : t("waiting"));
      return;
    }
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
    const parts = [`${t("signalsLastChange")} ${stamp(hl.lastChange, ctx.now)}`];
    if (hl.coordinationFailed > 0) parts.push(t("signalsCoordFailed", { n: integer(hl.coordinationFailed) }));
    if (hl.silent > 0) parts.push(t("signalsSilent", { n: integer(hl.silent) }));
    this.frame.show(this.element, ctx, parts.join(" · "));
  }
}

/** BRT: buses reporting in the last 10 minutes, and the newest report. */
export class BrtTile {
  readonly element: HTMLElement;
  private readonly footEl = h("p", { class: "tile-foot", "data-testid": "brt-updated", "data-value": "" });
  private readonly frame = new TileFrame("brt", this.footEl);
  private readonly buses = new Figure("brt-buses", "metric-value metric-lg");
  private readonly sub = h("span", { class: "metric-sub" });
  private last: BrtHeadline | null = null;

  constructor() {
    this.buses.element.append(this.sub);
    this.buses.element.classList.add("metric-inline");
    this.element = h(
      "section",
      { class: "tile tile-live", "data-testid": "tile-brt", "data-state": "waiting" },
      this.frame.head,
      this.buses.element,
      this.footEl,
    );
    this.render(null, BEFORE_ANY_DATA);
  }

  render(headline: BrtHeadline | null, ctx: TileContext): void {
    if (headline !== null) this.last = headline;
    const hl = this.last;
    setText(this.frame.title, t("feedBrt"));
    setText(this.buses.label, t("brtBuses"));
    if (hl === null || hl.newest === null) {
      this.buses.set("—", null);
      setText(this.sub, "");
      setAttr(this.footEl, "data-value", "");
      this.frame.waiting(this.element, ctx, hl?.received ? t("brtNone") : t("waiting"));
      return;
    }
    this.buses.set(integer(hl.buses), hl.buses);
    const sub = [t("brtBusesHint")];
    if (hl.routes > 0) sub.unshift(hl.routes === 1 ? t("brtRoute1") : t("brtRoutes", { n: integer(hl.routes) }));
    setText(this.sub, sub.join(" · "));
    setAttr(this.footEl, "data-value", hl.newest);
    this.frame.show(this.element, ctx, `${t("brtNewest")} ${stamp(hl.newest, ctx.now)}`);
  }
}

/** Public-service desks: people waiting and counters open, city-wide. */
export class QueuesTile {
  readonly element: HTMLElement;
  private readonly frame = new TileFrame("queues", h("p", { class: "tile-foot", "data-testid": "queues-updated" }));
  private readonly waiting = new Figure("queues-waiting", "metric-value metric-lg");
  private readonly countersOf = h("span", { class: "metric-of" });
  private readonly counters = new Figure("queues-counters", "metric-value metric-lg");
  private readonly busiest = h("p", { class: "tile-note", "data-testid": "queues-busiest" });
  private last: QueuesHeadline | null = null;

  constructor() {
    // "245 / 396": counters open, then (smaller) all counters of the catalogue.
    this.counters.value.after(this.countersOf);
    this.counters.element.classList.add("metric-with-of");
    this.element = h(
      "section",
      { class: "tile tile-live", "data-testid": "tile-queues", "data-state": "waiting" },
      this.frame.head,
      h("div", { class: "metric-row metric-row-top" }, this.waiting.element, this.counters.element),
      this.busiest,
      this.frame.foot,
    );
    this.render(null, BEFORE_ANY_DATA);
  }

  render(headline: QueuesHeadline | null, ctx: TileContext): void {
    if (headline !== null) this.last = headline;
    const hl = this.last;
    setText(this.frame.title, t("feedQueues"));
    setText(this.waiting.label, t("queuesWaiting"));
    setText(this.counters.label, t("queuesCounters"));
    if (hl === null || hl.points === 0) {
      this.waiting.set("—", null);
      this.counters.set("—", null);
      setText(this.countersOf, "");
      setText(this.busiest, "");
      this.frame.waiting(this.element, ctx, hl?.received ? t("queuesNone") : t("waiting"));
      return;
    }
    this.waiting.set(integer(hl.waiting), hl.waiting);
    this.counters.set(integer(hl.countersOpen), hl.countersOpen);
    setText(this.countersOf, hl.countersTotal === null ? "" : t("queuesCountersOf", { n: integer(hl.countersTotal) }));
    const points = t("queuesPoints", { n: integer(hl.points) });
    setText(
      this.busiest,
      hl.busiest === null ? points : `${points} · ${t("queuesBusiest")}: ${hl.busiest.name} (${integer(hl.busiest.waiting)})`,
    );
    this.frame.show(this.element, ctx, `${t("updated")} ${stamp(hl.updatedAt, ctx.now)}`);
  }
}
