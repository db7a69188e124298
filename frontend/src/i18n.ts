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
  mapLabel: "Bản đồ điều hành: bãi đỗ xe, đèn tín hiệu, xe BRT và điểm dịch vụ công",
  parkingTitle: "Bãi đỗ xe",
  parkingOccupancy: "Tỷ lệ lấp đầy toàn thành phố",
  parkingAvailable: "Chỗ trống",
  parkingFull: "Bãi đã đầy",
  parkingFullOf: "trên {n} bãi",
  updated: "Cập nhật",
  waiting: "Đang chờ dữ liệu",
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
  detailHint: "Di chuột hoặc chọn một quận, huyện, nút đèn, xe hay điểm phục vụ để xem chi tiết",
  close: "Đóng",
  kindUrban: "Quận",
  kindRural: "Huyện",
  kindTown: "Thị xã",
  mapUnavailable: "Không hiển thị được bản đồ (trình duyệt không hỗ trợ WebGL)",
  serverError: "Máy chủ báo lỗi",
  staleData: "Dữ liệu chưa được cập nhật",
  signalsNormalShare: "Hoạt động bình thường",
  signalsOfTotal: "{n}/{total} nút có trạng thái",
  stateNormal: "Bình thường",
  stateFlash: "Nháy vàng",
  stateDark: "Tắt đèn",
  stateCommLost: "Mất liên lạc",
  stateCoordinationFailed: "Mất phối hợp",
  stateUnknown: "Chưa có trạng thái",
  signalsLastChange: "Thay đổi gần nhất",
  signalsSilent: "{n} nút chưa báo",
  signalsCoordFailed: "{n} mất phối hợp",
  signalsNone: "Chưa có nút đèn nào báo trạng thái",
  brtBuses: "Xe đang báo vị trí",
  brtBusesHint: "trong 10 phút qua",
  brtRoutes: "trên {n} tuyến",
  brtRoute1: "trên 1 tuyến",
  brtNewest: "Báo vị trí mới nhất",
  brtNone: "Chưa có xe nào báo vị trí",
  queuesWaiting: "Người đang chờ",
  queuesCounters: "Quầy đang mở",
  queuesCountersOf: "/ {n}",
  queuesPoints: "{n} điểm phục vụ",
  queuesBusiest: "Đông nhất",
  queuesNone: "Chưa có điểm phục vụ nào báo số liệu",
  connectionLostData: "Mất kết nối, số liệu cuối cùng",
  reason: "Nguyên nhân",
  since: "Từ lúc",
  controller: "Bộ điều khiển",
  controllerActuated: "Thích ứng (theo đầu dò)",
  controllerFixed: "Chu kỳ cố định",
  brtCorridor: "Trên hành lang BRT",
  yes: "Có",
  no: "Không",
  phasesDetectors: "Pha / đầu dò",
  busTitle: "Xe {id}",
  trip: "Chuyến",
  route: "Tuyến",
  direction: "Chiều",
  direction0: "đi (0)",
  direction1: "về (1)",
  stop: "Trạm",
  occupancy: "Mức đông",
  busStoppedAt: "Đang dừng tại trạm",
  busIncomingAt: "Sắp vào trạm",
  busInTransitTo: "Đang chạy tới trạm",
  occEmpty: "Xe trống",
  occManySeats: "Còn nhiều ghế",
  occFewSeats: "Còn ít ghế",
  occStanding: "Chỉ còn chỗ đứng",
  occCrushed: "Rất đông",
  occFull: "Đã đầy",
  occNotAccepting: "Không nhận khách",
  occNoData: "Không có dữ liệu",
  occNotBoardable: "Không thể lên xe",
  levelCity: "Cấp thành phố",
  levelDistrict: "Cấp quận, huyện",
  peopleWaiting: "người đang chờ",
  countersOpen: "Quầy đang mở",
  targetWait: "Mục tiêu thời gian chờ",
  minutes: "{n} phút",
  openingHours: "Giờ làm việc",
  byService: "Đang chờ theo lĩnh vực",
  nobodyWaiting: "Không có ai đang chờ",
  noLiveData: "Chưa có dữ liệu trực tiếp",
  signalsNormalOf: "Đèn tín hiệu bình thường",
  queueWaitingDistrict: "Người chờ dịch vụ công",
  svc_justice: "Tư pháp",
  svc_transport: "Giao thông vận tải",
  svc_investment: "Đầu tư",
  svc_land: "Đất đai",
  svc_construction: "Xây dựng",
  svc_business: "Đăng ký kinh doanh",
  svc_social_affairs: "Lao động, xã hội",
  svc_civil_status: "Hộ tịch",
  svc_certification: "Chứng thực",
  legendSignals: "Đèn tín hiệu (vòng)",
  legendOther: "BRT, dịch vụ công",
  legendBus: "Xe BRT",
  legendDesk: "Điểm dịch vụ công (to = đông người chờ)",
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
  mapLabel: "Operations map: parking, traffic signals, BRT buses and public-service desks",
  parkingTitle: "Parking",
  parkingOccupancy: "City-wide occupancy",
  parkingAvailable: "Available spaces",
  parkingFull: "Full car parks",
  parkingFullOf: "of {n} car parks",
  updated: "Updated",
  waiting: "Waiting for data",
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
  detailHint: "Hover over or select a district, signal, bus or service point for details",
  close: "Close",
  kindUrban: "Urban district",
  kindRural: "Rural district",
  kindTown: "Town",
  mapUnavailable: "Map unavailable (this browser has no WebGL)",
  serverError: "Server error",
  staleData: "Data not updated recently",
  signalsNormalShare: "Operating normally",
  signalsOfTotal: "{n} of {total} reporting crossings",
  stateNormal: "Normal",
  stateFlash: "Flashing",
  stateDark: "Dark",
  stateCommLost: "Comms lost",
  stateCoordinationFailed: "Out of coordination",
  stateUnknown: "No status yet",
  signalsLastChange: "Last change",
  signalsSilent: "{n} not reporting",
  signalsCoordFailed: "{n} out of coordination",
  signalsNone: "No signal has reported a status yet",
  brtBuses: "Buses reporting",
  brtBusesHint: "in the last 10 min",
  brtRoutes: "on {n} routes",
  brtRoute1: "on 1 route",
  brtNewest: "Latest position report",
  brtNone: "No bus has reported a position yet",
  queuesWaiting: "People waiting",
  queuesCounters: "Counters open",
  queuesCountersOf: "/ {n}",
  queuesPoints: "{n} service points",
  queuesBusiest: "Busiest",
  queuesNone: "No service point has reported yet",
  connectionLostData: "Connection lost; last known figures",
  reason: "Reason",
  since: "Since",
  controller: "Controller",
  controllerActuated: "Actuated",
  controllerFixed: "Fixed-time",
  brtCorridor: "On the BRT corridor",
  yes: "Yes",
  no: "No",
  phasesDetectors: "Phases / detectors",
  busTitle: "Bus {id}",
  trip: "Trip",
  route: "Route",
  direction: "Direction",
  direction0: "outbound (0)",
  direction1: "inbound (1)",
  stop: "Stop",
  occupancy: "Occupancy",
  busStoppedAt: "Stopped at stop",
  busIncomingAt: "Arriving at stop",
  busInTransitTo: "In transit to stop",
  occEmpty: "Empty",
  occManySeats: "Many seats available",
  occFewSeats: "Few seats available",
  occStanding: "Standing room only",
  occCrushed: "Crowded",
  occFull: "Full",
  occNotAccepting: "Not accepting passengers",
  occNoData: "No data",
  occNotBoardable: "Not boardable",
  levelCity: "City level",
  levelDistrict: "District level",
  peopleWaiting: "people waiting",
  countersOpen: "Counters open",
  targetWait: "Target wait",
  minutes: "{n} min",
  openingHours: "Opening hours",
  byService: "Waiting by service",
  nobodyWaiting: "Nobody waiting",
  noLiveData: "No live data yet",
  signalsNormalOf: "Signals normal",
  queueWaitingDistrict: "Waiting at public services",
  svc_justice: "Justice",
  svc_transport: "Transport",
  svc_investment: "Investment",
  svc_land: "Land",
  svc_construction: "Construction",
  svc_business: "Business registration",
  svc_social_affairs: "Labour and social affairs",
  svc_civil_status: "Civil status",
  svc_certification: "Certification",
  legendSignals: "Traffic signals (rings)",
  legendOther: "BRT, public services",
  legendBus: "BRT bus",
  legendDesk: "Public-service desk (size = people waiting)",
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

/** A service type code of the desks' feed, in the current language (the code itself if unknown). */
export function serviceName(code: string): string {
  const key = `svc_${code}`;
  return key in vi ? t(key as StringKey) : code;
}
