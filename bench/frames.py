"""Frame-rate benchmark: 10,000 moving points on the dashboard's map in headless Chromium.

The built dashboard's `bench.html` (frontend/src/bench/frames.ts) is served from
frontend/dist by a local static server and opened in Debian's Chromium, with the same flags
as the browser tests. Every animation frame, each point moves along its own circle, by one of
two methods: a GeoJSON source fed with `setData` (the method of the dashboard's layers; the
next call waits until the previous data is applied), and a custom WebGL layer whose vertex
buffer is rewritten in place. Frames are timed with requestAnimationFrame timestamps over the
measured seconds after one second of warm-up. A baseline run moves a single point the same
way: it gives the frame rate that the browser's renderer reaches with (almost) nothing to
draw, so that what the 10,000 points cost can be told apart from what the renderer costs (on
a machine without a GPU, Chromium draws with SwiftShader on the CPU, and at full HD that alone
bounds the frame rate). The load average is recorded before and after. Results go to
bench/results/frames.json.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import threading
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
from playwright.async_api import async_playwright

from bench.ingest import _machine
from ioc.settings import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results"
DIST = PROJECT_ROOT / "frontend" / "dist"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
TARGET_FPS = 30.0
MODES = ("geojson", "webgl")


class _Quiet(SimpleHTTPRequestHandler):
    """Static files with module-friendly MIME types and no request log."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css"}

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        """Say nothing."""


def _serve(root: Path) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


async def measure(points: int, seconds: float, modes: tuple[str, ...],
                  viewport: tuple[int, int]) -> list[dict[str, Any]]:
    """One run per mode in a fresh page; each returns the page's benchResult."""
    if not (DIST / "bench.html").exists():
        raise SystemExit("frontend/dist/bench.html is missing: run `npm run build` in frontend/")
    http = _serve(DIST)
    base = f"http://127.0.0.1:{http.server_address[1]}"
    results: list[dict[str, Any]] = []
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for mode in modes:
                page = await browser.new_page(
                    viewport={"width": viewport[0], "height": viewport[1]})
                await page.goto(f"{base}/bench.html?mode={mode}&points={points}"
                                f"&seconds={seconds}")
                await page.wait_for_function("() => window.benchResult !== undefined",
                                             timeout=(seconds + 60) * 1000)
                result: dict[str, Any] = await page.evaluate("() => window.benchResult")
                result["viewport"] = list(viewport)
                result["renderer"] = await page.evaluate(
                    """() => { const gl = document.createElement('canvas').getContext('webgl');
                        const ext = gl && gl.getExtension('WEBGL_debug_renderer_info');
                        return ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : null; }""")
                await page.close()
                results.append(result)
            await browser.close()
    finally:
        http.shutdown()
    return results


def main() -> None:
    """Run the benchmark and write bench/results/frames.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--mode", choices=MODES, action="append")
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    args = parser.parse_args()
    viewport = (args.width, args.height)
    load_before = os.getloadavg()
    runs = asyncio.run(measure(args.points, args.seconds, tuple(args.mode or MODES), viewport))
    baseline = asyncio.run(measure(1, args.seconds, ("webgl",), viewport))[0]
    load_after = os.getloadavg()
    report = {"benchmark": "frames", "measured_at": datetime.now(UTC).isoformat(),
              "machine": _machine(), "load_average_before": load_before,
              "load_average_after": load_after, "target_fps": TARGET_FPS, "runs": runs,
              "baseline_one_point": baseline}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "frames.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    for run in runs:
        verdict = "meets" if run["fps"] >= TARGET_FPS else "misses"
        print(f"{run['mode']:8} {run['points']:>6} points at {run['viewport'][0]}x"
              f"{run['viewport'][1]}: {run['fps']:.1f} fps "
              f"(p95 frame {run['frame_ms_p95']:.1f} ms, {run['long_frames']} long frames, "
              f"{run['position_updates_per_s']:.1f} position updates/s) {verdict} "
              f"the {TARGET_FPS:.0f} fps target")
    print(f"baseline: one point at {viewport[0]}x{viewport[1]}: {baseline['fps']:.1f} fps "
          f"(the renderer's own ceiling); load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after")


if __name__ == "__main__":
    main()
