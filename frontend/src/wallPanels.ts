// The wall's situation ticker (open situations, most severe first, with counts
// per severity) and its "last 15 minutes" summary. Large type: read from
// across a room.

import type { Changes } from "./api";
import { h, replaceChildren, setAttr, setText } from "./dom";
import { clockTime } from "./format";
import { districtNameOf, t, type StringKey } from "./i18n";
import type { Severity, Situation } from "./types";
import { SEVERITIES } from "./types";

/** The ticker shows at most this many situations; the counts give the rest. */
const TICKER_ITEMS = 6;

export function severityLabel(s: Severity): string {
  return t(`sev_${s}` as StringKey);
}

export function situationTypeLabel(type: string): string {
  const key = `sit_${type}`;
  const s = t(key as StringKey);
  return s === key || s === undefined ? type.replace(/_/g, " ") : s;
}

export class Ticker {
  readonly element: HTMLElement;
  private readonly title = h("h2", { class: "ticker-title", id: "ticker-title" });
  private readonly counts = h("div", { class: "ticker-counts" });
  private readonly list = h("ol", { class: "ticker-list", "data-testid": "ticker-list" });
  private readonly empty = h("p", { class: "ticker-empty" });

  constructor() {
    this.element = h(
      "section",
      { class: "ticker", "data-testid": "ticker", "aria-labelledby": "ticker-title", "aria-live": "polite" },
      this.title,
      this.counts,
      this.list,
      this.empty,
    );
  }

  render(items: Situation[], counts: Record<Severity, number>, received: boolean, available: boolean): void {
    setText(this.title, t("tickerTitle"));
    setAttr(this.element, "data-state", !available ? "unavailable" : received ? "live" : "waiting");
    replaceChildren(
      this.counts,
      ...[...SEVERITIES].reverse().map((s) =>
        h(
          "span",
          { class: `sev-count sev-${s}`, "data-testid": `ticker-count-${s}`, "data-value": String(counts[s]) },
          h("b", {}, String(counts[s])),
          ` ${severityLabel(s)}`,
        ),
      ),
    );
    replaceChildren(
      this.list,
      ...items.slice(0, TICKER_ITEMS).map((s) =>
        h(
          "li",
          { class: `ticker-item sev-${s.severity}`, "data-testid": "ticker-item", "data-id": String(s.id), "data-severity": s.severity, "data-status": s.status },
          h("span", { class: "sev-badge" }, severityLabel(s.severity)),
          s.escalated ? h("span", { class: "escalated", title: t("escalated") }, "▲") : null,
          h("span", { class: "ticker-text" }, s.title || situationTypeLabel(s.type)),
          h("span", { class: "ticker-where" }, districtNameOf(s.district)),
          h("span", { class: "ticker-time" }, clockTime(s.openedAt)),
        ),
      ),
    );
    this.empty.hidden = items.length > 0;
    setText(this.empty, !available ? t("situationsUnavailable") : received ? t("noSituations") : t("waiting"));
  }
}

export class ChangesPanel {
  readonly element: HTMLElement;
  private readonly title = h("h2", { class: "tile-title" });
  private readonly body = h("div", { class: "changes-body" });

  constructor() {
    this.element = h("section", { class: "tile changes", "data-testid": "changes" }, this.title, this.body);
  }

  render(changes: Changes | null): void {
    setText(this.title, t("changesTitle"));
    if (changes === null) {
      replaceChildren(this.body, h("p", { class: "tile-foot" }, t("waiting")));
      return;
    }
    const figure = (key: "opened" | "escalated" | "resolved", label: StringKey): HTMLElement =>
      h(
        "div",
        { class: "metric" },
        h("span", { class: "metric-value", "data-testid": `changes-${key}`, "data-value": String(changes[key]) }, String(changes[key])),
        h("span", { class: "metric-label" }, t(label)),
      );
    const names = (codes: string[]): string => (codes.length === 0 ? "—" : codes.slice(0, 4).map(districtNameOf).join(", "));
    replaceChildren(
      this.body,
      h("div", { class: "metric-row metric-row-3" }, figure("opened", "changesOpened"), figure("escalated", "changesEscalated"), figure("resolved", "changesResolved")),
      h("p", { class: "changes-line", "data-testid": "changes-worse" }, h("span", { class: "arrow-worse", "aria-hidden": "true" }, "▼ "), `${t("changesWorse")}: ${names(changes.worse)}`),
      h("p", { class: "changes-line", "data-testid": "changes-better" }, h("span", { class: "arrow-better", "aria-hidden": "true" }, "▲ "), `${t("changesBetter")}: ${names(changes.better)}`),
    );
  }
}
