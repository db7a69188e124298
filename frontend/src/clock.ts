// The wall clock, in the city's time zone. It follows the server's clock once
// the live feed reports one (a wall PC's own clock may be off, and the city
// may run on a simulated clock, faster than real time).

import { h, setText } from "./dom";
import { clockDate, clockTime } from "./format";
import { ServerClock } from "./serverClock";

export class Clock {
  readonly element: HTMLElement;
  private readonly timeEl: HTMLElement;
  private readonly dateEl: HTMLElement;
  private readonly server = new ServerClock();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor() {
    this.timeEl = h("span", { class: "clock-time" });
    this.dateEl = h("span", { class: "clock-date" });
    this.element = h("div", { class: "clock", "data-testid": "clock" }, this.timeEl, this.dateEl);
  }

  start(): void {
    if (this.timer === null) this.tick();
  }

  /** A `server_time` from a hello (`first`), heartbeat or pong. */
  syncTo(serverMs: number, first = false): void {
    this.server.sync(serverMs, first);
  }

  /** The server's time, in ms since the epoch. */
  now(): number {
    return this.server.now();
  }

  render(): void {
    const now = this.server.now();
    setText(this.timeEl, clockTime(now));
    setText(this.dateEl, clockDate(now));
  }

  private readonly tick = (): void => {
    this.render();
    const rate = this.server.rate;
    // Re-arm on the next second boundary, so the clock never drifts; a time-lapse
    // moves on every real second.
    const wait = rate === 1 ? 1_000 - (this.server.now() % 1_000) + 5 : 1_000;
    this.timer = setTimeout(this.tick, wait);
  };
}
