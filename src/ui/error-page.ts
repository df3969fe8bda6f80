import type { IncomingMessage, ServerResponse } from 'node:http';
import { classifyError, errorHeaders } from '../http/respond.js';
import type { Logger } from '../log.js';
import { html } from './html.js';
import { sendHtml } from './http.js';

// A UI route's refusal as a page (a browser shows JSON as text): the same status and detail the API
// would answer, logged the same way (src/http/respond.ts). Routes registered as 'page' (src/ui/routes.ts)
// get it; an unknown path stays a JSON 404, as SDKs and scripts expect.

export function sendErrorPage(req: IncomingMessage, res: ServerResponse, e: unknown, log: Logger): void {
  const err = classifyError(req, e, log);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const page = html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${err.status} · crash-cache</title>
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<header class="top"><a class="brand" href="/">crash-cache</a></header>
<main>
<h1>${err.status === 400 ? 'Bad request' : err.status === 404 ? 'Not found' : err.status === 403 ? 'Forbidden' : `Error ${err.status}`}</h1>
<p class="error" role="alert">${err.detail}</p>
<p><a href="/">Back to the projects</a></p>
</main>
</body>
</html>`;
  const { 'x-sentry-error': _omit, ...headers } = errorHeaders(req, err);
  sendHtml(res, err.status, page, headers);
}
