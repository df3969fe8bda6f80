-- 0009: keep archive payloads of up to ~8 KB in the table's own pages instead of TOAST. A payload
-- stored out of line costs a TOAST row and a TOAST index entry on insert, and an index lookup per
-- chunk on every read (the digest reads each payload once, the API on demand); most payloads are
-- 1–6 KB once compressed. PostgreSQL moves a value out of line only when the row exceeds
-- toast_tuple_target (default ~2 KB); 8160 is the largest allowed (one row per 8 KB page).
-- Affects rows written from now on; no table rewrite.
ALTER TABLE archive SET (toast_tuple_target = 8160);
