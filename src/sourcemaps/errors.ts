// The processing errors symbolication records on an event (`errors`), as Sentry's API shows them:
// {type, message, data}. The stored form is Sentry's event form: {type, ...data}.

const MESSAGES: Record<string, string> = {
  js_no_source: 'Source code was not found',
  js_invalid_source: 'Invalid source map',
  js_invalid_source_location: 'Invalid location in source map',
  js_missing_sources_content: 'Missing source contents in source map',
};

export function apiEventError(e: unknown): { type: string; message: string; data: Record<string, unknown> } | unknown {
  if (!e || typeof e !== 'object' || Array.isArray(e)) return e;
  const { type, ...data } = e as Record<string, unknown>;
  if (typeof type !== 'string') return e;
  return { type, message: MESSAGES[type] ?? type.replace(/_/g, ' '), data };
}
