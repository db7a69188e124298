// Frame-rate benchmark page (bench/frames.py drives it): N points moving over
// Hanoi on a MapLibre map, every animation frame, by one of two methods:
//   ?mode=geojson  a GeoJSON source fed with setData (the next call waits for
//                  the previous one to be applied, as the dashboard's layers do);
//   ?mode=webgl    a custom WebGL layer whose vertex buffer is rewritten in place.
// Frames are timed with requestAnimationFrame over ?seconds= (default 10); the
// result is left on window.benchResult.

import type { FeatureCollection, Point } from "geojson";
import { Map as MapLibreMap, MercatorCoordinate, setWorkerUrl, type CustomLayerInterface, type GeoJSONSource } from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url";

setWorkerUrl(workerUrl);

const params = new URLSearchParams(window.location.search);
const N = Number(params.get("points") ?? 10_000);
const SECONDS = Number(params.get("seconds") ?? 10);
const MODE = params.get("mode") === "webgl" ? "webgl" : "geojson";
const CENTRE: [number, number] = [105.83, 21.03];

// Each point circles its own centre: positions are a pure function of time.
const cx = new Float64Array(N);
const cy = new Float64Array(N);
const radius = new Float64Array(N);
const speed = new Float64Array(N);
for (let i = 0; i < N; i += 1) {
  cx[i] = CENTRE[0] + (Math.random() - 0.5) * 0.5;
  cy[i] = CENTRE[1] + (Math.random() - 0.5) * 0.4;
  radius[i] = 0.002 + Math.random() * 0.01;
  speed[i] = 0.2 + Math.random();
}

function lngLat(i: number, t: number): [number, number] {
  const a = speed[i]! * t;
  return [cx[i]! + radius[i]! * Math.cos(a), cy[i]! + radius[i]! * Math.sin(a)];
}

const map = new MapLibreMap({
  container: "map",
  style: { version: 8, sources: {}, layers: [{ id: "bg", type: "background", paint: { "background-color": "#0a0f15" } }] },
  center: CENTRE,
  zoom: 10.5,
  fadeDuration: 0,
  attributionControl: false,
});

let updates = 0;

function geojsonMode(): (t: number) => void {
  const features = Array.from({ length: N }, (_, i) => ({
    type: "Feature" as const,
    geometry: { type: "Point" as const, coordinates: lngLat(i, 0) },
    properties: { id: i },
  }));
  const data: FeatureCollection<Point> = { type: "FeatureCollection", features };
  map.addSource("points", { type: "geojson", data });
  map.addLayer({ id: "points", type: "circle", source: "points", paint: { "circle-radius": 3, "circle-color": "#56b4e9" } });
  const source = map.getSource<GeoJSONSource>("points")!;
  let busy = false;
  return (t) => {
    if (busy) return;
    for (let i = 0; i < N; i += 1) features[i]!.geometry.coordinates = lngLat(i, t);
    busy = true;
    void source.setData(data).then(() => {
      busy = false;
      updates += 1;
    });
  };
}

function webglMode(): (t: number) => void {
  const xy = new Float32Array(N * 2);
  let program: WebGLProgram | null = null;
  let buffer: WebGLBuffer | null = null;
  let uMatrix: WebGLUniformLocation | null = null;
  const layer: CustomLayerInterface = {
    id: "points",
    type: "custom",
    onAdd(_m, gl) {
      const vs = gl.createShader(gl.VERTEX_SHADER)!;
      gl.shaderSource(vs, "uniform mat4 u_matrix; attribute vec2 a_pos; void main() { gl_Position = u_matrix * vec4(a_pos, 0.0, 1.0); gl_PointSize = 6.0; }");
      gl.compileShader(vs);
      const fs = gl.createShader(gl.FRAGMENT_SHADER)!;
      gl.shaderSource(fs, "precision mediump float; void main() { vec2 d = gl_PointCoord - 0.5; if (dot(d, d) > 0.25) discard; gl_FragColor = vec4(0.34, 0.71, 0.91, 1.0); }");
      gl.compileShader(fs);
      program = gl.createProgram()!;
      gl.attachShader(program, vs);
      gl.attachShader(program, fs);
      gl.linkProgram(program);
      uMatrix = gl.getUniformLocation(program, "u_matrix");
      buffer = gl.createBuffer();
      gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
      gl.bufferData(gl.ARRAY_BUFFER, xy, gl.DYNAMIC_DRAW);
    },
    render(gl, options) {
      if (program === null || buffer === null) return;
      gl.useProgram(program);
      gl.uniformMatrix4fv(uMatrix, false, options.modelViewProjectionMatrix as Float32Array);
      gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
      gl.bufferSubData(gl.ARRAY_BUFFER, 0, xy);
      const loc = gl.getAttribLocation(program, "a_pos");
      gl.enableVertexAttribArray(loc);
      gl.vertexAttribPointer(loc, 2, gl.FLOAT, false, 0, 0);
      gl.enable(gl.BLEND);
      gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
      gl.drawArrays(gl.POINTS, 0, N);
    },
  };
  map.addLayer(layer);
  return (t) => {
    for (let i = 0; i < N; i += 1) {
      const m = MercatorCoordinate.fromLngLat(lngLat(i, t));
      xy[i * 2] = m.x;
      xy[i * 2 + 1] = m.y;
    }
    updates += 1;
    map.triggerRepaint();
  };
}

declare global {
  interface Window {
    benchResult?: unknown;
  }
}

map.on("load", () => {
  const step = MODE === "webgl" ? webglMode() : geojsonMode();
  // One second of warm-up, then SECONDS of measurement.
  const stamps: number[] = [];
  let start = -1;
  const tick = (now: number): void => {
    if (start < 0) start = now;
    step(now / 1000);
    if (now - start >= 1000) stamps.push(now);
    if (now - start < 1000 + SECONDS * 1000) {
      requestAnimationFrame(tick);
      return;
    }
    const gaps = stamps.slice(1).map((s, i) => s - stamps[i]!);
    gaps.sort((a, b) => a - b);
    const span = (stamps[stamps.length - 1]! - stamps[0]!) / 1000;
    window.benchResult = {
      mode: MODE,
      points: N,
      seconds: span,
      frames: stamps.length - 1,
      fps: (stamps.length - 1) / span,
      position_updates_per_s: updates / ((now - start) / 1000),
      frame_ms_p50: gaps[Math.floor(gaps.length * 0.5)] ?? null,
      frame_ms_p95: gaps[Math.floor(gaps.length * 0.95)] ?? null,
      frame_ms_max: gaps[gaps.length - 1] ?? null,
      // Frames that took longer than two refresh intervals (60 Hz): visibly dropped.
      long_frames: gaps.filter((g) => g > 2 * (1000 / 60)).length,
    };
  };
  requestAnimationFrame(tick);
});
