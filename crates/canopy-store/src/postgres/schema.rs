//! The PostgreSQL schema: the same tables, columns and meaning as the SQLite migrations 1..3
//! (`crate::schema`), in PostgreSQL types, with two deliberate differences:
//! - the insertion counter is a SEQUENCE (`canopy_seq`) instead of the `counters` row: a row
//!   that every insert updates would make every pair of concurrent SERIALIZABLE writers
//!   conflict; `nextval` never conflicts and is still monotonic across replicas;
//! - `tags.key` is `COLLATE "C"` so that `ORDER BY key` is byte order, as in SQLite.
//!
//! Migrations run at open (and by `canopy migrate`) in one transaction that first takes a
//! transaction-level advisory lock keyed by the schema name, so replicas starting at once
//! apply each migration exactly once: the others wait, then find the version already current.
//! Never edit a shipped entry: append one.

use postgres::Client;

use canopy_core::StoreError;

use super::pg_err;

/// Ordered migrations; index `i` moves the schema from version `i` to `i + 1`.
pub const PG_MIGRATIONS: &[&str] = &[
    // 1: organizations, roots, OUs, accounts, create-account requests, tags, the seq counter.
    r#"
CREATE SEQUENCE canopy_seq AS BIGINT START WITH 1;

CREATE TABLE organizations (
    id                    TEXT PRIMARY KEY,
    partition             TEXT NOT NULL,
    management_account_id TEXT NOT NULL,
    feature_set           TEXT NOT NULL,
    created_ms            BIGINT NOT NULL
);

CREATE TABLE roots (
    id                   TEXT PRIMARY KEY,
    org_id               TEXT NOT NULL,
    name                 TEXT NOT NULL,
    enabled_policy_types TEXT NOT NULL,
    seq                  BIGINT NOT NULL
);
CREATE INDEX roots_org_seq ON roots (org_id, seq);

CREATE TABLE ous (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    parent_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    seq        BIGINT NOT NULL
);
CREATE INDEX ous_parent_seq ON ous (parent_id, seq);
CREATE INDEX ous_parent_name ON ous (parent_id, name);
CREATE INDEX ous_org ON ous (org_id);

CREATE TABLE accounts (
    partition          TEXT NOT NULL,
    id                 TEXT NOT NULL,
    name               TEXT NOT NULL,
    email              TEXT NOT NULL,
    email_lower        TEXT NOT NULL,
    org_id             TEXT,
    parent_id          TEXT,
    joined_method      TEXT,
    joined_ms          BIGINT,
    created_ms         BIGINT NOT NULL,
    close_requested_ms BIGINT,
    seq                BIGINT NOT NULL,
    PRIMARY KEY (partition, id)
);
CREATE INDEX accounts_org_seq ON accounts (org_id, seq);
CREATE INDEX accounts_org_parent_seq ON accounts (org_id, parent_id, seq);
CREATE INDEX accounts_partition_email ON accounts (partition, email_lower);

CREATE TABLE create_account_requests (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL,
    account_name   TEXT NOT NULL,
    email          TEXT NOT NULL,
    requested_ms   BIGINT NOT NULL,
    completes_ms   BIGINT NOT NULL,
    account_id     TEXT,
    failure_reason TEXT,
    seq            BIGINT NOT NULL
);
CREATE INDEX create_account_requests_org_seq ON create_account_requests (org_id, seq);

CREATE TABLE tags (
    org_id      TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    key         TEXT COLLATE "C" NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (org_id, resource_id, key)
);
"#,
    // 2: customer-managed policies and policy attachments.
    r#"
CREATE TABLE policies (
    org_id      TEXT NOT NULL,
    id          TEXT NOT NULL,
    policy_type TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    content     TEXT NOT NULL,
    created_ms  BIGINT NOT NULL,
    updated_ms  BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX policies_org_type_seq ON policies (org_id, policy_type, seq);
CREATE INDEX policies_org_type_name ON policies (org_id, policy_type, name);

CREATE TABLE policy_attachments (
    org_id      TEXT NOT NULL,
    policy_id   TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    policy_type TEXT NOT NULL,
    attached_ms BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (org_id, policy_id, target_id)
);
CREATE INDEX policy_attachments_target ON policy_attachments (org_id, target_id, policy_type, seq);
CREATE INDEX policy_attachments_policy ON policy_attachments (org_id, policy_id, seq);
CREATE INDEX policy_attachments_type ON policy_attachments (org_id, policy_type);
"#,
    // 3: per-organization OU count (the OU quota check reads one row).
    r#"
CREATE TABLE org_ou_counts (
    org_id TEXT PRIMARY KEY,
    ous    BIGINT NOT NULL
);
INSERT INTO org_ou_counts (org_id, ous) SELECT org_id, COUNT(*) FROM ous GROUP BY org_id;
"#,
    // 4: identity: issued credentials (secrets sealed, session tokens hashed) and assumable roles.
    r#"
CREATE TABLE credentials (
    access_key_id        TEXT PRIMARY KEY,
    partition            TEXT NOT NULL,
    account_id           TEXT NOT NULL,
    principal            TEXT NOT NULL,
    user_id              TEXT NOT NULL,
    secret_sealed        TEXT NOT NULL,
    session_token_sha256 TEXT,
    expires_ms           BIGINT,
    created_ms           BIGINT NOT NULL
);
CREATE INDEX credentials_expires ON credentials (expires_ms);

CREATE TABLE roles (
    partition          TEXT NOT NULL,
    account_id         TEXT NOT NULL,
    name               TEXT NOT NULL,
    role_id            TEXT NOT NULL,
    trusted_account_id TEXT NOT NULL,
    created_ms         BIGINT NOT NULL,
    PRIMARY KEY (partition, account_id, name)
);
"#,
    // 5: handshakes of every action. Parties and resources are JSON text
    // (they nest and only core reads inside them); the columns handshakes are looked up by
    // (sender organization, action, recipient, parent) are columns of their own.
    r#"
CREATE TABLE handshakes (
    id           TEXT PRIMARY KEY,
    partition    TEXT NOT NULL,
    arn          TEXT NOT NULL,
    org_id       TEXT NOT NULL,
    action       TEXT NOT NULL,
    parties      TEXT NOT NULL,
    resources    TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    parent_id    TEXT,
    state        TEXT NOT NULL,
    requested_ms BIGINT NOT NULL,
    expires_ms   BIGINT NOT NULL,
    ended_ms     BIGINT,
    seq          BIGINT NOT NULL
);
CREATE INDEX handshakes_org_seq ON handshakes (org_id, seq);
CREATE INDEX handshakes_org_action ON handshakes (org_id, action, recipient);
CREATE INDEX handshakes_recipient_seq ON handshakes (partition, recipient, seq);
CREATE INDEX handshakes_parent ON handshakes (parent_id);
"#,
    // 6: trusted access of services, delegated administrators of services and the resource
    // (delegation) policy, one per organization.
    r#"
CREATE TABLE service_access (
    org_id            TEXT NOT NULL,
    service_principal TEXT NOT NULL,
    enabled_ms        BIGINT NOT NULL,
    seq               BIGINT NOT NULL,
    PRIMARY KEY (org_id, service_principal)
);
CREATE INDEX service_access_org_seq ON service_access (org_id, seq);

CREATE TABLE delegated_admins (
    org_id            TEXT NOT NULL,
    account_id        TEXT NOT NULL,
    service_principal TEXT NOT NULL,
    registered_ms     BIGINT NOT NULL,
    seq               BIGINT NOT NULL,
    PRIMARY KEY (org_id, account_id, service_principal)
);
CREATE INDEX delegated_admins_org_seq ON delegated_admins (org_id, seq);
CREATE INDEX delegated_admins_service_seq ON delegated_admins (org_id, service_principal, seq);

CREATE TABLE resource_policies (
    org_id     TEXT PRIMARY KEY,
    id         TEXT NOT NULL,
    content    TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
"#,
    // 7: GovCloud pairs made by CreateGovCloudAccount and responsibility (billing) transfers
    // between organizations.
    r#"
CREATE TABLE govcloud_links (
    org_id              TEXT NOT NULL,
    create_request_id   TEXT NOT NULL,
    account_id          TEXT NOT NULL,
    govcloud_account_id TEXT NOT NULL,
    created_ms          BIGINT NOT NULL,
    PRIMARY KEY (org_id, create_request_id)
);
CREATE UNIQUE INDEX govcloud_links_govcloud ON govcloud_links (govcloud_account_id);
CREATE INDEX govcloud_links_account ON govcloud_links (org_id, account_id);

CREATE TABLE responsibility_transfers (
    id                TEXT PRIMARY KEY,
    transfer_type     TEXT NOT NULL,
    name              TEXT NOT NULL,
    source_org_id     TEXT NOT NULL,
    source_account_id TEXT NOT NULL,
    source_email      TEXT NOT NULL,
    target_org_id     TEXT NOT NULL,
    target_account_id TEXT NOT NULL,
    target_email      TEXT NOT NULL,
    handshake_id      TEXT NOT NULL,
    status            TEXT NOT NULL,
    start_ms          BIGINT NOT NULL,
    end_ms            BIGINT,
    expires_ms        BIGINT NOT NULL,
    created_ms        BIGINT NOT NULL,
    seq               BIGINT NOT NULL
);
CREATE UNIQUE INDEX responsibility_transfers_handshake ON responsibility_transfers (handshake_id);
CREATE INDEX responsibility_transfers_source ON responsibility_transfers (source_org_id, seq);
CREATE INDEX responsibility_transfers_target ON responsibility_transfers (target_org_id, seq);
"#,
    // 8: two indexes every OU or account creation wrote and only rare deletions read, about a
    // fifth of the pages a CreateOrganizationalUnit commit writes (bench/walframes.sh):
    // DeleteOrganization now deletes OUs by walking the tree through the by-parent index, and
    // DisablePolicyType's detachments range over the organization's primary-key prefix.
    r#"
DROP INDEX ous_org;
DROP INDEX policy_attachments_type;
"#,
    // 9: the number of accounts in each organization, as SQLite's migration 10 keeps it: the
    // quota check of CreateAccount and of invitations read COUNT(*) over the organization's
    // index entries, one scan per call that grows with the organization. Triggers keep the row,
    // so every statement that adds, removes or moves an account row counts, whatever its caller.
    // Writes to one organization are serialized by its queue lock, so the row is no hot spot
    // between organizations.
    r#"
CREATE TABLE org_account_counts (
    org_id   TEXT PRIMARY KEY,
    accounts BIGINT NOT NULL
);
INSERT INTO org_account_counts (org_id, accounts)
    SELECT org_id, COUNT(*) FROM accounts WHERE org_id IS NOT NULL GROUP BY org_id;
CREATE FUNCTION canopy_count_accounts() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.org_id IS NOT NULL THEN
        UPDATE org_account_counts SET accounts = accounts - 1 WHERE org_id = OLD.org_id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.org_id IS NOT NULL THEN
        INSERT INTO org_account_counts (org_id, accounts) VALUES (NEW.org_id, 1)
            ON CONFLICT (org_id) DO UPDATE SET accounts = org_account_counts.accounts + 1;
    END IF;
    RETURN NULL;
END
$body$;
CREATE TRIGGER accounts_counted AFTER INSERT OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION canopy_count_accounts();
CREATE TRIGGER accounts_counted_on_move AFTER UPDATE OF org_id ON accounts
    FOR EACH ROW WHEN (OLD.org_id IS DISTINCT FROM NEW.org_id) EXECUTE FUNCTION canopy_count_accounts();
"#,
    // 10: AWS shows an organization's management account with JoinedMethod INVITED; earlier
    // versions stored CREATED for it (SQLite's migration 11, the same statement).
    crate::schema::MANAGEMENT_ACCOUNTS_INVITED,
    // 11: an AssumeRole session's session policy, tags and source identity (JSON; SQLite's 13).
    crate::schema::SESSION_FACTS,
    // 12: OU names unique under their parent in the index itself (SQLite's 14).
    crate::schema::OU_NAMES_UNIQUE,
    // 13: the default policies' attachments implicit (SQLite's 15).
    crate::schema::DEFAULT_ATTACHMENTS_IMPLICIT,
];

/// Data tables emptied by `reset` (everything but `schema_version`; the sequence is rewound).
pub const PG_DATA_TABLES: &str =
    "organizations, roots, ous, accounts, create_account_requests, tags, policies, policy_attachments, org_ou_counts, org_account_counts, credentials, roles, handshakes, govcloud_links, responsibility_transfers, service_access, delegated_admins, resource_policies";

/// Brings the schema (the first schema of the connection's `search_path`) up to date in one
/// transaction, serialized with any other process doing the same. Returns the version now in force.
pub fn migrate(client: &mut Client) -> Result<usize, StoreError> {
    let mut tx = client.transaction().map_err(pg_err)?;
    // The key is per schema, so tests migrating their own scratch schemas do not wait on each other.
    tx.execute("SELECT pg_advisory_xact_lock(hashtext('canopy-migrate:' || coalesce(current_schema(), '')))", &[])
        .map_err(pg_err)?;
    if tx.query_one("SELECT current_schema() IS NULL", &[]).map_err(pg_err)?.get::<_, bool>(0) {
        return Err(StoreError::Backend("PostgreSQL has no schema to create Canopy's tables in (check search_path)".into()));
    }
    // Quiet the "already exists, skipping" notice of every start after the first.
    tx.batch_execute("SET LOCAL client_min_messages = warning").map_err(pg_err)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)").map_err(pg_err)?;
    let current: Option<i64> = tx.query_opt("SELECT version FROM schema_version", &[]).map_err(pg_err)?.map(|r| r.get(0));
    let current = match current {
        Some(v) => v,
        None => {
            tx.execute("INSERT INTO schema_version (version) VALUES (0)", &[]).map_err(pg_err)?;
            0
        }
    };
    let known = PG_MIGRATIONS.len() as i64;
    if current < 0 {
        return Err(StoreError::Corrupt(format!("database schema version {current} is not a version Canopy writes")));
    }
    if current > known {
        // A newer Canopy wrote it: nothing is wrong with the data, this build is too old.
        return Err(StoreError::Backend(format!(
            "the database is at schema version {current}, written by a newer Canopy; this build knows versions up to {known}. Run the newer build (nothing was changed)"
        )));
    }
    for (i, sql) in PG_MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.batch_execute(sql).map_err(|e| StoreError::Backend(format!("migration {}: {}", i + 1, super::describe(&e))))?;
        tracing::info!(version = i + 1, "applied PostgreSQL schema migration");
    }
    if current != known {
        tx.execute("UPDATE schema_version SET version = $1", &[&known]).map_err(pg_err)?;
    }
    tx.commit().map_err(pg_err)?;
    Ok(known as usize)
}
