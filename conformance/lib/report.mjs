// Writes docs/COMPATIBILITY.md from the suite's last run. The file holds nothing run-specific (no
// date, duration, port, marker or id), so CI can regenerate it and fail when the committed one
// differs (`npm run conformance -- --check`): it changes only when results do.

// Run-specific tokens (markers, event ids, run id) are replaced so the file only changes when results do.
const clean = (s) =>
  String(s)
    .replace(/\bm[0-9a-f]{14}\b/g, '<marker>')
    .replace(/\b[0-9a-f]{32}\b/g, '<event-id>')
    .replace(/@[0-9a-f]{6}\b/g, '@<run>')
    .replace(/(conformance-[a-z-]+?)-[0-9a-f]{6}\b/g, '$1-<run>');
const esc = (s) => clean(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const SYMBOL = { pass: '✅ pass', fail: '❌ fail', unsupported: '➖ not supported by the SDK' };

// Cells judged partly from the recording proxy's record of the SDK's requests (what it sent, when,
// how it was encoded, what the server answered), beside what the API reads back.
export const FROM_PROXY = {
  transaction: 'the proxy saw the transaction or span items accepted; the API (stats_v2) counts accepted ones, but no read API finds a transaction by name yet',
  client_report: 'the proxy saw the client_report item; the API (stats_v2) shows its client_discard outcome',
  compression: 'the Content-Encoding is what the proxy saw; the API reads the large event back whole',
  ratelimit: 'that the SDK sent nothing during the back-off is judged from the proxy\'s timing of its requests; the API (stats_v2) shows the refusals as rate_limited',
};

export function reportText({ sdks, features, cells, serverVersion }) {
  const lines = [];
  lines.push('# SDK compatibility');
  lines.push('');
  lines.push('Written by the conformance suite (`npm run conformance`, see `conformance/`) from its last run — do not edit by hand.');
  lines.push(`crash-cache ${serverVersion}. CI (\`.ci/run\`) runs the suite and fails when this file is not what the run wrote.`);
  lines.push('');
  lines.push('Each SDK runs as a small real application (`conformance/apps/<sdk>/`) against a real server on PostgreSQL;');
  lines.push('each cell is then checked through the read API (`/api/0/`) for what a user would see — the issue\'s title and');
  lines.push('culprit, the frames, the release\'s health, the attachment\'s bytes, the feedback\'s text — not just an HTTP 200.');
  lines.push('');
  lines.push('✅ pass: checked through the API as described under Details. ❌ fail: the reason is under Details; "(known)"');
  lines.push('marks failures the suite expects today (`conformance/known-failures.mjs`), which do not fail CI. ➖: the SDK itself');
  lines.push('does not offer the feature. †: judged partly from the recording proxy\'s record of the SDK\'s requests, not only');
  lines.push('through the API (see the notes below the table).');
  lines.push('');
  const head = ['Feature', ...sdks.map((s) => `${s.label} ${s.version ?? ''}`.trim())];
  lines.push(`| ${head.map(esc).join(' | ')} |`);
  lines.push(`|${head.map(() => '---').join('|')}|`);
  for (const [fid, flabel] of features) {
    const row = [FROM_PROXY[fid] ? `${flabel} †` : flabel];
    for (const s of sdks) {
      const c = cells.get(`${s.id}:${fid}`);
      row.push(c ? (c.status === 'fail' && c.known ? '❌ fail (known)' : SYMBOL[c.status]) : '');
    }
    lines.push(`| ${row.map(esc).join(' | ')} |`);
  }
  lines.push('');
  for (const [fid, flabel] of features) if (FROM_PROXY[fid]) lines.push(`† ${flabel}: ${FROM_PROXY[fid]}.  `);
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
  return lines.join('\n');
}
