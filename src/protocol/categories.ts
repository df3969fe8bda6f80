// The one table of envelope item types: the data category each is counted in (stats_v2, outcomes,
// the digest's item counters) and the category its rate limit is kept in (X-Sentry-Rate-Limits).
// Sentry's vocabulary (relay-base-schema DataCategory; protocol notes §8). Ingest, the digest and
// the outcome queries all read this table; nothing else maps a type to a category.

export interface ItemTypeInfo {
  /** Data category the item is counted in. Attachments count bytes here (see `itemQuantities`). */
  category: string;
  /**
   * Rate-limit category: the project's bucket the item takes a token from and the name SDKs read in
   * X-Sentry-Rate-Limits. null: never rate limited (client reports are the SDK's own bookkeeping).
   * 'event': follows the envelope's event (attachments, user reports) — limited when it is.
   */
  rateLimit: string | null | 'event';
}

export const ITEM_TYPES: Readonly<Record<string, ItemTypeInfo>> = {
  event: { category: 'error', rateLimit: 'error' },
  transaction: { category: 'transaction', rateLimit: 'transaction' },
  security: { category: 'security', rateLimit: 'security' },
  attachment: { category: 'attachment', rateLimit: 'event' },
  user_report: { category: 'user_report_v2', rateLimit: 'event' },
  feedback: { category: 'feedback', rateLimit: 'feedback' },
  session: { category: 'session', rateLimit: 'session' },
  sessions: { category: 'session', rateLimit: 'session' },
  check_in: { category: 'monitor', rateLimit: 'monitor' },
  span: { category: 'span', rateLimit: 'span' },
  otel_span: { category: 'span', rateLimit: 'span' },
  log: { category: 'log_item', rateLimit: 'log_item' },
  otel_log: { category: 'log_item', rateLimit: 'log_item' },
  profile: { category: 'profile', rateLimit: 'profile' },
  profile_chunk: { category: 'profile_chunk', rateLimit: 'profile_chunk' },
  replay_event: { category: 'replay', rateLimit: 'replay' },
  replay_recording: { category: 'replay', rateLimit: 'replay' },
  replay_video: { category: 'replay', rateLimit: 'replay' },
  statsd: { category: 'metric_bucket', rateLimit: 'metric_bucket' },
  metric_meta: { category: 'metric_bucket', rateLimit: 'metric_bucket' },
  trace_metric: { category: 'trace_metric', rateLimit: 'trace_metric' },
  client_report: { category: 'internal', rateLimit: null },
};

/** An item type we do not know (kept and counted, as Relay's ItemType::Unknown). */
const UNKNOWN: ItemTypeInfo = { category: 'unknown', rateLimit: 'unknown' };

export function itemType(type: string): ItemTypeInfo {
  return Object.hasOwn(ITEM_TYPES, type) ? ITEM_TYPES[type]! : UNKNOWN;
}

/** Data category of an item type. */
export const categoryOf = (type: string): string => itemType(type).category;

/** Where a refusal is counted when nothing of the payload could be read (Sentry's catch-all). */
export const DEFAULT_CATEGORY = 'default';

/**
 * Where a payload counts when none of its items could be read, by the endpoint it came in through
 * (protocol notes §8): ingest's refusals before the body is read, and payloads the digest could not
 * read at all (queue_error, by the archive row's `kind`).
 */
export const PAYLOAD_CATEGORY: Readonly<Record<'envelope' | 'store' | 'security' | 'minidump', string>> = { envelope: DEFAULT_CATEGORY, store: 'error', security: 'security', minidump: 'error' };

/** PAYLOAD_CATEGORY in SQL, for rows that keep only the payload's kind. */
export function payloadCategorySql(column: string): string {
  const whens = Object.entries(PAYLOAD_CATEGORY).map(([k, c]) => `WHEN '${k}' THEN '${c}'`);
  return `CASE ${column} ${whens.join(' ')} ELSE '${DEFAULT_CATEGORY}' END`;
}

/** The category of an item type in SQL, for rows that keep only the type (item_invalid). */
export function categorySql(column: string): string {
  const whens = Object.entries(ITEM_TYPES).map(([t, i]) => `WHEN '${t}' THEN '${i.category}'`);
  return `CASE ${column} ${whens.join(' ')} ELSE '${UNKNOWN.category}' END`;
}

/**
 * What one item counts as in outcomes: one of its category, except attachments, counted as Sentry
 * counts them — bytes in `attachment` and one in `attachment_item` (api/queries/accepted.ts counts
 * accepted ones the same way). Client reports count nowhere: they are reports about other items.
 */
export function itemQuantities(type: string, bytes: number): { category: string; quantity: number }[] {
  if (type === 'attachment') return [{ category: 'attachment', quantity: bytes }, { category: 'attachment_item', quantity: 1 }];
  const { category } = itemType(type);
  return category === 'internal' ? [] : [{ category, quantity: 1 }];
}
