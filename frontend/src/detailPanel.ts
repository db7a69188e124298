// Figures of the hovered or selected district, car park, signal, bus or
// public-service desk.

import { BAND_COLOURS, BUS_COLOUR, DESK_COLOUR, SIGNAL_COLOURS, STATUS_COLOURS, occupancyBand } from "./colours";
import { h, replaceChildren } from "./dom";
import { integer, percent, stamp } from "./format";
import { districtKind, districtName, serviceName, t, type StringKey } from "./i18n";
import type { Store } from "./store";
import type { SignalState, SiteLive } from "./types";

export type Focus =
  | { kind: "district"; code: string }
  | { kind: "site"; id: string }
  | { kind: "signal"; id: string }
  | { kind: "bus"; id: string }
  | { kind: "desk"; id: string };

/** "kind:id", unique per focusable thing. */
export function focusKey(f: Focus | null): string {
  if (f === null) return "";
  return f.kind === "district" ? `district:${f.code}` : `${f.kind}:${f.id}`;
}

export function sameFocus(a: Focus | null, b: Focus | null): boolean {
  return focusKey(a) === focusKey(b);
}

const SIGNAL_STATE_KEYS: Record<SignalState, StringKey> = {
  normal: "stateNormal",
  flash: "stateFlash",
  dark: "stateDark",
  comm_lost: "stateCommLost",
  coordination_failed: "stateCoordinationFailed",
  unknown: "stateUnknown",
};

/** Classes of a signal-ring swatch: hollow without a status, wide hole when dark. */
export function signalSwatchClass(state: SignalState): string {
  if (state === "unknown") return "swatch swatch-signal swatch-signal-none";
  if (state === "dark") return "swatch swatch-signal swatch-signal-dark";
  return "swatch swatch-signal";
}

export function signalStateLabel(state: SignalState): string {
  return t(SIGNAL_STATE_KEYS[state]);
}

const BUS_STATUS_KEYS: Record<string, StringKey> = {
  STOPPED_AT: "busStoppedAt",
  INCOMING_AT: "busIncomingAt",
  IN_TRANSIT_TO: "busInTransitTo",
};

const OCCUPANCY_KEYS: Record<string, StringKey> = {
  EMPTY: "occEmpty",
  MANY_SEATS_AVAILABLE: "occManySeats",
  FEW_SEATS_AVAILABLE: "occFewSeats",
  STANDING_ROOM_ONLY: "occStanding",
  CRUSHED_STANDING_ROOM_ONLY: "occCrushed",
  FULL: "occFull",
  NOT_ACCEPTING_PASSENGERS: "occNotAccepting",
  NO_DATA_AVAILABLE: "occNoData",
  NOT_BOARDABLE: "occNotBoardable",
};

/** A code from a known set in the current language; an unknown code as sent; null as "—". */
function coded(keys: Record<string, StringKey>, code: string | null): string {
  if (code === null || code === "") return "—";
  const key = keys[code];
  return key === undefined ? code : t(key);
}

function controllerLabel(kind: string): string {
  if (kind === "actuated") return t("controllerActuated");
  if (kind === "fixed-time") return t("controllerFixed");
  return kind || "—";
}

function directionLabel(d: number | null): string {
  if (d === 0) return t("direction0");
  if (d === 1) return t("direction1");
  return d === null ? "—" : String(d);
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
          this.districtFacts(store, focus.code),
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

    if (focus?.kind === "signal") {
      const sig = store.signal(focus.id);
      if (sig !== null) {
        const { info, unit } = sig;
        el.dataset["code"] = unit?.district ?? "";
        const state = unit?.state ?? "unknown";
        const district = unit ? store.district(unit.district) : null;
        const swatch = h("span", { class: signalSwatchClass(state), "aria-hidden": "true" });
        swatch.style.setProperty("--ring", SIGNAL_COLOURS[state]);
        const stateText = unit !== null && state === "unknown" ? unit.rawState || signalStateLabel(state) : signalStateLabel(state);
        replaceChildren(
          el,
          h("header", { class: "detail-head" }, h("h2", { class: "detail-title" }, info?.name ?? focus.id), close),
          h("p", { class: "detail-main" }, swatch, h("span", { class: "detail-state" }, stateText)),
          facts([
            [t("reason"), unit?.reason || "—"],
            [t("since"), stamp(unit?.since ?? null)],
            [t("district"), district ? districtName(district.info, district.code) : unit?.district || "—"],
            [t("controller"), info ? controllerLabel(info.controller) : "—"],
            [t("phasesDetectors"), info ? `${integer(info.phases)} / ${integer(info.detectors)}` : "—"],
            [t("brtCorridor"), info ? (info.brt ? t("yes") : t("no")) : "—"],
            [t("updated"), stamp(unit?.updatedAt ?? null)],
          ]),
        );
        return;
      }
    }

    if (focus?.kind === "bus") {
      const bus = store.bus(focus.id);
      if (bus !== null) {
        el.dataset["code"] = bus.district;
        const swatch = h("span", { class: "swatch swatch-round swatch-bus", "aria-hidden": "true" });
        swatch.style.backgroundColor = BUS_COLOUR;
        const district = store.district(bus.district);
        replaceChildren(
          el,
          h("header", { class: "detail-head" }, h("h2", { class: "detail-title" }, t("busTitle", { id: bus.id })), close),
          h("p", { class: "detail-main" }, swatch, h("span", { class: "detail-state" }, coded(BUS_STATUS_KEYS, bus.status))),
          facts([
            [t("trip"), bus.tripId ?? "—"],
            [t("route"), bus.routeId ?? "—"],
            [t("direction"), directionLabel(bus.directionId)],
            [t("stop"), bus.stopId ?? "—"],
            [t("occupancy"), coded(OCCUPANCY_KEYS, bus.occupancy)],
            [t("district"), district ? districtName(district.info, district.code) : bus.district || "—"],
            [t("updated"), stamp(bus.updatedAt)],
          ]),
        );
        return;
      }
    }

    if (focus?.kind === "desk") {
      const desk = store.desk(focus.id);
      if (desk !== null) {
        const { info, live } = desk;
        const code = live?.district || info?.district || "";
        el.dataset["code"] = code;
        const district = code ? store.district(code) : null;
        const swatch = h("span", { class: "swatch swatch-round", "aria-hidden": "true" });
        swatch.style.backgroundColor = DESK_COLOUR;
        const level = info?.level === "city" ? t("levelCity") : info?.level === "district" ? t("levelDistrict") : (info?.level ?? "");
        let services: HTMLElement | null = null;
        if (live !== null) {
          const waiting = live.byService.filter(([, n]) => n > 0);
          services =
            waiting.length === 0
              ? h("p", { class: "detail-note" }, t("nobodyWaiting"))
              : h(
                  "div",
                  { class: "detail-services" },
                  h("h3", { class: "detail-sub" }, t("byService")),
                  facts(waiting.slice(0, 8).map(([svc, n]) => [serviceName(svc), integer(n)])),
                );
        }
        replaceChildren(
          el,
          h(
            "header",
            { class: "detail-head" },
            h("h2", { class: "detail-title" }, info?.name ?? focus.id),
            level ? h("span", { class: "detail-kind" }, level) : null,
            close,
          ),
          h(
            "p",
            { class: "detail-main" },
            swatch,
            h("span", { class: "metric-value" }, live ? integer(live.waiting) : "—"),
            h("span", { class: "metric-label" }, live ? t("peopleWaiting") : t("noLiveData")),
          ),
          facts([
            [
              t("countersOpen"),
              live
                ? info?.counters != null
                  ? `${integer(live.countersOpen)} / ${integer(info.counters)}`
                  : integer(live.countersOpen)
                : "—",
            ],
            [t("targetWait"), info?.targetWaitMin != null ? t("minutes", { n: integer(info.targetWaitMin) }) : "—"],
            [t("district"), district ? districtName(district.info, district.code) : code || "—"],
            [t("openingHours"), info?.openingHours || "—"],
            [t("updated"), stamp(live?.updatedAt ?? null)],
          ]),
          services,
        );
        return;
      }
    }

    el.dataset["code"] = "";
    replaceChildren(el, h("p", { class: "detail-hint" }, t("detailHint")));
  }

  /** Parking, signal and queue figures of one district (whatever it has). */
  private districtFacts(store: Store, code: string): HTMLElement | null {
    const rows: [string, string][] = [];
    const p = store.district(code)?.parking ?? null;
    if (p !== null) {
      rows.push(
        [t("occupied"), `${integer(p.occupied)} / ${integer(p.capacity)}`],
        [t("available"), integer(p.available)],
        [t("sites"), integer(p.sites)],
        [t("fullSites"), integer(p.fullSites)],
      );
    }
    const sig = store.districtSignals(code);
    if (sig !== null && sig.signals > 0) rows.push([t("signalsNormalOf"), `${integer(sig.normal)} / ${integer(sig.signals)}`]);
    const q = store.districtQueues(code);
    if (q !== null) rows.push([t("queueWaitingDistrict"), integer(q.waiting)]);
    if (p !== null) rows.push([t("updated"), stamp(p.updatedAt)]);
    return rows.length === 0 ? null : facts(rows);
  }
}
