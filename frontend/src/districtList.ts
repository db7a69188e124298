// Side list of districts, worst occupancy first. One <li> per district is
// created once and then updated in place; listeners are delegated to the list.
//
// Test hooks (keep exactly): li[data-testid="district-row"] with data-code and
// data-occupancy ("0..1" as sent by the server, or "" without data).

import { BAND_COLOURS, occupancyBand } from "./colours";
import { h, setAttr, setText } from "./dom";
import { percent } from "./format";
import { districtName, t } from "./i18n";
import type { DistrictRow } from "./store";

interface RowEls {
  li: HTMLLIElement;
  button: HTMLButtonElement;
  swatch: HTMLElement;
  name: HTMLElement;
  barFill: HTMLElement;
  pct: HTMLElement;
}

export interface DistrictListEvents {
  onSelect(code: string): void;
  onHover(code: string | null): void;
}

export class DistrictList {
  readonly element: HTMLElement;
  private readonly heading = h("h2", { class: "panel-title", id: "district-list-title" });
  private readonly list = h("ol", {
    class: "district-list",
    "data-testid": "district-list",
    "aria-labelledby": "district-list-title",
  });
  private readonly rows = new Map<string, RowEls>();
  private selected: string | null = null;

  constructor(events: DistrictListEvents) {
    this.element = h("section", { class: "panel panel-list" }, this.heading, this.list);
    const codeOf = (target: EventTarget | null): string | null => {
      const li = target instanceof Element ? target.closest("li[data-code]") : null;
      return li?.getAttribute("data-code") ?? null;
    };
    this.list.addEventListener("click", (ev) => {
      const code = codeOf(ev.target);
      if (code !== null) events.onSelect(code);
    });
    this.list.addEventListener("pointerover", (ev) => events.onHover(codeOf(ev.target)));
    this.list.addEventListener("pointerleave", () => events.onHover(null));
    this.list.addEventListener("focusin", (ev) => events.onHover(codeOf(ev.target)));
    this.list.addEventListener("focusout", () => events.onHover(null));
  }

  setSelected(code: string | null): void {
    this.selected = code;
    for (const [c, row] of this.rows) setAttr(row.button, "aria-pressed", c === code ? "true" : "false");
  }

  render(data: DistrictRow[]): void {
    setText(this.heading, t("listTitle"));
    const seen = new Set<string>();
    for (const d of data) {
      seen.add(d.code);
      const row = this.rows.get(d.code) ?? this.createRow(d.code);
      const occ = d.parking?.occupancy ?? null;
      const band = occupancyBand(occ);
      const name = districtName(d.info, d.code);
      setAttr(row.li, "data-occupancy", occ === null ? "" : String(occ));
      setAttr(row.li, "data-band", String(band));
      setText(row.name, name);
      setText(row.pct, percent(occ));
      row.swatch.style.backgroundColor = BAND_COLOURS[band];
      row.barFill.style.width = occ === null ? "0" : `${Math.min(100, Math.max(0, occ * 100))}%`;
      row.barFill.style.backgroundColor = BAND_COLOURS[band];
      setAttr(row.button, "aria-label", `${name}: ${occ === null ? t("noData") : percent(occ)}`);
      setAttr(row.button, "aria-pressed", d.code === this.selected ? "true" : "false");
    }
    for (const [code, row] of this.rows) {
      if (!seen.has(code)) {
        row.li.remove();
        this.rows.delete(code);
      }
    }
    this.reorder(data);
  }

  private createRow(code: string): RowEls {
    const swatch = h("span", { class: "swatch", "aria-hidden": "true" });
    const name = h("span", { class: "row-name" });
    const barFill = h("span", { class: "row-bar-fill" });
    const pct = h("span", { class: "row-pct" });
    const button = h(
      "button",
      { type: "button", class: "row-button", "aria-pressed": "false" },
      swatch,
      name,
      h("span", { class: "row-bar", "aria-hidden": "true" }, barFill),
      pct,
    );
    const li = h(
      "li",
      { class: "district-row", "data-testid": "district-row", "data-code": code, "data-occupancy": "" },
      button,
    );
    const row = { li, button, swatch, name, barFill, pct };
    this.rows.set(code, row);
    return row;
  }

  /** Moves rows only if the order changed, and keeps keyboard focus where it was. */
  private reorder(data: DistrictRow[]): void {
    const children = this.list.children;
    let same = children.length === data.length;
    for (let i = 0; same && i < data.length; i += 1) {
      same = children[i] === this.rows.get(data[i]!.code)?.li;
    }
    if (same) return;
    const focused = document.activeElement;
    for (const d of data) {
      const li = this.rows.get(d.code)?.li;
      if (li) this.list.append(li);
    }
    if (focused instanceof HTMLElement && focused !== document.activeElement && this.list.contains(focused)) {
      focused.focus({ preventScroll: true });
    }
  }
}
