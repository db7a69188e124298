// Defensive parsing of situations (REST and the "situations" stream) and of
// the replay's `replay_state` message.

import { isObj, list, num, str, time, type Obj } from "./json";
import {
  SEVERITIES,
  SITUATION_STATUSES,
  type ChecklistItem,
  type ReplayState,
  type Severity,
  type Situation,
  type SituationDetail,
  type SituationEvent,
  type SituationStatus,
} from "./types";

function oneOf<T extends string>(values: readonly T[], x: unknown): T | null {
  return typeof x === "string" && (values as readonly string[]).includes(x) ? (x as T) : null;
}

export function parseSituation(x: unknown): Situation | null {
  if (!isObj(x)) return null;
  const id = num(x["id"]);
  const severity = oneOf<Severity>(SEVERITIES, x["severity"]);
  const status = oneOf<SituationStatus>(SITUATION_STATUSES, x["status"]);
  const openedAt = time(x["opened_at"]);
  if (id === null || severity === null || status === null || openedAt === null) return null;
  const lon = num(x["lon"]);
  const lat = num(x["lat"]);
  return {
    id,
    type: str(x["type"]) ?? "",
    severity,
    status,
    title: str(x["title"]) ?? "",
    assetKind: str(x["asset_kind"]),
    assetId: str(x["asset_id"]),
    district: str(x["district"]) ?? "",
    lngLat: lon !== null && lat !== null ? [lon, lat] : null,
    openedAt,
    updatedAt: time(x["updated_at"]) ?? openedAt,
    escalated: x["escalated"] === true,
    acknowledgedBy: str(x["acknowledged_by"]),
    assignee: str(x["assignee"]),
    conditionCleared: x["condition_cleared"] === true,
    alertCount: num(x["alert_count"]) ?? 1,
  };
}

export function parseSituationList(x: unknown): Situation[] {
  const items = isObj(x) ? (x["situations"] ?? x["items"]) : x;
  const out: Situation[] = [];
  for (const item of list(items)) {
    const s = parseSituation(item);
    if (s !== null) out.push(s);
  }
  return out;
}

function parseChecklistItem(x: unknown, lang: "vi" | "en"): ChecklistItem | null {
  if (!isObj(x)) return null;
  const id = num(x["id"]) ?? num(Number(str(x["id"])));
  if (id === null) return null;
  const text = str(x[`text_${lang}`]) ?? str(x["text"]) ?? str(x["text_vi"]) ?? "";
  return { id, text, done: x["ticked"] === true || x["done"] === true, doneBy: str(x["by"]) ?? str(x["done_by"]) };
}

function parseEvent(x: Obj): SituationEvent | null {
  const at = time(x["time"]) ?? time(x["at"]);
  if (at === null) return null;
  const from = str(x["from_status"]);
  const to = str(x["to_status"]);
  const moved = from !== null && to !== null && from !== to ? `${from} → ${to}` : "";
  return {
    at,
    actor: str(x["actor"]) ?? str(x["author"]),
    action: str(x["action"]) ?? "comment",
    text: str(x["text"]) ?? moved,
  };
}

export function parseSituationDetail(x: unknown, lang: "vi" | "en"): SituationDetail | null {
  if (!isObj(x)) return null;
  const summary = parseSituation(x);
  if (summary === null) return null;
  const events = (key: string): SituationEvent[] =>
    list(x[key])
      .filter(isObj)
      .map(parseEvent)
      .filter((e): e is SituationEvent => e !== null);
  return {
    summary,
    history: events("history"),
    comments: events("comments"),
    checklist: list(x["checklist"])
      .map((c) => parseChecklistItem(c, lang))
      .filter((c): c is ChecklistItem => c !== null),
    evidence: list(x["alerts"] ?? x["evidence"])
      .map((e) => (isObj(e) ? [str(e["rule_id"]), str(e["subject"]), str(e["value"])].filter(Boolean).join(" · ") : str(e)))
      .filter((e): e is string => e !== null && e !== ""),
  };
}

export function parseReplayState(x: Obj): ReplayState {
  return {
    type: "replay_state",
    position: time(x["position"]) ?? time(x["at"]),
    start: time(x["start"]),
    end: time(x["end"]),
    speed: num(x["speed"]) ?? 1,
    paused: x["paused"] === true,
    finished: x["finished"] === true || x["done"] === true,
  };
}
