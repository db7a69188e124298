// Headline tiles: live parking figures, and honest placeholders for the feeds
// that are not connected yet (no made-up numbers).

import { BAND_COLOURS, BAND_LIMITS, occupancyBand } from "./colours";
import { h, setAttr, setText } from "./dom";
import { integer, percent, stamp } from "./format";
import { t, type StringKey } from "./i18n";
import type { Headline } from "./store";

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
      h("div", { class: "metric metric-main" }, this.occValue, this.occLabel),
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

export interface FeedPlaceholder {
  testId: string;
  titleKey: StringKey;
}

export const PENDING_FEEDS: readonly FeedPlaceholder[] = [
  { testId: "tile-signals", titleKey: "feedSignals" },
  { testId: "tile-brt", titleKey: "feedBrt" },
  { testId: "tile-queues", titleKey: "feedQueues" },
];

export class PlaceholderTile {
  readonly element: HTMLElement;
  private readonly title = h("h2", { class: "tile-title" });
  private readonly status = h("p", { class: "tile-status" });

  constructor(private readonly feed: FeedPlaceholder) {
    this.element = h(
      "section",
      { class: "tile tile-pending", "data-testid": feed.testId, "data-state": "not-connected" },
      this.title,
      this.status,
    );
    this.render();
  }

  render(): void {
    setText(this.title, t(this.feed.titleKey));
    setText(this.status, t("notConnected"));
  }
}
