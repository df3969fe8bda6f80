// Legacy client `checksum`: a 32-hex value is the hash itself; any other value is md5'd
// (`hashed-checksum`) and, when it fits the 32-character hash column, also kept verbatim as
// the `checksum` variant (old clients relied on that).
import { hashValues } from './hash.js';
import type { GroupingVariant } from './index.js';

const HASH_RE = /^[0-9a-f]{32}$/;

export function checksumVariants(raw: unknown): Record<string, GroupingVariant> | null {
  let checksum: string | null = null;
  if (typeof raw === 'string') checksum = raw;
  else if (typeof raw === 'number' && Number.isFinite(raw)) checksum = String(raw);
  if (!checksum) return null;
  if (HASH_RE.test(checksum)) {
    return { checksum: { name: 'checksum', hash: checksum, contributes: true, checksum } };
  }
  const hashed = hashValues([checksum]);
  const out: Record<string, GroupingVariant> = {
    'hashed-checksum': { name: 'hashed-checksum', hash: hashed, contributes: true, checksum: hashed, rawChecksum: checksum },
  };
  if (checksum.length <= 32) out.checksum = { name: 'checksum', hash: checksum, contributes: true, checksum };
  return out;
}
