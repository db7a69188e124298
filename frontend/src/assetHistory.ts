// The operator's look back at one asset: a signal's last 24 hours (phase
// timeline of 15-minute bins coloured by split failures, measures per phase,
// detector findings), a desk's waits and service level, a bus's line
// headways, and a car park's occupancy history.

import { fetchBrtHeadways, fetchQueueMeasures, fetchSeries, fetchSignalMeasures } from "./api";
import { lineChart, timeline, type TimelineRow } from "./charts";
import type { Focus } from "./detailPanel";
import { h, replaceChildren, setText } from "./dom";
import { clockTime, integer, percent } from "./format";
import { isObj, list, num, str, time, type Obj } from "./json";
import { t, type StringKey } from "./i18n";

const DAY_MS = 24 * 3600_000;
const HOUR_MS = 3600_000;
const BIN_MS = 15 * 60_000;
/** Reload the open asset's history this often while it stays open. */
const RELOAD_MS = 60_000;

function share(x: number | null): string {
  return x === null ? "—" : percent(x);
}

function fixed(x: number | null, digits = 1): string {
  return x === null ? "—" : x.toFixed(digits);
}

/** Split-failure share of a bin → a colour from calm to bad. */
function sfColour(share: number, volume: number): string {
  if (volume === 0) return "#2a3340";
  if (share >= 0.3) return "#d55e00";
  if (share >= 0.1) return "#f0e442";
  return "#009e73";
}

export class AssetHistory {
  readonly element: HTMLElement;
  private readonly title = h("h3", { class: "history-title" });
  private readonly body = h("div", { class: "history-body" });
  private key = "";
  private ticket = 0;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly now: () => number) {
    this.element = h("section", { class: "asset-history", "data-testid": "asset-history", hidden: "" }, this.title, this.body);
  }

  show(focus: Focus | null): void {
    const key = focus === null || focus.kind === "district" ? "" : `${focus.kind}:${focus.id}`;
    if (key === this.key) return;
    this.key = key;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.element.hidden = key === "";
    this.element.dataset["kind"] = focus?.kind ?? "";
    if (focus === null || focus.kind === "district") return;
    void this.load(focus);
    this.timer = setInterval(() => void this.load(focus), RELOAD_MS);
  }

  private async load(focus: Exclude<Focus, { kind: "district" }>): Promise<void> {
    const ticket = ++this.ticket;
    const end = this.now();
    if (this.body.childElementCount === 0) replaceChildren(this.body, h("p", { class: "tile-foot" }, t("loading")));
    let content: HTMLElement;
    try {
      switch (focus.kind) {
        case "signal":
          setText(this.title, t("signalHistory"));
          content = signalView(await fetchSignalMeasures(focus.id, end - DAY_MS, end), end - DAY_MS, end);
          break;
        case "desk":
          setText(this.title, t("deskHistory"));
          content = deskView(await fetchQueueMeasures(focus.id, end - HOUR_MS, end));
          break;
        case "bus":
          setText(this.title, t("busHistory"));
          content = busView(await fetchBrtHeadways(end - HOUR_MS, end));
          break;
        case "site":
          setText(this.title, t("siteHistory"));
          content = h(
            "div",
            {},
            lineChart([{ points: await fetchSeries("parking", "occupancy", null, end - DAY_MS, end).catch(() => []), colour: "#56b4e9", label: t("occupancyLabel") }], {
              width: 360,
              height: 120,
              title: t("siteHistory"),
              yFormat: (v) => percent(v),
              xFormat: clockTime,
              yMin: 0,
              yMax: 1,
            }),
          );
          break;
      }
    } catch (err) {
      content = h("p", { class: "tile-foot" }, t("historyUnavailable"));
      console.warn("asset history", err);
    }
    if (ticket !== this.ticket) return;
    replaceChildren(this.body, content);
  }
}

function signalView(x: unknown, start: number, end: number): HTMLElement {
  if (!isObj(x)) return h("p", {}, "—");
  const bins = list(x["bins"]).filter(isObj);
  const byPhase = new Map<number, { volume: number; aog: number; sf: number; cycles: number; cells: TimelineRow["cells"] }>();
  for (const b of bins) {
    const phase = num(b["phase"]);
    const at = time(b["bin_start"]);
    if (phase === null || at === null) continue;
    const p = byPhase.get(phase) ?? { volume: 0, aog: 0, sf: 0, cycles: 0, cells: [] };
    const volume = num(b["volume"]) ?? 0;
    const sf = num(b["split_failures"]) ?? 0;
    const cycles = num(b["sf_cycles"]) ?? 0;
    p.volume += volume;
    p.aog += num(b["arrivals_on_green"]) ?? 0;
    p.sf += sf;
    p.cycles += cycles;
    const sfShare = cycles > 0 ? sf / cycles : 0;
    p.cells.push({ t: at, colour: sfColour(sfShare, volume), tip: `${clockTime(at)} · ${t("volume")} ${volume} · ${t("splitFailures")} ${share(cycles > 0 ? sfShare : null)}` });
    byPhase.set(phase, p);
  }
  const phases = [...byPhase.entries()].sort((a, b) => a[0] - b[0]);
  const findings = list(x["detector_health"]).filter(isObj);
  return h(
    "div",
    { "data-testid": "signal-measures", "data-events": String(num(x["events"]) ?? 0) },
    h("p", { class: "detail-sub" }, t("eventsIn24h", { n: integer(num(x["events"]) ?? 0) })),
    phases.length > 0
      ? timeline(
          phases.map(([phase, p]) => ({ label: `Φ${phase}`, cells: p.cells })),
          start,
          end,
          BIN_MS,
          { width: 360, title: t("phaseTimeline") },
        )
      : null,
    h(
      "table",
      { class: "measures" },
      h("thead", {}, h("tr", {}, h("th", {}, t("phase")), h("th", {}, t("volume")), h("th", {}, t("aog")), h("th", {}, t("splitFailures")))),
      h(
        "tbody",
        {},
        ...phases.map(([phase, p]) =>
          h("tr", {}, h("td", {}, `Φ${phase}`), h("td", {}, integer(p.volume)), h("td", {}, share(p.volume > 0 ? p.aog / p.volume : null)), h("td", {}, share(p.cycles > 0 ? p.sf / p.cycles : null))),
        ),
      ),
    ),
    findings.length > 0
      ? h(
          "ul",
          { class: "findings", "data-testid": "detector-findings" },
          ...findingLines(findings).map((line) => h("li", {}, line)),
        )
      : h("p", { class: "tile-foot" }, t("detectorsOk")),
  );
}

const FINDINGS: Record<string, { key: StringKey; on: "detector" | "phase" | null }> = {
  low_actuations: { key: "findingLowActuations", on: "detector" },
  few_records: { key: "findingFewRecords", on: null },
  max_out: { key: "findingMaxOut", on: "phase" },
  force_off: { key: "findingForceOff", on: "phase" },
  stuck_ped: { key: "findingStuckPed", on: "phase" },
  stuck_on: { key: "findingStuckOn", on: "detector" },
  detector_fault: { key: "findingDetectorFault", on: "detector" },
};

/** The watchdog's findings, one line per kind naming its detectors or phases (a finding recurs per window and day). */
function findingLines(findings: Obj[]): string[] {
  const byKind = new Map<string, Set<number>>();
  for (const f of findings) {
    const kind = str(f["kind"]) ?? "";
    const subjects = byKind.get(kind) ?? new Set<number>();
    const subject = num(f["subject"]);
    if (subject !== null) subjects.add(subject);
    byKind.set(kind, subjects);
  }
  return [...byKind.entries()].map(([kind, subjects]) => {
    const known = FINDINGS[kind];
    const what = known === undefined ? kind : t(known.key);
    if (subjects.size === 0) return what;
    const on = t(known?.on ?? "detector");
    return `${what}: ${on} ${[...subjects].sort((a, b) => a - b).join(", ")}`;
  });
}

function deskView(x: unknown): HTMLElement {
  if (!isObj(x)) return h("p", {}, "—");
  const wait = isObj(x["wait_min"]) ? x["wait_min"] : {};
  const level = isObj(x["service_level"]) ? x["service_level"] : {};
  const erlang = isObj(x["erlang_c"]) ? x["erlang_c"] : {};
  const row = (label: string, value: string): HTMLElement => h("div", { class: "kv" }, h("dt", {}, label), h("dd", {}, value));
  return h(
    "dl",
    { class: "facts", "data-testid": "desk-measures" },
    row(t("waitingNow"), integer(num(x["waiting_now"]) ?? 0)),
    row(t("waitP50"), `${fixed(num(wait["p50"]))} ${t("minutes")}`),
    row(t("waitP90"), `${fixed(num(wait["p90"]))} ${t("minutes")}`),
    row(t("serviceLevel"), share(num(level["share"]) ?? num(level["level"]))),
    row(t("utilisation"), share(num(erlang["utilisation"]))),
  );
}

function busView(x: unknown): HTMLElement {
  if (!isObj(x)) return h("p", {}, "—");
  const stops = list(x["stops"]).filter(isObj).slice(0, 12);
  return h(
    "table",
    { class: "measures", "data-testid": "bus-headways" },
    h("thead", {}, h("tr", {}, h("th", {}, t("stop")), h("th", {}, "CV"), h("th", {}, t("bunching")), h("th", {}, t("gaps")))),
    h(
      "tbody",
      {},
      ...stops.map((s) =>
        h(
          "tr",
          {},
          h("td", {}, str(s["stop_id"]) ?? "?"),
          h("td", {}, fixed(num(s["cv"]), 2)),
          h("td", {}, integer(num(s["bunching"]) ?? num(s["bunched"]) ?? 0)),
          h("td", {}, integer(num(s["gaps"]) ?? 0)),
        ),
      ),
    ),
  );
}
