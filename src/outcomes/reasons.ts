// The closed set of reasons an item is refused for at ingest, recorded with its outcome (as Relay's
// DiscardReason): what `crash-cache-cli outcomes`, stats_v2 and the Outcomes page show. A refusal
// must name one of these; a reason that names a limit is the setting's own name, so a user can find
// what to change. Adding a reason here is the only way to add one.

export const REFUSAL_REASONS = [
  // unauthorized: the DSN does not let the payload in
  'unknown_project', 'missing_key', 'invalid_key', 'invalid_auth', 'foreign_key', 'disabled_project', 'disabled_key', 'conflicting_auth',
  // invalid: what the payload is cannot be read
  'empty_body', 'unreadable_body', 'aborted_body', 'unsupported_encoding', 'invalid_compression', 'invalid_envelope',
  'invalid_event_id', 'invalid_json', 'invalid_minidump',
  // too_large: the limit's setting
  'MAX_COMPRESSED_BODY_BYTES', 'MAX_ENVELOPE_BYTES', 'MAX_EVENT_BYTES', 'MAX_ATTACHMENT_BYTES', 'MAX_SESSION_ITEMS',
  // rate_limited: the bucket that was empty
  'global_rate_limit', 'ip_rate_limit', 'project_rate_limit', 'key_rate_limit',
  // rate_limited, answered 503 + Retry-After: load shed to protect what is stored (refusal.ts)
  'disk_full', 'database_out_of_resources', 'database_restarting', 'INGEST_MAX_PENDING_COMMITS', 'INGEST_MAX_PENDING_BYTES',
] as const;

export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** The reasons that name a size limit's setting. */
export type SizeLimitSetting = Extract<RefusalReason, `MAX_${string}`>;
