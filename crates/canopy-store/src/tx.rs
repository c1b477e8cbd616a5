//! [`SqlTx`]: the `Tx` trait over one SQLite connection inside an open transaction. Every
//! statement is prepared once per connection and kept in its [`Statements`].

use std::cell::RefCell;
use std::collections::HashMap;

use rusqlite::{params, Connection, Row, Statement};

use canopy_api::{AccountJoinedMethod, CreateAccountFailureReason, OrganizationFeatureSet, PolicyType};
use canopy_core::{
    AccountChildRecord, AccountRecord, CreateAccountRecord, OrganizationRecord, OuRecord, PolicyAttachmentRecord, PolicyRecord, RootRecord,
    StoreError, StoreResult, TagRecord, Tx, CredentialRecord, RoleRecord, SessionFacts,
};

/// Maps a SQLite error to a backend error.
pub(crate) fn be(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

trait Sql<T> {
    fn st(self) -> StoreResult<T>;
}
impl<T> Sql<T> for rusqlite::Result<T> {
    fn st(self) -> StoreResult<T> {
        self.map_err(be)
    }
}

pub(crate) const READ_ONLY_WRITE: &str = "write in a read transaction";

/// The global insertion counter during one write transaction, kept in memory and stored once
/// when the transaction commits ([`SeqCounter::store`]): an `UPDATE … RETURNING` per insert
/// was a seventh of a write's time. A job whose savepoint is rolled back leaves a gap, which is
/// harmless: `seq` only orders rows.
#[derive(Default)]
pub(crate) struct SeqCounter {
    /// `None` until the transaction's first insert reads the stored value.
    value: std::cell::Cell<Option<i64>>,
    dirty: std::cell::Cell<bool>,
}

impl SeqCounter {
    fn next(&self, stmts: &Statements) -> StoreResult<i64> {
        let current = match self.value.get() {
            Some(v) => v,
            None => stmts.with("SELECT value FROM counters WHERE name = 'seq'", |st| st.query_row([], |r| r.get(0)))?,
        };
        self.value.set(Some(current + 1));
        self.dirty.set(true);
        Ok(current + 1)
    }

    /// After `reset` rewound the stored counter inside this transaction.
    pub(crate) fn rewound(&self) {
        self.value.set(None);
        self.dirty.set(false);
    }

    /// Writes the counter back; call it last, before COMMIT.
    pub(crate) fn store(&self, stmts: &Statements) -> StoreResult<()> {
        if let (true, Some(v)) = (self.dirty.get(), self.value.get()) {
            stmts.with("UPDATE counters SET value = ?1 WHERE name = 'seq'", |st| st.execute([v]))?;
            self.dirty.set(false);
        }
        Ok(())
    }
}

/// The prepared statements of one connection, named by where their SQL text lives. Every
/// statement the store runs is a `&'static str`, so its address and length identify it, and a
/// lookup hashes two words. rusqlite's `prepare_cached` trims and hashes the text twice per use
/// and copies it into a new `Arc<str>`: 7 % of a CreateOrganizationalUnit's time on the writer
/// thread, measured.
pub(crate) struct Statements<'c> {
    conn: &'c Connection,
    cache: RefCell<HashMap<(usize, usize), Statement<'c>, foldhash::fast::FixedState>>,
}

impl<'c> Statements<'c> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        Statements { conn, cache: RefCell::new(HashMap::with_capacity_and_hasher(128, foldhash::fast::FixedState::default())) }
    }

    pub(crate) fn conn(&self) -> &'c Connection {
        self.conn
    }

    /// Runs `f` on the statement for `sql`, prepared on first use. The statement is taken out
    /// of the cache while `f` runs (so a nested use prepares its own copy rather than sharing a
    /// statement that is mid-step) and put back after; rusqlite resets it when `f`'s rows or
    /// execution end. Bindings are not cleared: every use binds all its parameters.
    pub(crate) fn with<T>(&self, sql: &'static str, f: impl FnOnce(&mut Statement<'c>) -> rusqlite::Result<T>) -> StoreResult<T> {
        self.run(sql, f).st()
    }

    /// [`Statements::with`], answering SQLite's own error.
    pub(crate) fn run<T>(&self, sql: &'static str, f: impl FnOnce(&mut Statement<'c>) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        let key = (sql.as_ptr() as usize, sql.len());
        let taken = self.cache.borrow_mut().remove(&key);
        let mut st = match taken {
            Some(st) => st,
            None => self.conn.prepare_with_flags(sql, rusqlite::PrepFlags::SQLITE_PREPARE_PERSISTENT)?,
        };
        let result = f(&mut st);
        self.cache.borrow_mut().insert(key, st);
        result
    }
}

/// Account, organization and root rows read by key during one transaction, for the closures
/// of the same batch after the first: every operation begins by reading its caller's account
/// and organization (`access::membership`), most then read the root, and a batch's callers are
/// mostly the same one. The three lookups were 13 % of a CreateOrganizationalUnit on the writer
/// thread. Create one per transaction. Any statement that writes a table named `accounts`,
/// `organizations` or `roots` empties it (`SqlTx::exec`); the writer also empties it when a
/// job's savepoint is rolled back or the store is reset, since those change rows without a
/// statement of this module.
#[derive(Default)]
pub(crate) struct RowCache {
    accounts: Kept<AccountRecord>,
    orgs: Kept<OrganizationRecord>,
    roots: Kept<RootRecord>,
}

/// Rows kept per table; a batch with more distinct callers reads the rest as before.
const ROW_CACHE_ENTRIES: usize = 8;

impl RowCache {
    pub(crate) fn clear(&self) {
        self.accounts.0.borrow_mut().clear();
        self.orgs.0.borrow_mut().clear();
        self.roots.0.borrow_mut().clear();
    }
}

/// Rows of one table, or their absence, by a key of one or two parts (the second empty for one).
struct Kept<V>(RefCell<Vec<(String, String, Option<V>)>>);

impl<V> Default for Kept<V> {
    fn default() -> Self {
        Kept(RefCell::new(Vec::new()))
    }
}

impl<V: Clone> Kept<V> {
    /// The kept row for the key, or else `load`'s, kept while there is room.
    fn get_or(&self, k1: &str, k2: &str, load: impl FnOnce() -> StoreResult<Option<V>>) -> StoreResult<Option<V>> {
        if let Some((_, _, row)) = self.0.borrow().iter().find(|(a, b, _)| a == k1 && b == k2) {
            return Ok(row.clone());
        }
        let row = load()?;
        let mut rows = self.0.borrow_mut();
        if rows.len() < ROW_CACHE_ENTRIES {
            rows.push((k1.to_string(), k2.to_string(), row.clone()));
        }
        Ok(row)
    }
}

pub(crate) struct SqlTx<'s, 'c> {
    stmts: &'s Statements<'c>,
    /// `None` in a read transaction, which refuses writes.
    seq: Option<&'s SeqCounter>,
    rows: &'s RowCache,
}

impl<'s, 'c> SqlTx<'s, 'c> {
    pub(crate) fn read(stmts: &'s Statements<'c>, rows: &'s RowCache) -> Self {
        SqlTx { stmts, seq: None, rows }
    }

    pub(crate) fn write(stmts: &'s Statements<'c>, seq: &'s SeqCounter, rows: &'s RowCache) -> Self {
        SqlTx { stmts, seq: Some(seq), rows }
    }

    fn writable(&self) -> StoreResult<()> {
        if self.seq.is_some() {
            Ok(())
        } else {
            Err(StoreError::Backend(READ_ONLY_WRITE.into()))
        }
    }

    /// The next value of the global insertion counter (writes are serialized, so this is
    /// monotonic).
    fn next_seq(&self) -> StoreResult<i64> {
        self.seq.ok_or_else(|| StoreError::Backend(READ_ONLY_WRITE.into()))?.next(self.stmts)
    }

    fn count(&self, sql: &'static str, p: impl rusqlite::Params) -> StoreResult<u64> {
        let n: i64 = self.stmts.with(sql, |st| st.query_row(p, |r| r.get(0)))?;
        Ok(n.max(0) as u64)
    }

    fn one<T>(&self, sql: &'static str, p: impl rusqlite::Params, map: fn(&Row) -> StoreResult<T>) -> StoreResult<Option<T>> {
        // `map`'s error is a StoreError, rusqlite's is not: carry it out beside the query's.
        let mut mapped = None;
        self.stmts.with(sql, |st| {
            let mut rows = st.query(p)?;
            if let Some(row) = rows.next()? {
                mapped = Some(map(row));
            }
            Ok(())
        })?;
        mapped.transpose()
    }

    /// At most `limit` rows. The limit is applied here, not as `LIMIT ?` in the SQL: SQLite
    /// re-prepares a statement whose LIMIT is a bound parameter on every execution (the value
    /// may change the plan), which cost a fifth of a list request. The list queries walk an
    /// index in `ORDER BY` order (all but a target's attachments of every type, which are few),
    /// so stopping early reads no more rows than LIMIT would.
    fn many<T>(&self, sql: &'static str, p: impl rusqlite::Params, limit: usize, map: fn(&Row) -> StoreResult<T>) -> StoreResult<Vec<T>> {
        let mut out = Vec::with_capacity(limit.min(32));
        let mut failed = None;
        self.stmts.with(sql, |st| {
            let mut rows = st.query(p)?;
            while out.len() < limit {
                match rows.next()? {
                    Some(row) => match map(row) {
                        Ok(v) => out.push(v),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    },
                    None => break,
                }
            }
            Ok(())
        })?;
        match failed {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    fn exec(&self, sql: &'static str, p: impl rusqlite::Params) -> StoreResult<usize> {
        self.writable()?;
        if sql.contains("accounts") || sql.contains("organizations") || sql.contains("roots") {
            self.rows.clear();
        }
        self.stmts.with(sql, |st| st.execute(p))
    }
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
/// ListAccounts' page query; `accounts_org_seq` covers it (see the tests).
const ACCOUNT_LIST_SQL: &str = concat!("SELECT ", account_cols!(), " FROM accounts WHERE org_id = ?1 AND seq > ?2 ORDER BY seq");
/// ListAccountsForParent's page query; `accounts_org_parent_seq` covers it.
const ACCOUNT_LIST_BY_PARENT_SQL: &str =
    concat!("SELECT ", account_cols!(), " FROM accounts WHERE org_id = ?1 AND parent_id = ?2 AND seq > ?3 ORDER BY seq");
/// The earliest account with an email in a partition; one search in `accounts_partition_email`.
const ACCOUNT_BY_EMAIL_SQL: &str =
    concat!("SELECT ", account_cols!(), " FROM accounts WHERE partition = ?1 AND email_lower = ?2 ORDER BY seq LIMIT 1");
/// ListChildren's page query for accounts; `accounts_org_parent_seq` covers it.
const ACCOUNT_CHILDREN_SQL: &str =
    "SELECT id, created_ms, close_requested_ms, seq FROM accounts WHERE org_id = ?1 AND parent_id = ?2 AND seq > ?3 ORDER BY seq";
macro_rules! car_cols {
    () => { "id, org_id, account_name, email, requested_ms, completes_ms, account_id, failure_reason, seq" };
}

fn org_row(r: &Row) -> StoreResult<OrganizationRecord> {
    let fs: String = r.get(3).st()?;
    Ok(OrganizationRecord {
        id: r.get(0).st()?,
        partition: r.get(1).st()?,
        management_account_id: r.get(2).st()?,
        feature_set: OrganizationFeatureSet::from_wire(&fs).ok_or_else(|| corrupt("feature set", &fs))?,
        created_ms: r.get(4).st()?,
    })
}

fn root_row(r: &Row) -> StoreResult<RootRecord> {
    let types: String = r.get(3).st()?;
    Ok(RootRecord {
        id: r.get(0).st()?,
        org_id: r.get(1).st()?,
        name: r.get(2).st()?,
        enabled_policy_types: split_policy_types(&types)?,
    })
}

fn ou_row(r: &Row) -> StoreResult<OuRecord> {
    Ok(OuRecord {
        id: r.get(0).st()?,
        org_id: r.get(1).st()?,
        parent_id: r.get(2).st()?,
        name: r.get(3).st()?,
        created_ms: r.get(4).st()?,
        seq: r.get(5).st()?,
    })
}

fn account_row(r: &Row) -> StoreResult<AccountRecord> {
    let jm: Option<String> = r.get(6).st()?;
    let joined_method = match jm {
        Some(s) => Some(AccountJoinedMethod::from_wire(&s).ok_or_else(|| corrupt("joined method", &s))?),
        None => None,
    };
    Ok(AccountRecord {
        partition: r.get(0).st()?,
        id: r.get(1).st()?,
        name: r.get(2).st()?,
        email: r.get(3).st()?,
        org_id: r.get(4).st()?,
        parent_id: r.get(5).st()?,
        joined_method,
        joined_ms: r.get(7).st()?,
        created_ms: r.get(8).st()?,
        close_requested_ms: r.get(9).st()?,
        seq: r.get(10).st()?,
    })
}

fn account_child_row(r: &Row) -> StoreResult<AccountChildRecord> {
    Ok(AccountChildRecord { id: r.get(0).st()?, created_ms: r.get(1).st()?, close_requested_ms: r.get(2).st()?, seq: r.get(3).st()? })
}

fn car_row(r: &Row) -> StoreResult<CreateAccountRecord> {
    let fr: Option<String> = r.get(7).st()?;
    let failure_reason = match fr {
        Some(s) => Some(CreateAccountFailureReason::from_wire(&s).ok_or_else(|| corrupt("failure reason", &s))?),
        None => None,
    };
    Ok(CreateAccountRecord {
        id: r.get(0).st()?,
        org_id: r.get(1).st()?,
        account_name: r.get(2).st()?,
        email: r.get(3).st()?,
        requested_ms: r.get(4).st()?,
        completes_ms: r.get(5).st()?,
        account_id: r.get(6).st()?,
        failure_reason,
        seq: r.get(8).st()?,
    })
}

macro_rules! policy_cols {
    () => { "id, org_id, policy_type, name, description, content, created_ms, updated_ms, seq" };
}
macro_rules! attachment_cols { () => { "org_id, policy_id, target_id, policy_type, attached_ms, seq" } }
/// ListPoliciesForTarget's page query (one type): the target's few rows, found by the table's
/// key (org, target, policy) and sorted by seq.
const ATTACHMENTS_BY_TARGET_OF_TYPE_SQL: &str = concat!(
    "SELECT ",
    attachment_cols!(),
    " FROM policy_attachments WHERE org_id = ?1 AND target_id = ?2 AND policy_type = ?3 AND seq > ?4 ORDER BY seq"
);
/// The same for every type.
const ATTACHMENTS_BY_TARGET_SQL: &str =
    concat!("SELECT ", attachment_cols!(), " FROM policy_attachments WHERE org_id = ?1 AND target_id = ?2 AND seq > ?3 ORDER BY seq");
/// ListTargetsForPolicy's page query: a policy can be attached to every target of the
/// organization, so it reads `policy_attachments_policy` in seq order, without a sort.
const ATTACHMENTS_BY_POLICY_SQL: &str =
    concat!("SELECT ", attachment_cols!(), " FROM policy_attachments WHERE org_id = ?1 AND policy_id = ?2 AND seq > ?3 ORDER BY seq");
macro_rules! credential_cols {
    () => { "access_key_id, partition, account_id, principal, user_id, secret_sealed, session_token_sha256, expires_ms, created_ms, session" };
}
macro_rules! role_cols { () => { "partition, account_id, name, role_id, trusted_account_id, created_ms" } }

fn policy_type_col(r: &Row, i: usize) -> StoreResult<PolicyType> {
    let t: String = r.get(i).st()?;
    PolicyType::from_wire(&t).ok_or_else(|| corrupt("policy type", &t))
}

fn policy_row(r: &Row) -> StoreResult<PolicyRecord> {
    Ok(PolicyRecord {
        id: r.get(0).st()?,
        org_id: r.get(1).st()?,
        policy_type: policy_type_col(r, 2)?,
        name: r.get(3).st()?,
        description: r.get(4).st()?,
        content: r.get(5).st()?,
        created_ms: r.get(6).st()?,
        updated_ms: r.get(7).st()?,
        seq: r.get(8).st()?,
    })
}

fn attachment_row(r: &Row) -> StoreResult<PolicyAttachmentRecord> {
    Ok(PolicyAttachmentRecord {
        org_id: r.get(0).st()?,
        policy_id: r.get(1).st()?,
        target_id: r.get(2).st()?,
        policy_type: policy_type_col(r, 3)?,
        attached_ms: r.get(4).st()?,
        seq: r.get(5).st()?,
    })
}

fn tag_row(r: &Row) -> StoreResult<TagRecord> {
    Ok(TagRecord { key: r.get(0).st()?, value: r.get(1).st()? })
}

impl Tx for SqlTx<'_, '_> {
    // --- organizations ---
    fn org_get(&mut self, org_id: &str) -> StoreResult<Option<OrganizationRecord>> {
        self.rows.orgs.get_or(org_id, "", || {
            self.one(concat!("SELECT ", org_cols!(), " FROM organizations WHERE id = ?1"), [org_id], org_row)
        })
    }

    fn org_insert(&mut self, org: &OrganizationRecord) -> StoreResult<()> {
        self.exec(
            concat!("INSERT INTO organizations (", org_cols!(), ") VALUES (?1, ?2, ?3, ?4, ?5)"),
            params![org.id, org.partition, org.management_account_id, org.feature_set.as_str(), org.created_ms],
        )?;
        Ok(())
    }

    fn org_update(&mut self, org: &OrganizationRecord) -> StoreResult<()> {
        self.exec(
            "UPDATE organizations SET partition = ?2, management_account_id = ?3, feature_set = ?4, created_ms = ?5 WHERE id = ?1",
            params![org.id, org.partition, org.management_account_id, org.feature_set.as_str(), org.created_ms],
        )?;
        Ok(())
    }

    fn org_delete(&mut self, org_id: &str) -> StoreResult<()> {
        self.exec("DELETE FROM tags WHERE org_id = ?1", [org_id])?;
        self.exec("DELETE FROM handshakes WHERE org_id = ?1", [org_id])?;
        self.exec("DELETE FROM policy_attachments WHERE org_id = ?1", [org_id])?;
        self.exec("DELETE FROM policies WHERE org_id = ?1", [org_id])?;
        self.exec("DELETE FROM create_account_requests WHERE org_id = ?1", [org_id])?;
        self.exec("DELETE FROM org_ou_counts WHERE org_id = ?1", [org_id])?;
        self.exec("DELETE FROM roots WHERE org_id = ?1", [org_id])?;
        self.govcloud_org_delete(org_id)?;
        self.delegation_org_delete(org_id)?;
        self.exec("DELETE FROM organizations WHERE id = ?1", [org_id])?;
        Ok(())
    }

    // --- roots ---
    fn root_get(&mut self, root_id: &str) -> StoreResult<Option<RootRecord>> {
        self.rows.roots.get_or(root_id, "", || {
            self.one(concat!("SELECT ", root_cols!(), " FROM roots WHERE id = ?1"), [root_id], root_row)
        })
    }

    fn root_list(&mut self, org_id: &str) -> StoreResult<Vec<RootRecord>> {
        self.many(concat!("SELECT ", root_cols!(), " FROM roots WHERE org_id = ?1 ORDER BY seq"), [org_id], usize::MAX, root_row)
    }

    fn root_insert(&mut self, root: &RootRecord) -> StoreResult<()> {
        self.writable()?;
        let seq = self.next_seq()?;
        self.exec(
            concat!("INSERT INTO roots (", root_cols!(), ", seq) VALUES (?1, ?2, ?3, ?4, ?5)"),
            params![root.id, root.org_id, root.name, join_policy_types(&root.enabled_policy_types), seq],
        )?;
        Ok(())
    }

    fn root_update(&mut self, root: &RootRecord) -> StoreResult<()> {
        self.exec(
            "UPDATE roots SET org_id = ?2, name = ?3, enabled_policy_types = ?4 WHERE id = ?1",
            params![root.id, root.org_id, root.name, join_policy_types(&root.enabled_policy_types)],
        )?;
        Ok(())
    }

    // --- organizational units ---
    fn ou_get(&mut self, ou_id: &str) -> StoreResult<Option<OuRecord>> {
        self.one(concat!("SELECT ", ou_cols!(), " FROM ous WHERE id = ?1"), [ou_id], ou_row)
    }

    fn ou_insert(&mut self, ou: &OuRecord) -> StoreResult<Option<OuRecord>> {
        self.writable()?;
        let seq = self.next_seq()?;
        let inserted = self.exec(
            concat!("INSERT INTO ous (", ou_cols!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING"),
            params![ou.id, ou.org_id, ou.parent_id, ou.name, ou.created_ms, seq],
        )?;
        if inserted == 0 {
            return Ok(None);
        }
        self.exec(
            "INSERT INTO org_ou_counts (org_id, ous) VALUES (?1, 1) ON CONFLICT (org_id) DO UPDATE SET ous = org_ou_counts.ous + 1",
            [&ou.org_id],
        )?;
        Ok(Some(OuRecord { seq, ..ou.clone() }))
    }

    fn ou_update(&mut self, ou: &OuRecord) -> StoreResult<()> {
        self.exec("UPDATE ous SET name = ?2, parent_id = ?3 WHERE id = ?1", params![ou.id, ou.name, ou.parent_id])?;
        Ok(())
    }

    fn ou_delete(&mut self, ou_id: &str) -> StoreResult<()> {
        // The count row is updated only when the OU exists (the subquery finds its organization).
        self.exec("UPDATE org_ou_counts SET ous = ous - 1 WHERE org_id = (SELECT org_id FROM ous WHERE id = ?1)", [ou_id])?;
        self.exec("DELETE FROM ous WHERE id = ?1", [ou_id])?;
        Ok(())
    }

    fn ou_list_by_parent(&mut self, parent_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<OuRecord>> {
        self.many(
            concat!("SELECT ", ou_cols!(), " FROM ous WHERE parent_id = ?1 AND seq > ?2 ORDER BY seq"),
            params![parent_id, after(after_seq)],
            limit,
            ou_row,
        )
    }

    fn ou_find_by_name(&mut self, parent_id: &str, name: &str) -> StoreResult<Option<OuRecord>> {
        // No ORDER BY: names are unique among siblings, and ordering by seq would make SQLite
        // walk every child of the parent instead of using the (parent_id, name) index.
        self.one(
            concat!("SELECT ", ou_cols!(), " FROM ous WHERE parent_id = ?1 AND name = ?2 LIMIT 1"),
            [parent_id, name],
            ou_row,
        )
    }

    fn ou_count(&mut self, org_id: &str) -> StoreResult<u64> {
        self.count("SELECT COALESCE(MAX(ous), 0) FROM org_ou_counts WHERE org_id = ?1", [org_id])
    }

    fn ou_count_by_parent(&mut self, parent_id: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM ous WHERE parent_id = ?1", [parent_id])
    }

    // --- accounts ---
    fn account_get(&mut self, partition: &str, account_id: &str) -> StoreResult<Option<AccountRecord>> {
        self.rows.accounts.get_or(partition, account_id, || {
            self.one(
                concat!("SELECT ", account_cols!(), " FROM accounts WHERE partition = ?1 AND id = ?2"),
                [partition, account_id],
                account_row,
            )
        })
    }

    fn account_insert(&mut self, a: &AccountRecord) -> StoreResult<AccountRecord> {
        self.writable()?;
        let seq = self.next_seq()?;
        self.exec(
            concat!("INSERT INTO accounts (", account_cols!(), ", email_lower) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
            params![
                a.partition,
                a.id,
                a.name,
                a.email,
                a.org_id,
                a.parent_id,
                a.joined_method.as_ref().map(|m| m.as_str()),
                a.joined_ms,
                a.created_ms,
                a.close_requested_ms,
                seq,
                a.email.to_lowercase(),
            ],
        )?;
        Ok(AccountRecord { seq, ..a.clone() })
    }

    fn account_update(&mut self, a: &AccountRecord) -> StoreResult<()> {
        self.exec(
            "UPDATE accounts SET name = ?3, email = ?4, org_id = ?5, parent_id = ?6, joined_method = ?7, joined_ms = ?8, \
             created_ms = ?9, close_requested_ms = ?10, email_lower = ?11 WHERE partition = ?1 AND id = ?2",
            params![
                a.partition,
                a.id,
                a.name,
                a.email,
                a.org_id,
                a.parent_id,
                a.joined_method.as_ref().map(|m| m.as_str()),
                a.joined_ms,
                a.created_ms,
                a.close_requested_ms,
                a.email.to_lowercase(),
            ],
        )?;
        Ok(())
    }

    fn account_list(&mut self, org_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<AccountRecord>> {
        self.many(
            ACCOUNT_LIST_SQL,
            params![org_id, after(after_seq)],
            limit,
            account_row,
        )
    }

    fn account_list_by_parent(&mut self, org_id: &str, parent_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<AccountRecord>> {
        self.many(
            ACCOUNT_LIST_BY_PARENT_SQL,
            params![org_id, parent_id, after(after_seq)],
            limit,
            account_row,
        )
    }

    fn account_children(&mut self, org_id: &str, parent_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<AccountChildRecord>> {
        self.many(
            ACCOUNT_CHILDREN_SQL,
            params![org_id, parent_id, after(after_seq)],
            limit,
            account_child_row,
        )
    }

    fn account_count(&mut self, org_id: &str) -> StoreResult<u64> {
        // Kept by triggers (migration 10).
        self.count("SELECT COALESCE((SELECT accounts FROM org_account_counts WHERE org_id = ?1), 0)", [org_id])
    }

    fn account_count_by_parent(&mut self, org_id: &str, parent_id: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM accounts WHERE org_id = ?1 AND parent_id = ?2", [org_id, parent_id])
    }

    fn account_find_by_email(&mut self, partition: &str, email: &str) -> StoreResult<Option<AccountRecord>> {
        self.one(
            ACCOUNT_BY_EMAIL_SQL,
            params![partition, email.to_lowercase()],
            account_row,
        )
    }

    // --- create-account requests ---
    fn car_get(&mut self, org_id: &str, car_id: &str) -> StoreResult<Option<CreateAccountRecord>> {
        self.one(
            concat!("SELECT ", car_cols!(), " FROM create_account_requests WHERE id = ?1 AND org_id = ?2"),
            [car_id, org_id],
            car_row,
        )
    }

    fn car_insert(&mut self, c: &CreateAccountRecord) -> StoreResult<CreateAccountRecord> {
        self.writable()?;
        let seq = self.next_seq()?;
        self.exec(
            concat!("INSERT INTO create_account_requests (", car_cols!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
            params![
                c.id,
                c.org_id,
                c.account_name,
                c.email,
                c.requested_ms,
                c.completes_ms,
                c.account_id,
                c.failure_reason.as_ref().map(|f| f.as_str()),
                seq,
            ],
        )?;
        Ok(CreateAccountRecord { seq, ..c.clone() })
    }

    fn car_update(&mut self, c: &CreateAccountRecord) -> StoreResult<()> {
        self.exec(
            "UPDATE create_account_requests SET org_id = ?2, account_name = ?3, email = ?4, requested_ms = ?5, \
             completes_ms = ?6, account_id = ?7, failure_reason = ?8 WHERE id = ?1",
            params![
                c.id,
                c.org_id,
                c.account_name,
                c.email,
                c.requested_ms,
                c.completes_ms,
                c.account_id,
                c.failure_reason.as_ref().map(|f| f.as_str()),
            ],
        )?;
        Ok(())
    }

    fn car_list(&mut self, org_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<CreateAccountRecord>> {
        self.many(
            concat!("SELECT ", car_cols!(), " FROM create_account_requests WHERE org_id = ?1 AND seq > ?2 ORDER BY seq"),
            params![org_id, after(after_seq)],
            limit,
            car_row,
        )
    }

    // --- tags ---
    fn tags_get(&mut self, org_id: &str, resource_id: &str) -> StoreResult<Vec<TagRecord>> {
        self.many("SELECT key, value FROM tags WHERE org_id = ?1 AND resource_id = ?2 ORDER BY key", [org_id, resource_id], usize::MAX, tag_row)
    }

    fn tags_put(&mut self, org_id: &str, resource_id: &str, tags: &[TagRecord]) -> StoreResult<()> {
        self.writable()?;
        for t in tags {
            self.exec(
                "INSERT INTO tags (org_id, resource_id, key, value) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (org_id, resource_id, key) DO UPDATE SET value = excluded.value",
                [org_id, resource_id, &t.key, &t.value],
            )?;
        }
        Ok(())
    }

    fn tags_delete(&mut self, org_id: &str, resource_id: &str, keys: &[String]) -> StoreResult<()> {
        self.writable()?;
        for k in keys {
            self.exec("DELETE FROM tags WHERE org_id = ?1 AND resource_id = ?2 AND key = ?3", [org_id, resource_id, k])?;
        }
        Ok(())
    }

    fn tags_delete_all(&mut self, org_id: &str, resource_id: &str) -> StoreResult<()> {
        self.exec("DELETE FROM tags WHERE org_id = ?1 AND resource_id = ?2", [org_id, resource_id])?;
        Ok(())
    }

    // --- policies ---
    fn policy_get(&mut self, org_id: &str, policy_id: &str) -> StoreResult<Option<PolicyRecord>> {
        self.one(concat!("SELECT ", policy_cols!(), " FROM policies WHERE org_id = ?1 AND id = ?2"), [org_id, policy_id], policy_row)
    }

    fn policy_insert(&mut self, p: &PolicyRecord) -> StoreResult<PolicyRecord> {
        self.writable()?;
        let seq = self.next_seq()?;
        self.exec(
            concat!("INSERT INTO policies (", policy_cols!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
            params![p.id, p.org_id, p.policy_type.as_str(), p.name, p.description, p.content, p.created_ms, p.updated_ms, seq],
        )?;
        Ok(PolicyRecord { seq, ..p.clone() })
    }

    fn policy_update(&mut self, p: &PolicyRecord) -> StoreResult<()> {
        self.exec(
            "UPDATE policies SET name = ?3, description = ?4, content = ?5, updated_ms = ?6 WHERE org_id = ?1 AND id = ?2",
            params![p.org_id, p.id, p.name, p.description, p.content, p.updated_ms],
        )?;
        Ok(())
    }

    fn policy_delete(&mut self, org_id: &str, policy_id: &str) -> StoreResult<()> {
        self.exec("DELETE FROM policies WHERE org_id = ?1 AND id = ?2", [org_id, policy_id])?;
        Ok(())
    }

    fn policy_list(&mut self, org_id: &str, policy_type: PolicyType, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<PolicyRecord>> {
        self.many(
            concat!("SELECT ", policy_cols!(), " FROM policies WHERE org_id = ?1 AND policy_type = ?2 AND seq > ?3 ORDER BY seq"),
            params![org_id, policy_type.as_str(), after(after_seq)],
            limit,
            policy_row,
        )
    }

    fn policy_count(&mut self, org_id: &str, policy_type: PolicyType) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM policies WHERE org_id = ?1 AND policy_type = ?2", [org_id, policy_type.as_str()])
    }

    fn policy_find_by_name(&mut self, org_id: &str, policy_type: PolicyType, name: &str) -> StoreResult<Option<PolicyRecord>> {
        // No ORDER BY, for the same reason as ou_find_by_name: the name index does the work.
        self.one(
            concat!("SELECT ", policy_cols!(), " FROM policies WHERE org_id = ?1 AND policy_type = ?2 AND name = ?3 LIMIT 1"),
            [org_id, policy_type.as_str(), name],
            policy_row,
        )
    }

    // --- policy attachments ---
    fn attachment_insert(&mut self, a: &PolicyAttachmentRecord) -> StoreResult<PolicyAttachmentRecord> {
        self.writable()?;
        let seq = self.next_seq()?;
        self.exec(
            concat!("INSERT INTO policy_attachments (", attachment_cols!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
            params![a.org_id, a.policy_id, a.target_id, a.policy_type.as_str(), a.attached_ms, seq],
        )?;
        Ok(PolicyAttachmentRecord { seq, ..a.clone() })
    }

    fn attachment_get(&mut self, org_id: &str, policy_id: &str, target_id: &str) -> StoreResult<Option<PolicyAttachmentRecord>> {
        self.one(
            concat!("SELECT ", attachment_cols!(), " FROM policy_attachments WHERE org_id = ?1 AND policy_id = ?2 AND target_id = ?3"),
            [org_id, policy_id, target_id],
            attachment_row,
        )
    }

    fn attachment_delete(&mut self, org_id: &str, policy_id: &str, target_id: &str) -> StoreResult<()> {
        self.exec(
            "DELETE FROM policy_attachments WHERE org_id = ?1 AND policy_id = ?2 AND target_id = ?3",
            [org_id, policy_id, target_id],
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
                ATTACHMENTS_BY_TARGET_OF_TYPE_SQL,
                params![org_id, target_id, t.as_str(), after(after_seq)],
            limit,
                attachment_row,
            ),
            None => self.many(
                ATTACHMENTS_BY_TARGET_SQL,
                params![org_id, target_id, after(after_seq)],
            limit,
                attachment_row,
            ),
        }
    }

    fn attachment_list_by_policy(&mut self, org_id: &str, policy_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<PolicyAttachmentRecord>> {
        self.many(
            ATTACHMENTS_BY_POLICY_SQL,
            params![org_id, policy_id, after(after_seq)],
            limit,
            attachment_row,
        )
    }

    fn attachment_count_by_target(&mut self, org_id: &str, target_id: &str, policy_type: PolicyType) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(*) FROM policy_attachments WHERE org_id = ?1 AND target_id = ?2 AND policy_type = ?3",
            [org_id, target_id, policy_type.as_str()],
        )
    }

    fn attachment_count_by_policy(&mut self, org_id: &str, policy_id: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM policy_attachments WHERE org_id = ?1 AND policy_id = ?2", [org_id, policy_id])
    }

    fn attachment_delete_by_type(&mut self, org_id: &str, policy_type: PolicyType) -> StoreResult<()> {
        self.exec("DELETE FROM policy_attachments WHERE org_id = ?1 AND policy_type = ?2", [org_id, policy_type.as_str()])?;
        Ok(())
    }

    fn attachment_delete_by_target(&mut self, org_id: &str, target_id: &str) -> StoreResult<()> {
        self.exec("DELETE FROM policy_attachments WHERE org_id = ?1 AND target_id = ?2", [org_id, target_id])?;
        Ok(())
    }

    fn credential_get(&mut self, access_key_id: &str) -> StoreResult<Option<CredentialRecord>> {
        self.one(concat!("SELECT ", credential_cols!(), " FROM credentials WHERE access_key_id = ?1"), [access_key_id], credential_row)
    }

    fn credential_insert(&mut self, c: &CredentialRecord) -> StoreResult<()> {
        self.exec(
            concat!("INSERT INTO credentials (", credential_cols!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
            params![
                c.access_key_id,
                c.partition,
                c.account_id,
                c.principal,
                c.user_id,
                c.secret_sealed,
                c.session_token_sha256,
                c.expires_ms,
                c.created_ms,
                c.session.as_ref().map(SessionFacts::to_json)
            ],
        )?;
        Ok(())
    }

    fn credential_count_long_term(&mut self) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM credentials WHERE session_token_sha256 IS NULL", [])
    }

    fn credential_delete_expired(&mut self, now_ms: i64) -> StoreResult<()> {
        self.exec("DELETE FROM credentials WHERE expires_ms < ?1", [now_ms])?;
        Ok(())
    }

    fn credential_list_long_term(&mut self, partition: &str, account_id: Option<&str>) -> StoreResult<Vec<CredentialRecord>> {
        self.many(
            concat!(
                "SELECT ", credential_cols!(), " FROM credentials WHERE session_token_sha256 IS NULL AND partition = ?1 ",
                "AND (?2 IS NULL OR account_id = ?2) ORDER BY created_ms, access_key_id"
            ),
            params![partition, account_id],
            usize::MAX,
            credential_row,
        )
    }

    fn credential_delete(&mut self, access_key_id: &str) -> StoreResult<()> {
        self.exec("DELETE FROM credentials WHERE access_key_id = ?1", [access_key_id])?;
        Ok(())
    }

    fn role_get(&mut self, partition: &str, account_id: &str, name: &str) -> StoreResult<Option<RoleRecord>> {
        self.one(
            concat!("SELECT ", role_cols!(), " FROM roles WHERE partition = ?1 AND account_id = ?2 AND name = ?3"),
            [partition, account_id, name],
            role_row,
        )
    }

    fn role_put(&mut self, r: &RoleRecord) -> StoreResult<()> {
        self.exec(
            concat!("INSERT OR REPLACE INTO roles (", role_cols!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
            params![r.partition, r.account_id, r.name, r.role_id, r.trusted_account_id, r.created_ms],
        )?;
        Ok(())
    }

    fn handshake_insert(&mut self, h: &HandshakeRecord) -> StoreResult<HandshakeRecord> {
        self.writable()?;
        let seq = self.next_seq()?;
        self.exec(
            concat!("INSERT INTO handshakes (", handshake_cols!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
            params![
                h.id,
                h.partition,
                h.arn,
                h.org_id,
                h.action.as_str(),
                handshake_json::parties_to_json(&h.parties),
                handshake_json::resources_to_json(&h.resources),
                h.recipient,
                h.parent_id,
                h.state.as_str(),
                h.requested_ms,
                h.expires_ms,
                h.ended_ms,
                seq,
            ],
        )?;
        Ok(HandshakeRecord { seq, ..h.clone() })
    }

    fn handshake_get(&mut self, handshake_id: &str) -> StoreResult<Option<HandshakeRecord>> {
        self.one(concat!("SELECT ", handshake_cols!(), " FROM handshakes WHERE id = ?1"), [handshake_id], handshake_row)
    }

    fn handshake_update(&mut self, h: &HandshakeRecord) -> StoreResult<()> {
        self.exec(
            "UPDATE handshakes SET parties = ?2, resources = ?3, state = ?4, expires_ms = ?5, ended_ms = ?6 WHERE id = ?1",
            params![
                h.id,
                handshake_json::parties_to_json(&h.parties),
                handshake_json::resources_to_json(&h.resources),
                h.state.as_str(),
                h.expires_ms,
                h.ended_ms,
            ],
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
        self.many(
            concat!(
                "SELECT ",
                handshake_cols!(),
                " FROM handshakes WHERE org_id = ?1 AND (?2 IS NULL OR action = ?2) AND (?3 IS NULL OR parent_id = ?3) \
                 AND seq > ?4 ORDER BY seq"
            ),
            params![org_id, action.map(|a| a.as_str()), parent_id, after(after_seq)],
            limit,
            handshake_row,
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
                handshake_cols!(),
                " FROM handshakes WHERE partition = ?1 AND recipient IN (?2, ?3) AND seq > ?4 ORDER BY seq"
            ),
            params![partition, account_id, email_lower, after(after_seq)],
            limit,
            handshake_row,
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
        self.many(
            concat!(
                "SELECT ",
                handshake_cols!(),
                " FROM handshakes WHERE org_id = ?1 AND action = ?2 AND (?3 IS NULL OR recipient = ?3) \
                 AND ended_ms IS NULL AND expires_ms > ?4 ORDER BY seq"
            ),
            params![org_id, action.as_str(), recipient, now_ms],
            limit,
            handshake_row,
        )
    }

    fn handshake_count_pending(&mut self, org_id: &str, action: canopy_api::ActionType, now_ms: i64) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(*) FROM handshakes WHERE org_id = ?1 AND action = ?2 AND ended_ms IS NULL AND expires_ms > ?3",
            params![org_id, action.as_str(), now_ms],
        )
    }

    fn handshake_count_sent_since(&mut self, org_id: &str, action: canopy_api::ActionType, since_ms: i64) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(*) FROM handshakes WHERE org_id = ?1 AND action = ?2 AND requested_ms >= ?3 AND state <> 'ACCEPTED'",
            params![org_id, action.as_str(), since_ms],
        )
    }

    fn handshake_delete_ended_before(&mut self, org_id: &str, cutoff_ms: i64) -> StoreResult<()> {
        self.exec(
            "DELETE FROM tags WHERE org_id = ?1 AND resource_id IN \
             (SELECT id FROM handshakes WHERE org_id = ?1 AND COALESCE(ended_ms, expires_ms) < ?2)",
            params![org_id, cutoff_ms],
        )?;
        self.exec("DELETE FROM handshakes WHERE org_id = ?1 AND COALESCE(ended_ms, expires_ms) < ?2", params![org_id, cutoff_ms])?;
        Ok(())
    }
    fn service_access_get(&mut self, org_id: &str, service_principal: &str) -> StoreResult<Option<ServiceAccessRecord>> {
        self.one(
            concat!("SELECT ", service_access_cols!(), " FROM service_access WHERE org_id = ?1 AND service_principal = ?2"),
            [org_id, service_principal],
            service_access_row,
        )
    }

    fn service_access_insert(&mut self, a: &ServiceAccessRecord) -> StoreResult<ServiceAccessRecord> {
        self.writable()?;
        let seq = self.next_seq()?;
        self.exec(
            concat!("INSERT INTO service_access (", service_access_cols!(), ") VALUES (?1, ?2, ?3, ?4)"),
            params![a.org_id, a.service_principal, a.enabled_ms, seq],
        )?;
        Ok(ServiceAccessRecord { seq, ..a.clone() })
    }

    fn service_access_delete(&mut self, org_id: &str, service_principal: &str) -> StoreResult<()> {
        self.exec("DELETE FROM service_access WHERE org_id = ?1 AND service_principal = ?2", [org_id, service_principal])?;
        Ok(())
    }

    fn service_access_list(&mut self, org_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<ServiceAccessRecord>> {
        self.many(
            concat!("SELECT ", service_access_cols!(), " FROM service_access WHERE org_id = ?1 AND seq > ?2 ORDER BY seq"),
            params![org_id, after(after_seq)],
            limit,
            service_access_row,
        )
    }

    fn delegated_admin_get(&mut self, org_id: &str, account_id: &str, service_principal: &str) -> StoreResult<Option<DelegatedAdminRecord>> {
        self.one(
            concat!(
                "SELECT ",
                delegated_admin_cols!(),
                " FROM delegated_admins WHERE org_id = ?1 AND account_id = ?2 AND service_principal = ?3"
            ),
            [org_id, account_id, service_principal],
            delegated_admin_row,
        )
    }

    fn delegated_admin_insert(&mut self, d: &DelegatedAdminRecord) -> StoreResult<DelegatedAdminRecord> {
        self.writable()?;
        let seq = self.next_seq()?;
        self.exec(
            concat!("INSERT INTO delegated_admins (", delegated_admin_cols!(), ") VALUES (?1, ?2, ?3, ?4, ?5)"),
            params![d.org_id, d.account_id, d.service_principal, d.registered_ms, seq],
        )?;
        Ok(DelegatedAdminRecord { seq, ..d.clone() })
    }

    fn delegated_admin_delete(&mut self, org_id: &str, account_id: &str, service_principal: &str) -> StoreResult<()> {
        self.exec(
            "DELETE FROM delegated_admins WHERE org_id = ?1 AND account_id = ?2 AND service_principal = ?3",
            [org_id, account_id, service_principal],
        )?;
        Ok(())
    }

    fn delegated_admin_delete_by_service(&mut self, org_id: &str, service_principal: &str) -> StoreResult<()> {
        self.exec("DELETE FROM delegated_admins WHERE org_id = ?1 AND service_principal = ?2", [org_id, service_principal])?;
        Ok(())
    }

    fn delegated_admin_list(&mut self, org_id: &str, service_principal: Option<&str>, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<DelegatedAdminRecord>> {
        match service_principal {
            Some(sp) => self.many(
                concat!(
                    "SELECT ",
                    delegated_admin_cols!(),
                    " FROM delegated_admins WHERE org_id = ?1 AND service_principal = ?2 AND seq > ?3 ORDER BY seq"
                ),
                params![org_id, sp, after(after_seq)],
                limit,
                delegated_admin_row,
            ),
            None => self.many(
                concat!(
                    "SELECT ",
                    delegated_admin_cols!(),
                    " FROM delegated_admins d WHERE org_id = ?1 AND seq > ?2 AND seq = ",
                    "(SELECT MIN(f.seq) FROM delegated_admins f WHERE f.org_id = d.org_id AND f.account_id = d.account_id) ORDER BY seq"
                ),
                params![org_id, after(after_seq)],
                limit,
                delegated_admin_row,
            ),
        }
    }

    fn delegated_admin_list_by_account(&mut self, org_id: &str, account_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<DelegatedAdminRecord>> {
        self.many(
            concat!("SELECT ", delegated_admin_cols!(), " FROM delegated_admins WHERE org_id = ?1 AND account_id = ?2 AND seq > ?3 ORDER BY seq"),
            params![org_id, account_id, after(after_seq)],
            limit,
            delegated_admin_row,
        )
    }

    fn delegated_admin_count_by_service(&mut self, org_id: &str, service_principal: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM delegated_admins WHERE org_id = ?1 AND service_principal = ?2", [org_id, service_principal])
    }

    fn delegated_admin_count_by_account(&mut self, org_id: &str, account_id: &str) -> StoreResult<u64> {
        self.count("SELECT COUNT(*) FROM delegated_admins WHERE org_id = ?1 AND account_id = ?2", [org_id, account_id])
    }

    fn resource_policy_get(&mut self, org_id: &str) -> StoreResult<Option<ResourcePolicyRecord>> {
        self.one(concat!("SELECT ", resource_policy_cols!(), " FROM resource_policies WHERE org_id = ?1"), [org_id], resource_policy_row)
    }

    fn resource_policy_put(&mut self, p: &ResourcePolicyRecord) -> StoreResult<()> {
        self.exec(
            concat!(
                "INSERT INTO resource_policies (", resource_policy_cols!(), ") VALUES (?1, ?2, ?3, ?4, ?5) ",
                "ON CONFLICT (org_id) DO UPDATE SET id = excluded.id, content = excluded.content, ",
                "created_ms = excluded.created_ms, updated_ms = excluded.updated_ms"
            ),
            params![p.org_id, p.id, p.content, p.created_ms, p.updated_ms],
        )?;
        Ok(())
    }

    fn resource_policy_delete(&mut self, org_id: &str) -> StoreResult<()> {
        self.exec("DELETE FROM resource_policies WHERE org_id = ?1", [org_id])?;
        Ok(())
    }
    fn govcloud_link_insert(&mut self, l: &GovCloudLinkRecord) -> StoreResult<()> {
        self.exec(
            concat!("INSERT INTO govcloud_links (", govcloud_link_cols!(), ") VALUES (?1, ?2, ?3, ?4, ?5)"),
            params![l.org_id, l.create_request_id, l.account_id, l.govcloud_account_id, l.created_ms],
        )?;
        Ok(())
    }

    fn govcloud_link_by_request(&mut self, org_id: &str, create_request_id: &str) -> StoreResult<Option<GovCloudLinkRecord>> {
        self.one(
            concat!("SELECT ", govcloud_link_cols!(), " FROM govcloud_links WHERE org_id = ?1 AND create_request_id = ?2"),
            [org_id, create_request_id],
            govcloud_link_row,
        )
    }

    fn govcloud_link_by_account(&mut self, org_id: &str, account_id: &str) -> StoreResult<Option<GovCloudLinkRecord>> {
        self.one(
            concat!("SELECT ", govcloud_link_cols!(), " FROM govcloud_links WHERE org_id = ?1 AND account_id = ?2"),
            [org_id, account_id],
            govcloud_link_row,
        )
    }

    fn transfer_insert(&mut self, t: &TransferRecord) -> StoreResult<TransferRecord> {
        self.writable()?;
        let seq = self.next_seq()?;
        self.exec(
            concat!(
                "INSERT INTO responsibility_transfers (", transfer_cols!(), ") ",
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
            ),
            params![
                t.id,
                t.transfer_type.as_str(),
                t.name,
                t.source_org_id,
                t.source_account_id,
                t.source_email,
                t.target_org_id,
                t.target_account_id,
                t.target_email,
                t.handshake_id,
                t.status.as_str(),
                t.start_ms,
                t.end_ms,
                t.expires_ms,
                t.created_ms,
                seq,
            ],
        )?;
        Ok(TransferRecord { seq, ..t.clone() })
    }

    fn transfer_get(&mut self, transfer_id: &str) -> StoreResult<Option<TransferRecord>> {
        self.one(concat!("SELECT ", transfer_cols!(), " FROM responsibility_transfers WHERE id = ?1"), [transfer_id], transfer_row)
    }

    fn transfer_get_by_handshake(&mut self, handshake_id: &str) -> StoreResult<Option<TransferRecord>> {
        self.one(
            concat!("SELECT ", transfer_cols!(), " FROM responsibility_transfers WHERE handshake_id = ?1"),
            [handshake_id],
            transfer_row,
        )
    }

    fn transfer_update(&mut self, t: &TransferRecord) -> StoreResult<()> {
        self.exec(
            "UPDATE responsibility_transfers SET name = ?2, status = ?3, end_ms = ?4, expires_ms = ?5 WHERE id = ?1",
            params![t.id, t.name, t.status.as_str(), t.end_ms, t.expires_ms],
        )?;
        Ok(())
    }

    fn transfer_list_inbound(&mut self, org_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<TransferRecord>> {
        self.many(
            concat!("SELECT ", transfer_cols!(), " FROM responsibility_transfers WHERE target_org_id = ?1 AND seq > ?2 ORDER BY seq"),
            params![org_id, after(after_seq)],
            limit,
            transfer_row,
        )
    }

    fn transfer_list_outbound(&mut self, org_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<TransferRecord>> {
        self.many(
            concat!("SELECT ", transfer_cols!(), " FROM responsibility_transfers WHERE source_org_id = ?1 AND seq > ?2 ORDER BY seq"),
            params![org_id, after(after_seq)],
            limit,
            transfer_row,
        )
    }
}

fn credential_row(r: &Row) -> StoreResult<CredentialRecord> {
    Ok(CredentialRecord {
        access_key_id: r.get(0).st()?,
        partition: r.get(1).st()?,
        account_id: r.get(2).st()?,
        principal: r.get(3).st()?,
        user_id: r.get(4).st()?,
        secret_sealed: r.get(5).st()?,
        session_token_sha256: r.get(6).st()?,
        expires_ms: r.get(7).st()?,
        created_ms: r.get(8).st()?,
        session: r.get::<_, Option<String>>(9).st()?.map(|text| SessionFacts::from_json(&text)).transpose().map_err(StoreError::Backend)?,
    })
}

fn role_row(r: &Row) -> StoreResult<RoleRecord> {
    Ok(RoleRecord {
        partition: r.get(0).st()?,
        account_id: r.get(1).st()?,
        name: r.get(2).st()?,
        role_id: r.get(3).st()?,
        trusted_account_id: r.get(4).st()?,
        created_ms: r.get(5).st()?,
    })
}

use canopy_core::{handshake_json, HandshakeRecord};

macro_rules! handshake_cols {
    () => {
        "id, partition, arn, org_id, action, parties, resources, recipient, parent_id, state, requested_ms, expires_ms, ended_ms, seq"
    };
}
use handshake_cols;

fn handshake_row(r: &Row) -> StoreResult<HandshakeRecord> {
    let action: String = r.get(4).st()?;
    let parties: String = r.get(5).st()?;
    let resources: String = r.get(6).st()?;
    let state: String = r.get(9).st()?;
    Ok(HandshakeRecord {
        id: r.get(0).st()?,
        partition: r.get(1).st()?,
        arn: r.get(2).st()?,
        org_id: r.get(3).st()?,
        action: canopy_api::ActionType::from_wire(&action).ok_or_else(|| corrupt("handshake action", &action))?,
        parties: handshake_json::parties_from_json(&parties).map_err(StoreError::Corrupt)?,
        resources: handshake_json::resources_from_json(&resources).map_err(StoreError::Corrupt)?,
        recipient: r.get(7).st()?,
        parent_id: r.get(8).st()?,
        state: canopy_api::HandshakeState::from_wire(&state).ok_or_else(|| corrupt("handshake state", &state))?,
        requested_ms: r.get(10).st()?,
        expires_ms: r.get(11).st()?,
        ended_ms: r.get(12).st()?,
        seq: r.get(13).st()?,
    })
}
use canopy_core::{DelegatedAdminRecord, ResourcePolicyRecord, ServiceAccessRecord};

macro_rules! service_access_cols { () => { "org_id, service_principal, enabled_ms, seq" } }
macro_rules! delegated_admin_cols { () => { "org_id, account_id, service_principal, registered_ms, seq" } }
macro_rules! resource_policy_cols { () => { "org_id, id, content, created_ms, updated_ms" } }
use {delegated_admin_cols, resource_policy_cols, service_access_cols};

fn service_access_row(r: &Row) -> StoreResult<ServiceAccessRecord> {
    Ok(ServiceAccessRecord { org_id: r.get(0).st()?, service_principal: r.get(1).st()?, enabled_ms: r.get(2).st()?, seq: r.get(3).st()? })
}

fn delegated_admin_row(r: &Row) -> StoreResult<DelegatedAdminRecord> {
    Ok(DelegatedAdminRecord {
        org_id: r.get(0).st()?,
        account_id: r.get(1).st()?,
        service_principal: r.get(2).st()?,
        registered_ms: r.get(3).st()?,
        seq: r.get(4).st()?,
    })
}

fn resource_policy_row(r: &Row) -> StoreResult<ResourcePolicyRecord> {
    Ok(ResourcePolicyRecord {
        org_id: r.get(0).st()?,
        id: r.get(1).st()?,
        content: r.get(2).st()?,
        created_ms: r.get(3).st()?,
        updated_ms: r.get(4).st()?,
    })
}

impl SqlTx<'_, '_> {
    /// The organization-scoped rows of this section, for `org_delete`.
    fn delegation_org_delete(&mut self, org_id: &str) -> StoreResult<()> {
        self.exec("DELETE FROM service_access WHERE org_id = ?1", [org_id])?;
        self.exec("DELETE FROM delegated_admins WHERE org_id = ?1", [org_id])?;
        self.exec("DELETE FROM resource_policies WHERE org_id = ?1", [org_id])?;
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
        org_id: r.get(0).st()?,
        create_request_id: r.get(1).st()?,
        account_id: r.get(2).st()?,
        govcloud_account_id: r.get(3).st()?,
        created_ms: r.get(4).st()?,
    })
}

fn transfer_row(r: &Row) -> StoreResult<TransferRecord> {
    let kind: String = r.get(1).st()?;
    let status: String = r.get(10).st()?;
    Ok(TransferRecord {
        id: r.get(0).st()?,
        transfer_type: ResponsibilityTransferType::from_wire(&kind).ok_or_else(|| corrupt("transfer type", &kind))?,
        name: r.get(2).st()?,
        source_org_id: r.get(3).st()?,
        source_account_id: r.get(4).st()?,
        source_email: r.get(5).st()?,
        target_org_id: r.get(6).st()?,
        target_account_id: r.get(7).st()?,
        target_email: r.get(8).st()?,
        handshake_id: r.get(9).st()?,
        status: ResponsibilityTransferStatus::from_wire(&status).ok_or_else(|| corrupt("transfer status", &status))?,
        start_ms: r.get(11).st()?,
        end_ms: r.get(12).st()?,
        expires_ms: r.get(13).st()?,
        created_ms: r.get(14).st()?,
        seq: r.get(15).st()?,
    })
}

impl SqlTx<'_, '_> {
    /// The GovCloud pairs and the transfers of an organization being deleted (`org_delete`).
    fn govcloud_org_delete(&mut self, org_id: &str) -> StoreResult<()> {
        self.exec("DELETE FROM govcloud_links WHERE org_id = ?1", [org_id])?;
        self.exec("DELETE FROM responsibility_transfers WHERE source_org_id = ?1 OR target_org_id = ?1", [org_id])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan SQLite picks for `sql` on a fresh database, one step per line.
    fn plan(sql: &str) -> String {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let unbound = std::iter::repeat_n(rusqlite::types::Null, st.parameter_count());
        let steps = st.query_map(rusqlite::params_from_iter(unbound), |r| r.get::<_, String>(3)).unwrap();
        steps.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn account_listings_are_read_from_an_index_alone() {
        for (sql, index) in [
            (ACCOUNT_LIST_SQL, "accounts_org_seq"),
            (ACCOUNT_LIST_BY_PARENT_SQL, "accounts_org_parent_seq"),
            (ACCOUNT_CHILDREN_SQL, "accounts_org_parent_seq"),
        ] {
            let plan = plan(sql);
            assert!(plan.contains(&format!("USING COVERING INDEX {index}")), "{sql}\n{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "sorts: {sql}\n{plan}");
        }
    }

    #[test]
    fn attachment_listings_search_by_key_and_the_policy_index() {
        for sql in [ATTACHMENTS_BY_TARGET_OF_TYPE_SQL, ATTACHMENTS_BY_TARGET_SQL] {
            let plan = plan(sql);
            assert!(plan.contains("USING PRIMARY KEY (org_id=? AND target_id=?)"), "{sql}\n{plan}");
        }
        let plan = plan(ATTACHMENTS_BY_POLICY_SQL);
        assert!(plan.contains("USING INDEX policy_attachments_policy (org_id=? AND policy_id=? AND seq>?)"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "sorts: {plan}");
    }

    #[test]
    fn the_lookup_by_email_is_one_index_search() {
        let plan = plan(ACCOUNT_BY_EMAIL_SQL);
        assert!(plan.contains("USING INDEX accounts_partition_email (partition=? AND email_lower=?)"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "sorts: {plan}");
    }
}
