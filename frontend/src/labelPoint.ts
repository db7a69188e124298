// Where to put a district's label: inside its largest polygon, on the
// horizontal line through that polygon's centroid, at the middle of the
// widest stretch of the line that lies inside the polygon (so concave
// districts do not get their label outside themselves).

import type { MultiPolygon, Polygon, Position } from "geojson";

function ringArea(ring: Position[]): number {
  let a = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi = 0, yi = 0] = ring[i]!;
    const [xj = 0, yj = 0] = ring[j]!;
    a += xj * yi - xi * yj;
  }
  return a / 2;
}

function ringCentroid(ring: Position[]): [number, number] | null {
  let a = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi = 0, yi = 0] = ring[i]!;
    const [xj = 0, yj = 0] = ring[j]!;
    const f = xj * yi - xi * yj;
    a += f;
    cx += (xi + xj) * f;
    cy += (yi + yj) * f;
  }
  if (a === 0) return null;
  return [cx / (3 * a), cy / (3 * a)];
}

export interface LabelAnchor {
  lngLat: [number, number];
  /** Area of the district in square degrees (only used to rank labels). */
  area: number;
}

export function labelAnchor(g: Polygon | MultiPolygon): LabelAnchor | null {
  const polygons: Position[][][] = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
  let best: Position[][] | null = null;
  let bestArea = 0;
  let total = 0;
  for (const p of polygons) {
    const outer = p[0];
    if (!outer || outer.length < 4) continue;
    const area = Math.abs(ringArea(outer));
    total += area;
    if (area > bestArea) {
      bestArea = area;
      best = p;
    }
  }
  if (best === null) return null;
  const c = ringCentroid(best[0]!);
  if (c === null) return null;
  const y = c[1];
  // Crossings of the line y = c[1] with every ring (holes included).
  const xs: number[] = [];
  for (const ring of best) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi = 0, yi = 0] = ring[i]!;
      const [xj = 0, yj = 0] = ring[j]!;
      if (yi > y !== yj > y) xs.push(xi + ((y - yi) * (xj - xi)) / (yj - yi));
    }
  }
  xs.sort((a, b) => a - b);
  let x = c[0];
  let widest = -1;
  for (let i = 0; i + 1 < xs.length; i += 2) {
    const w = xs[i + 1]! - xs[i]!;
    if (w > widest) {
      widest = w;
      x = (xs[i]! + xs[i + 1]!) / 2;
    }
  }
  return { lngLat: [x, y], area: total };
}

/** [west, south, east, north] of a set of geometries, or null if empty. */
export function boundsOf(geoms: Iterable<Polygon | MultiPolygon>): [number, number, number, number] | null {
  let w = Infinity;
  let s = Infinity;
  let e = -Infinity;
  let n = -Infinity;
  for (const g of geoms) {
    const polygons: Position[][][] = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
    for (const p of polygons) {
      for (const [x = NaN, y = NaN] of p[0] ?? []) {
        if (x < w) w = x;
        if (x > e) e = x;
        if (y < s) s = y;
        if (y > n) n = y;
      }
    }
  }
  return Number.isFinite(w) && Number.isFinite(n) ? [w, s, e, n] : null;
}
