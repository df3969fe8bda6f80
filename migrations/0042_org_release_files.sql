-- 0042: organization-level release files (POST organizations/{org}/releases/{version}/files/, the flow
-- of sentry-cli's release uploads without a project). Such a file is a bundle of no project
-- (project_id NULL, origin 'release_file'), matched by release + dist + URL (or its debug id) for the
-- events of every project, after the project's own files. Its size counts against
-- SOURCEMAP_MAX_PROJECT_BYTES as if the organization were one more project.
ALTER TABLE artifact_bundle ALTER COLUMN project_id DROP NOT NULL;
ALTER TABLE artifact_bundle ADD CONSTRAINT artifact_bundle_org_is_release_file CHECK (project_id IS NOT NULL OR origin = 'release_file');
ALTER TABLE artifact_file ALTER COLUMN project_id DROP NOT NULL;
-- UNIQUE (project_id, sha1) does not hold for NULLs: one name per release and dist at the organization too.
CREATE UNIQUE INDEX artifact_bundle_org_sha1 ON artifact_bundle (sha1) WHERE project_id IS NULL;
CREATE INDEX artifact_bundle_org_release ON artifact_bundle (release, dist) WHERE project_id IS NULL AND state = 'ok';
CREATE INDEX artifact_file_org_url ON artifact_file (url) WHERE project_id IS NULL;
CREATE INDEX artifact_file_org_debug_id ON artifact_file (debug_id) WHERE project_id IS NULL AND debug_id IS NOT NULL;
