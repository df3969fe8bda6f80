import type pg from 'pg';
import { readArchiveRow } from '../archive/read.js';
import { parsePayload } from './payload.js';

// Attachment bytes stay in the archive payload they came in; this reads them back.

const MAX_BYTES = 100 * 1024 * 1024;

export interface AttachmentRow {
  id: number;
  project_id: number;
  event_id: string | null;
  filename: string;
  content_type: string;
  attachment_type: string;
  size: number;
  received_at: Date;
}

/**
 * An event's attachments in the order they were received (archive row, then item). Not by id: two
 * digest lanes may insert the attachments of two payloads in either order.
 */
export async function listAttachments(pool: pg.Pool | pg.ClientBase, projectId: number, eventId: string): Promise<AttachmentRow[]> {
  const { rows } = await pool.query<AttachmentRow>(
    `SELECT id, project_id, replace(event_id::text, '-', '') AS event_id, filename, content_type, attachment_type, size, received_at
       FROM attachment WHERE project_id = $1 AND event_id = $2::uuid ORDER BY archive_id, item_index, id`, [projectId, eventId.replace(/-/g, '')]);
  return rows;
}

/** Metadata and bytes of one attachment, or null. */
export async function loadAttachment(pool: pg.Pool | pg.ClientBase, projectId: number, id: number): Promise<{ meta: AttachmentRow; data: Buffer } | null> {
  const { rows } = await pool.query<AttachmentRow & { archive_id: number; item_index: number }>(
    `SELECT id, project_id, replace(event_id::text, '-', '') AS event_id, filename, content_type, attachment_type, size, received_at, archive_id, item_index
       FROM attachment WHERE project_id = $1 AND id = $2`, [projectId, id]);
  const r = rows[0];
  if (!r) return null;
  const archive = await readArchiveRow(pool, projectId, r.archive_id);
  if (!archive) return null;
  const parsed = parsePayload(archive, MAX_BYTES);
  const item = parsed.items.find((i) => i.index === r.item_index && i.type === 'attachment');
  if (!item) return null;
  const meta: AttachmentRow = { id: Number(r.id), project_id: Number(r.project_id), event_id: r.event_id, filename: r.filename, content_type: r.content_type, attachment_type: r.attachment_type, size: Number(r.size), received_at: r.received_at };
  return { meta, data: Buffer.from(item.payload) };
}
