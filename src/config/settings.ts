// Every setting crash-cache reads, with its default and why. This list is the only place that names
// environment variables; `loadConfig` (index.ts) reads them once, validates and freezes the result.
// README's configuration table mirrors this file (test/config.test.ts checks that it does).

const MiB = 1024 * 1024;

/**
 * Below this MEMORY_BUDGET the settings with a `small` default take it. Measured (BENCHMARKS.md,
 * 2026-12-06 17:30): a default process and its embedded PostgreSQL under saturating load and the
 * drain after it were killed for memory in a 384 MB cgroup with the usual defaults, and not with
 * DB_POOL_SIZE 5, WORKER_BATCH_BYTES 1 MiB and shared_buffers an eighth of it (storage/embedded.ts);
 * at 1 GB the usual defaults never came near the limit.
 * A "512 MB" virtual machine reports ~470 MiB and a "1 GB" one ~960 MiB: 768 MiB tells them apart.
 */
export const SMALL_MEMORY_BYTES = 768 * MiB;

export type Kind = 'string' | 'int' | 'bool' | 'url' | 'list' | 'bytes';

export interface Setting {
  name: string;
  kind: Kind;
  default: string | number | boolean | string[] | undefined;
  /** The default instead when MEMORY_BUDGET is below SMALL_MEMORY_BYTES (a small box). */
  small?: number;
  /** The default instead when the process can run on one CPU only. */
  oneCpu?: number;
  min?: number;
  max?: number;
  doc: string;
}

export const SETTINGS = [
  // --- storage ---
  { name: 'DATABASE_URL', kind: 'url', default: undefined,
    doc: 'PostgreSQL (≥ 14) connection URL. Unset: an embedded PostgreSQL is started under DATA_DIR.' },
  { name: 'DATA_DIR', kind: 'string', default: './data',
    doc: 'Directory of the embedded PostgreSQL cluster (used only when DATABASE_URL is unset).' },
  { name: 'EMBEDDED_PG_PORT', kind: 'int', default: 0, min: 0, max: 65535,
    doc: 'Port of the embedded PostgreSQL on 127.0.0.1; 0 picks a free port (the CLI finds it in DATA_DIR).' },
  { name: 'PG_BIN_DIR', kind: 'string', default: undefined,
    doc: 'Directory of pg_dump and pg_restore (at least the server\'s major version) for `crash-cache-cli backup` and `restore`. Unset: the newest /usr/lib/postgresql/N/bin, else PATH.' },
  { name: 'DB_POOL_SIZE', kind: 'int', default: 10, small: 5, min: 2, max: 500,
    doc: 'Connections per process. 10 sustained ~11.6k autocommits/s on 2 cores; group commit needs few. 5 when MEMORY_BUDGET is under 768 MiB: each PostgreSQL connection in use holds 10–30 MB.' },
  { name: 'MEMORY_BUDGET', kind: 'bytes', default: undefined, min: 64 * MiB,
    doc: "Memory crash-cache plans for, itself and its embedded PostgreSQL together. Unset: the machine's memory, or its container's limit when lower. The embedded PostgreSQL takes an eighth of it as shared_buffers (16–128 MB); under 768 MiB DB_POOL_SIZE and WORKER_BATCH_BYTES default to 5 and 1 MiB (a small box: BENCHMARKS.md)." },
  { name: 'DB_STATEMENT_TIMEOUT_MS', kind: 'int', default: 30000, min: 0,
    doc: 'Server-side statement timeout for request-path queries (0 = none).' },
  { name: 'DB_CONNECT_TIMEOUT_MS', kind: 'int', default: 3000, min: 100,
    doc: 'How long a request waits for a database connection before answering 503.' },
  { name: 'DISK_MIN_FREE_BYTES', kind: 'int', default: 1024 * MiB, min: 0,
    doc: 'Embedded PostgreSQL: when less space than this is free on DATA_DIR\'s filesystem (checked every second), ingest answers 503 + Retry-After (outcome reason disk_full) while the digest and retention go on; it accepts again when space returns. 1 GiB is PostgreSQL\'s default max_wal_size, the WAL it may hold between checkpoints (0 = off).' },
  { name: 'DISK_MIN_FREE_PERCENT', kind: 'int', default: 0, min: 0, max: 90,
    doc: 'The same floor as a percentage of the filesystem\'s size; the larger of the two applies (0 = only DISK_MIN_FREE_BYTES).' },

  // --- HTTP ---
  { name: 'SERVER_HOST', kind: 'string', default: '0.0.0.0', doc: 'Address the HTTP server binds.' },
  { name: 'SERVER_PORT', kind: 'int', default: 3000, min: 0, max: 65535, doc: 'Port the HTTP server binds (0 = any free port).' },
  { name: 'HTTP_PROCESSES', kind: 'int', default: 1, min: 1, max: 64,
    doc: 'HTTP processes `crash-cache` runs on SERVER_PORT (Linux SO_REUSEPORT: the kernel spreads connections over them); the first also runs the digest worker and METRICS_PORT, the others only serve HTTP, each with its own DB_POOL_SIZE connections, and one that dies is started again. 1: on the 2-core bench box two were faster only while other work crowded the machine (BENCHMARKS.md).' },
  { name: 'PUBLIC_URL', kind: 'url', default: undefined,
    doc: 'Base URL SDKs and browsers reach this server at; used in DSNs and links. Default http://localhost:SERVER_PORT.' },
  { name: 'ORGANIZATION_SLUG', kind: 'string', default: 'crash-cache',
    doc: 'Slug of the single organization in the Web API (/api/0/organizations/{slug}/).' },
  { name: 'TRUSTED_PROXIES', kind: 'list', default: [],
    doc: 'Comma-separated proxy addresses whose X-Forwarded-For / Forwarded headers are believed. Empty: the socket address is the client.' },

  // --- ingest limits (Sentry/Relay defaults unless said) ---
  { name: 'MAX_COMPRESSED_BODY_BYTES', kind: 'int', default: 20 * MiB, min: 1024,
    doc: 'Largest request body as sent on the wire (Relay: max_api_payload_size 20 MiB).' },
  { name: 'MAX_ENVELOPE_BYTES', kind: 'int', default: 100 * MiB, min: 1024,
    doc: 'Largest envelope after decompression (Relay: max_envelope_size 100 MiB).' },
  { name: 'MAX_EVENT_BYTES', kind: 'int', default: 1 * MiB, min: 1024,
    doc: 'Largest event/transaction item or store body after decompression (Relay: max_event_size 1 MiB).' },
  { name: 'MAX_ATTACHMENT_BYTES', kind: 'int', default: 100 * MiB, min: 1024,
    doc: 'Largest single attachment item (Relay: max_attachment_size 100 MiB).' },
  { name: 'MAX_SESSION_ITEMS', kind: 'int', default: 100, min: 1,
    doc: 'Most session items in one envelope (Relay: max_session_count 100).' },
  { name: 'MAX_CONCURRENT_COMPRESSIONS', kind: 'int', default: 16, min: 1, max: 1024,
    doc: 'Most bodies compressed or decompressed at once; others wait. Bounds CPU and memory under bursts.' },
  { name: 'INGEST_COMMIT_MAX_BATCH', kind: 'int', default: 500, min: 1, max: 10000,
    doc: 'Most payloads committed in one group-commit transaction (500-row inserts ran ~25k rows/s on PG 15); a transaction also carries at most 256 MiB of stored payloads.' },
  { name: 'INGEST_COMMITS_IN_FLIGHT', kind: 'int', default: 1, min: 1, max: 16,
    doc: 'Group-commit statements one process runs at once, each on its own connection (2: the next batch executes while the previous one commits). Smaller batches cost more per row; 1 measured best on a busy 2-core box.' },
  { name: 'ARCHIVE_RECOMPRESS_CLIENT_BODIES', kind: 'bool', default: false,
    doc: 'Also store bodies the client compressed (gzip, deflate, br, zstd) against the archive dictionary when that saves a tenth of them, instead of as sent. Bench, mixed workload, realistic traffic: 2,788 → 2,379 B/event in all (archive 1,853 → 1,425), for ~55 µs more ingest CPU per event (~190 → ~250 µs, 1 process).' },
  { name: 'INGEST_MAX_PENDING_COMMITS', kind: 'int', default: 5000, min: 1, max: 1000000,
    doc: 'Most ingest requests one process works on at once (from before authentication until their payload is committed); past it (a slow database), ingest answers 503 + Retry-After at once without reading the body (outcome rate_limited, reason INGEST_MAX_PENDING_COMMITS).' },
  { name: 'INGEST_MAX_PENDING_BYTES', kind: 'int', default: 128 * MiB, min: 1 * MiB, max: 16384 * MiB,
    doc: 'Request body bytes (as sent, plus decompressed) those requests may hold; past it, new requests get 503 + Retry-After at once (reason INGEST_MAX_PENDING_BYTES). With the count limit, it bounds the memory a slow database can make ingest hold.' },
  { name: 'INGEST_KEY_CACHE_MS', kind: 'int', default: 10000, min: 0, max: 3600000,
    doc: 'How long ingest trusts a cached project key lookup; a disabled or deleted key stops working within this time (0 = no cache).' },

  // --- rate limits (token buckets; 0 = off) ---
  { name: 'RATE_LIMIT_GLOBAL_PER_SEC', kind: 'int', default: 100, min: 0, doc: 'Requests per second accepted in total (0 = unlimited).' },
  { name: 'RATE_LIMIT_PER_IP_PER_SEC', kind: 'int', default: 10, min: 0, doc: 'Requests per second accepted from one client IP (0 = unlimited).' },
  { name: 'RATE_LIMIT_PER_PROJECT_PER_SEC', kind: 'int', default: 50, min: 0, doc: 'Requests per second accepted for one project, per data category (errors, transactions, sessions, check-ins, … each have their own bucket: an SDK over its error quota keeps sending sessions and check-ins; 0 = unlimited); a project may override it.' },
  { name: 'RATE_LIMIT_BURST_SECS', kind: 'int', default: 10, min: 1,
    doc: 'Bucket size in seconds of the rate: a quiet client may send this many seconds of its rate at once.' },

  // --- web UI login (failed attempts counted in the database, shared by every process; 0 = off) ---
  { name: 'LOGIN_MAX_FAILURES_PER_ACCOUNT', kind: 'int', default: 5, min: 0,
    doc: 'Failed web UI logins for one e-mail address (known or not) from one client address per LOGIN_FAILURE_WINDOW_SECS; further attempts for that pair get 429 without the password being checked, until the window ends. From all addresses together, past this many failures each attempt on the account is slowed instead (LOGIN_BACKOFF_MAX_SECS): nobody can lock someone else out. A successful login clears both (0 = unlimited).' },
  { name: 'LOGIN_BACKOFF_MAX_SECS', kind: 'int', default: 30, min: 0, max: 600,
    doc: 'Longest wait before the password of an attempt on an account past LOGIN_MAX_FAILURES_PER_ACCOUNT failures (from all addresses) is checked: 1 s after the limit, doubling per further failure, up to this. Attempts queue one behind the other, so a guesser with many addresses gets one guess per wait while the owner still gets in (0 = no slowing).' },
  { name: 'LOGIN_MAX_FAILURES_PER_IP', kind: 'int', default: 20, min: 0,
    doc: 'Failed web UI logins from one client address (IPv6: its /64) per LOGIN_FAILURE_WINDOW_SECS, whatever the accounts; further attempts from it get 429. Above the per-account limit because an office behind one NAT shares it (0 = unlimited).' },
  { name: 'LOGIN_FAILURE_WINDOW_SECS', kind: 'int', default: 900, min: 1, max: 7 * 86400,
    doc: 'Window of the login failure counts, from the first failure: the longest an address or account stays refused. 5 per account per 15 min lets a guesser try 480 passwords a day.' },
  // members (src/members/): invitations
  { name: 'INVITE_TTL_HOURS', kind: 'int', default: 72, min: 1, max: 24 * 30,
    doc: 'How long an invite link stays valid. Three days covers a weekend; the link is single-use and can be withdrawn on the Members page.' },
  { name: 'REQUIRE_TWO_FACTOR', kind: 'bool', default: false,
    doc: 'true: users who log in with a password must turn two-factor log-in on; until they do, every page sends them to their Profile page to set it up, and they cannot turn it off there. Single-sign-on users are not asked (their provider\'s second factor applies); API tokens are not affected.' },
  { name: 'LOGIN_SECOND_FACTOR_SECS', kind: 'int', default: 300, min: 30, max: 3600,
    doc: 'How long a log-in whose password was right waits for its authenticator code (users with two-factor log-in). Each wrong code counts as a failed log-in of the account; after LOGIN_MAX_FAILURES_PER_ACCOUNT of them, or this long, the password is asked again.' },
  // members: "Forgot your password?" (src/members/password-reset.ts; needs SMTP_URL and PASSWORD_LOGIN)
  { name: 'PASSWORD_RESET_TTL_MINUTES', kind: 'int', default: 60, min: 5, max: 24 * 60,
    doc: 'How long a password-reset link e-mailed from the login page stays valid. It works once; a newer request, or a password set another way, ends it.' },
  { name: 'PASSWORD_RESET_MIN_INTERVAL_SECS', kind: 'int', default: 60, min: 0, max: 3600,
    doc: 'Least time between two password-reset e-mails to one account: requests in between send nothing (and answer the same), so nobody can flood a mailbox. Each request also counts against its address like a failed log-in (LOGIN_MAX_FAILURES_PER_IP).' },

  // --- web UI single sign-on (OpenID Connect; src/oidc/, README "Single sign-on (OIDC)") ---
  { name: 'OIDC_ISSUER', kind: 'url', default: undefined,
    doc: 'Issuer URL of an OpenID Connect provider (its /.well-known/openid-configuration is read at start-up, retried until it answers): the login page then offers "Log in with OIDC_PROVIDER_NAME". Register PUBLIC_URL/login/oidc/callback as the redirect URI and PUBLIC_URL/login as the post-logout redirect URI. Unset: no single sign-on.' },
  { name: 'OIDC_CLIENT_ID', kind: 'string', default: undefined,
    doc: 'Client id crash-cache is registered with at the provider (required with OIDC_ISSUER).' },
  { name: 'OIDC_CLIENT_SECRET', kind: 'string', default: undefined,
    doc: 'Its client secret (sent as client_secret_basic). Unset: a public client (PKCE only). Never logged or shown.' },
  { name: 'OIDC_DEFAULT_ROLE', kind: 'string', default: 'member',
    doc: 'Role of a user made by their first OIDC log-in: viewer, member or admin (the very first user of the installation is the owner whatever this says).' },
  { name: 'OIDC_ALLOWED_DOMAINS', kind: 'list', default: [],
    doc: 'Comma-separated e-mail domains (example.com) whose provider accounts may log in; others are refused and nothing is made. Exact match, subdomains not included. Empty: any account the provider lets through.' },
  { name: 'OIDC_PROVIDER_NAME', kind: 'string', default: 'single sign-on',
    doc: 'Name on the login button: "Log in with <name>" (e.g. Google, Keycloak, Authentik).' },
  { name: 'PASSWORD_LOGIN', kind: 'bool', default: true,
    doc: 'false: the login page has no password form and password log-ins are refused (403); only OIDC logs in (needs OIDC_ISSUER). crash-cache-cli still manages users and tokens; set it back to true (and restart) to log in with a password while the provider is down.' },

  // --- API and UI requests ---
  { name: 'MAX_URL_CHARS', kind: 'int', default: 4096, min: 256, max: 16384,
    doc: 'Longest request URL (path and query) of the API (/api/0/) and the UI; longer gets 414. Link headers repeat the URL twice, and HTTP clients refuse response headers over 16 KiB. Ingest URLs (the image-pixel store carries its event in the query) are bounded by Node\'s 16 KiB header limit only.' },
  { name: 'SEARCH_MAX_QUERY_CHARS', kind: 'int', default: 1000, min: 10, max: 100_000,
    doc: 'Longest issue search query (API `query=`, the UI search box); longer ones get 400. Sentry\'s search bar queries are a few dozen characters.' },
  { name: 'SEARCH_MAX_FILTERS', kind: 'int', default: 20, min: 1, max: 1000,
    doc: 'Most terms in one issue search: filters, values of lists (`release:[a,b]` counts 2) and free-text words; more get 400. Each is a subquery: 100 took 2.3 s and 300 reached the statement timeout on a 2-core machine.' },
  { name: 'COMMENT_MAX_CHARS', kind: 'int', default: 10000, min: 1, max: 1_000_000,
    doc: 'Longest issue comment (API and UI); longer ones get 400. A comment is read on the issue page and in every issue detail response, so it is bounded like any other text people send.' },

  // --- digest worker ---
  { name: 'WORKER_INTERVAL_SECS', kind: 'int', default: 60, min: 1, doc: 'Longest the worker sleeps when idle (it also wakes within ~100 ms of new work).' },
  { name: 'WORKER_BUDGET_SECS', kind: 'int', default: 50, min: 1, doc: 'Longest the worker works in one tick before yielding.' },
  { name: 'WORKER_BATCH_SIZE', kind: 'int', default: 200, min: 1, max: 10000, doc: 'Most queued payloads claimed and committed together by one worker (fewer when payloads are large: see WORKER_BATCH_BYTES).' },
  { name: 'WORKER_BATCH_BYTES', kind: 'int', default: 2 * MiB, small: 1 * MiB, min: 64 * 1024, max: 256 * MiB,
    doc: 'Decompressed payload bytes a worker aims at per batch: larger batches cost PostgreSQL less per event, and the worker more memory (each of its threads + 1 batches in flight holds about this much, several times over once parsed). 1 MiB when MEMORY_BUDGET is under 768 MiB (~10 % less memory, ~5 % slower).' },
  { name: 'WORKER_THREADS', kind: 'int', default: 1, oneCpu: 0, min: 0, max: 16,
    doc: 'Threads per worker process that parse, normalize and group payloads; with ≥ 1 a worker keeps up to threads + 1 batches in flight while there is a backlog (one otherwise). 0 = all on the main thread, the default on one CPU: there a thread made the drain no faster (1,525–1,540 payloads/s with it, 1,573–1,672 without) and took ~35 MB more at peak; without it ingest answers a little later while a batch is parsed (p99 76 against 47–53 ms at 500 events/s).' },
  { name: 'WORKER_THREADS_IDLE_SECS', kind: 'int', default: 60, min: 0, max: 86_400,
    doc: "Seconds a worker's threads (WORKER_THREADS) may go without a batch before they stop and give their memory back (~15 MB each, ~25 MB after traffic); the next batch starts them again, a few tens of ms later. They start with the first batch, not with the process. 0 = once started, never stop." },
  { name: 'WORKER_MAX_ATTEMPTS', kind: 'int', default: 10, min: 1, doc: 'Transient failures tolerated per payload before it is moved to queue_error.' },

  // --- data scrubbing (per project: dataScrubber, sensitiveFields… in the API and the web UI) ---
  { name: 'SCRUB_MAX_DEPTH', kind: 'int', default: 100, min: 8, max: 1000,
    doc: 'Nesting depth down to which data scrubbing looks into a scrubbed field (request data, extra, contexts, variables…); deeper values are removed, since they cannot be checked (Relay normalizes events to depth 100 too).' },
  { name: 'SCRUB_MAX_FIELDS', kind: 'int', default: 100, min: 1, max: 10000,
    doc: "Most entries in a project's sensitiveFields and in its safeFields; each is a substring looked for in every key and value scrubbed, so the list's length multiplies the digest's scrubbing time." },
  { name: 'SCRUB_MAX_FIELD_CHARS', kind: 'int', default: 200, min: 1, max: 10000,
    doc: "Longest entry in a project's sensitiveFields or safeFields (characters)." },

  // --- alerts (webhooks of a project: crash-cache-cli alert add) ---
  { name: 'ALERT_TIMEOUT_MS', kind: 'int', default: 10000, min: 100, max: 300000,
    doc: 'How long one send may take before it counts as failed and is retried: a webhook POST from resolving to the whole answer; for e-mail, each SMTP connect, greeting and reply.' },
  { name: 'ALERT_RETRY_SECS', kind: 'int', default: 60, min: 0, max: 86400,
    doc: 'Wait before the first retry of a failed send (webhook, chat or e-mail); each further retry waits 5 times longer (1 min, 5 min, 25 min, ~2 h), at most 6 h.' },
  { name: 'ALERT_MAX_ATTEMPTS', kind: 'int', default: 8, min: 1, max: 100,
    doc: 'Sends of one alert before it is given up (status failed, last error kept). 8 with the default retry wait: about 20 h.' },
  { name: 'ALERT_RETENTION_DAYS', kind: 'int', default: 7, min: 1, max: 3650,
    doc: 'Delivered and given-up alerts are deleted this many days after they finished (crash-cache-cli alert deliveries lists them until then).' },
  { name: 'SMTP_URL', kind: 'url', default: undefined,
    doc: 'Mail server for e-mail alerts: smtp://user:pass@host:587 (STARTTLS whenever the server offers it; the password is not sent in plain text), smtps://user:pass@host:465 (TLS from the start), or smtp://host:25 (a local relay). Unset: e-mail alerts fail with that reason. Never shown back with its password.' },
  { name: 'ALERT_EMAIL_FROM', kind: 'string', default: 'crash-cache@localhost',
    doc: 'From address of e-mail alerts.' },
  { name: 'OUTBOUND_ALLOW_INTERNAL', kind: 'list', default: [],
    doc: 'Comma-separated addresses, CIDR ranges (10.0.0.0/8, fd00::/8) or host names that webhooks, Slack, Discord and Teams alerts may reach although they are internal (loopback, private, link-local, CGNAT, ULA…). Empty: only public addresses are reached (docs/SECURITY.md).' },

  // --- metrics (src/metrics/; README "Metrics") ---
  { name: 'METRICS_TOKEN', kind: 'string', default: undefined,
    doc: 'Bearer token for GET /metrics. Unset: /metrics is off on the main port (anyone with a DSN reaches it) and open on METRICS_PORT.' },
  { name: 'METRICS_PORT', kind: 'int', default: 0, min: 0, max: 65535,
    doc: 'A separate port serving only GET /metrics on SERVER_HOST (also in `crash-cache worker`); 0 = none.' },

  // --- retention and the disk budget (src/archive/retention/) ---
  { name: 'RETENTION_DAYS', kind: 'int', default: 90, min: 1, max: 36500,
    doc: 'Payloads (events, attachments, feedback, check-ins) and hourly counts (sessions, outcomes) older than this are deleted (events also by their own timestamp); a project may override it (crash-cache-cli project update <id> --retention-days N). Sentry and GlitchTip keep 90 days by default.' },
  { name: 'STORAGE_MAX_BYTES', kind: 'bytes', default: undefined, min: 16 * MiB,
    doc: 'Disk budget of everything crash-cache stores (tables, TOAST, indexes), e.g. 20GB (KB/MB/GB/TB = powers of 1000, KiB/MiB/GiB/TiB of 1024). Past it the oldest payloads of all projects are deleted until the space in use is under STORAGE_LOW_WATER_PERCENT of it. Unset: no budget. Needs the pg_freespacemap extension (created with the embedded PostgreSQL).' },
  { name: 'STORAGE_LOW_WATER_PERCENT', kind: 'int', default: 85, min: 50, max: 99,
    doc: 'Where a budget pass stops deleting, in percent of STORAGE_MAX_BYTES: the space between is what ingest fills before the next pass (at the bench rate ~1 MB/s, 15 % of 20 GB lasts ~50 min).' },
  { name: 'RETENTION_INTERVAL_SECS', kind: 'int', default: 60, min: 1, max: 86400,
    doc: 'How often each worker process tries a retention pass (one runs at a time across processes; the others skip).' },
  { name: 'RETENTION_BATCH_SIZE', kind: 'int', default: 500, min: 1, max: 100000,
    doc: 'Most payloads (or rows) deleted by one retention statement, so that its row locks and WAL stay small: measured (5 KB store events, 2-core machine shared at load average ~40): 100 payloads with their reports 21-71 ms, 500: 37-70 ms, 1,000: 60-85 ms.' },

  // --- JavaScript source maps (sentry-cli sourcemaps upload; src/sourcemaps/) ---
  { name: 'SOURCEMAP_CHUNK_BYTES', kind: 'int', default: 8 * MiB, min: 64 * 1024, max: 64 * MiB,
    doc: 'Chunk size sentry-cli is told to upload in (Sentry: 8 MiB); a larger chunk is refused with 413. One upload request carries at most 4 chunks.' },
  { name: 'SOURCEMAP_MAX_BUNDLE_BYTES', kind: 'int', default: 100 * MiB, min: 1024, max: 1024 * MiB,
    doc: 'Largest source-map bundle, zipped and also unzipped (a zip bomb stops here). A process assembles one bundle at a time, holding up to about 3 times this (chunks, zip, files).' },
  { name: 'SOURCEMAP_MAX_PROJECT_BYTES', kind: 'int', default: 1024 * MiB, min: 1024,
    doc: 'Largest total size of the source-map bundles of one project; a bundle past it is refused (assemble state error) until older ones are deleted or expire.' },
  { name: 'SOURCEMAP_CACHE_BYTES', kind: 'int', default: 64 * MiB, min: 0, max: 4096 * MiB,
    doc: 'Memory for parsed source maps and minified sources, per digest thread and in the server (least recently used go first; a file is counted at twice its size). 0 = parse every time.' },
  { name: 'SOURCEMAP_RETENTION_DAYS', kind: 'int', default: 90, min: 1, max: 3650,
    doc: 'A bundle no event was symbolicated with for this many days is deleted by the retention passes (kind `sourcemaps`, counted like every deletion), with its files no other bundle holds; unassembled chunks go after a day.' },

  // --- misc ---
  { name: 'LOG_LEVEL', kind: 'string', default: 'info', doc: 'error, warn, info or debug.' },
] as const satisfies readonly Setting[];

export type SettingName = (typeof SETTINGS)[number]['name'];
