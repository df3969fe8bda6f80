// Writes docs/COMPATIBILITY.md from the suite's last run.
import { writeFileSync } from 'node:fs';

// Run-specific tokens (markers, event ids, run id) are replaced so the file only changes when results do.
const clean = (s) =>
  String(s)
    .replace(/\bm[0-9a-f]{14}\b/g, '<marker>')
    .replace(/\b[0-9a-f]{32}\b/g, '<event-id>')
    .replace(/@[0-9a-f]{6}\b/g, '@<run>')
    .replace(/(conformance-[a-z-]+?)-[0-9a-f]{6}\b/g, '$1-<run>');
const esc = (s) => clean(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const SYMBOL = { pass: '✅ pass', fail: '❌ fail', unsupported: '➖ not supported by the SDK' };

export function writeReport(path, { sdks, features, cells, startedAt, seconds, serverVersion }) {
  const lines = [];
  lines.push('# SDK compatibility');
  lines.push('');
  lines.push('Written by the conformance suite (`npm run conformance`, see `conformance/`) from its last run — do not edit by hand.');
  lines.push(`Last run: ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')}, crash-cache ${serverVersion}, ${seconds.toFixed(0)} s.`);
  lines.push('');
  lines.push('Each SDK runs as a small real application (`conformance/apps/<sdk>/`) against a real server on PostgreSQL;');
  lines.push('each cell is then checked through the read API (`/api/0/`) for what a user would see — the issue\'s title and');
  lines.push('culprit, the frames, the release\'s health, the attachment\'s bytes, the feedback\'s text — not just an HTTP 200.');
  lines.push('');
  lines.push('✅ pass: checked through the API as described under Details. ❌ fail: the reason is under Details; "(known)"');
  lines.push('marks failures the suite expects today (`conformance/known-failures.mjs`), which do not fail CI. ➖: the SDK itself');
  lines.push('does not offer the feature.');
  lines.push('');
  const head = ['Feature', ...sdks.map((s) => `${s.label} ${s.version ?? ''}`.trim())];
  lines.push(`| ${head.map(esc).join(' | ')} |`);
  lines.push(`|${head.map(() => '---').join('|')}|`);
  for (const [fid, flabel] of features) {
    const row = [flabel];
    for (const s of sdks) {
      const c = cells.get(`${s.id}:${fid}`);
      row.push(c ? (c.status === 'fail' && c.known ? '❌ fail (known)' : SYMBOL[c.status]) : '');
    }
    lines.push(`| ${row.map(esc).join(' | ')} |`);
  }
  lines.push('');
  lines.push('## Details');
  for (const s of sdks) {
    lines.push('');
    lines.push(`### ${s.label} ${s.version ?? ''}`);
    if (s.transport) lines.push(`Transport seen: ${s.transport}.`);
    lines.push('');
    lines.push('| Feature | Result | What was checked / why not |');
    lines.push('|---|---|---|');
    for (const [fid, flabel] of features) {
      const c = cells.get(`${s.id}:${fid}`);
      if (!c) continue;
      const why = c.status === 'fail' && c.known ? `${c.note} (known: ${c.known})` : c.note;
      lines.push(`| ${esc(flabel)} | ${SYMBOL[c.status]} | ${esc(why ?? '')} |`);
    }
  }
  lines.push('');
  writeFileSync(path, lines.join('\n'));
}
