-- 0020: a project's data scrubbing settings, as Sentry's project settings name them (dataScrubber,
-- dataScrubberDefaults, sensitiveFields, safeFields, scrubIPAddresses) with Sentry's defaults: on,
-- with the default rules, IP addresses kept. The digest scrubs every event with them before it is
-- stored and writes the scrubbed payload back into the archive (src/scrub/, src/digest/prepare.ts);
-- it reads them at most every few seconds (src/digest/project-scrubbing.ts), so a change applies to
-- events digested from then on, and to everything already stored after `crash-cache-cli ruminate`.
ALTER TABLE project
  ADD COLUMN data_scrubber          boolean NOT NULL DEFAULT true,
  ADD COLUMN data_scrubber_defaults boolean NOT NULL DEFAULT true,
  ADD COLUMN sensitive_fields       text[]  NOT NULL DEFAULT '{}',
  ADD COLUMN safe_fields            text[]  NOT NULL DEFAULT '{}',
  ADD COLUMN scrub_ip_addresses     boolean NOT NULL DEFAULT false;
