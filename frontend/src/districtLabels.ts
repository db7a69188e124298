// District names as a small HTML overlay on the map (the map has no glyphs,
// so no symbol layers). At most one element per district (about 30); labels
// that would overlap a more important one are hidden.

import type { Map as MapLibreMap } from "maplibre-gl";
import { h, setText } from "./dom";

interface Label {
  el: HTMLElement;
  name: HTMLElement;
  pct: HTMLElement;
  lngLat: [number, number];
  /** Higher draws first and wins overlaps. */
  priority: number;
  w: number;
  h: number;
  measured: boolean;
}

export interface LabelContent {
  code: string;
  name: string;
  pct: string;
  priority: number;
}

const GAP_PX = 4;

export class DistrictLabels {
  readonly element = h("div", { class: "map-labels", "aria-hidden": "true" });
  private readonly labels = new Map<string, Label>();
  private order: Label[] = [];
  private frame = 0;

  constructor(private readonly map: MapLibreMap) {
    map.getContainer().append(this.element);
    map.on("move", this.schedule);
    map.on("resize", this.schedule);
  }

  /** (Re)places anchors; call when the district catalogue changes. */
  setAnchors(anchors: Map<string, [number, number]>): void {
    for (const [code, label] of this.labels) {
      if (!anchors.has(code)) {
        label.el.remove();
        this.labels.delete(code);
      }
    }
    for (const [code, lngLat] of anchors) {
      const existing = this.labels.get(code);
      if (existing) {
        existing.lngLat = lngLat;
        continue;
      }
      const name = h("span", { class: "map-label-name" });
      const pct = h("span", { class: "map-label-pct" });
      const el = h("div", { class: "map-label", "data-code": code }, name, pct);
      this.element.append(el);
      this.labels.set(code, { el, name, pct, lngLat, priority: 0, w: 0, h: 0, measured: false });
    }
    this.schedule();
  }

  setContent(items: LabelContent[]): void {
    for (const item of items) {
      const label = this.labels.get(item.code);
      if (!label) continue;
      if (label.name.textContent !== item.name || label.pct.textContent !== item.pct) {
        setText(label.name, item.name);
        setText(label.pct, item.pct);
        label.measured = false;
      }
      label.priority = item.priority;
    }
    this.schedule();
  }

  private readonly schedule = (): void => {
    if (this.frame === 0) this.frame = requestAnimationFrame(this.place);
  };

  private readonly place = (): void => {
    this.frame = 0;
    this.order = [...this.labels.values()].sort((a, b) => b.priority - a.priority);
    for (const l of this.order) {
      if (!l.measured) {
        l.el.style.transform = "translate(-9999px, -9999px)";
        l.el.style.visibility = "hidden";
        l.w = l.el.offsetWidth;
        l.h = l.el.offsetHeight;
        l.measured = true;
      }
    }
    const canvas = this.map.getCanvas();
    const W = canvas.clientWidth;
    const H = canvas.clientHeight;
    const placed: [number, number, number, number][] = [];
    for (const l of this.order) {
      const p = this.map.project(l.lngLat);
      const x0 = p.x - l.w / 2;
      const y0 = p.y - l.h / 2;
      const box: [number, number, number, number] = [x0 - GAP_PX, y0 - GAP_PX, x0 + l.w + GAP_PX, y0 + l.h + GAP_PX];
      const visible =
        box[2] > 0 &&
        box[0] < W &&
        box[3] > 0 &&
        box[1] < H &&
        !placed.some((b) => box[0] < b[2] && box[2] > b[0] && box[1] < b[3] && box[3] > b[1]);
      if (visible) {
        placed.push(box);
        l.el.style.transform = `translate(${Math.round(x0)}px, ${Math.round(y0)}px)`;
        l.el.style.visibility = "visible";
      } else {
        l.el.style.visibility = "hidden";
      }
    }
  };
}
