// Small hand-rolled SVG charts: time series lines (with gaps where a value is
// missing) and a phase timeline (one row of coloured cells per phase). Each
// chart carries a <title> for screen readers, and its numbers elsewhere as text.

import type { SeriesPoint } from "./api";

const NS = "http://www.w3.org/2000/svg";

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

export interface Line {
  points: SeriesPoint[];
  colour: string;
  dashed?: boolean;
  label: string;
}

export interface ChartOptions {
  width: number;
  height: number;
  title: string;
  yFormat: (v: number) => string;
  xFormat: (t: number) => string;
  /** Lines drawn against this time axis (e.g. a previous period shifted onto the current one). */
  xRange?: [number, number];
  yMin?: number;
  yMax?: number;
}

/** A line chart of one or more series; x is time. */
export function lineChart(lines: Line[], opts: ChartOptions): SVGSVGElement {
  const { width: W, height: H } = opts;
  const pad = { left: 48, right: 10, top: 10, bottom: 22 };
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", class: "chart" });
  const title = svg("title");
  title.textContent = opts.title;
  root.append(title);

  const all = lines.flatMap((l) => l.points);
  const values = all.map((p) => p.v).filter((v): v is number => v !== null);
  if (all.length === 0 || values.length === 0) {
    const txt = svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-empty" });
    txt.textContent = "—";
    root.append(txt);
    return root;
  }
  const [x0, x1] = opts.xRange ?? [Math.min(...all.map((p) => p.t)), Math.max(...all.map((p) => p.t))];
  let y0 = opts.yMin ?? Math.min(...values);
  let y1 = opts.yMax ?? Math.max(...values);
  if (y1 - y0 < 1e-9) {
    y0 -= 1;
    y1 += 1;
  }
  const sx = (t: number): number => pad.left + ((t - x0) / Math.max(1, x1 - x0)) * (W - pad.left - pad.right);
  const sy = (v: number): number => H - pad.bottom - ((v - y0) / (y1 - y0)) * (H - pad.top - pad.bottom);

  for (const v of [y0, (y0 + y1) / 2, y1]) {
    root.append(svg("line", { x1: pad.left, x2: W - pad.right, y1: sy(v), y2: sy(v), class: "chart-grid" }));
    const label = svg("text", { x: pad.left - 6, y: sy(v) + 4, "text-anchor": "end", class: "chart-axis" });
    label.textContent = opts.yFormat(v);
    root.append(label);
  }
  for (const [t, anchor] of [
    [x0, "start"],
    [x1, "end"],
  ] as const) {
    const label = svg("text", { x: sx(t), y: H - 6, "text-anchor": anchor, class: "chart-axis" });
    label.textContent = opts.xFormat(t);
    root.append(label);
  }
  for (const line of lines) {
    let d = "";
    let pen = false;
    for (const p of line.points) {
      if (p.v === null) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${sx(p.t).toFixed(1)},${sy(p.v).toFixed(1)}`;
      pen = true;
    }
    const path = svg("path", { d, fill: "none", stroke: line.colour, "stroke-width": 2.5, class: "chart-line" });
    if (line.dashed) path.setAttribute("stroke-dasharray", "6 4");
    const tip = svg("title");
    tip.textContent = line.label;
    path.append(tip);
    root.append(path);
  }
  return root;
}

export interface TimelineRow {
  label: string;
  cells: { t: number; colour: string; tip: string }[];
}

/** Rows of cells over time (e.g. each phase's 15-minute bins coloured by split failures). */
export function timeline(rows: TimelineRow[], start: number, end: number, cellMs: number, opts: { width: number; title: string }): SVGSVGElement {
  const rowH = 16;
  const left = 40;
  const W = opts.width;
  const H = rows.length * (rowH + 3) + 4;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", class: "chart timeline" });
  const title = svg("title");
  title.textContent = opts.title;
  root.append(title);
  const span = Math.max(1, end - start);
  const cellW = Math.max(1, (cellMs / span) * (W - left));
  rows.forEach((row, i) => {
    const y = 2 + i * (rowH + 3);
    const label = svg("text", { x: left - 6, y: y + rowH - 4, "text-anchor": "end", class: "chart-axis" });
    label.textContent = row.label;
    root.append(label);
    for (const c of row.cells) {
      const rect = svg("rect", { x: left + ((c.t - start) / span) * (W - left), y, width: cellW, height: rowH, fill: c.colour });
      const tip = svg("title");
      tip.textContent = c.tip;
      rect.append(tip);
      root.append(rect);
    }
  });
  return root;
}
