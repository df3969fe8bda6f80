import type { AttachmentRow } from '../digest/attachments.js';

// Attachment rows → Sentry's event attachment JSON (GET projects/{org}/{project}/events/{id}/attachments/).

export function serializeAttachment(a: AttachmentRow, sha1: string | null) {
  return {
    id: String(a.id),
    event_id: a.event_id,
    type: a.attachment_type,
    name: a.filename,
    mimetype: a.content_type,
    dateCreated: a.received_at.toISOString(),
    size: a.size,
    headers: { 'Content-Type': a.content_type },
    sha1,
  };
}

/** Content-Disposition for a download: a plain ASCII filename, plus RFC 6266 filename* when it is not ASCII. */
export function contentDisposition(filename: string): string {
  const base = filename.split(/[/\\]/).pop()!.replace(/\s+/g, ' ').trim() || 'attachment';
  const ascii = base.replace(/[^\x20-\x7e]|["\\]/g, '_');
  if (ascii === base) return `attachment; filename="${ascii}"`;
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base)}`;
}
