const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** "120s", "10m", "1h30m", "500ms" or a bare number of milliseconds → milliseconds. */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') return text;
  const trimmed = text.trim().toLowerCase();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new Error(`"${text}" is not a duration (use e.g. 500ms, 30s, 10m, 1h)`);
  }
  return Math.round(parts.reduce((sum, [, n, unit]) => sum + Number(n) * DURATION_UNITS[unit], 0));
}

/** "25mb", "512m", "1g", "1024" (bytes) → bytes. */
export function parseSize(text: string | number): number {
  if (typeof text === 'number') return text;
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?b?)$/i.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a size (use e.g. 512mb, 1gb, 25mb)`);
  let unit = match[2].toLowerCase() || 'b';
  if (unit.length === 1 && unit !== 'b') unit += 'b';
  return Math.round(Number(match[1]) * SIZE_UNITS[unit]);
}
