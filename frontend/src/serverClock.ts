// The server's clock, as the browser can know it: the last `server_time`
// (hello, heartbeat, pong) moved on by the time elapsed locally since, at the
// rate the server's clock runs. A demo may run the city faster than real time
// (IOC_CLOCK__SPEED), so the rate is measured between frames of one
// connection rather than assumed to be 1. The browser's own date never counts
// once the server has spoken: a wall PC's clock may be off, and the city may
// run on a simulated clock.

/** Frames closer together than this (local ms) are too close to measure the rate by. */
const RATE_BASELINE_MS = 5_000;
/** The fastest time-lapse the server allows (feeds.clock.MAX_SPEED). */
const MAX_RATE = 60;
/** A measured rate this close to 1 is real time; the difference is network jitter. */
const REAL_TIME_TOLERANCE = 0.05;
/** At real speed, a difference under this is latency, not skew: the clock is not moved. */
const STEADY_MS = 1_000;

interface Sample {
  server: number;
  local: number;
}

export class ServerClock {
  /** The frame the time is extrapolated from. */
  private base: Sample | null = null;
  /** The first frame of the connection, the far end of the rate's baseline. */
  private anchor: Sample | null = null;
  private speed = 1;

  constructor(
    /** A monotonic local counter in ms (elapsed time only). */
    private readonly local: () => number = () => performance.now(),
    /** The browser's date, used only until the server has given its time. */
    private readonly browserDate: () => number = () => Date.now(),
  ) {}

  /** Server ms per local ms (1 in real time, up to 60 in a time-lapse). */
  get rate(): number {
    return this.speed;
  }

  /** A `server_time` (epoch ms); `first` for a connection's hello (the server may have restarted on another clock). */
  sync(serverMs: number, first = false): void {
    const at = this.local();
    if (first || this.anchor === null) {
      this.anchor = { server: serverMs, local: at };
    } else if (at - this.anchor.local >= RATE_BASELINE_MS) {
      const measured = (serverMs - this.anchor.server) / (at - this.anchor.local);
      this.speed = Math.abs(measured - 1) < REAL_TIME_TOLERANCE ? 1 : Math.min(MAX_RATE, Math.max(0, measured));
    }
    if (!first && this.base !== null && this.speed === 1 && Math.abs(this.now() - serverMs) < STEADY_MS) return;
    this.base = { server: serverMs, local: at };
  }

  /** The server's time now, in epoch ms. */
  now(): number {
    if (this.base === null) return this.browserDate();
    return this.base.server + (this.local() - this.base.local) * this.speed;
  }
}
