// The wall clock, in the city's time zone. It follows the server's clock when
// the live feed reports one (a wall PC's own clock may be off).

import { h, setText } from "./dom";
import { clockDate, clockTime } from "./format";

export class Clock {
  readonly element: HTMLElement;
  private readonly timeEl: HTMLElement;
  private readonly dateEl: HTMLElement;
  private offsetMs = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor() {
    this.timeEl = h("span", { class: "clock-time" });
    this.dateEl = h("span", { class: "clock-date" });
    this.element = h("div", { class: "clock", "data-testid": "clock" }, this.timeEl, this.dateEl);
  }

  start(): void {
    if (this.timer === null) this.tick();
  }

  /** Server time minus local time, from a hello or heartbeat. */
  syncTo(serverMs: number): void {
    const offset = serverMs - Date.now();
    // Ignore sub-second differences: they are network latency, not skew.
    this.offsetMs = Math.abs(offset) < 1_000 ? 0 : offset;
  }

  /** The server-corrected time, in ms since the epoch. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  render(): void {
    const now = Date.now() + this.offsetMs;
    setText(this.timeEl, clockTime(now));
    setText(this.dateEl, clockDate(now));
  }

  private readonly tick = (): void => {
    this.render();
    const now = Date.now() + this.offsetMs;
    // Re-arm on the next second boundary, so the clock never drifts.
    this.timer = setTimeout(this.tick, 1_000 - (now % 1_000) + 5);
  };
}
