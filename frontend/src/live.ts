// The /ws/live connection: reconnects by itself with capped, jittered
// exponential backoff, and treats 45 s without any message (not even a
// heartbeat) as a dead connection. It pings now and then: each pong carries
// the server's time, which a busy connection (no heartbeats) would not. One socket at a time; the old socket's
// handlers are detached before a new one is opened, so nothing leaks.

import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff";
import { parseServerMessage } from "./parse";
import type { ServerMessage } from "./types";

export type ConnectionState = "connecting" | "live" | "reconnecting";

export interface LiveOptions {
  backoff: BackoffOptions;
  /** No message at all for this long: the connection is dead. */
  silenceMs: number;
  /** Socket still not open after this long: give up on this attempt. */
  openTimeoutMs: number;
  /** A connection that stayed live this long resets the backoff. */
  stableMs: number;
  /** Ping the server this often (its pong tells the server's time). */
  pingMs: number;
}

export const DEFAULT_LIVE_OPTIONS: LiveOptions = {
  backoff: DEFAULT_BACKOFF,
  silenceMs: 45_000,
  openTimeoutMs: 15_000,
  stableMs: 10_000,
  pingMs: 10_000,
};

export interface LiveHandlers {
  /** A new socket is open; fresh snapshots will follow. */
  onOpen(): void;
  /** The server refused the token (close code 1008): refresh it before the next attempt. */
  onRefused?(): void;
  onMessage(msg: ServerMessage): void;
  /** `retryInMs` is set while waiting to reconnect. */
  onState(state: ConnectionState, retryInMs: number | null): void;
}

export class LiveConnection {
  private ws: WebSocket | null = null;
  private state: ConnectionState = "connecting";
  private attempt = 0;
  private startedAt = 0;
  private liveSince: number | null = null;
  private lastMessageAt = 0;
  private lastPingAt = 0;
  private pings = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private running = false;
  private readonly opts: LiveOptions;

  constructor(
    /** Called before every attempt, so a reconnect carries a fresh access token. */
    private readonly url: () => string,
    private readonly handlers: LiveHandlers,
    opts: Partial<LiveOptions> = {},
  ) {
    this.opts = { ...DEFAULT_LIVE_OPTIONS, ...opts };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    window.addEventListener("online", this.onOnline);
    this.watchdog = setInterval(this.checkAlive, 1_000);
    this.setState("connecting", null);
    this.open();
  }

  stop(): void {
    this.running = false;
    window.removeEventListener("online", this.onOnline);
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.watchdog = null;
    this.clearRetry();
    this.dropSocket(1000, "client stopping");
  }

  private open(): void {
    this.clearRetry();
    this.dropSocket(1000, "replaced");
    this.startedAt = Date.now();
    this.lastMessageAt = this.startedAt;
    this.liveSince = null;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url());
    } catch (err) {
      console.warn("WebSocket could not be created", err);
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastMessageAt = Date.now();
      this.lastPingAt = this.lastMessageAt;
      this.handlers.onOpen();
    };
    ws.onmessage = (ev: MessageEvent) => {
      this.lastMessageAt = Date.now();
      if (typeof ev.data !== "string") return;
      const msg = parseServerMessage(ev.data);
      if (msg === null) return;
      if (this.liveSince === null) this.liveSince = this.lastMessageAt;
      if (this.state !== "live") this.setState("live", null);
      this.handlers.onMessage(msg);
    };
    ws.onerror = () => {
      // A close event always follows; reconnecting happens there.
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      if (ev.code === 1008) this.handlers.onRefused?.();
      this.lost();
    };
  }

  /** Send a client message if the socket is open; returns whether it was sent. */
  send(message: unknown): boolean {
    const ws = this.ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(message));
    return true;
  }

  /** Drop the socket and connect again at once (e.g. after signing in as someone else). */
  reconnect(): void {
    if (!this.running) return;
    this.attempt = 0;
    this.open();
  }

  /** Forget the current socket: detach its handlers, then close it. */
  private dropSocket(code: number, reason: string): void {
    const ws = this.ws;
    if (ws === null) return;
    this.ws = null;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onerror = null;
    ws.onclose = null;
    try {
      ws.close(code, reason);
    } catch {
      // Already closing or closed.
    }
  }

  private lost(): void {
    const now = Date.now();
    const wasStable = this.liveSince !== null && now - this.liveSince >= this.opts.stableMs;
    this.attempt = wasStable ? 0 : this.attempt + 1;
    this.dropSocket(1000, "lost");
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.running) return;
    this.clearRetry();
    const wait = backoffDelay(Math.max(0, this.attempt - 1), this.opts.backoff);
    this.setState("reconnecting", wait);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, wait);
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private readonly checkAlive = (): void => {
    const ws = this.ws;
    if (ws === null) return;
    const now = Date.now();
    if (ws.readyState === WebSocket.CONNECTING && now - this.startedAt > this.opts.openTimeoutMs) {
      this.lost();
    } else if (ws.readyState === WebSocket.OPEN && now - this.lastMessageAt > this.opts.silenceMs) {
      console.warn(`no message for ${this.opts.silenceMs} ms; reconnecting`);
      this.lost();
    } else if (ws.readyState === WebSocket.OPEN && now - this.lastPingAt >= this.opts.pingMs) {
      this.lastPingAt = now;
      this.pings += 1;
      this.send({ type: "ping", nonce: this.pings });
    }
  };

  private readonly onOnline = (): void => {
    // The network came back: do not sit out the rest of a long backoff.
    if (this.retryTimer !== null) this.open();
  };

  private setState(state: ConnectionState, retryInMs: number | null): void {
    this.state = state;
    this.handlers.onState(state, retryInMs);
  }
}
