import type { ProjectBacklog } from '../queue/backlog.js';
import { html } from './html.js';

// The notice above a project's issue list when what it shows lags what was accepted: payloads waiting
// for the digest longer than BACKLOG_NOTICE_SECS (a running digest takes one from ingest to the list
// in ~0.1 s: send → visible p95 65 ms at 100 events/s, BENCHMARKS.md), or payloads it gave up on.

/** A payload waiting this long means a backlog (or a retry), not the digest's normal delay. */
export const BACKLOG_NOTICE_SECS = 30;

/** "1 payload", "3 payloads", "more than 100,000 payloads", and the words that agree with it. */
function counted(n: number, capped: boolean) {
  const one = n === 1 && !capped;
  return { text: `${capped ? 'more than ' : ''}${n.toLocaleString('en')} ${one ? 'payload' : 'payloads'}`, is: one ? 'is' : 'are', it: one ? 'it' : 'them' };
}

/** "45 s", "12 min", "3 h 5 min". */
export function age(secs: number): string {
  const s = Math.floor(secs);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  const m = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600)} h${m ? ` ${m} min` : ''}`;
}

export function backlogNotice(b: ProjectBacklog) {
  const waiting = b.oldestSecs !== null && b.oldestSecs >= BACKLOG_NOTICE_SECS;
  if (!waiting && !b.failed) return '';
  const q = counted(b.queued, b.queuedCapped);
  const f = counted(b.failed, b.failedCapped);
  return html`<div class="notice" role="status" id="backlog-notice">${waiting
    ? html`<p>${q.text} received for this project ${q.is} waiting to be processed, the oldest for ${age(b.oldestSecs!)}: the issues below do not count ${q.it} yet.${b.retrying
      ? html` ${counted(b.retrying, false).text} of ${q.it} failed to process and ${b.retrying === 1 ? 'waits' : 'wait'} for another attempt: <code>crash-cache-cli queue errors</code> says why.`
      : ''}</p>`
    : ''}${b.failed
    ? html`<p>${f.text} of this project could not be processed: <code>crash-cache-cli queue errors</code> says why, and <code>crash-cache-cli queue retry</code> processes ${f.it} again.</p>`
    : ''}</div>`;
}
