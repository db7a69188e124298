// Live-feed indicator: data-state is connecting | live | stale (socket up, but
// some feed's data lags) | reconnecting.

import { h, setAttr, setText } from "./dom";
import { t } from "./i18n";
import type { ConnectionState } from "./live";

export class ConnectionBadge {
  readonly element: HTMLElement;
  private readonly label: HTMLElement;
  private readonly detail: HTMLElement;
  private state: ConnectionState = "connecting";
  private retryAt: number | null = null;
  private countdown: ReturnType<typeof setInterval> | null = null;
  private lagging = 0;
  private feeds = 0;

  constructor() {
    this.label = h("span", { class: "conn-label" });
    // The countdown changes every second: keep it out of the live region.
    this.detail = h("span", { class: "conn-detail", "aria-hidden": "true" });
    this.element = h(
      "div",
      { class: "conn", "data-testid": "connection", "data-state": "connecting", role: "status" },
      h("span", { class: "conn-dot", "aria-hidden": "true" }),
      this.label,
      this.detail,
    );
    this.render();
  }

  set(state: ConnectionState, retryInMs: number | null): void {
    this.state = state;
    this.retryAt = retryInMs === null ? null : Date.now() + retryInMs;
    if (this.retryAt !== null && this.countdown === null) {
      this.countdown = setInterval(() => this.renderDetail(), 1_000);
    } else if (this.retryAt === null && this.countdown !== null) {
      clearInterval(this.countdown);
      this.countdown = null;
    }
    this.render();
  }

  /** How many of the wall's `feeds` lag behind their allowance. */
  setLagging(lagging: number, feeds: number): void {
    if (lagging === this.lagging && feeds === this.feeds) return;
    this.lagging = lagging;
    this.feeds = feeds;
    this.render();
  }

  render(): void {
    const stale = this.state === "live" && this.lagging > 0;
    setAttr(this.element, "data-state", stale ? "stale" : this.state);
    const key = stale
      ? "connStale"
      : this.state === "live"
        ? "connLive"
        : this.state === "connecting"
          ? "connConnecting"
          : "connReconnecting";
    setText(this.label, t(key));
    this.renderDetail();
  }

  private renderDetail(): void {
    if (this.retryAt === null) {
      const stale = this.state === "live" && this.lagging > 0;
      setText(this.detail, stale ? t("staleFeeds", { n: this.lagging, total: this.feeds }) : "");
      return;
    }
    const s = Math.max(0, Math.ceil((this.retryAt - Date.now()) / 1_000));
    setText(this.detail, t("retryIn", { s }));
  }
}
