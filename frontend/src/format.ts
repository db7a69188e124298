// Number, percentage and time formatting in the current language.

import { lang, t } from "./i18n";
import type { Lang } from "./types";

const LOCALE: Record<Lang, string> = { vi: "vi-VN", en: "en-GB" };

const numberFormats = new Map<Lang, Intl.NumberFormat>();
const timeFormats = new Map<string, Intl.DateTimeFormat>();

let timeZone = "Asia/Ho_Chi_Minh";

export function setTimeZone(tz: string): void {
  if (tz !== timeZone) {
    timeZone = tz;
    timeFormats.clear();
  }
}

export function integer(n: number): string {
  const l = lang();
  let f = numberFormats.get(l);
  if (f === undefined) {
    f = new Intl.NumberFormat(LOCALE[l], { maximumFractionDigits: 0 });
    numberFormats.set(l, f);
  }
  return f.format(n);
}

/**
 * Whole percent, truncated (0.899 -> "89%") so that the number shown always
 * agrees with the colour band (80–90%) it is drawn in.
 */
export function percent(occupancy: number | null): string {
  if (occupancy === null) return "—";
  return `${Math.floor(occupancy * 100 + 1e-9)}%`;
}

type TimeKind = "clock" | "date" | "day" | "stamp";

const TIME_OPTIONS: Record<TimeKind, Intl.DateTimeFormatOptions> = {
  clock: { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" },
  date: { weekday: "long", day: "numeric", month: "numeric", year: "numeric" },
  day: { year: "numeric", month: "2-digit", day: "2-digit" },
  stamp: { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
};

function timeFormat(kind: TimeKind): Intl.DateTimeFormat {
  const key = `${lang()}|${kind}`;
  let f = timeFormats.get(key);
  if (f === undefined) {
    f = new Intl.DateTimeFormat(LOCALE[lang()], { ...TIME_OPTIONS[kind], timeZone });
    timeFormats.set(key, f);
  }
  return f;
}

export function clockTime(ms: number): string {
  return timeFormat("clock").format(ms);
}

export function clockDate(ms: number): string {
  return timeFormat("date").format(ms);
}

/**
 * An ISO timestamp from the feed in the city's time zone: the time if it is
 * the same day as `now` (the server's clock), else date and time.
 */
export function stamp(iso: string | null, now: number = Date.now()): string {
  if (iso === null) return "—";
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return "—";
  const day = timeFormat("day");
  return day.format(ms) === day.format(now) ? timeFormat("clock").format(ms) : timeFormat("stamp").format(ms);
}

/** An age as people say it: "40 giây trước", "5 phút trước", "3 giờ trước", "2 ngày trước". */
export function ago(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1_000));
  if (s < 60) return t("agoSeconds", { n: s });
  const min = Math.floor(s / 60);
  if (min < 60) return t("agoMinutes", { n: min });
  const hours = Math.floor(min / 60);
  if (hours < 48) return t("agoHours", { n: hours });
  return t("agoDays", { n: integer(Math.floor(hours / 24)) });
}

/** The city's UTC offset at `ms`, in ms. */
function cityOffset(ms: number): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(ms);
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second")) - Math.floor(ms / 1000) * 1000;
}

/**
 * `ms` as the value of a datetime-local input, in the city's time zone
 * ("2026-05-01T08:30", or "2026-05-01T08:30:15" with `seconds` for an input of step 1).
 */
export function toCityInput(ms: number, seconds = false): string {
  return new Date(ms + cityOffset(ms)).toISOString().slice(0, seconds ? 19 : 16);
}

/** A datetime-local value read in the city's time zone, or null when it is not one. */
export function fromCityInput(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (m === null) return null;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  return wall - cityOffset(wall - cityOffset(wall));
}

/** A moment as date and time in the city's time zone (the replay position). */
export function dateTime(ms: number): string {
  return `${timeFormat("day").format(ms)} ${clockTime(ms)}`;
}
