//! [`PgTx`]: the `Tx` trait over one PostgreSQL connection inside an open transaction. Every
//! statement is prepared once per connection and cached. A failed statement aborts the whole
//! PostgreSQL transaction, so the Tx remembers it (`failed`) and whether it was a serialization
//! conflict (`conflict`): the runner then rolls back, and retries on a conflict.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, Row, Statement};

use canopy_api::{AccountJoinedMethod, CreateAccountFailureReason, OrganizationFeatureSet, PolicyType};
use canopy_core::{
    AccountChildRecord, AccountRecord, CreateAccountRecord, OrganizationRecord, OuRecord, PolicyAttachmentRecord, PolicyRecord, RootRecord,
    StoreError, StoreResult, TagRecord, Tx, CredentialRecord, RoleRecord,
};

use super::{describe, ends_session, is_conflict};

pub(crate) const READ_ONLY_WRITE: &str = "write in a read transaction";

type P<'a> = &'a (dyn ToSql + Sync);

pub(crate) struct PgTx<'c> {
    client: &'c mut Client,
    stmts: &'c mut HashMap<&'static str, Statement>,
    writable: bool,
    /// A statement failed: the PostgreSQL transaction is aborted and must not be committed.
    pub(crate) failed: bool,
    /// That failure was a serialization failure or a deadlock: the closure may be re-run.
    pub(crate) conflict: bool,
    /// A statement failed because the server ended the session (an administrator, a shutdown):
    /// nothing of the transaction was committed.
    pub(crate) session_ended: bool,
    /// That failure was a unique violation: under SERIALIZABLE it can come from a concurrent
    /// insert of the same key that this transaction checked for and could not see yet.
    pub(crate) duplicate: bool,
    /// The first organization the closure named: a re-run after a conflict is queued behind
    /// the other re-runs on the same organization (see `run_op`).
    pub(crate) org: Option<String>,
    /// The organization whose queue lock this transaction holds, if any.
    locked_org: Option<String>,
    /// The closure named another organization first (see `note_org`).
    pub(crate) wrong_lock: bool,
}

impl<'c> PgTx<'c> {
    pub(crate) fn new(
        client: &'c mut Client,
        stmts: &'c mut HashMap<&'static str, Statement>,
        writable: bool,
        locked_org: Option<String>,
    ) -> Self {
        PgTx { client, stmts, writable, failed: false, conflict: false, session_ended: false, duplicate: false, org: None, locked_org, wrong_lock: false }
    }

    /// Records the first organization the closure names. A write running under another
    /// organization's queue lock (a wrong guess) stops here and is re-run under the right one.
    fn note_org(&mut self, org_id: &str) -> StoreResult<()> {
        if self.org.is_some() {
            return Ok(());
        }
        self.org = Some(org_id.to_string());
        match &self.locked_org {
            Some(locked) if locked != org_id => {
                self.wrong_lock = true;
                self.failed = true;
                Err(StoreError::Backend("re-run under its organization's queue lock".into()))
            }
            _ => Ok(()),
        }
    }

    fn writable(&self) -> StoreResult<()> {
        if self.writable {
            Ok(())
        } else {
            Err(StoreError::Backend(READ_ONLY_WRITE.into()))
        }
    }

    fn err(&mut self, e: postgres::Error) -> StoreError {
        self.failed = true;
        if is_conflict(&e) {
            self.conflict = true;
        }
        if ends_session(&e) {
            self.session_ended = true;
        }
        if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) {
            self.duplicate = true;
        }
        StoreError::Backend(describe(&e))
    }

    fn stmt(&mut self, sql: &'static str) -> StoreResult<Statement> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        match self.client.prepare(sql) {
            Ok(s) => {
                self.stmts.insert(sql, s.clone());
                Ok(s)
            }
            Err(e) => Err(self.err(e)),
        }
    }

    fn rows(&mut self, sql: &'static str, p: &[P<'_>]) -> StoreResult<Vec<Row>> {
        let st = self.stmt(sql)?;
        match self.client.query(&st, p) {
            Ok(r) => Ok(r),
            Err(e) => Err(self.err(e)),
        }
    }

    fn one<T>(&mut self, sql: &'static str, p: &[P<'_>], map: fn(&Row) -> StoreResult<T>) -> StoreResult<Option<T>> {
        match self.rows(sql, p)?.first() {
            Some(r) => map(r).map(Some),
            None => Ok(None),
        }
    }

    fn many<T>(&mut self, sql: &'static str, p: &[P<'_>], map: fn(&Row) -> StoreResult<T>) -> StoreResult<Vec<T>> {
        self.rows(sql, p)?.iter().map(map).collect()
    }

    fn count(&mut self, sql: &'static str, p: &[P<'_>]) -> StoreResult<u64> {
        let rows = self.rows(sql, p)?;
        let n: i64 = rows.first().ok_or_else(|| StoreError::Backend("a count returned no row".into()))?.try_get(0).map_err(col)?;
        Ok(n.max(0) as u64)
    }

    fn exec(&mut self, sql: &'static str, p: &[P<'_>]) -> StoreResult<u64> {
        self.writable()?;
        let st = self.stmt(sql)?;
        match self.client.execute(&st, p) {
            Ok(n) => Ok(n),
            Err(e) => Err(self.err(e)),
        }
    }

    /// An INSERT … RETURNING seq: the store-assigned insertion order.
    fn insert_seq(&mut self, sql: &'static str, p: &[P<'_>]) -> StoreResult<i64> {
        self.insert_seq_if_new(sql, p)?.ok_or_else(|| StoreError::Backend("INSERT … RETURNING gave no row".into()))
    }

    /// An INSERT … ON CONFLICT DO NOTHING RETURNING seq: `None` when it stored nothing.
    fn insert_seq_if_new(&mut self, sql: &'static str, p: &[P<'_>]) -> StoreResult<Option<i64>> {
        self.writable()?;
        let rows = self.rows(sql, p)?;
        rows.first().map(|row| row.try_get(0).map_err(col)).transpose()
    }
}

/// A column that does not convert: the stored data is not what this build wrote.
fn col(e: postgres::Error) -> StoreError {
    StoreError::Corrupt(describe(&e))
}

fn lim(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn after(after_seq: Option<i64>) -> i64 {
    after_seq.unwrap_or(i64::MIN)
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} {value:?}"))
}

fn join_policy_types(types: &[PolicyType]) -> String {
    types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(",")
}

fn split_policy_types(s: &str) -> StoreResult<Vec<PolicyType>> {
    s.split(',').filter(|p| !p.is_empty()).map(|p| PolicyType::from_wire(p).ok_or_else(|| corrupt("policy type", p))).collect()
}

macro_rules! org_cols { () => { "id, partition, management_account_id, feature_set, created_ms" } }
macro_rules! root_cols { () => { "id, org_id, name, enabled_policy_types" } }
macro_rules! ou_cols { () => { "id, org_id, parent_id, name, created_ms, seq" } }
macro_rules! account_cols {
    () => { "partition, id, name, email, org_id, parent_id, joined_method, joined_ms, created_ms, close_requested_ms, seq" };
}
macro_rules! car_cols {
    () => { "id, org_id, account_name, email, requested_ms, completes_ms, account_id, failure_reason, seq" };
}
macro_rules! policy_cols {
    () => { "id, org_id, policy_type, name, description, content, created_ms, updated_ms, seq" };
}
macro_rules! attachment_cols { () => { "org_id, policy_id, target_id, policy_type, attached_ms, seq" } }
macro_rules! credential_cols {
    () => { "access_key_id, partition, account_id, principal, user_id, secret_sealed, session_token_sha256, expires_ms, created_ms, session" };
}
macro_rules! role_cols { () => { "partition, account_id, name, role_id, trusted_account_id, created_ms" } }

fn g<'a, T: postgres::types::FromSql<'a>>(r: &'a Row, i: usize) -> StoreResult<T> {
    r.try_get(i).map_err(col)
}

fn org_row(r: &Row) -> StoreResult<OrganizationRecord> {
    let fs: String = g(r, 3)?;
    Ok(OrganizationRecord {
        id: g(r, 0)?,
        partition: g(r, 1)?,
        management_account_id: g(r, 2)?,
        feature_set: OrganizationFeatureSet::from_wire(&fs).ok_or_else(|| corrupt("feature set", &fs))?,
        created_ms: g(r, 4)?,
    })
}

fn root_row(r: &Row) -> StoreResult<RootRecord> {
    let types: String = g(r, 3)?;
    Ok(RootRecord { id: g(r, 0)?, org_id: g(r, 1)?, name: g(r, 2)?, enabled_policy_types: split_policy_types(&types)? })
}

fn ou_row(r: &Row) -> StoreResult<OuRecord> {
    Ok(OuRecord { id: g(r, 0)?, org_id: g(r, 1)?, parent_id: g(r, 2)?, name: g(r, 3)?, created_ms: g(r, 4)?, seq: g(r, 5)? })
}

fn account_row(r: &Row) -> StoreResult<AccountRecord> {
    let jm: Option<String> = g(r, 6)?;
    let joined_method = match jm {
        Some(s) => Some(AccountJoinedMethod::from_wire(&s).ok_or_else(|| corrupt("joined method", &s))?),
        None => None,
    };
    Ok(AccountRecord {
        partition: g(r, 0)?,
        id: g(r, 1)?,
        name: g(r, 2)?,
        email: g(r, 3)?,
        org_id: g(r, 4)?,
        parent_id: g(r, 5)?,
        joined_method,
        joined_ms: g(r, 7)?,
        created_ms: g(r, 8)?,
        close_requested_ms: g(r, 9)?,
        seq: g(r, 10)?,
    })
}

fn account_child_row(r: &Row) -> StoreResult<AccountChildRecord> {
    Ok(AccountChildRecord { id: g(r, 0)?, created_ms: g(r, 1)?, close_requested_ms: g(r, 2)?, seq: g(r, 3)? })
}

fn car_row(r: &Row) -> StoreResult<CreateAccountRecord> {
    let fr: Option<String> = g(r, 7)?;
    let failure_reason = match fr {
        Some(s) => Some(CreateAccountFailureReason::from_wire(&s).ok_or_else(|| corrupt("failure reason", &s))?),
        None => None,
    };
    Ok(CreateAccountRecord {
        id: g(r, 0)?,
        org_id: g(r, 1)?,
        account_name: g(r, 2)?,
        email: g(r, 3)?,
        requested_ms: g(r, 4)?,
        completes_ms: g(r, 5)?,
        account_id: g(r, 6)?,
        failure_reason,
        seq: g(r, 8)?,
    })
}

fn policy_type_col(r: &Row, i: usize) -> StoreResult<PolicyType> {
    let t: String = g(r, i)?;
    PolicyType::from_wire(&t).ok_or_else(|| corrupt("policy type", &t))
}

fn policy_row(r: &Row) -> StoreResult<PolicyRecord> {
    Ok(PolicyRecord {
        id: g(r, 0)?,
        org_id: g(r, 1)?,
        policy_type: policy_type_col(r, 2)?,
        name: g(r, 3)?,
        description: g(r, 4)?,
        content: g(r, 5)?,
        created_ms: g(r, 6)?,
        updated_ms: g(r, 7)?,
        seq: g(r, 8)?,
    })
}

fn attachment_row(r: &Row) -> StoreResult<PolicyAttachmentRecord> {
    Ok(PolicyAttachmentRecord {
        org_id: g(r, 0)?,
        policy_id: g(r, 1)?,
        target_id: g(r, 2)?,
        policy_type: policy_type_col(r, 3)?,
        attached_ms: g(r, 4)?,
        seq: g(r, 5)?,
    })
}

fn tag_row(r: &Row) -> StoreResult<TagRecord> {
    Ok(TagRecord { key: g(r, 0)?, value: g(r, 1)? })
}

impl Tx for PgTx<'_> {
    // --- organizations ---
    fn org_get(&mut self, org_id: &str) -> StoreResult<Option<OrganizationRecord>> {
        self.note_org(org_id)?;
        self.one(concat!("SELECT ", org_cols!(), " FROM organizations WHERE id = $1"), &[&org_id], org_row)
    }

    fn org_insert(&mut self, org: &OrganizationRecord) -> StoreResult<()> {
        self.note_org(&org.id)?;
        self.exec(
            concat!("INSERT INTO organizations (", org_cols!(), ") VALUES ($1, $2, $3, $4, $5)"),
            &[&org.id, &org.partition, &org.management_account_id, &org.feature_set.as_str(), &org.created_ms],
        )?;
        Ok(())
    }

    fn org_update(&mut self, org: &OrganizationRecord) -> StoreResult<()> {
        self.exec(
            "UPDATE organizations SET partition = $2, management_account_id = $3, feature_set = $4, created_ms = $5 WHERE id = $1",
            &[&org.id, &org.partition, &org.management_account_id, &org.feature_set.as_str(), &org.created_ms],
        )?;
        Ok(())
    }

    fn org_delete(&mut self, org_id: &str) -> StoreResult<()> {
        self.note_org(org_id)?;
        self.exec("DELETE FROM tags WHERE org_id = $1", &[&org_id])?;
        self.exec("DELETE FROM handshakes WHERE org_id = $1", &[&org_id])?;
        self.exec("DELETE FROM policy_attachments WHERE org_id = $1", &[&org_id])?;
        self.exec("DELETE FROM policies WHERE org_id = $1", &[&org_id])?;
        self.exec("DELETE FROM create_account_requests WHERE org_id = $1", &[&org_id])?;
        self.exec("DELETE FROM org_ou_counts WHERE org_id = $1", &[&org_id])?;
        self.exec("DELETE FROM roots WHERE org_id = $1", &[&org_id])?;
        self.govcloud_org_delete(org_id)?;
        self.delegation_org_delete(org_id)?;
        self.exec("DELETE FROM organizations WHERE id = $1", &[&org_id])?;
        Ok(())
    }

    // --- roots ---
    fn root_get(&mut self, root_id: &str) -> StoreResult<Option<RootRecord>> {
        self.one(concat!("SELECT ", root_cols!(), " FROM roots WHERE id = $1"), &[&root_id], root_row)
    }

    fn root_list(&mut self, org_id: &str) -> StoreResult<Vec<RootRecord>> {
        self.note_org(org_id)?;
        self.many(concat!("SELECT ", root_cols!(), " FROM roots WHERE org_id = $1 ORDER BY seq"), &[&org_id], root_row)
    }

    fn root_insert(&mut self, root: &RootRecord) -> StoreResult<()> {
        self.insert_seq(
            concat!("INSERT INTO roots (", root_cols!(), ", seq) VALUES ($1, $2, $3, $4, nextval('canopy_seq')) RETURNING seq"),
            &[&root.id, &root.org_id, &root.name, &join_policy_types(&root.enabled_policy_types)],
        )?;
        Ok(())
    }

    fn root_update(&mut self, root: &RootRecord) -> StoreResult<()> {
        self.exec(
            "UPDATE roots SET org_id = $2, name = $3, enabled_policy_types = $4 WHERE id = $1",
            &[&root.id, &root.org_id, &root.name, &join_policy_types(&root.enabled_policy_types)],
        )?;
        Ok(())
    }

    // --- organizational units ---
    fn ou_get(&mut self, ou_id: &str) -> StoreResult<Option<OuRecord>> {
        self.one(concat!("SELECT ", ou_cols!(), " FROM ous WHERE id = $1"), &[&ou_id], ou_row)
    }

    fn ou_insert(&mut self, ou: &OuRecord) -> StoreResult<Option<OuRecord>> {
        self.note_org(&ou.org_id)?;
        let Some(seq) = self.insert_seq_if_new(
            "INSERT INTO ous (id, org_id, parent_id, name, created_ms, seq) VALUES ($1, $2, $3, $4, $5, nextval('canopy_seq')) \
             ON CONFLICT DO NOTHING RETURNING seq",
            &[&ou.id, &ou.org_id, &ou.parent_id, &ou.name, &ou.created_ms],
        )?
        else {
            return Ok(None);
        };
        self.exec(
            "INSERT INTO org_ou_counts (org_id, ous) VALUES ($1, 1) ON CONFLICT (org_id) DO UPDATE SET ous = org_ou_counts.ous + 1",
            &[&ou.org_id],
        )?;
        Ok(Some(OuRecord { seq, ..ou.clone() }))
    }

    fn ou_update(&mut self, ou: &OuRecord) -> StoreResult<()> {
        self.exec("UPDATE ous SET name = $2, parent_id = $3 WHERE id = $1", &[&ou.id, &ou.name, &ou.parent_id])?;
        Ok(())
    }

    fn ou_delete(&mut self, ou_id: &str) -> StoreResult<()> {
        // The count row changes only when the OU exists (the subquery finds its organization).
        self.exec("UPDATE org_ou_counts SET ous = ous - 1 WHERE org_id = (SELECT org_id FROM ous WHERE id = $1)", &[&ou_id])?;
        self.exec("DELETE FROM ous WHERE id = $1", &[&ou_id])?;
        Ok(())
    }

    fn ou_list_by_parent(&mut self, parent_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<OuRecord>> {
        self.many(
            concat!("SELECT ", ou_cols!(), " FROM ous WHERE parent_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"),
            &[&parent_id, &after(after_seq), &lim(limit)],
            ou_row,
        )
    }

    fn ou_find_by_name(&mut self, parent_id: &str, name: &str) -> StoreResult<Option<OuRecord>> {
        self.one(concat!("SELECT ", ou_cols!(), " FROM ous WHERE parent_id = $1 AND name = $2 LIMIT 1"), &[&parent_id, &name], ou_row)
    }

    fn ou_count(&mut self, org_id: &str) -> StoreResult<u64> {
        self.note_org(org_id)?;
        self.count("SELECT COALESCE(MAX(ous), 0)::BIGINT FROM org_ou_counts WHERE org_id = $1", &[&org_id])
    }

    fn ou_count_by_parent(&mut self, parent_id: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM ous WHERE parent_id = $1", &[&parent_id])
    }

    // --- accounts ---
    fn account_get(&mut self, partition: &str, account_id: &str) -> StoreResult<Option<AccountRecord>> {
        self.one(
            concat!("SELECT ", account_cols!(), " FROM accounts WHERE partition = $1 AND id = $2"),
            &[&partition, &account_id],
            account_row,
        )
    }

    fn account_insert(&mut self, a: &AccountRecord) -> StoreResult<AccountRecord> {
        let seq = self.insert_seq(
            concat!(
                "INSERT INTO accounts (",
                account_cols!(),
                ", email_lower) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, nextval('canopy_seq'), $11) RETURNING seq"
            ),
            &[
                &a.partition,
                &a.id,
                &a.name,
                &a.email,
                &a.org_id,
                &a.parent_id,
                &a.joined_method.as_ref().map(|m| m.as_str()),
                &a.joined_ms,
                &a.created_ms,
                &a.close_requested_ms,
                &a.email.to_lowercase(),
            ],
        )?;
        Ok(AccountRecord { seq, ..a.clone() })
    }

    fn account_update(&mut self, a: &AccountRecord) -> StoreResult<()> {
        self.exec(
            "UPDATE accounts SET name = $3, email = $4, org_id = $5, parent_id = $6, joined_method = $7, joined_ms = $8, \
             created_ms = $9, close_requested_ms = $10, email_lower = $11 WHERE partition = $1 AND id = $2",
            &[
                &a.partition,
                &a.id,
                &a.name,
                &a.email,
                &a.org_id,
                &a.parent_id,
                &a.joined_method.as_ref().map(|m| m.as_str()),
                &a.joined_ms,
                &a.created_ms,
                &a.close_requested_ms,
                &a.email.to_lowercase(),
            ],
        )?;
        Ok(())
    }

    fn account_list(&mut self, org_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<AccountRecord>> {
        self.note_org(org_id)?;
        self.many(
            concat!("SELECT ", account_cols!(), " FROM accounts WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"),
            &[&org_id, &after(after_seq), &lim(limit)],
            account_row,
        )
    }

    fn account_list_by_parent(&mut self, org_id: &str, parent_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<AccountRecord>> {
        self.note_org(org_id)?;
        self.many(
            concat!("SELECT ", account_cols!(), " FROM accounts WHERE org_id = $1 AND parent_id = $2 AND seq > $3 ORDER BY seq LIMIT $4"),
            &[&org_id, &parent_id, &after(after_seq), &lim(limit)],
            account_row,
        )
    }

    fn account_children(&mut self, org_id: &str, parent_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<AccountChildRecord>> {
        self.note_org(org_id)?;
        self.many(
            "SELECT id, created_ms, close_requested_ms, seq FROM accounts WHERE org_id = $1 AND parent_id = $2 AND seq > $3 ORDER BY seq LIMIT $4",
            &[&org_id, &parent_id, &after(after_seq), &lim(limit)],
            account_child_row,
        )
    }

    fn account_count(&mut self, org_id: &str) -> StoreResult<u64> {
        self.note_org(org_id)?;
        // Kept by triggers (migration 9).
        self.count("SELECT COALESCE((SELECT accounts FROM org_account_counts WHERE org_id = $1), 0)", &[&org_id])
    }

    fn account_count_by_parent(&mut self, org_id: &str, parent_id: &str) -> StoreResult<u64> {
        self.note_org(org_id)?;
        self.count("SELECT COUNT(*) FROM accounts WHERE org_id = $1 AND parent_id = $2", &[&org_id, &parent_id])
    }

    fn account_find_by_email(&mut self, partition: &str, email: &str) -> StoreResult<Option<AccountRecord>> {
        self.one(
            concat!("SELECT ", account_cols!(), " FROM accounts WHERE partition = $1 AND email_lower = $2 ORDER BY seq LIMIT 1"),
            &[&partition, &email.to_lowercase()],
            account_row,
        )
    }

    // --- create-account requests ---
    fn car_get(&mut self, org_id: &str, car_id: &str) -> StoreResult<Option<CreateAccountRecord>> {
        self.note_org(org_id)?;
        self.one(
            concat!("SELECT ", car_cols!(), " FROM create_account_requests WHERE id = $1 AND org_id = $2"),
            &[&car_id, &org_id],
            car_row,
        )
    }

    fn car_insert(&mut self, c: &CreateAccountRecord) -> StoreResult<CreateAccountRecord> {
        let seq = self.insert_seq(
            concat!(
                "INSERT INTO create_account_requests (",
                car_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nextval('canopy_seq')) RETURNING seq"
            ),
            &[
                &c.id,
                &c.org_id,
                &c.account_name,
                &c.email,
                &c.requested_ms,
                &c.completes_ms,
                &c.account_id,
                &c.failure_reason.as_ref().map(|f| f.as_str()),
            ],
        )?;
        Ok(CreateAccountRecord { seq, ..c.clone() })
    }

    fn car_update(&mut self, c: &CreateAccountRecord) -> StoreResult<()> {
        self.exec(
            "UPDATE create_account_requests SET org_id = $2, account_name = $3, email = $4, requested_ms = $5, \
             completes_ms = $6, account_id = $7, failure_reason = $8 WHERE id = $1",
            &[
                &c.id,
                &c.org_id,
                &c.account_name,
                &c.email,
                &c.requested_ms,
                &c.completes_ms,
                &c.account_id,
                &c.failure_reason.as_ref().map(|f| f.as_str()),
            ],
        )?;
        Ok(())
    }

    fn car_list(&mut self, org_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<CreateAccountRecord>> {
        self.note_org(org_id)?;
        self.many(
            concat!("SELECT ", car_cols!(), " FROM create_account_requests WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"),
            &[&org_id, &after(after_seq), &lim(limit)],
            car_row,
        )
    }

    // --- tags ---
    fn tags_get(&mut self, org_id: &str, resource_id: &str) -> StoreResult<Vec<TagRecord>> {
        self.note_org(org_id)?;
        self.many("SELECT key, value FROM tags WHERE org_id = $1 AND resource_id = $2 ORDER BY key", &[&org_id, &resource_id], tag_row)
    }

    fn tags_put(&mut self, org_id: &str, resource_id: &str, tags: &[TagRecord]) -> StoreResult<()> {
        self.note_org(org_id)?;
        self.writable()?;
        for t in tags {
            self.exec(
                "INSERT INTO tags (org_id, resource_id, key, value) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (org_id, resource_id, key) DO UPDATE SET value = excluded.value",
                &[&org_id, &resource_id, &t.key, &t.value],
            )?;
        }
        Ok(())
    }

    fn tags_delete(&mut self, org_id: &str, resource_id: &str, keys: &[String]) -> StoreResult<()> {
        self.note_org(org_id)?;
        self.writable()?;
        for k in keys {
            self.exec("DELETE FROM tags WHERE org_id = $1 AND resource_id = $2 AND key = $3", &[&org_id, &resource_id, k])?;
        }
        Ok(())
    }

    fn tags_delete_all(&mut self, org_id: &str, resource_id: &str) -> StoreResult<()> {
        self.note_org(org_id)?;
        self.exec("DELETE FROM tags WHERE org_id = $1 AND resource_id = $2", &[&org_id, &resource_id])?;
        Ok(())
    }

    // --- policies ---
    fn policy_get(&mut self, org_id: &str, policy_id: &str) -> StoreResult<Option<PolicyRecord>> {
        self.note_org(org_id)?;
        self.one(concat!("SELECT ", policy_cols!(), " FROM policies WHERE org_id = $1 AND id = $2"), &[&org_id, &policy_id], policy_row)
    }

    fn policy_insert(&mut self, p: &PolicyRecord) -> StoreResult<PolicyRecord> {
        let seq = self.insert_seq(
            concat!(
                "INSERT INTO policies (",
                policy_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nextval('canopy_seq')) RETURNING seq"
            ),
            &[&p.id, &p.org_id, &p.policy_type.as_str(), &p.name, &p.description, &p.content, &p.created_ms, &p.updated_ms],
        )?;
        Ok(PolicyRecord { seq, ..p.clone() })
    }

    fn policy_update(&mut self, p: &PolicyRecord) -> StoreResult<()> {
        self.exec(
            "UPDATE policies SET name = $3, description = $4, content = $5, updated_ms = $6 WHERE org_id = $1 AND id = $2",
            &[&p.org_id, &p.id, &p.name, &p.description, &p.content, &p.updated_ms],
        )?;
        Ok(())
    }

    fn policy_delete(&mut self, org_id: &str, policy_id: &str) -> StoreResult<()> {
        self.note_org(org_id)?;
        self.exec("DELETE FROM policies WHERE org_id = $1 AND id = $2", &[&org_id, &policy_id])?;
        Ok(())
    }

    fn policy_list(&mut self, org_id: &str, policy_type: PolicyType, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<PolicyRecord>> {
        self.note_org(org_id)?;
        self.many(
            concat!("SELECT ", policy_cols!(), " FROM policies WHERE org_id = $1 AND policy_type = $2 AND seq > $3 ORDER BY seq LIMIT $4"),
            &[&org_id, &policy_type.as_str(), &after(after_seq), &lim(limit)],
            policy_row,
        )
    }

    fn policy_count(&mut self, org_id: &str, policy_type: PolicyType) -> StoreResult<u64> {
        self.note_org(org_id)?;
        self.count("SELECT COUNT(*) FROM policies WHERE org_id = $1 AND policy_type = $2", &[&org_id, &policy_type.as_str()])
    }

    fn policy_find_by_name(&mut self, org_id: &str, policy_type: PolicyType, name: &str) -> StoreResult<Option<PolicyRecord>> {
        self.note_org(org_id)?;
        self.one(
            concat!("SELECT ", policy_cols!(), " FROM policies WHERE org_id = $1 AND policy_type = $2 AND name = $3 LIMIT 1"),
            &[&org_id, &policy_type.as_str(), &name],
            policy_row,
        )
    }

    // --- policy attachments ---
    fn attachment_insert(&mut self, a: &PolicyAttachmentRecord) -> StoreResult<PolicyAttachmentRecord> {
        let seq = self.insert_seq(
            concat!(
                "INSERT INTO policy_attachments (",
                attachment_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, nextval('canopy_seq')) RETURNING seq"
            ),
            &[&a.org_id, &a.policy_id, &a.target_id, &a.policy_type.as_str(), &a.attached_ms],
        )?;
        Ok(PolicyAttachmentRecord { seq, ..a.clone() })
    }

    fn attachment_get(&mut self, org_id: &str, policy_id: &str, target_id: &str) -> StoreResult<Option<PolicyAttachmentRecord>> {
        self.note_org(org_id)?;
        self.one(
            concat!("SELECT ", attachment_cols!(), " FROM policy_attachments WHERE org_id = $1 AND policy_id = $2 AND target_id = $3"),
            &[&org_id, &policy_id, &target_id],
            attachment_row,
        )
    }

    fn attachment_delete(&mut self, org_id: &str, policy_id: &str, target_id: &str) -> StoreResult<()> {
        self.note_org(org_id)?;
        self.exec(
            "DELETE FROM policy_attachments WHERE org_id = $1 AND policy_id = $2 AND target_id = $3",
            &[&org_id, &policy_id, &target_id],
        )?;
        Ok(())
    }

    fn attachment_list_by_target(
        &mut self,
        org_id: &str,
        target_id: &str,
        policy_type: Option<PolicyType>,
        after_seq: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<PolicyAttachmentRecord>> {
        match policy_type {
            Some(t) => self.many(
                concat!(
                    "SELECT ",
                    attachment_cols!(),
                    " FROM policy_attachments WHERE org_id = $1 AND target_id = $2 AND policy_type = $3 AND seq > $4 ORDER BY seq LIMIT $5"
                ),
                &[&org_id, &target_id, &t.as_str(), &after(after_seq), &lim(limit)],
                attachment_row,
            ),
            None => self.many(
                concat!(
                    "SELECT ",
                    attachment_cols!(),
                    " FROM policy_attachments WHERE org_id = $1 AND target_id = $2 AND seq > $3 ORDER BY seq LIMIT $4"
                ),
                &[&org_id, &target_id, &after(after_seq), &lim(limit)],
                attachment_row,
            ),
        }
    }

    fn attachment_list_by_policy(&mut self, org_id: &str, policy_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<PolicyAttachmentRecord>> {
        self.note_org(org_id)?;
        self.many(
            concat!("SELECT ", attachment_cols!(), " FROM policy_attachments WHERE org_id = $1 AND policy_id = $2 AND seq > $3 ORDER BY seq LIMIT $4"),
            &[&org_id, &policy_id, &after(after_seq), &lim(limit)],
            attachment_row,
        )
    }

    fn attachment_count_by_target(&mut self, org_id: &str, target_id: &str, policy_type: PolicyType) -> StoreResult<u64> {
        self.note_org(org_id)?;
        self.count(
            "SELECT COUNT(*) FROM policy_attachments WHERE org_id = $1 AND target_id = $2 AND policy_type = $3",
            &[&org_id, &target_id, &policy_type.as_str()],
        )
    }

    fn attachment_count_by_policy(&mut self, org_id: &str, policy_id: &str) -> StoreResult<u64> {
        self.note_org(org_id)?;
        self.count("SELECT COUNT(*) FROM policy_attachments WHERE org_id = $1 AND policy_id = $2", &[&org_id, &policy_id])
    }

    fn attachment_delete_by_type(&mut self, org_id: &str, policy_type: PolicyType) -> StoreResult<()> {
        self.note_org(org_id)?;
        self.exec("DELETE FROM policy_attachments WHERE org_id = $1 AND policy_type = $2", &[&org_id, &policy_type.as_str()])?;
        Ok(())
    }

    fn attachment_delete_by_target(&mut self, org_id: &str, target_id: &str) -> StoreResult<()> {
        self.note_org(org_id)?;
        self.exec("DELETE FROM policy_attachments WHERE org_id = $1 AND target_id = $2", &[&org_id, &target_id])?;
        Ok(())
    }

    fn credential_get(&mut self, access_key_id: &str) -> StoreResult<Option<CredentialRecord>> {
        self.one(concat!("SELECT ", credential_cols!(), " FROM credentials WHERE access_key_id = $1"), &[&access_key_id], credential_row)
    }

    fn credential_insert(&mut self, c: &CredentialRecord) -> StoreResult<()> {
        self.exec(
            concat!("INSERT INTO credentials (", credential_cols!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
            &[
                &c.access_key_id,
                &c.partition,
                &c.account_id,
                &c.principal,
                &c.user_id,
                &c.secret_sealed,
                &c.session_token_sha256,
                &c.expires_ms,
                &c.created_ms,
                &c.session.as_ref().map(canopy_core::SessionFacts::to_json),
            ],
        )?;
        Ok(())
    }

    fn credential_count_long_term(&mut self) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM credentials WHERE session_token_sha256 IS NULL", &[])
    }

    fn credential_delete_expired(&mut self, now_ms: i64) -> StoreResult<()> {
        self.exec("DELETE FROM credentials WHERE expires_ms < $1", &[&now_ms])?;
        Ok(())
    }

    fn credential_list_long_term(&mut self, partition: &str, account_id: Option<&str>) -> StoreResult<Vec<CredentialRecord>> {
        self.many(
            concat!(
                "SELECT ", credential_cols!(), " FROM credentials WHERE session_token_sha256 IS NULL AND partition = $1 ",
                "AND ($2::TEXT IS NULL OR account_id = $2) ORDER BY created_ms, access_key_id COLLATE \"C\""
            ),
            &[&partition, &account_id],
            credential_row,
        )
    }

    fn credential_delete(&mut self, access_key_id: &str) -> StoreResult<()> {
        self.exec("DELETE FROM credentials WHERE access_key_id = $1", &[&access_key_id])?;
        Ok(())
    }

    fn role_get(&mut self, partition: &str, account_id: &str, name: &str) -> StoreResult<Option<RoleRecord>> {
        self.one(
            concat!("SELECT ", role_cols!(), " FROM roles WHERE partition = $1 AND account_id = $2 AND name = $3"),
            &[&partition, &account_id, &name],
            role_row,
        )
    }

    fn role_put(&mut self, r: &RoleRecord) -> StoreResult<()> {
        self.exec(
            concat!(
                "INSERT INTO roles (", role_cols!(), ") VALUES ($1, $2, $3, $4, $5, $6) ",
                "ON CONFLICT (partition, account_id, name) DO UPDATE SET role_id = excluded.role_id, ",
                "trusted_account_id = excluded.trusted_account_id, created_ms = excluded.created_ms"
            ),
            &[&r.partition, &r.account_id, &r.name, &r.role_id, &r.trusted_account_id, &r.created_ms],
        )?;
        Ok(())
    }

    fn handshake_insert(&mut self, h: &HandshakeRecord) -> StoreResult<HandshakeRecord> {
        self.note_org(&h.org_id)?;
        let parties = handshake_json::parties_to_json(&h.parties);
        let resources = handshake_json::resources_to_json(&h.resources);
        let seq = self.insert_seq(
            concat!(
                "INSERT INTO handshakes (",
                pg_handshake_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, nextval('canopy_seq')) RETURNING seq"
            ),
            &[
                &h.id,
                &h.partition,
                &h.arn,
                &h.org_id,
                &h.action.as_str(),
                &parties,
                &resources,
                &h.recipient,
                &h.parent_id,
                &h.state.as_str(),
                &h.requested_ms,
                &h.expires_ms,
                &h.ended_ms,
            ],
        )?;
        Ok(HandshakeRecord { seq, ..h.clone() })
    }

    fn handshake_get(&mut self, handshake_id: &str) -> StoreResult<Option<HandshakeRecord>> {
        self.one(concat!("SELECT ", pg_handshake_cols!(), " FROM handshakes WHERE id = $1"), &[&handshake_id], pg_handshake_row)
    }

    fn handshake_update(&mut self, h: &HandshakeRecord) -> StoreResult<()> {
        self.note_org(&h.org_id)?;
        let parties = handshake_json::parties_to_json(&h.parties);
        let resources = handshake_json::resources_to_json(&h.resources);
        self.exec(
            "UPDATE handshakes SET parties = $2, resources = $3, state = $4, expires_ms = $5, ended_ms = $6 WHERE id = $1",
            &[&h.id, &parties, &resources, &h.state.as_str(), &h.expires_ms, &h.ended_ms],
        )?;
        Ok(())
    }

    fn handshake_list_by_org(
        &mut self,
        org_id: &str,
        action: Option<canopy_api::ActionType>,
        parent_id: Option<&str>,
        after_seq: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<HandshakeRecord>> {
        self.note_org(org_id)?;
        let action = action.map(|a| a.as_str());
        self.many(
            concat!(
                "SELECT ",
                pg_handshake_cols!(),
                " FROM handshakes WHERE org_id = $1 AND (CAST($2 AS TEXT) IS NULL OR action = $2) \
                 AND (CAST($3 AS TEXT) IS NULL OR parent_id = $3) AND seq > $4 ORDER BY seq LIMIT $5"
            ),
            &[&org_id, &action, &parent_id, &after(after_seq), &lim(limit)],
            pg_handshake_row,
        )
    }

    fn handshake_list_by_recipient(
        &mut self,
        partition: &str,
        account_id: &str,
        email_lower: &str,
        after_seq: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<HandshakeRecord>> {
        self.many(
            concat!(
                "SELECT ",
                pg_handshake_cols!(),
                " FROM handshakes WHERE partition = $1 AND recipient IN ($2, $3) AND seq > $4 ORDER BY seq LIMIT $5"
            ),
            &[&partition, &account_id, &email_lower, &after(after_seq), &lim(limit)],
            pg_handshake_row,
        )
    }

    fn handshake_list_pending(
        &mut self,
        org_id: &str,
        action: canopy_api::ActionType,
        recipient: Option<&str>,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<HandshakeRecord>> {
        self.note_org(org_id)?;
        self.many(
            concat!(
                "SELECT ",
                pg_handshake_cols!(),
                " FROM handshakes WHERE org_id = $1 AND action = $2 AND (CAST($3 AS TEXT) IS NULL OR recipient = $3) \
                 AND ended_ms IS NULL AND expires_ms > $4 ORDER BY seq LIMIT $5"
            ),
            &[&org_id, &action.as_str(), &recipient, &now_ms, &lim(limit)],
            pg_handshake_row,
        )
    }

    fn handshake_count_pending(&mut self, org_id: &str, action: canopy_api::ActionType, now_ms: i64) -> StoreResult<u64> {
        self.note_org(org_id)?;
        self.count(
            "SELECT COUNT(*) FROM handshakes WHERE org_id = $1 AND action = $2 AND ended_ms IS NULL AND expires_ms > $3",
            &[&org_id, &action.as_str(), &now_ms],
        )
    }

    fn handshake_count_sent_since(&mut self, org_id: &str, action: canopy_api::ActionType, since_ms: i64) -> StoreResult<u64> {
        self.note_org(org_id)?;
        self.count(
            "SELECT COUNT(*) FROM handshakes WHERE org_id = $1 AND action = $2 AND requested_ms >= $3 AND state <> 'ACCEPTED'",
            &[&org_id, &action.as_str(), &since_ms],
        )
    }

    fn handshake_delete_ended_before(&mut self, org_id: &str, cutoff_ms: i64) -> StoreResult<()> {
        self.note_org(org_id)?;
        self.exec(
            "DELETE FROM tags WHERE org_id = $1 AND resource_id IN \
             (SELECT id FROM handshakes WHERE org_id = $1 AND COALESCE(ended_ms, expires_ms) < $2)",
            &[&org_id, &cutoff_ms],
        )?;
        self.exec("DELETE FROM handshakes WHERE org_id = $1 AND COALESCE(ended_ms, expires_ms) < $2", &[&org_id, &cutoff_ms])?;
        Ok(())
    }
    fn service_access_get(&mut self, org_id: &str, service_principal: &str) -> StoreResult<Option<ServiceAccessRecord>> {
        self.note_org(org_id)?;
        self.one(
            concat!("SELECT ", service_access_cols!(), " FROM service_access WHERE org_id = $1 AND service_principal = $2"),
            &[&org_id, &service_principal],
            service_access_row,
        )
    }

    fn service_access_insert(&mut self, a: &ServiceAccessRecord) -> StoreResult<ServiceAccessRecord> {
        self.note_org(&a.org_id)?;
        let seq = self.insert_seq(
            concat!("INSERT INTO service_access (", service_access_cols!(), ") VALUES ($1, $2, $3, nextval('canopy_seq')) RETURNING seq"),
            &[&a.org_id, &a.service_principal, &a.enabled_ms],
        )?;
        Ok(ServiceAccessRecord { seq, ..a.clone() })
    }

    fn service_access_delete(&mut self, org_id: &str, service_principal: &str) -> StoreResult<()> {
        self.note_org(org_id)?;
        self.exec("DELETE FROM service_access WHERE org_id = $1 AND service_principal = $2", &[&org_id, &service_principal])?;
        Ok(())
    }

    fn service_access_list(&mut self, org_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<ServiceAccessRecord>> {
        self.note_org(org_id)?;
        self.many(
            concat!("SELECT ", service_access_cols!(), " FROM service_access WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"),
            &[&org_id, &after(after_seq), &lim(limit)],
            service_access_row,
        )
    }

    fn delegated_admin_get(&mut self, org_id: &str, account_id: &str, service_principal: &str) -> StoreResult<Option<DelegatedAdminRecord>> {
        self.note_org(org_id)?;
        self.one(
            concat!(
                "SELECT ",
                delegated_admin_cols!(),
                " FROM delegated_admins WHERE org_id = $1 AND account_id = $2 AND service_principal = $3"
            ),
            &[&org_id, &account_id, &service_principal],
            delegated_admin_row,
        )
    }

    fn delegated_admin_insert(&mut self, d: &DelegatedAdminRecord) -> StoreResult<DelegatedAdminRecord> {
        self.note_org(&d.org_id)?;
        let seq = self.insert_seq(
            concat!("INSERT INTO delegated_admins (", delegated_admin_cols!(), ") VALUES ($1, $2, $3, $4, nextval('canopy_seq')) RETURNING seq"),
            &[&d.org_id, &d.account_id, &d.service_principal, &d.registered_ms],
        )?;
        Ok(DelegatedAdminRecord { seq, ..d.clone() })
    }

    fn delegated_admin_delete(&mut self, org_id: &str, account_id: &str, service_principal: &str) -> StoreResult<()> {
        self.note_org(org_id)?;
        self.exec(
            "DELETE FROM delegated_admins WHERE org_id = $1 AND account_id = $2 AND service_principal = $3",
            &[&org_id, &account_id, &service_principal],
        )?;
        Ok(())
    }

    fn delegated_admin_delete_by_service(&mut self, org_id: &str, service_principal: &str) -> StoreResult<()> {
        self.note_org(org_id)?;
        self.exec("DELETE FROM delegated_admins WHERE org_id = $1 AND service_principal = $2", &[&org_id, &service_principal])?;
        Ok(())
    }

    fn delegated_admin_list(&mut self, org_id: &str, service_principal: Option<&str>, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<DelegatedAdminRecord>> {
        self.note_org(org_id)?;
        match service_principal {
            Some(sp) => self.many(
                concat!(
                    "SELECT ",
                    delegated_admin_cols!(),
                    " FROM delegated_admins WHERE org_id = $1 AND service_principal = $2 AND seq > $3 ORDER BY seq LIMIT $4"
                ),
                &[&org_id, &sp, &after(after_seq), &lim(limit)],
                delegated_admin_row,
            ),
            None => self.many(
                concat!(
                    "SELECT ",
                    delegated_admin_cols!(),
                    " FROM delegated_admins d WHERE org_id = $1 AND seq > $2 AND seq = ",
                    "(SELECT MIN(f.seq) FROM delegated_admins f WHERE f.org_id = d.org_id AND f.account_id = d.account_id) ORDER BY seq LIMIT $3"
                ),
                &[&org_id, &after(after_seq), &lim(limit)],
                delegated_admin_row,
            ),
        }
    }

    fn delegated_admin_list_by_account(&mut self, org_id: &str, account_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<DelegatedAdminRecord>> {
        self.note_org(org_id)?;
        self.many(
            concat!(
                "SELECT ",
                delegated_admin_cols!(),
                " FROM delegated_admins WHERE org_id = $1 AND account_id = $2 AND seq > $3 ORDER BY seq LIMIT $4"
            ),
            &[&org_id, &account_id, &after(after_seq), &lim(limit)],
            delegated_admin_row,
        )
    }

    fn delegated_admin_count_by_service(&mut self, org_id: &str, service_principal: &str) -> StoreResult<u64> {
        self.note_org(org_id)?;
        self.count("SELECT COUNT(*) FROM delegated_admins WHERE org_id = $1 AND service_principal = $2", &[&org_id, &service_principal])
    }

    fn delegated_admin_count_by_account(&mut self, org_id: &str, account_id: &str) -> StoreResult<u64> {
        self.note_org(org_id)?;
        self.count("SELECT COUNT(*) FROM delegated_admins WHERE org_id = $1 AND account_id = $2", &[&org_id, &account_id])
    }

    fn resource_policy_get(&mut self, org_id: &str) -> StoreResult<Option<ResourcePolicyRecord>> {
        self.note_org(org_id)?;
        self.one(concat!("SELECT ", resource_policy_cols!(), " FROM resource_policies WHERE org_id = $1"), &[&org_id], resource_policy_row)
    }

    fn resource_policy_put(&mut self, p: &ResourcePolicyRecord) -> StoreResult<()> {
        self.note_org(&p.org_id)?;
        self.exec(
            concat!(
                "INSERT INTO resource_policies (", resource_policy_cols!(), ") VALUES ($1, $2, $3, $4, $5) ",
                "ON CONFLICT (org_id) DO UPDATE SET id = excluded.id, content = excluded.content, ",
                "created_ms = excluded.created_ms, updated_ms = excluded.updated_ms"
            ),
            &[&p.org_id, &p.id, &p.content, &p.created_ms, &p.updated_ms],
        )?;
        Ok(())
    }

    fn resource_policy_delete(&mut self, org_id: &str) -> StoreResult<()> {
        self.note_org(org_id)?;
        self.exec("DELETE FROM resource_policies WHERE org_id = $1", &[&org_id])?;
        Ok(())
    }
    fn govcloud_link_insert(&mut self, l: &GovCloudLinkRecord) -> StoreResult<()> {
        self.note_org(&l.org_id)?;
        self.exec(
            concat!("INSERT INTO govcloud_links (", govcloud_link_cols!(), ") VALUES ($1, $2, $3, $4, $5)"),
            &[&l.org_id, &l.create_request_id, &l.account_id, &l.govcloud_account_id, &l.created_ms],
        )?;
        Ok(())
    }

    fn govcloud_link_by_request(&mut self, org_id: &str, create_request_id: &str) -> StoreResult<Option<GovCloudLinkRecord>> {
        self.note_org(org_id)?;
        self.one(
            concat!("SELECT ", govcloud_link_cols!(), " FROM govcloud_links WHERE org_id = $1 AND create_request_id = $2"),
            &[&org_id, &create_request_id],
            govcloud_link_row,
        )
    }

    fn govcloud_link_by_account(&mut self, org_id: &str, account_id: &str) -> StoreResult<Option<GovCloudLinkRecord>> {
        self.note_org(org_id)?;
        self.one(
            concat!("SELECT ", govcloud_link_cols!(), " FROM govcloud_links WHERE org_id = $1 AND account_id = $2"),
            &[&org_id, &account_id],
            govcloud_link_row,
        )
    }

    fn transfer_insert(&mut self, t: &TransferRecord) -> StoreResult<TransferRecord> {
        let seq = self.insert_seq(
            concat!(
                "INSERT INTO responsibility_transfers (", transfer_cols!(), ") ",
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, nextval('canopy_seq')) RETURNING seq"
            ),
            &[
                &t.id,
                &t.transfer_type.as_str(),
                &t.name,
                &t.source_org_id,
                &t.source_account_id,
                &t.source_email,
                &t.target_org_id,
                &t.target_account_id,
                &t.target_email,
                &t.handshake_id,
                &t.status.as_str(),
                &t.start_ms,
                &t.end_ms,
                &t.expires_ms,
                &t.created_ms,
            ],
        )?;
        Ok(TransferRecord { seq, ..t.clone() })
    }

    fn transfer_get(&mut self, transfer_id: &str) -> StoreResult<Option<TransferRecord>> {
        self.one(concat!("SELECT ", transfer_cols!(), " FROM responsibility_transfers WHERE id = $1"), &[&transfer_id], transfer_row)
    }

    fn transfer_get_by_handshake(&mut self, handshake_id: &str) -> StoreResult<Option<TransferRecord>> {
        self.one(
            concat!("SELECT ", transfer_cols!(), " FROM responsibility_transfers WHERE handshake_id = $1"),
            &[&handshake_id],
            transfer_row,
        )
    }

    fn transfer_update(&mut self, t: &TransferRecord) -> StoreResult<()> {
        self.exec(
            "UPDATE responsibility_transfers SET name = $2, status = $3, end_ms = $4, expires_ms = $5 WHERE id = $1",
            &[&t.id, &t.name, &t.status.as_str(), &t.end_ms, &t.expires_ms],
        )?;
        Ok(())
    }

    fn transfer_list_inbound(&mut self, org_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<TransferRecord>> {
        self.many(
            concat!(
                "SELECT ", transfer_cols!(), " FROM responsibility_transfers WHERE target_org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
            ),
            &[&org_id, &after(after_seq), &lim(limit)],
            transfer_row,
        )
    }

    fn transfer_list_outbound(&mut self, org_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<TransferRecord>> {
        self.many(
            concat!(
                "SELECT ", transfer_cols!(), " FROM responsibility_transfers WHERE source_org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
            ),
            &[&org_id, &after(after_seq), &lim(limit)],
            transfer_row,
        )
    }
}

fn credential_row(r: &Row) -> StoreResult<CredentialRecord> {
    Ok(CredentialRecord {
        access_key_id: g(r, 0)?,
        partition: g(r, 1)?,
        account_id: g(r, 2)?,
        principal: g(r, 3)?,
        user_id: g(r, 4)?,
        secret_sealed: g(r, 5)?,
        session_token_sha256: g(r, 6)?,
        expires_ms: g(r, 7)?,
        created_ms: g(r, 8)?,
        session: g::<Option<String>>(r, 9)?.map(|text| canopy_core::SessionFacts::from_json(&text)).transpose().map_err(StoreError::Backend)?,
    })
}

fn role_row(r: &Row) -> StoreResult<RoleRecord> {
    Ok(RoleRecord {
        partition: g(r, 0)?,
        account_id: g(r, 1)?,
        name: g(r, 2)?,
        role_id: g(r, 3)?,
        trusted_account_id: g(r, 4)?,
        created_ms: g(r, 5)?,
    })
}

use canopy_core::{handshake_json, HandshakeRecord};

macro_rules! pg_handshake_cols {
    () => {
        "id, partition, arn, org_id, action, parties, resources, recipient, parent_id, state, requested_ms, expires_ms, ended_ms, seq"
    };
}
use pg_handshake_cols;

fn pg_handshake_row(r: &Row) -> StoreResult<HandshakeRecord> {
    let action: String = g(r, 4)?;
    let parties: String = g(r, 5)?;
    let resources: String = g(r, 6)?;
    let state: String = g(r, 9)?;
    Ok(HandshakeRecord {
        id: g(r, 0)?,
        partition: g(r, 1)?,
        arn: g(r, 2)?,
        org_id: g(r, 3)?,
        action: canopy_api::ActionType::from_wire(&action).ok_or_else(|| corrupt("handshake action", &action))?,
        parties: handshake_json::parties_from_json(&parties).map_err(StoreError::Corrupt)?,
        resources: handshake_json::resources_from_json(&resources).map_err(StoreError::Corrupt)?,
        recipient: g(r, 7)?,
        parent_id: g(r, 8)?,
        state: canopy_api::HandshakeState::from_wire(&state).ok_or_else(|| corrupt("handshake state", &state))?,
        requested_ms: g(r, 10)?,
        expires_ms: g(r, 11)?,
        ended_ms: g(r, 12)?,
        seq: g(r, 13)?,
    })
}
use canopy_core::{DelegatedAdminRecord, ResourcePolicyRecord, ServiceAccessRecord};

macro_rules! service_access_cols { () => { "org_id, service_principal, enabled_ms, seq" } }
macro_rules! delegated_admin_cols { () => { "org_id, account_id, service_principal, registered_ms, seq" } }
macro_rules! resource_policy_cols { () => { "org_id, id, content, created_ms, updated_ms" } }
use {delegated_admin_cols, resource_policy_cols, service_access_cols};

fn service_access_row(r: &Row) -> StoreResult<ServiceAccessRecord> {
    Ok(ServiceAccessRecord { org_id: g(r, 0)?, service_principal: g(r, 1)?, enabled_ms: g(r, 2)?, seq: g(r, 3)? })
}

fn delegated_admin_row(r: &Row) -> StoreResult<DelegatedAdminRecord> {
    Ok(DelegatedAdminRecord { org_id: g(r, 0)?, account_id: g(r, 1)?, service_principal: g(r, 2)?, registered_ms: g(r, 3)?, seq: g(r, 4)? })
}

fn resource_policy_row(r: &Row) -> StoreResult<ResourcePolicyRecord> {
    Ok(ResourcePolicyRecord { org_id: g(r, 0)?, id: g(r, 1)?, content: g(r, 2)?, created_ms: g(r, 3)?, updated_ms: g(r, 4)? })
}

impl PgTx<'_> {
    /// The organization-scoped rows of this section, for `org_delete`.
    fn delegation_org_delete(&mut self, org_id: &str) -> StoreResult<()> {
        self.exec("DELETE FROM service_access WHERE org_id = $1", &[&org_id])?;
        self.exec("DELETE FROM delegated_admins WHERE org_id = $1", &[&org_id])?;
        self.exec("DELETE FROM resource_policies WHERE org_id = $1", &[&org_id])?;
        Ok(())
    }
}
macro_rules! govcloud_link_cols { () => { "org_id, create_request_id, account_id, govcloud_account_id, created_ms" } }
macro_rules! transfer_cols {
    () => {
        "id, transfer_type, name, source_org_id, source_account_id, source_email, target_org_id, target_account_id, \
         target_email, handshake_id, status, start_ms, end_ms, expires_ms, created_ms, seq"
    };
}
use govcloud_link_cols;
use transfer_cols;
use canopy_api::{ResponsibilityTransferStatus, ResponsibilityTransferType};
use canopy_core::{GovCloudLinkRecord, TransferRecord};

fn govcloud_link_row(r: &Row) -> StoreResult<GovCloudLinkRecord> {
    Ok(GovCloudLinkRecord {
        org_id: g(r, 0)?,
        create_request_id: g(r, 1)?,
        account_id: g(r, 2)?,
        govcloud_account_id: g(r, 3)?,
        created_ms: g(r, 4)?,
    })
}

fn transfer_row(r: &Row) -> StoreResult<TransferRecord> {
    let kind: String = g(r, 1)?;
    let status: String = g(r, 10)?;
    Ok(TransferRecord {
        id: g(r, 0)?,
        transfer_type: ResponsibilityTransferType::from_wire(&kind).ok_or_else(|| corrupt("transfer type", &kind))?,
        name: g(r, 2)?,
        source_org_id: g(r, 3)?,
        source_account_id: g(r, 4)?,
        source_email: g(r, 5)?,
        target_org_id: g(r, 6)?,
        target_account_id: g(r, 7)?,
        target_email: g(r, 8)?,
        handshake_id: g(r, 9)?,
        status: ResponsibilityTransferStatus::from_wire(&status).ok_or_else(|| corrupt("transfer status", &status))?,
        start_ms: g(r, 11)?,
        end_ms: g(r, 12)?,
        expires_ms: g(r, 13)?,
        created_ms: g(r, 14)?,
        seq: g(r, 15)?,
    })
}

impl PgTx<'_> {
    /// The GovCloud pairs and the transfers of an organization being deleted (`org_delete`).
    fn govcloud_org_delete(&mut self, org_id: &str) -> StoreResult<()> {
        self.exec("DELETE FROM govcloud_links WHERE org_id = $1", &[&org_id])?;
        self.exec("DELETE FROM responsibility_transfers WHERE source_org_id = $1 OR target_org_id = $1", &[&org_id])?;
        Ok(())
    }
}
