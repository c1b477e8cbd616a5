//! The schema and its migrations. Table definitions use plain portable types (TEXT, BIGINT) so
//! that the PostgreSQL backend can apply the same list.
//!
//! Notes for the PostgreSQL port: placeholders are `?N` here (`$N` there); `UPDATE … RETURNING`
//! and `INSERT … ON CONFLICT … DO UPDATE SET value = excluded.value` are shared syntax; tags are
//! listed `ORDER BY key` in byte order (SQLite's BINARY collation), so PostgreSQL needs
//! `COLLATE "C"` on that column to give the same order. `email_lower` is computed in Rust
//! (`str::to_lowercase`), not with SQL `lower()`, so both backends agree.
//!
//! Each entry of [`MIGRATIONS`] is applied once, in order, at open, inside one transaction;
//! `schema_version` holds the number of migrations applied. Never edit an entry that has
//! shipped: append a new one.

use rusqlite::{Connection, OptionalExtension};

use canopy_core::StoreError;

use crate::tx::be;

/// Ordered migrations; index `i` moves the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: organizations, roots, OUs, accounts, create-account requests, tags, the seq counter.
    r#"
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('seq', 0);

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
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (org_id, resource_id, key)
);
"#,
    // 2: customer-managed policies and policy attachments (AWS-managed policies are not stored;
    // their attachments are, under their fixed ids, scoped by organization).
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
    // 3: per-organization OU count, kept with every OU insert and delete, so the OU quota check
    // of CreateOrganizationalUnit costs one row read instead of a scan of the organization's OUs.
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
    // 9: the tables every operation reads by primary key become WITHOUT ROWID, so a lookup is
    // one B-tree search instead of two (the primary-key index, then the rowid table), and a
    // key-prefix scan (an account's tags) reads the rows where it finds them. Secondary indexes
    // then point at the primary key. Same columns, same indexes.
    r#"
CREATE TABLE counters_v9 (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO counters_v9 SELECT name, value FROM counters;
DROP TABLE counters;
ALTER TABLE counters_v9 RENAME TO counters;

CREATE TABLE organizations_v9 (
    id                    TEXT PRIMARY KEY,
    partition             TEXT NOT NULL,
    management_account_id TEXT NOT NULL,
    feature_set           TEXT NOT NULL,
    created_ms            BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO organizations_v9 SELECT id, partition, management_account_id, feature_set, created_ms FROM organizations;
DROP TABLE organizations;
ALTER TABLE organizations_v9 RENAME TO organizations;

CREATE TABLE roots_v9 (
    id                   TEXT PRIMARY KEY,
    org_id               TEXT NOT NULL,
    name                 TEXT NOT NULL,
    enabled_policy_types TEXT NOT NULL,
    seq                  BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO roots_v9 SELECT id, org_id, name, enabled_policy_types, seq FROM roots;
DROP TABLE roots;
ALTER TABLE roots_v9 RENAME TO roots;
CREATE INDEX roots_org_seq ON roots (org_id, seq);

CREATE TABLE ous_v9 (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    parent_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    seq        BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO ous_v9 SELECT id, org_id, parent_id, name, created_ms, seq FROM ous;
DROP TABLE ous;
ALTER TABLE ous_v9 RENAME TO ous;
CREATE INDEX ous_parent_seq ON ous (parent_id, seq);
CREATE INDEX ous_parent_name ON ous (parent_id, name);

CREATE TABLE accounts_v9 (
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
) WITHOUT ROWID;
INSERT INTO accounts_v9
    SELECT partition, id, name, email, email_lower, org_id, parent_id, joined_method, joined_ms, created_ms, close_requested_ms, seq
    FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_v9 RENAME TO accounts;
CREATE INDEX accounts_org_seq ON accounts (org_id, seq);
-- Covers ListChildren's query (the key columns and the primary key are in every entry), which
-- otherwise looked every child up by its text key: 12 % slower than by rowid, measured.
CREATE INDEX accounts_org_parent_seq ON accounts (org_id, parent_id, seq, created_ms, close_requested_ms);
CREATE INDEX accounts_partition_email ON accounts (partition, email_lower);

CREATE TABLE tags_v9 (
    org_id      TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (org_id, resource_id, key)
) WITHOUT ROWID;
INSERT INTO tags_v9 SELECT org_id, resource_id, key, value FROM tags;
DROP TABLE tags;
ALTER TABLE tags_v9 RENAME TO tags;

CREATE TABLE org_ou_counts_v9 (
    org_id TEXT PRIMARY KEY,
    ous    BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO org_ou_counts_v9 SELECT org_id, ous FROM org_ou_counts;
DROP TABLE org_ou_counts;
ALTER TABLE org_ou_counts_v9 RENAME TO org_ou_counts;

CREATE TABLE policy_attachments_v9 (
    org_id      TEXT NOT NULL,
    policy_id   TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    policy_type TEXT NOT NULL,
    attached_ms BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (org_id, policy_id, target_id)
) WITHOUT ROWID;
INSERT INTO policy_attachments_v9 SELECT org_id, policy_id, target_id, policy_type, attached_ms, seq FROM policy_attachments;
DROP TABLE policy_attachments;
ALTER TABLE policy_attachments_v9 RENAME TO policy_attachments;
CREATE INDEX policy_attachments_target ON policy_attachments (org_id, target_id, policy_type, seq);
CREATE INDEX policy_attachments_policy ON policy_attachments (org_id, policy_id, seq);
"#,
    // 10: account reads without scans (the tx tests check the plans).
    // - The indexes of ListAccounts and ListAccountsForParent hold every column those listings
    //   return, so a page of accounts is read from the index alone instead of with one
    //   primary-key search per account (a sixth of a reader's time on ListAccounts, perf).
    //   Costs a larger index entry per account. The by-parent index keeps ListChildren's
    //   columns first, so it still covers that query too.
    // - The lookup by email is one search; the count of an organization's accounts is one row.
    r#"
DROP INDEX accounts_org_seq;
CREATE INDEX accounts_org_seq ON accounts (org_id, seq, name, email, parent_id, joined_method, joined_ms, created_ms, close_requested_ms);
DROP INDEX accounts_org_parent_seq;
CREATE INDEX accounts_org_parent_seq ON accounts (org_id, parent_id, seq, created_ms, close_requested_ms, name, email, joined_method, joined_ms);
-- The lookup by email (CreateAccount, invitations) asks for the earliest match, ORDER BY seq:
-- with the index on (partition, email_lower) alone SQLite chose to scan the partition's
-- primary key and sort, one full scan per CreateAccount (two thirds of the writer's time at a
-- few thousand accounts, perf). With seq in the index the query is one search.
DROP INDEX accounts_partition_email;
CREATE INDEX accounts_partition_email ON accounts (partition, email_lower, seq);
-- The number of accounts in each organization, which CreateAccount and invitations check
-- against the quota: COUNT(*) over the organization's index entries was one scan per
-- CreateAccount (85 % of the writer's time with a few thousand accounts, perf). Triggers keep it,
-- so every statement that adds, removes or moves an account row counts, whatever its caller.
CREATE TABLE org_account_counts (
    org_id   TEXT NOT NULL PRIMARY KEY,
    accounts BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO org_account_counts (org_id, accounts)
    SELECT org_id, COUNT(*) FROM accounts WHERE org_id IS NOT NULL GROUP BY org_id;
CREATE TRIGGER accounts_counted_on_insert AFTER INSERT ON accounts WHEN NEW.org_id IS NOT NULL BEGIN
    INSERT INTO org_account_counts (org_id, accounts) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET accounts = accounts + 1;
END;
CREATE TRIGGER accounts_counted_on_move AFTER UPDATE OF org_id ON accounts
    WHEN OLD.org_id IS NOT NEW.org_id BEGIN
    UPDATE org_account_counts SET accounts = accounts - 1 WHERE org_id = OLD.org_id;
    INSERT INTO org_account_counts (org_id, accounts) SELECT NEW.org_id, 1 WHERE NEW.org_id IS NOT NULL
        ON CONFLICT (org_id) DO UPDATE SET accounts = accounts + 1;
END;
CREATE TRIGGER accounts_counted_on_delete AFTER DELETE ON accounts WHEN OLD.org_id IS NOT NULL BEGIN
    UPDATE org_account_counts SET accounts = accounts - 1 WHERE org_id = OLD.org_id;
END;
"#,
    // 11: AWS shows an organization's management account with JoinedMethod INVITED; earlier
    // versions stored CREATED for it.
    MANAGEMENT_ACCOUNTS_INVITED,
    // 12: attachments keyed by their target, one index fewer. A new OU or account is attached
    // to FullAWSAccess (and each enabled type's default), so each such write went to the table
    // (keyed by policy) and to a second index by target; an account's id is random, so its
    // entries land at random places, a page each in the commit (an OU's id begins with a
    // sequence). Now the table itself is the by-target order, and only the by-policy index
    // (appended to in seq order) stays. A target's listing reads its few rows and sorts them by
    // seq; DisablePolicyType's delete reads the organization's attachments. WAL frames per
    // CreateOrganizationalUnit at 32 connections: 2.30 → 2.02 (`bench/walframes.sh`).
    r#"
CREATE TABLE policy_attachments_v12 (
    org_id      TEXT NOT NULL,
    policy_id   TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    policy_type TEXT NOT NULL,
    attached_ms BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (org_id, target_id, policy_id)
) WITHOUT ROWID;
INSERT INTO policy_attachments_v12 SELECT org_id, policy_id, target_id, policy_type, attached_ms, seq FROM policy_attachments;
DROP TABLE policy_attachments;
ALTER TABLE policy_attachments_v12 RENAME TO policy_attachments;
CREATE INDEX policy_attachments_policy ON policy_attachments (org_id, policy_id, seq);
"#,
    // 13: an AssumeRole session's session policy, tags and source identity (JSON).
    SESSION_FACTS,
    // 14: OU names unique under their parent in the index itself (see OU_NAMES_UNIQUE).
    OU_NAMES_UNIQUE,
    // 15: the default policies' attachments implicit (see DEFAULT_ATTACHMENTS_IMPLICIT).
    DEFAULT_ATTACHMENTS_IMPLICIT,
];

/// SQLite's migration 14 and PostgreSQL's 12: the by-parent-and-name index becomes UNIQUE, so
/// CreateOrganizationalUnit's insert itself refuses a taken name (or id), and the operation no
/// longer searches for either first: 11,400 of the writer's 85,200 instructions per OU
/// (callgrind). The two searches ran inside the same write transaction as the insert, so no
/// stored data can hold a duplicate the index would refuse.
pub(crate) const OU_NAMES_UNIQUE: &str = r#"
DROP INDEX ous_parent_name;
CREATE UNIQUE INDEX ous_parent_name ON ous (parent_id, name);
"#;

/// SQLite's migration 15 and PostgreSQL's 13: the AWS-managed default policies
/// (`p-FullAWSAccess`, `p-RCPFullAWSAccess`) are attached to every target of an organization
/// whose root enables their type, except where a stored row says they were detached (canopy-core's
/// `attachments` module): a new OU or account writes no attachment row and index entry, 12-13 %
/// of CreateOrganizationalUnit's rate. The rows that attached them go; each target of such an
/// organization that had none gets a row recording the detachment.
pub(crate) const DEFAULT_ATTACHMENTS_IMPLICIT: &str = r#"
CREATE TEMP TABLE default_detachments AS
    SELECT r.org_id AS org_id, d.policy_id AS policy_id, t.target_id AS target_id, d.policy_type AS policy_type
    FROM roots r
    JOIN (SELECT 'p-FullAWSAccess' AS policy_id, 'SERVICE_CONTROL_POLICY' AS policy_type
          UNION ALL SELECT 'p-RCPFullAWSAccess', 'RESOURCE_CONTROL_POLICY') d
      ON ',' || r.enabled_policy_types || ',' LIKE '%,' || d.policy_type || ',%'
    JOIN (SELECT org_id, id AS target_id FROM roots
          UNION ALL SELECT org_id, id FROM ous
          UNION ALL SELECT org_id, id FROM accounts WHERE org_id IS NOT NULL) t
      ON t.org_id = r.org_id
    WHERE NOT EXISTS (SELECT 1 FROM policy_attachments a
                      WHERE a.org_id = r.org_id AND a.policy_id = d.policy_id AND a.target_id = t.target_id);
DELETE FROM policy_attachments WHERE policy_id IN ('p-FullAWSAccess', 'p-RCPFullAWSAccess');
INSERT INTO policy_attachments (org_id, policy_id, target_id, policy_type, attached_ms, seq)
    SELECT org_id, policy_id, target_id, policy_type, 0, 0 FROM default_detachments;
DROP TABLE default_detachments;
"#;

/// SQLite's migration 13 and PostgreSQL's 11: the same statement in both dialects.
pub(crate) const SESSION_FACTS: &str = "ALTER TABLE credentials ADD COLUMN session TEXT;";

/// SQLite's migration 11 and PostgreSQL's 10: the same statement in both dialects.
pub(crate) const MANAGEMENT_ACCOUNTS_INVITED: &str = r#"
UPDATE accounts SET joined_method = 'INVITED'
    WHERE joined_method = 'CREATED'
      AND EXISTS (SELECT 1 FROM organizations o
                  WHERE o.id = accounts.org_id AND o.partition = accounts.partition AND o.management_account_id = accounts.id);
"#;

/// Data tables emptied by `reset` (everything but `schema_version`; `counters` is rewound).
pub const DATA_TABLES: &[&str] =
    &["organizations", "roots", "ous", "accounts", "create_account_requests", "tags", "policies", "policy_attachments", "org_ou_counts", "org_account_counts", "credentials", "roles", "handshakes", "govcloud_links", "responsibility_transfers", "service_access", "delegated_admins", "resource_policies"];

/// Brings the schema up to date in one transaction.
/// Refuses a database another program made (tables, but not Canopy's `schema_version`) before
/// anything is changed in it: migrating would add Canopy's tables to it and switch it to WAL.
pub fn refuse_foreign(conn: &Connection) -> Result<(), StoreError> {
    let tables: i64 = conn
        .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", [], |r| r.get(0))
        .map_err(be)?;
    let ours: i64 =
        conn.query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'", [], |r| r.get(0)).map_err(be)?;
    if tables > 0 && ours == 0 {
        return Err(StoreError::Corrupt(format!(
            "this SQLite database has {tables} table(s) but is not a Canopy database (no schema_version table): \
             give Canopy its own file or directory"
        )));
    }
    Ok(())
}

pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(be)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)").map_err(be)?;
    let current: Option<i64> =
        tx.query_row("SELECT version FROM schema_version", [], |r| r.get(0)).optional().map_err(be)?;
    let current = match current {
        Some(v) => v,
        None => {
            tx.execute("INSERT INTO schema_version (version) VALUES (0)", []).map_err(be)?;
            0
        }
    };
    let known = MIGRATIONS.len() as i64;
    if current < 0 {
        return Err(StoreError::Corrupt(format!("database schema version {current} is not a version Canopy writes")));
    }
    if current > known {
        // A newer Canopy wrote it: nothing is wrong with the data, this build is too old.
        return Err(StoreError::Backend(format!(
            "the database is at schema version {current}, written by a newer Canopy; this build knows versions up to {known}. Run the newer build (nothing was changed)"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql).map_err(|e| StoreError::Backend(format!("migration {}: {e}", i + 1)))?;
        tracing::info!(version = i + 1, "applied schema migration");
    }
    tx.execute("UPDATE schema_version SET version = ?1", [known]).map_err(be)?;
    tx.commit().map_err(be)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_programs_database_is_refused_untouched() {
        let conn = Connection::open_in_memory().unwrap();
        refuse_foreign(&conn).expect("an empty database is Canopy's to make");
        conn.execute_batch("CREATE TABLE important (x INTEGER)").unwrap();
        let e = refuse_foreign(&conn).unwrap_err();
        assert!(e.to_string().contains("not a Canopy database"), "{e}");
        let mut ours = Connection::open_in_memory().unwrap();
        migrate(&mut ours).unwrap();
        refuse_foreign(&ours).expect("a Canopy database");
    }

    /// A database at `version` (the migrations before it applied, as an older build left it).
    fn database_at(version: usize) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE schema_version (version BIGINT NOT NULL)").unwrap();
        for sql in &MIGRATIONS[..version] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute("INSERT INTO schema_version (version) VALUES (?1)", [version as i64]).unwrap();
        conn
    }

    /// Every stored attachment row, by seq then target: (org, policy, target, type, ms, seq).
    fn attachment_rows(conn: &Connection) -> Vec<(String, String, String, String, i64, i64)> {
        conn.prepare("SELECT org_id, policy_id, target_id, policy_type, attached_ms, seq FROM policy_attachments ORDER BY seq, target_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn attachments_keep_their_rows_when_keyed_by_target() {
        let conn = database_at(11);
        conn.execute_batch(
            "INSERT INTO policy_attachments VALUES
               ('o-1', 'p-FullAWSAccess', 'r-1', 'SERVICE_CONTROL_POLICY', 10, 1),
               ('o-1', 'p-FullAWSAccess', 'ou-1-a', 'SERVICE_CONTROL_POLICY', 11, 2),
               ('o-1', 'p-2', 'ou-1-a', 'TAG_POLICY', 12, 3);",
        )
        .unwrap();
        // Migration 12 alone (15 makes the default policy's rows detachments).
        conn.execute_batch(MIGRATIONS[11]).unwrap();
        let rows = attachment_rows(&conn);
        let row = |p: &str, t: &str, ty: &str, ms: i64, seq: i64| ("o-1".to_string(), p.to_string(), t.to_string(), ty.to_string(), ms, seq);
        assert_eq!(
            rows,
            vec![
                row("p-FullAWSAccess", "r-1", "SERVICE_CONTROL_POLICY", 10, 1),
                row("p-FullAWSAccess", "ou-1-a", "SERVICE_CONTROL_POLICY", 11, 2),
                row("p-2", "ou-1-a", "TAG_POLICY", 12, 3),
            ]
        );
        // The key still refuses a second attachment of a policy to a target.
        let again = conn.execute(
            "INSERT INTO policy_attachments VALUES ('o-1', 'p-2', 'ou-1-a', 'TAG_POLICY', 13, 4)
               ON CONFLICT (org_id, policy_id, target_id) DO NOTHING",
            [],
        );
        assert_eq!(again.unwrap(), 0);
    }

    #[test]
    fn default_policy_attachments_become_detachments_where_missing() {
        let mut conn = database_at(14);
        // o-1 enables SCPs (FullAWSAccess stored on the root, one OU and one account; missing on
        // the other OU, where another SCP replaced it) and RCPs (RCPFullAWSAccess everywhere);
        // o-2 enables no type.
        conn.execute_batch(
            "INSERT INTO organizations VALUES ('o-1', 'aws', '111111111111', 'ALL', 0), ('o-2', 'aws', '333333333333', 'ALL', 0);
             INSERT INTO roots VALUES ('r-1', 'o-1', 'Root', 'SERVICE_CONTROL_POLICY,RESOURCE_CONTROL_POLICY', 1),
                                      ('r-2', 'o-2', 'Root', '', 2);
             INSERT INTO ous VALUES ('ou-1-a', 'o-1', 'r-1', 'A', 0, 3), ('ou-1-b', 'o-1', 'r-1', 'B', 0, 4),
                                    ('ou-2-a', 'o-2', 'r-2', 'A', 0, 5);
             INSERT INTO accounts (partition, id, name, email, email_lower, org_id, parent_id, joined_method, joined_ms, created_ms, seq) VALUES
               ('aws', '111111111111', 'm', 'm@x', 'm@x', 'o-1', 'r-1', 'INVITED', 0, 0, 6),
               ('aws', '222222222222', 'alone', 'a@x', 'a@x', NULL, NULL, NULL, NULL, 0, 7);
             INSERT INTO policy_attachments VALUES
               ('o-1', 'p-FullAWSAccess', 'r-1', 'SERVICE_CONTROL_POLICY', 10, 8),
               ('o-1', 'p-FullAWSAccess', 'ou-1-a', 'SERVICE_CONTROL_POLICY', 10, 9),
               ('o-1', 'p-FullAWSAccess', '111111111111', 'SERVICE_CONTROL_POLICY', 10, 10),
               ('o-1', 'p-deny1234', 'ou-1-b', 'SERVICE_CONTROL_POLICY', 11, 11),
               ('o-1', 'p-RCPFullAWSAccess', 'r-1', 'RESOURCE_CONTROL_POLICY', 12, 12),
               ('o-1', 'p-RCPFullAWSAccess', 'ou-1-a', 'RESOURCE_CONTROL_POLICY', 12, 13),
               ('o-1', 'p-RCPFullAWSAccess', 'ou-1-b', 'RESOURCE_CONTROL_POLICY', 12, 14),
               ('o-1', 'p-RCPFullAWSAccess', '111111111111', 'RESOURCE_CONTROL_POLICY', 12, 15);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let rows = attachment_rows(&conn);
        let row = |p: &str, t: &str, ty: &str, ms: i64, seq: i64| ("o-1".to_string(), p.to_string(), t.to_string(), ty.to_string(), ms, seq);
        assert_eq!(
            rows,
            vec![
                row("p-FullAWSAccess", "ou-1-b", "SERVICE_CONTROL_POLICY", 0, 0),
                row("p-deny1234", "ou-1-b", "SERVICE_CONTROL_POLICY", 11, 11),
            ]
        );
        let temp: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_temp_master", [], |r| r.get(0)).unwrap();
        assert_eq!(temp, 0, "the migration's temporary table is dropped");
    }

    #[test]
    fn management_accounts_stored_as_created_become_invited() {
        let mut conn = database_at(10);
        conn.execute_batch(
            "INSERT INTO organizations VALUES ('o-1', 'aws', '111111111111', 'ALL', 0);
             INSERT INTO accounts (partition, id, name, email, email_lower, org_id, parent_id, joined_method, joined_ms, created_ms, seq) VALUES
               ('aws', '111111111111', 'm', 'm@x.com', 'm@x.com', 'o-1', 'r-1', 'CREATED', 0, 0, 1),
               ('aws', '222222222222', 'a', 'a@x.com', 'a@x.com', 'o-1', 'r-1', 'CREATED', 0, 0, 2),
               ('aws', '333333333333', 'b', 'b@x.com', 'b@x.com', 'o-1', 'r-1', 'INVITED', 0, 0, 3),
               ('aws-cn', '111111111111', 'c', 'c@x.com', 'c@x.com', 'o-2', 'r-2', 'CREATED', 0, 0, 4);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let methods: Vec<(String, String, String)> = conn
            .prepare("SELECT partition, id, joined_method FROM accounts ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let m = |p: &str, id: &str, j: &str| (p.to_string(), id.to_string(), j.to_string());
        assert_eq!(
            methods,
            vec![
                m("aws", "111111111111", "INVITED"),
                m("aws", "222222222222", "CREATED"),
                m("aws", "333333333333", "INVITED"),
                // Another partition's account with the same id manages no organization here.
                m("aws-cn", "111111111111", "CREATED"),
            ]
        );
        let version: i64 = conn.query_row("SELECT version FROM schema_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
    }
}
