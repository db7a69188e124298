// Vietnamese (default) and English strings, and the current language.

import type { Lang } from "./types";

const vi = {
  appTitle: "Trung tâm Điều hành Đô thị Thông minh",
  connConnecting: "Đang kết nối",
  connLive: "Trực tuyến",
  connReconnecting: "Mất kết nối, đang thử lại",
  retryIn: "thử lại sau {s} giây",
  langButton: "EN",
  langButtonLabel: "EN: Switch to English",
  mapLabel: "Bản đồ bãi đỗ xe theo quận, huyện",
  parkingTitle: "Bãi đỗ xe",
  parkingOccupancy: "Tỷ lệ lấp đầy toàn thành phố",
  parkingAvailable: "Chỗ trống",
  parkingFull: "Bãi đã đầy",
  parkingFullOf: "trên {n} bãi",
  updated: "Cập nhật",
  waiting: "Đang chờ dữ liệu",
  notConnected: "Chưa kết nối",
  feedSignals: "Đèn tín hiệu giao thông",
  feedBrt: "Xe buýt nhanh BRT",
  feedQueues: "Hàng chờ dịch vụ công",
  listTitle: "Quận, huyện theo mức lấp đầy",
  noData: "Không có dữ liệu",
  legendTitle: "Tỷ lệ lấp đầy bãi đỗ xe",
  band1: "Dưới 60%",
  band2: "60–80% (mục tiêu)",
  band3: "80–90%",
  band4: "Từ 90% trở lên",
  band0: "Không có bãi đỗ xe",
  legendSites: "Bãi đỗ xe (chấm)",
  statusSpacesAvailable: "Còn chỗ",
  statusAlmostFull: "Sắp đầy",
  statusFull: "Đã đầy",
  statusClosed: "Đóng cửa",
  statusUnknown: "Không rõ",
  occupied: "Đang đỗ",
  capacity: "Sức chứa",
  available: "Còn trống",
  sites: "Số bãi",
  fullSites: "Bãi đã đầy",
  district: "Quận, huyện",
  address: "Địa chỉ",
  detailHint: "Di chuột hoặc chọn một quận, huyện để xem chi tiết",
  close: "Đóng",
  kindUrban: "Quận",
  kindRural: "Huyện",
  kindTown: "Thị xã",
  mapUnavailable: "Không hiển thị được bản đồ (trình duyệt không hỗ trợ WebGL)",
  serverError: "Máy chủ báo lỗi",
  staleData: "Dữ liệu chưa được cập nhật",
} as const;

export type StringKey = keyof typeof vi;

const en: Record<StringKey, string> = {
  appTitle: "Intelligent Operations Centre",
  connConnecting: "Connecting",
  connLive: "Live",
  connReconnecting: "Connection lost, retrying",
  retryIn: "retry in {s} s",
  langButton: "VI",
  langButtonLabel: "VI: Chuyển sang tiếng Việt",
  mapLabel: "Map of parking by district",
  parkingTitle: "Parking",
  parkingOccupancy: "City-wide occupancy",
  parkingAvailable: "Available spaces",
  parkingFull: "Full car parks",
  parkingFullOf: "of {n} car parks",
  updated: "Updated",
  waiting: "Waiting for data",
  notConnected: "Not connected",
  feedSignals: "Traffic signals",
  feedBrt: "BRT bus rapid transit",
  feedQueues: "Public-service queues",
  listTitle: "Districts by occupancy",
  noData: "No data",
  legendTitle: "Car park occupancy",
  band1: "Under 60%",
  band2: "60–80% (target)",
  band3: "80–90%",
  band4: "90% and over",
  band0: "No car parks",
  legendSites: "Car parks (dots)",
  statusSpacesAvailable: "Spaces available",
  statusAlmostFull: "Almost full",
  statusFull: "Full",
  statusClosed: "Closed",
  statusUnknown: "Unknown",
  occupied: "Occupied",
  capacity: "Capacity",
  available: "Available",
  sites: "Car parks",
  fullSites: "Full car parks",
  district: "District",
  address: "Address",
  detailHint: "Hover over or select a district for details",
  close: "Close",
  kindUrban: "Urban district",
  kindRural: "Rural district",
  kindTown: "Town",
  mapUnavailable: "Map unavailable (this browser has no WebGL)",
  serverError: "Server error",
  staleData: "Data not updated recently",
};

const STRINGS: Record<Lang, Record<StringKey, string>> = { vi, en };
const STORAGE_KEY = "ioc.lang";

let current: Lang = initialLang();

function initialLang(): Lang {
  const fromUrl = new URLSearchParams(window.location.search).get("lang");
  if (fromUrl === "vi" || fromUrl === "en") return fromUrl;
  try {
    const saved = window.localStorage.getItem(STORAGE_KEY);
    if (saved === "vi" || saved === "en") return saved;
  } catch {
    // Storage may be disabled on kiosk profiles.
  }
  return "vi";
}

export function lang(): Lang {
  return current;
}

export function setLang(next: Lang): void {
  current = next;
  document.documentElement.lang = next;
  try {
    window.localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Not persisted; fine.
  }
}

export function t(key: StringKey, vars?: Record<string, string | number>): string {
  let s = STRINGS[current][key];
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replace(`{${k}}`, String(v));
  return s;
}

/** District name in the current language. */
export function districtName(info: { name: string; nameEn: string } | null, code: string): string {
  if (info === null) return code;
  return current === "vi" ? info.name : info.nameEn;
}

export function districtKind(kind: string): string {
  switch (kind.trim().toLowerCase()) {
    case "quận":
      return t("kindUrban");
    case "huyện":
      return t("kindRural");
    case "thị xã":
      return t("kindTown");
    default:
      return kind;
  }
}
