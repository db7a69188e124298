// The signed-in session: access token in memory, refresh token in
// localStorage (so a wall screen signs in once), the access token refreshed
// before it expires, and every API call made through authFetch(). A server
// without the /api/auth routes runs "open": no sign-in, every view shown.

import { backoffDelay } from "./backoff";
import { isObj, num, str } from "./json";

export type Role = "viewer" | "operator" | "planner" | "admin";
export const ROLES: readonly Role[] = ["viewer", "operator", "planner", "admin"];

export interface User {
  username: string;
  role: Role;
}

export type AuthState = "unknown" | "signed-out" | "signed-in" | "open";

const REFRESH_KEY = "ioc.refresh";
const TIMEOUT_MS = 20_000;
/** Refresh this long before the access token expires (or at 80 % of its life if shorter). */
const REFRESH_MARGIN_MS = 60_000;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function parseRole(x: unknown): Role {
  return typeof x === "string" && (ROLES as readonly string[]).includes(x) ? (x as Role) : "viewer";
}

interface Grant {
  access: string;
  refresh: string;
  expiresInMs: number;
  user: User;
}

function parseGrant(x: unknown): Grant | null {
  if (!isObj(x)) return null;
  const access = str(x["access_token"]);
  const refresh = str(x["refresh_token"]);
  const user = isObj(x["user"]) ? x["user"] : {};
  if (access === null || refresh === null) return null;
  return {
    access,
    refresh,
    expiresInMs: (num(x["expires_in"]) ?? 900) * 1000,
    user: { username: str(user["username"]) ?? "", role: parseRole(user["role"]) },
  };
}

function readStored(): string | null {
  try {
    return window.localStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function store(token: string | null): void {
  try {
    if (token === null) window.localStorage.removeItem(REFRESH_KEY);
    else window.localStorage.setItem(REFRESH_KEY, token);
  } catch {
    // Kiosk profiles may refuse storage: the session then lasts as long as the page.
  }
}

async function postJson(path: string, body: unknown): Promise<Response> {
  return fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
    cache: "no-store",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
}

export class Auth {
  state: AuthState = "unknown";
  user: User | null = null;
  private access: string | null = null;
  private refreshToken: string | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private refreshing: Promise<boolean> | null = null;

  constructor(private readonly onChange: (state: AuthState) => void) {
    // Another tab of the same browser rotated the refresh token: use the new one.
    window.addEventListener("storage", (ev) => {
      if (ev.key === REFRESH_KEY && ev.newValue !== null) this.refreshToken = ev.newValue;
    });
  }

  /** Resume a stored session, or find out whether this server asks for a sign-in. */
  async init(): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        this.refreshToken = readStored();
        if (this.refreshToken !== null && (await this.refresh())) return;
        const probe = await fetch("/api/auth/me", { cache: "no-store", signal: AbortSignal.timeout(TIMEOUT_MS) });
        if (probe.status === 404) {
          this.user = { username: "", role: "admin" };
          this.set("open");
        } else {
          this.set("signed-out");
        }
        return;
      } catch (err) {
        const wait = backoffDelay(attempt);
        console.warn(`sign-in check failed; retrying in ${wait} ms`, err);
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /** "ok", "refused" (bad credentials) or "unavailable" (server or network). */
  async login(username: string, password: string): Promise<"ok" | "refused" | "unavailable"> {
    let res: Response;
    try {
      res = await postJson("/api/auth/login", { username, password });
    } catch {
      return "unavailable";
    }
    if (res.status === 401 || res.status === 403 || res.status === 422) return "refused";
    const grant = res.ok ? parseGrant(await res.json().catch(() => null)) : null;
    if (grant === null) return "unavailable";
    this.accept(grant);
    return "ok";
  }

  async logout(): Promise<void> {
    const token = this.refreshToken;
    this.clear();
    this.set("signed-out");
    if (token !== null) await postJson("/api/auth/logout", { refresh_token: token }).catch(() => undefined);
  }

  /** The access token for the WebSocket's `?token=` (null when the server runs open). */
  token(): string | null {
    return this.access;
  }

  /** Refresh now (a WebSocket was refused); resolves to whether the session is still valid. */
  refreshNow(): Promise<boolean> {
    if (this.state !== "signed-in") return Promise.resolve(this.state === "open");
    return this.refresh();
  }

  /** fetch() with the access token; a 401 refreshes once and retries, then signs out. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const send = (): Promise<Response> => {
      const headers = new Headers(init.headers);
      if (!headers.has("Accept")) headers.set("Accept", "application/json");
      if (this.access !== null) headers.set("Authorization", `Bearer ${this.access}`);
      return fetch(path, { cache: "no-store", signal: AbortSignal.timeout(TIMEOUT_MS), ...init, headers });
    };
    let res = await send();
    if (res.status === 401 && this.state === "signed-in") {
      if (await this.refresh()) res = await send();
      else this.set("signed-out");
    }
    return res;
  }

  private refresh(): Promise<boolean> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    const token = readStored() ?? this.refreshToken;
    if (token === null) return false;
    const res = await postJson("/api/auth/refresh", { refresh_token: token });
    if (res.status === 404) {
      this.clear();
      return false;
    }
    if (!res.ok) {
      if (res.status >= 500) throw new HttpError(res.status, `refresh: HTTP ${res.status}`);
      // Refused. If another tab rotated the token meanwhile, try once with the new one.
      const newer = readStored();
      if (newer !== null && newer !== token) return this.doRefresh();
      this.clear();
      return false;
    }
    const grant = parseGrant(await res.json());
    if (grant === null) return false;
    this.accept(grant);
    return true;
  }

  private accept(grant: Grant): void {
    this.access = grant.access;
    this.refreshToken = grant.refresh;
    this.user = grant.user;
    store(grant.refresh);
    this.schedule(grant.expiresInMs);
    this.set("signed-in");
  }

  private schedule(expiresInMs: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    const wait = Math.max(5_000, Math.min(expiresInMs - REFRESH_MARGIN_MS, expiresInMs * 0.8));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refresh().then(
        (ok) => {
          if (!ok) this.set("signed-out");
        },
        // Server unreachable: keep the session and try again shortly.
        () => this.schedule(Math.max(30_000, REFRESH_MARGIN_MS + 30_000)),
      );
    }, wait);
  }

  private clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.access = null;
    this.refreshToken = null;
    this.user = null;
    store(null);
  }

  private set(state: AuthState): void {
    const changed = state !== this.state;
    this.state = state;
    if (changed || state === "signed-in") this.onChange(state);
  }
}

/** The views a role may open, in navigation order. */
export type ViewName = "wall" | "operator" | "planner";

export function viewsFor(role: Role): ViewName[] {
  switch (role) {
    case "admin":
      return ["wall", "operator", "planner"];
    case "operator":
      return ["wall", "operator"];
    case "planner":
      return ["wall", "planner"];
    case "viewer":
      return ["wall"];
  }
}
