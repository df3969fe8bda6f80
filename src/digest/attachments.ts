import type pg from 'pg';
import { parsePayload, type ArchiveRow } from './payload.js';

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
  const { rows } = await pool.query<AttachmentRow & { item_index: number; archive: ArchiveRow }>(
    `SELECT t.id, t.project_id, replace(t.event_id::text, '-', '') AS event_id, t.filename, t.content_type, t.attachment_type, t.size, t.received_at, t.item_index,
            a.project_id AS a_project_id, a.id AS a_id, a.kind, a.encoding, a.event_id AS a_event_id, a.received_at AS a_received_at, a.meta, a.payload,
            a.dict_id, d.bytes AS dict
       FROM attachment t JOIN archive a ON a.project_id = t.project_id AND a.id = t.archive_id
       LEFT JOIN archive_dict d ON d.project_id = a.project_id AND d.id = a.dict_id
      WHERE t.project_id = $1 AND t.id = $2`, [projectId, id]);
  const r = rows[0] as unknown as Record<string, unknown> | undefined;
  if (!r) return null;
  const archive = { project_id: r.a_project_id, id: r.a_id, kind: r.kind, encoding: r.encoding, event_id: r.a_event_id, received_at: r.a_received_at, meta: r.meta, payload: r.payload, dict_id: r.dict_id, dict: r.dict } as ArchiveRow;
  const parsed = parsePayload(archive, MAX_BYTES);
  const item = parsed.items.find((i) => i.index === r.item_index && i.type === 'attachment');
  if (!item) return null;
  const meta: AttachmentRow = { id: Number(r.id), project_id: Number(r.project_id), event_id: r.event_id as string | null, filename: r.filename as string, content_type: r.content_type as string, attachment_type: r.attachment_type as string, size: Number(r.size), received_at: r.received_at as Date };
  return { meta, data: Buffer.from(item.payload) };
}
