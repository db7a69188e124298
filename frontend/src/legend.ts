// Map legend: occupancy bands of districts and car-park status dots, then the
// operations layers: signal rings by state, BRT buses and public-service desks.

import { BAND_COLOURS, BUS_COLOUR, BUS_STROKE, DESK_COLOUR, SIGNAL_COLOURS, STATUS_COLOURS, type Band } from "./colours";
import { h } from "./dom";
import { t, type StringKey } from "./i18n";
import { SITE_STATUSES, type SignalState } from "./types";
import { signalStateLabel, signalSwatchClass, statusLabel } from "./detailPanel";

const BANDS: readonly Band[] = [1, 2, 3, 4, 0];
const SIGNAL_LEGEND: readonly SignalState[] = ["normal", "coordination_failed", "flash", "dark", "comm_lost", "unknown"];

const HEALTH_BANDS: readonly Band[] = [2, 3, 4, 0];

export class Legend {
  readonly element = h("section", { class: "panel panel-legend", "data-testid": "legend" });
  /** What the district colours show: parking occupancy bands, or the health score. */
  mode: "parking" | "health" = "parking";

  render(): void {
    const bands = h("ul", { class: "legend-list" });
    const health = this.mode === "health";
    for (const band of health ? HEALTH_BANDS : BANDS) {
      const sw = h("span", { class: band === 0 ? "swatch swatch-nodata" : "swatch", "aria-hidden": "true" });
      if (band !== 0) sw.style.backgroundColor = BAND_COLOURS[band];
      bands.append(h("li", { "data-band": String(band) }, sw, t(`${health ? "health" : "band"}${band}` as StringKey)));
    }
    const sites = h("ul", { class: "legend-list legend-sites" });
    for (const status of SITE_STATUSES) {
      const sw = h("span", { class: "swatch swatch-round", "aria-hidden": "true" });
      sw.style.backgroundColor = STATUS_COLOURS[status];
      sites.append(h("li", { "data-status": status }, sw, statusLabel(status)));
    }
    const signals = h("ul", { class: "legend-list", "data-testid": "legend-signals" });
    for (const state of SIGNAL_LEGEND) {
      const sw = h("span", { class: signalSwatchClass(state), "aria-hidden": "true" });
      sw.style.setProperty("--ring", SIGNAL_COLOURS[state]);
      signals.append(h("li", { "data-signal-state": state }, sw, signalStateLabel(state)));
    }
    const bus = h("span", { class: "swatch swatch-round swatch-bus", "aria-hidden": "true" });
    bus.style.backgroundColor = BUS_COLOUR;
    bus.style.borderColor = BUS_STROKE;
    const desk = h("span", { class: "swatch swatch-round swatch-desk", "aria-hidden": "true" });
    desk.style.setProperty("--desk", DESK_COLOUR);
    const other = h(
      "ul",
      { class: "legend-list" },
      h("li", { "data-layer": "brt" }, bus, t("legendBus")),
      h("li", { "data-layer": "desks" }, desk, t("legendDesk")),
    );
    this.element.replaceChildren(
      h("div", { class: "legend-col" }, h("h2", { class: "panel-title" }, t(health ? "legendHealth" : "legendTitle")), bands),
      h("div", { class: "legend-col" }, h("h2", { class: "panel-title" }, t("legendSignals")), signals),
      h(
        "div",
        { class: "legend-col" },
        h("h3", { class: "legend-sub" }, t("legendSites")),
        sites,
        h("h3", { class: "legend-sub" }, t("legendOther")),
        other,
      ),
    );
  }
}
