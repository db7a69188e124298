// The operator's panels: a filterable list of every signal, bus, car park and
// public-service desk with its status, and the situation queue with its
// actions (acknowledge, start, assign, comment, checklist, resolve, close).

import {
  assignSituation,
  commentSituation,
  fetchSituation,
  situationAction,
  tickChecklist,
  type SituationAction,
} from "./api";
import type { Focus } from "./detailPanel";
import { signalStateLabel, statusLabel } from "./detailPanel";
import { h, replaceChildren, setAttr, setText } from "./dom";
import { clockTime, integer, percent, stamp } from "./format";
import { districtNameOf, lang, t, type StringKey } from "./i18n";
import type { SituationStore } from "./situations";
import type { Store } from "./store";
import type { SituationDetail, SituationStatus } from "./types";
import { severityLabel, situationTypeLabel } from "./wallPanels";

/** Rows drawn at most (the filter narrows the rest down). */
const MAX_ROWS = 300;

export type AssetKind = "signal" | "bus" | "site" | "desk";
const KINDS: AssetKind[] = ["signal", "bus", "site", "desk"];

interface AssetRow {
  kind: AssetKind;
  id: string;
  name: string;
  district: string;
  status: string;
  statusText: string;
  problem: boolean;
}

function rows(store: Store): AssetRow[] {
  const out: AssetRow[] = [];
  for (const info of store.signalInfos()) {
    const unit = store.signalUnitOf(info.id);
    const state = unit?.state ?? "unknown";
    out.push({ kind: "signal", id: info.id, name: info.name, district: unit?.district ?? "", status: state, statusText: signalStateLabel(state), problem: state !== "normal" });
  }
  for (const b of store.allBuses()) {
    out.push({ kind: "bus", id: b.id, name: b.id, district: b.district, status: b.status ?? "unknown", statusText: b.stopId ? `${b.status ?? ""} ${b.stopId}` : (b.status ?? "—"), problem: false });
  }
  for (const info of store.siteInfos()) {
    const live = store.siteLiveOf(info.id);
    const status = live?.status ?? "unknown";
    out.push({ kind: "site", id: info.id, name: info.name, district: info.district, status, statusText: `${statusLabel(status)} ${percent(live?.occupancy ?? null)}`, problem: status === "full" || status === "closed" });
  }
  for (const info of store.deskInfos()) {
    const live = store.deskLiveOf(info.id);
    out.push({ kind: "desk", id: info.id, name: info.name, district: info.district, status: live === null ? "unknown" : "open", statusText: live === null ? "—" : t("deskWaitingShort", { n: integer(live.waiting), c: integer(live.countersOpen) }), problem: live !== null && live.waiting > 20 });
  }
  return out;
}

export class AssetList {
  readonly element: HTMLElement;
  private readonly title = h("h2", { class: "tile-title", id: "assets-title" });
  private readonly kind = h("select", { "data-testid": "asset-kind", class: "control" });
  private readonly problems = h("input", { type: "checkbox", "data-testid": "asset-problems", id: "asset-problems" });
  private readonly problemsLabel = h("label", { for: "asset-problems" });
  private readonly search = h("input", { type: "search", class: "control", "data-testid": "asset-search", autocomplete: "off" });
  private readonly count = h("p", { class: "tile-foot", "data-testid": "asset-count" });
  private readonly list = h("ol", { class: "asset-list", "data-testid": "asset-list", "aria-labelledby": "assets-title" });
  private selected = "";

  constructor(private readonly onSelect: (focus: Focus) => void, onFilter: () => void) {
    this.element = h(
      "section",
      { class: "panel panel-assets", "data-testid": "assets" },
      this.title,
      h("div", { class: "filters" }, this.kind, this.search, h("span", { class: "check" }, this.problems, this.problemsLabel)),
      this.count,
      this.list,
    );
    for (const el of [this.kind, this.problems]) el.addEventListener("change", onFilter);
    this.search.addEventListener("input", onFilter);
    this.list.addEventListener("click", (ev) => {
      const row = ev.target instanceof Element ? ev.target.closest<HTMLElement>("[data-id]") : null;
      const kind = row?.dataset["kind"] as AssetKind | undefined;
      const id = row?.dataset["id"];
      if (kind !== undefined && id !== undefined) this.onSelect({ kind, id });
    });
  }

  setSelected(focus: Focus | null): void {
    this.selected = focus === null || focus.kind === "district" ? "" : `${focus.kind}:${focus.id}`;
    for (const b of this.list.querySelectorAll<HTMLElement>("button[data-id]")) {
      setAttr(b, "aria-pressed", `${b.dataset["kind"]}:${b.dataset["id"]}` === this.selected ? "true" : "false");
    }
  }

  render(store: Store): void {
    setText(this.title, t("assetsTitle"));
    setAttr(this.search, "placeholder", t("assetSearch"));
    setAttr(this.search, "aria-label", t("assetSearch"));
    setAttr(this.kind, "aria-label", t("assetKind"));
    setText(this.problemsLabel, t("assetProblems"));
    const chosen = this.kind.value;
    replaceChildren(
      this.kind,
      h("option", { value: "" }, t("assetAll")),
      ...KINDS.map((k) => h("option", { value: k }, t(`kind_${k}` as StringKey))),
    );
    this.kind.value = chosen;

    const needle = this.search.value.trim().toLowerCase();
    const matching = rows(store).filter(
      (r) =>
        (chosen === "" || r.kind === chosen) &&
        (!this.problems.checked || r.problem) &&
        (needle === "" || r.name.toLowerCase().includes(needle) || r.id.toLowerCase().includes(needle) || districtNameOf(r.district).toLowerCase().includes(needle)),
    );
    matching.sort((a, b) => Number(b.problem) - Number(a.problem) || KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind) || a.name.localeCompare(b.name));
    setText(this.count, t("assetCount", { n: integer(matching.length) }));
    this.count.dataset["value"] = String(matching.length);
    replaceChildren(
      this.list,
      ...matching.slice(0, MAX_ROWS).map((r) =>
        h(
          "li",
          { "data-testid": "asset-row", "data-kind": r.kind, "data-status": r.status },
          h(
            "button",
            { type: "button", class: `asset-row${r.problem ? " problem" : ""}`, "data-kind": r.kind, "data-id": r.id, "aria-pressed": `${r.kind}:${r.id}` === this.selected ? "true" : "false" },
            h("span", { class: `kind-icon kind-${r.kind}`, "aria-hidden": "true" }),
            h("span", { class: "asset-name" }, r.name),
            h("span", { class: "asset-status" }, r.statusText),
            h("span", { class: "asset-district" }, districtNameOf(r.district)),
          ),
        ),
      ),
    );
  }
}

// ---- situation queue ----

type QueueTab = "open" | "handling" | "resolved";
const TAB_STATUSES: Record<QueueTab, SituationStatus[]> = {
  open: ["open"],
  handling: ["acknowledged", "in_progress"],
  resolved: ["resolved"],
};

export class SituationQueue {
  readonly element: HTMLElement;
  private readonly title = h("h2", { class: "tile-title", id: "queue-title" });
  private readonly tabs = h("div", { class: "tabs", role: "group" });
  private readonly list = h("ol", { class: "situation-list", "data-testid": "situation-list", "aria-labelledby": "queue-title" });
  private readonly empty = h("p", { class: "tile-foot" });
  private readonly card = h("section", { class: "situation-card", "data-testid": "situation-detail", hidden: "" });
  private tab: QueueTab = "open";
  private openId: number | null = null;
  private detail: SituationDetail | null = null;
  private loading = 0;
  private message = "";

  constructor(
    private readonly situations: SituationStore,
    private readonly username: () => string,
    private readonly onLocate: (id: number) => void,
  ) {
    this.element = h("section", { class: "panel panel-queue", "data-testid": "queue" }, this.title, this.tabs, this.list, this.empty, this.card);
    this.tabs.addEventListener("click", (ev) => {
      const b = ev.target instanceof Element ? ev.target.closest<HTMLElement>("[data-tab]") : null;
      if (b === null) return;
      this.tab = b.dataset["tab"] as QueueTab;
      this.render();
    });
    this.list.addEventListener("click", (ev) => {
      const b = ev.target instanceof Element ? ev.target.closest<HTMLElement>("[data-id]") : null;
      if (b === null) return;
      const id = Number(b.dataset["id"]);
      this.open(this.openId === id ? null : id);
    });
    this.card.addEventListener("click", (ev) => void this.onCardClick(ev));
    this.card.addEventListener("change", (ev) => void this.onCardChange(ev));
    this.card.addEventListener("submit", (ev) => void this.onCardSubmit(ev));
  }

  open(id: number | null): void {
    this.openId = id;
    this.detail = null;
    this.message = "";
    if (id !== null) {
      this.onLocate(id);
      void this.load(id);
    }
    this.render();
  }

  private async load(id: number): Promise<void> {
    const ticket = ++this.loading;
    try {
      const detail = await fetchSituation(id, lang());
      if (ticket !== this.loading || this.openId !== id) return;
      this.detail = detail;
      if (detail !== null) this.situations.update(detail.summary);
    } catch (err) {
      if (ticket === this.loading) this.message = t("situationLoadFailed");
      console.warn("situation detail", err);
    }
    this.render();
  }

  /** A change arrived on the live stream: refresh the open card if it is about that situation. */
  changed(id: number): void {
    if (id === this.openId) void this.load(id);
  }

  render(): void {
    setText(this.title, t("queueTitle"));
    const counts: Record<QueueTab, number> = { open: 0, handling: 0, resolved: 0 };
    for (const tab of Object.keys(TAB_STATUSES) as QueueTab[]) counts[tab] = this.situations.list(TAB_STATUSES[tab]).length;
    replaceChildren(
      this.tabs,
      ...(Object.keys(TAB_STATUSES) as QueueTab[]).map((tab) =>
        h(
          "button",
          { type: "button", class: "tab", "data-tab": tab, "data-testid": `queue-tab-${tab}`, "aria-pressed": tab === this.tab ? "true" : "false" },
          `${t(`tab_${tab}` as StringKey)} `,
          h("b", { "data-value": String(counts[tab]) }, String(counts[tab])),
        ),
      ),
    );
    const items = this.situations.list(TAB_STATUSES[this.tab]);
    this.list.dataset["tab"] = this.tab;
    replaceChildren(
      this.list,
      ...items.map((s) =>
        h(
          "li",
          { "data-testid": "situation-row", "data-id": String(s.id), "data-status": s.status, "data-severity": s.severity },
          h(
            "button",
            { type: "button", class: `situation-row sev-${s.severity}`, "data-id": String(s.id), "aria-expanded": s.id === this.openId ? "true" : "false" },
            h("span", { class: "sev-badge" }, severityLabel(s.severity)),
            s.escalated ? h("span", { class: "escalated", title: t("escalated") }, "▲") : null,
            h("span", { class: "situation-title" }, s.title || situationTypeLabel(s.type)),
            h("span", { class: "situation-meta" }, `${districtNameOf(s.district)} · ${clockTime(s.openedAt)}${s.assignee ? ` · ${s.assignee}` : ""}${s.conditionCleared ? ` · ${t("conditionCleared")}` : ""}`),
          ),
        ),
      ),
    );
    this.empty.hidden = items.length > 0;
    setText(this.empty, this.situations.received ? t("noSituations") : t("situationsUnavailable"));
    this.renderCard();
  }

  private renderCard(): void {
    const s = this.openId === null ? null : (this.situations.get(this.openId) ?? this.detail?.summary ?? null);
    this.card.hidden = s === null;
    if (s === null) {
      this.card.replaceChildren();
      return;
    }
    // Live changes rebuild the card: keep what the operator is typing, and where.
    const sameCard = this.card.dataset["id"] === String(s.id);
    const typed = sameCard ? this.card.querySelector<HTMLTextAreaElement>("#comment-input")?.value ?? "" : "";
    const assignee = sameCard ? this.card.querySelector<HTMLInputElement>("#assign-input")?.value : undefined;
    const focused = this.card.contains(document.activeElement) ? document.activeElement?.id : undefined;
    this.card.dataset["id"] = String(s.id);
    this.card.dataset["status"] = s.status;
    const action = (name: SituationAction, label: StringKey, enabled: boolean): HTMLElement | null =>
      enabled ? h("button", { type: "button", class: "action", "data-action": name, "data-testid": `action-${name}` }, t(label)) : null;
    const d = this.detail;
    replaceChildren(
      this.card,
      h(
        "header",
        { class: "detail-head" },
        h("h3", { class: "detail-title" }, s.title || situationTypeLabel(s.type)),
        h("button", { type: "button", class: "close-button", "data-action": "close-card", "aria-label": t("close") }, "×"),
      ),
      h(
        "p",
        { class: "detail-sub" },
        `${severityLabel(s.severity)} · ${t(`st_${s.status}` as StringKey)} · ${districtNameOf(s.district)} · ${stamp(new Date(s.openedAt).toISOString())}`,
        s.acknowledgedBy ? ` · ${t("ackBy", { who: s.acknowledgedBy })}` : "",
        s.assignee ? ` · ${t("assignedTo", { who: s.assignee })}` : "",
      ),
      h(
        "div",
        { class: "actions" },
        action("acknowledge", "actAcknowledge", s.status === "open"),
        action("start", "actStart", s.status === "open" || s.status === "acknowledged"),
        action("resolve", "actResolve", s.status !== "resolved"),
        action("close", "actClose", s.status === "resolved"),
      ),
      h(
        "form",
        { class: "inline-form", "data-form": "assign" },
        h("label", { for: "assign-input", class: "sr-only" }, t("assignLabel")),
        h("input", { id: "assign-input", name: "assignee", class: "control", "data-testid": "assign-input", placeholder: t("assignLabel"), value: s.assignee ?? this.username() }),
        h("button", { type: "submit", class: "action", "data-testid": "action-assign" }, t("actAssign")),
      ),
      d === null
        ? h("p", { class: "tile-foot" }, this.message || t("loading"))
        : h(
            "div",
            { class: "card-body" },
            d.checklist.length > 0
              ? h(
                  "fieldset",
                  { class: "checklist", "data-testid": "checklist" },
                  h("legend", {}, t("checklist")),
                  ...d.checklist.map((c) => {
                    const box = h("input", { type: "checkbox", id: `chk-${c.id}`, "data-item": String(c.id), "data-testid": "checklist-item" });
                    box.checked = c.done;
                    return h("div", { class: "check" }, box, h("label", { for: `chk-${c.id}` }, c.text, c.doneBy ? h("small", {}, ` (${c.doneBy})`) : null));
                  }),
                )
              : null,
            d.evidence.length > 0 ? h("details", { class: "evidence" }, h("summary", {}, t("evidence")), h("ul", {}, ...d.evidence.slice(0, 20).map((e) => h("li", {}, e)))) : null,
            h(
              "ol",
              { class: "history", "data-testid": "situation-history" },
              ...[...d.history, ...d.comments]
                .sort((a, b) => a.at - b.at)
                .slice(-30)
                .map((e) => h("li", {}, h("time", {}, clockTime(e.at)), ` ${e.actor ?? ""} `, h("b", {}, e.action), e.text ? ` ${e.text}` : "")),
            ),
          ),
      h(
        "form",
        { class: "inline-form", "data-form": "comment" },
        h("label", { for: "comment-input", class: "sr-only" }, t("commentLabel")),
        h("textarea", { id: "comment-input", name: "text", rows: "2", class: "control", "data-testid": "comment-input", placeholder: t("commentLabel") }),
        h("button", { type: "submit", class: "action", "data-testid": "action-comment" }, t("actComment")),
      ),
      this.message ? h("p", { class: "form-error", role: "alert" }, this.message) : null,
    );
    const comment = this.card.querySelector<HTMLTextAreaElement>("#comment-input");
    if (comment !== null) comment.value = typed;
    const assign = this.card.querySelector<HTMLInputElement>("#assign-input");
    if (assign !== null && assignee !== undefined) assign.value = assignee;
    if (focused) document.getElementById(focused)?.focus();
  }

  private async act(task: () => Promise<void>): Promise<void> {
    const id = this.openId;
    if (id === null) return;
    this.message = "";
    try {
      await task();
      await this.load(id);
    } catch (err) {
      this.message = `${t("actionFailed")}: ${err instanceof Error ? err.message : String(err)}`;
      this.render();
    }
  }

  private async onCardClick(ev: Event): Promise<void> {
    const b = ev.target instanceof Element ? ev.target.closest<HTMLElement>("button[data-action]") : null;
    const name = b?.dataset["action"];
    const id = this.openId;
    if (name === undefined || id === null) return;
    if (name === "close-card") {
      this.open(null);
      return;
    }
    await this.act(() => situationAction(id, name as SituationAction));
  }

  private async onCardChange(ev: Event): Promise<void> {
    const box = ev.target instanceof HTMLInputElement && ev.target.dataset["item"] !== undefined ? ev.target : null;
    const id = this.openId;
    if (box === null || id === null) return;
    await this.act(() => tickChecklist(id, Number(box.dataset["item"]), box.checked));
  }

  private async onCardSubmit(ev: Event): Promise<void> {
    ev.preventDefault();
    const form = ev.target instanceof HTMLFormElement ? ev.target : null;
    const id = this.openId;
    if (form === null || id === null) return;
    const data = new FormData(form);
    if (form.dataset["form"] === "assign") {
      const who = String(data.get("assignee") ?? "").trim();
      if (who !== "") await this.act(() => assignSituation(id, who));
    } else {
      const text = String(data.get("text") ?? "").trim();
      if (text === "") return;
      await this.act(() => commentSituation(id, text));
      const box = this.card.querySelector<HTMLTextAreaElement>("#comment-input");
      if (box !== null && this.message === "") box.value = "";
    }
  }
}
