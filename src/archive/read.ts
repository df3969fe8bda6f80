import type pg from 'pg';
import { ARCHIVE_READ_COLUMNS, type ArchiveRow } from './row.js';

// One archived payload with its dictionary's bytes, ready for decodePayload: the one SELECT joined
// with archive_dict, used by the API's event and attachment reads and the digest's explanations.
// (The digest's batches read archive rows in their claim and load dictionaries through a cache:
// dictionary-load.ts.)

export async function readArchiveRow(client: pg.Pool | pg.ClientBase, projectId: number, archiveId: number): Promise<ArchiveRow | null> {
  const { rows } = await client.query<ArchiveRow>({
    name: 'archive-read',
    text: `SELECT ${ARCHIVE_READ_COLUMNS}, d.bytes AS dict
             FROM archive a LEFT JOIN archive_dict d ON d.project_id = a.project_id AND d.id = a.dict_id
            WHERE a.project_id = $1 AND a.id = $2`,
    values: [projectId, archiveId],
  });
  return rows[0] ?? null;
}
