import type { DeliveryResult } from './deliveries.js';

// One webhook POST with a deadline covering connect, send and the whole answer. 2xx is success;
// anything else (another status, a redirect — not followed, a POST must not turn into a GET —, a
// network error, the deadline) is a failure whose reason is kept as the alert's last error.

const MAX_ERROR_BODY = 300;

export async function postWebhook(url: string, payload: unknown, timeoutMs: number, deliveryId: number): Promise<DeliveryResult> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'crash-cache',
        // the same on every attempt of one alert: a receiver can drop a repeat (after a crash between
        // its answer and our record of it, an alert is sent again)
        'X-Crash-Cache-Delivery': String(deliveryId),
      },
      body: JSON.stringify(payload),
      redirect: 'manual',
      signal: ac.signal,
    });
    const body = await res.text();
    if (res.status >= 200 && res.status < 300) return { ok: true, httpStatus: res.status, error: null, payload };
    const loc = res.headers.get('location');
    const detail = loc && res.status >= 300 && res.status < 400 ? ` (redirect to ${loc} not followed)` : body ? `: ${body.replace(/\s+/g, ' ').slice(0, MAX_ERROR_BODY)}` : '';
    return { ok: false, httpStatus: res.status, error: `HTTP ${res.status}${detail}`, payload };
  } catch (e) {
    if (ac.signal.aborted) return { ok: false, httpStatus: null, error: `timed out after ${timeoutMs} ms (ALERT_TIMEOUT_MS)`, payload };
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const cause = err.cause?.code ?? err.cause?.message;
    return { ok: false, httpStatus: null, error: cause ? `${err.message} (${cause})` : err.message, payload };
  } finally {
    clearTimeout(timer);
  }
}
