// The planner's time machine. A replay goes over /ws/replay with the same
// snapshot and delta messages as live, applied by the same code to a Store and
// a SituationStore of its own; the map, tiles and ticker then draw whichever
// source is shown. A seek also asks GET /api/history/state?at= so the chosen
// moment appears at once (and still appears if the replay socket is missing).

import { getJson, wsUrl } from "./api";
import { isObj, list, str } from "./json";
import { LiveConnection, type ConnectionState } from "./live";
import { parseServerMessage } from "./parse";
import type { SituationStore } from "./situations";
import type { Store } from "./store";
import type { ReplayState, ServerMessage } from "./types";

/** Send one message to whichever stores it concerns (live and replay alike). */
export function applyStreamMessage(msg: ServerMessage, store: Store, situations: SituationStore): void {
  if (msg.type !== "snapshot" && msg.type !== "delta") return;
  switch (msg.stream) {
    case "districts":
      store.applyDistricts(msg.type, msg.seq, msg.districts);
      return;
    case "parking":
      store.applySites(msg.type, msg.seq, msg.sites);
      return;
    case "signals":
      store.applySignals(msg.type, msg.seq, msg.districts, msg.units);
      return;
    case "queues":
      store.applyQueues(msg.type, msg.seq, msg.districts, msg.points);
      return;
    case "brt":
      store.applyBuses(msg.type, msg.seq, msg.vehicles);
      return;
    case "situations":
      situations.apply(msg.type, msg.seq, msg.situations);
      return;
  }
}

/** GET /api/history/state?at= as the snapshot messages of each stream. */
export function stateAtMessages(x: unknown): ServerMessage[] {
  if (!isObj(x)) return [];
  const assets = isObj(x["assets"]) ? x["assets"] : {};
  // A district's figures at T are as fresh as its newest car-park reading at or before T.
  const newest = new Map<string, string>();
  for (const site of list(assets["parking"]).filter(isObj)) {
    const district = str(site["district"]);
    const at = str(site["updated_at"]);
    if (district === null || at === null) continue;
    const held = newest.get(district);
    if (held === undefined || Date.parse(at) > Date.parse(held)) newest.set(district, at);
  }
  const districts = list(x["areas"])
    .filter(isObj)
    .map((a) => {
      const p = isObj(a["parking"]) ? a["parking"] : {};
      const capacity = Number(p["capacity"] ?? 0);
      const occupied = Number(p["occupied"] ?? 0);
      const updated = newest.get(str(a["code"]) ?? "") ?? null;
      return { code: a["code"], parking: { sites: p["car_parks"] ?? p["sites"], capacity, occupied, available: Math.max(0, capacity - occupied), occupancy: p["occupancy"] ?? null, updated_at: updated } };
    });
  const frames: unknown[] = [
    { type: "snapshot", stream: "districts", districts },
    { type: "snapshot", stream: "parking", sites: assets["parking"] },
    { type: "snapshot", stream: "signals", units: assets["signals"], districts: [] },
    { type: "snapshot", stream: "queues", points: assets["queues"], districts: [] },
    { type: "snapshot", stream: "brt", vehicles: assets["brt"] },
    { type: "snapshot", stream: "situations", situations: x["situations"] },
  ];
  return frames.map((f) => parseServerMessage(JSON.stringify(f))).filter((m): m is ServerMessage => m !== null);
}

export interface ReplayView {
  start: number;
  end: number;
  position: number;
  speed: number;
  paused: boolean;
  /** "live" while the replay socket is up; otherwise the time machine still answers seeks. */
  connection: ConnectionState | "off";
  loading: boolean;
  error: string | null;
}

/** The replay socket gives up after this many failed attempts in a row (seeks still work). */
const MAX_FAILED_ATTEMPTS = 3;

export class ReplaySession {
  readonly view: ReplayView;
  private conn: LiveConnection | null = null;
  private failed = 0;
  private seekTicket = 0;

  constructor(
    private readonly store: Store,
    private readonly situations: SituationStore,
    private readonly token: () => string | null,
    private readonly onChange: () => void,
    start: number,
    end: number,
  ) {
    this.view = { start, end, position: start, speed: 60, paused: true, connection: "off", loading: false, error: null };
  }

  /** Open the replay at its start, paused. */
  begin(): void {
    void this.seek(this.view.start);
    this.conn = new LiveConnection(() => wsUrl("/ws/replay", this.token()), {
      onOpen: () => {
        this.store.beginConnection();
        this.situations.beginConnection();
        this.failed = 0;
        const v = this.view;
        // Start (or resume after a reconnect) where the replay stands.
        this.send({ type: "replay", start: new Date(v.start).toISOString(), end: new Date(v.end).toISOString(), speed: v.speed, at: new Date(v.position).toISOString() });
        this.send({ type: "seek", at: new Date(v.position).toISOString() });
        if (v.paused) this.send({ type: "pause" });
      },
      onMessage: (msg) => this.onMessage(msg),
      onState: (state) => {
        this.view.connection = state;
        if (state === "reconnecting") {
          this.failed += 1;
          if (this.failed >= MAX_FAILED_ATTEMPTS) this.stopSocket();
        }
        this.onChange();
      },
    });
    this.conn.start();
  }

  stop(): void {
    this.stopSocket();
    this.seekTicket += 1;
  }

  private stopSocket(): void {
    this.conn?.stop();
    this.conn = null;
    this.view.connection = "off";
  }

  private send(message: unknown): boolean {
    return this.conn?.send(message) ?? false;
  }

  private onMessage(msg: ServerMessage): void {
    if (msg.type === "replay_state") {
      this.applyState(msg);
      return;
    }
    if (msg.type === "error") {
      this.view.error = msg.reason || msg.code;
      this.onChange();
      return;
    }
    applyStreamMessage(msg, this.store, this.situations);
  }

  private applyState(s: ReplayState): void {
    if (s.position !== null) this.view.position = s.position;
    this.view.speed = s.speed;
    this.view.paused = s.paused || s.finished;
    this.onChange();
  }

  play(): void {
    if (this.view.position >= this.view.end) void this.seek(this.view.start);
    this.view.paused = false;
    if (!this.send({ type: "play" })) this.view.error = "replay-unavailable";
    this.onChange();
  }

  pause(): void {
    this.view.paused = true;
    this.send({ type: "pause" });
    this.onChange();
  }

  setSpeed(speed: number): void {
    this.view.speed = speed;
    this.send({ type: "speed", speed });
    this.onChange();
  }

  /** Jump to `at`: the socket replays from there; the time machine answers at once. */
  async seek(at: number): Promise<void> {
    const v = this.view;
    v.position = Math.min(v.end, Math.max(v.start, at));
    this.send({ type: "seek", at: new Date(v.position).toISOString() });
    const ticket = ++this.seekTicket;
    v.loading = true;
    this.onChange();
    try {
      const x = await getJson(`/api/history/state?at=${encodeURIComponent(new Date(v.position).toISOString())}`);
      if (ticket !== this.seekTicket) return;
      // Stamp the snapshot with no sequence: the socket's next delta still applies.
      for (const m of stateAtMessages(x)) applyStreamMessage(m, this.store, this.situations);
      v.error = null;
    } catch (err) {
      if (ticket === this.seekTicket && this.conn === null) v.error = err instanceof Error ? err.message : String(err);
    } finally {
      if (ticket === this.seekTicket) {
        v.loading = false;
        this.onChange();
      }
    }
  }
}
