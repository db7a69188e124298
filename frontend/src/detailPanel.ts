// Figures of the hovered or selected district (or car park).

import { BAND_COLOURS, STATUS_COLOURS, occupancyBand } from "./colours";
import { h, replaceChildren } from "./dom";
import { integer, percent, stamp } from "./format";
import { districtKind, districtName, t, type StringKey } from "./i18n";
import type { Store } from "./store";
import type { SiteLive } from "./types";

export type Focus = { kind: "district"; code: string } | { kind: "site"; id: string };

export function sameFocus(a: Focus | null, b: Focus | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.kind === "district" && b.kind === "district") return a.code === b.code;
  if (a.kind === "site" && b.kind === "site") return a.id === b.id;
  return false;
}

const STATUS_KEYS: Record<SiteLive["status"], StringKey> = {
  spacesAvailable: "statusSpacesAvailable",
  almostFull: "statusAlmostFull",
  full: "statusFull",
  closed: "statusClosed",
  unknown: "statusUnknown",
};

export function statusLabel(status: SiteLive["status"]): string {
  return t(STATUS_KEYS[status]);
}

function facts(rows: [string, string][]): HTMLElement {
  const dl = h("dl", { class: "facts" });
  for (const [k, v] of rows) dl.append(h("div", {}, h("dt", {}, k), h("dd", {}, v)));
  return dl;
}

export class DetailPanel {
  readonly element: HTMLElement;

  constructor(onClose: () => void) {
    this.element = h("section", { class: "panel panel-detail", "data-testid": "detail", "data-kind": "" });
    this.element.addEventListener("click", (ev) => {
      if (ev.target instanceof Element && ev.target.closest("[data-action='close']")) onClose();
    });
  }

  render(store: Store, focus: Focus | null, pinned: boolean): void {
    const el = this.element;
    el.dataset["kind"] = focus?.kind ?? "";
    el.dataset["pinned"] = pinned ? "true" : "false";
    const close = pinned
      ? h("button", { type: "button", class: "close-button", "data-action": "close", "aria-label": t("close") }, "×")
      : null;

    if (focus?.kind === "district") {
      const d = store.district(focus.code);
      if (d !== null) {
        el.dataset["code"] = focus.code;
        const p = d.parking;
        const occ = p?.occupancy ?? null;
        const band = occupancyBand(occ);
        const swatch = h("span", { class: "swatch", "aria-hidden": "true" });
        swatch.style.backgroundColor = BAND_COLOURS[band];
        replaceChildren(
          el,
          h(
            "header",
            { class: "detail-head" },
            h("h2", { class: "detail-title" }, districtName(d.info, d.code)),
            d.info ? h("span", { class: "detail-kind" }, districtKind(d.info.kind)) : null,
            close,
          ),
          h(
            "p",
            { class: "detail-main" },
            swatch,
            h("span", { class: "metric-value" }, percent(occ)),
            h("span", { class: "metric-label" }, occ === null ? t("noData") : t(`band${band}` as StringKey)),
          ),
          p === null
            ? null
            : facts([
                [t("occupied"), `${integer(p.occupied)} / ${integer(p.capacity)}`],
                [t("available"), integer(p.available)],
                [t("sites"), integer(p.sites)],
                [t("fullSites"), integer(p.fullSites)],
                [t("updated"), stamp(p.updatedAt)],
              ]),
        );
        return;
      }
    }

    if (focus?.kind === "site") {
      const s = store.site(focus.id);
      if (s !== null) {
        el.dataset["code"] = s.info.district;
        const live = s.live;
        const status = live?.status ?? "unknown";
        const swatch = h("span", { class: "swatch swatch-round", "aria-hidden": "true" });
        swatch.style.backgroundColor = STATUS_COLOURS[status];
        const district = store.district(s.info.district);
        replaceChildren(
          el,
          h("header", { class: "detail-head" }, h("h2", { class: "detail-title" }, s.info.name), close),
          h(
            "p",
            { class: "detail-main" },
            swatch,
            h("span", { class: "metric-value" }, percent(live?.occupancy ?? null)),
            h("span", { class: "metric-label" }, statusLabel(status)),
          ),
          facts([
            [t("available"), live ? `${integer(live.available)} / ${integer(live.capacity)}` : "—"],
            [t("district"), district ? districtName(district.info, district.code) : s.info.district],
            [t("address"), s.info.address || "—"],
            [t("updated"), stamp(live?.updatedAt ?? null)],
          ]),
        );
        return;
      }
    }

    el.dataset["code"] = "";
    replaceChildren(el, h("p", { class: "detail-hint" }, t("detailHint")));
  }
}
