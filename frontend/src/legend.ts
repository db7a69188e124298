// Map legend: occupancy bands of districts, then car-park status dots.

import { BAND_COLOURS, STATUS_COLOURS, type Band } from "./colours";
import { h } from "./dom";
import { t, type StringKey } from "./i18n";
import { SITE_STATUSES } from "./types";
import { statusLabel } from "./detailPanel";

const BANDS: readonly Band[] = [1, 2, 3, 4, 0];

export class Legend {
  readonly element = h("section", { class: "panel panel-legend", "data-testid": "legend" });

  render(): void {
    const bands = h("ul", { class: "legend-list" });
    for (const band of BANDS) {
      const sw = h("span", { class: band === 0 ? "swatch swatch-nodata" : "swatch", "aria-hidden": "true" });
      if (band !== 0) sw.style.backgroundColor = BAND_COLOURS[band];
      bands.append(h("li", { "data-band": String(band) }, sw, t(`band${band}` as StringKey)));
    }
    const sites = h("ul", { class: "legend-list legend-sites" });
    for (const status of SITE_STATUSES) {
      const sw = h("span", { class: "swatch swatch-round", "aria-hidden": "true" });
      sw.style.backgroundColor = STATUS_COLOURS[status];
      sites.append(h("li", { "data-status": status }, sw, statusLabel(status)));
    }
    this.element.replaceChildren(
      h("h2", { class: "panel-title" }, t("legendTitle")),
      bands,
      h("h3", { class: "legend-sub" }, t("legendSites")),
      sites,
    );
  }
}
