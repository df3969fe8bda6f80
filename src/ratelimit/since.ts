/** "90m", "24h", "7d", "2w" → that long before `now`; null when the text is not such a duration. */
export function parseSince(text: string, now = Date.now()): Date | null {
  const m = /^(\d{1,6})([smhdw])$/.exec(text.trim());
  if (!m) return null;
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return new Date(now - Number(m[1]) * unit * 1000);
}
