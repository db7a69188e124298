// Narrowing of untyped JSON values: anything of the wrong type becomes null (or []).

export type Obj = Record<string, unknown>;

export function isObj(x: unknown): x is Obj {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

export function num(x: unknown): number | null {
  return typeof x === "number" && Number.isFinite(x) ? x : null;
}

export function str(x: unknown): string | null {
  if (typeof x === "string") return x;
  if (typeof x === "number" && Number.isFinite(x)) return String(x);
  return null;
}

export function list(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}

export function time(x: unknown): number | null {
  const s = str(x);
  if (s === null) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}
