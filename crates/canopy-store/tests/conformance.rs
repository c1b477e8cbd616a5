//! The storage conformance suite: every behaviour of the `Store`/`Tx` contract, as one async
//! function taking `Arc<dyn Store>`, run once per backend by `conformance!`. A new backend
//! adds one line: `conformance!(postgres, postgres_fixture);` (skipping when no database is
//! reachable). Backend-specific behaviour (files, reopening, spec parsing) is tested below the
//! suite.

use std::any::Any;
use std::sync::Arc;
use std::time::Instant;

use canopy_api::{AccountJoinedMethod, ApiError, CreateAccountFailureReason, OrganizationFeatureSet, PolicyType};
use canopy_core::{
    AccountChildRecord, AccountRecord, CreateAccountRecord, CredentialRecord, OpError, RoleRecord, OrganizationRecord, OuRecord, PolicyAttachmentRecord, PolicyRecord, RootRecord,
    Store, StoreError, TagRecord, Tx,
};

// ---------------------------------------------------------------------------------------------
// Fixtures and helpers

pub struct Fixture {
    pub store: Arc<dyn Store>,
    // Dropped after the store (field order).
    _dir: Option<tempfile::TempDir>,
    _pg: Option<canopy_store::PgScratch>,
}

fn memory_fixture() -> Option<Fixture> {
    Some(Fixture { store: canopy_store::open("memory").expect("open memory"), _dir: None, _pg: None })
}

fn file_fixture() -> Option<Fixture> {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = format!("{}/", dir.path().join("data").display());
    Some(Fixture { store: canopy_store::open(&spec).expect("open file"), _dir: Some(dir), _pg: None })
}

/// The PostgreSQL database named by `CANOPY_TEST_POSTGRES` (a URL), if set: each test gets its
/// own scratch schema there, dropped afterwards. Unset: the PostgreSQL cases are skipped.
fn pg_url() -> Option<String> {
    std::env::var("CANOPY_TEST_POSTGRES").ok().filter(|u| !u.trim().is_empty())
}

fn postgres_fixture() -> Option<Fixture> {
    let Some(base) = pg_url() else {
        eprintln!("skipped: set CANOPY_TEST_POSTGRES=postgres://… to run the PostgreSQL conformance cases");
        return None;
    };
    let scratch = canopy_store::PgScratch::create(&base).expect("create a scratch schema");
    let store = canopy_store::open(scratch.url()).expect("open postgres");
    assert_eq!(store.kind(), "postgres");
    Some(Fixture { store, _dir: None, _pg: Some(scratch) })
}

async fn write<T, F>(store: &Arc<dyn Store>, mut f: F) -> Result<T, OpError>
where
    T: Send + 'static,
    F: FnMut(&mut dyn Tx) -> Result<T, OpError> + Send + 'static,
{
    let r = store.write(Box::new(move |tx| f(tx).map(|v| Box::new(v) as Box<dyn Any + Send>))).await;
    r.map(|b| *b.downcast::<T>().expect("result type"))
}

async fn read<T, F>(store: &Arc<dyn Store>, mut f: F) -> Result<T, OpError>
where
    T: Send + 'static,
    F: FnMut(&mut dyn Tx) -> Result<T, OpError> + Send + 'static,
{
    let r = store.read(Box::new(move |tx| f(tx).map(|v| Box::new(v) as Box<dyn Any + Send>))).await;
    r.map(|b| *b.downcast::<T>().expect("result type"))
}

fn feature_set(s: &str) -> OrganizationFeatureSet {
    OrganizationFeatureSet::from_wire(s).expect(s)
}
fn policy_type(s: &str) -> PolicyType {
    PolicyType::from_wire(s).expect(s)
}
fn joined(s: &str) -> AccountJoinedMethod {
    AccountJoinedMethod::from_wire(s).expect(s)
}
fn failure(s: &str) -> CreateAccountFailureReason {
    CreateAccountFailureReason::from_wire(s).expect(s)
}

fn org(id: &str) -> OrganizationRecord {
    OrganizationRecord {
        id: id.into(),
        partition: "aws".into(),
        management_account_id: "111111111111".into(),
        feature_set: feature_set("ALL"),
        created_ms: 1_700_000_000_000,
    }
}

fn root(id: &str, org_id: &str) -> RootRecord {
    RootRecord { id: id.into(), org_id: org_id.into(), name: "Root".into(), enabled_policy_types: vec![] }
}

fn ou(id: &str, org_id: &str, parent_id: &str, name: &str) -> OuRecord {
    OuRecord { id: id.into(), org_id: org_id.into(), parent_id: parent_id.into(), name: name.into(), created_ms: 1_700_000_000_123, seq: 0 }
}

fn member(id: &str, org_id: &str, parent_id: &str, email: &str) -> AccountRecord {
    AccountRecord {
        partition: "aws".into(),
        id: id.into(),
        name: format!("acct-{id}"),
        email: email.into(),
        org_id: Some(org_id.into()),
        parent_id: Some(parent_id.into()),
        joined_method: Some(joined("CREATED")),
        joined_ms: Some(1_700_000_001_000),
        created_ms: 1_700_000_000_500,
        close_requested_ms: None,
        seq: 0,
    }
}

fn standalone(partition: &str, id: &str) -> AccountRecord {
    AccountRecord {
        partition: partition.into(),
        id: id.into(),
        name: "standalone".into(),
        email: format!("{id}@example.com"),
        org_id: None,
        parent_id: None,
        joined_method: None,
        joined_ms: None,
        created_ms: 42,
        close_requested_ms: None,
        seq: 0,
    }
}

fn car(id: &str, org_id: &str) -> CreateAccountRecord {
    CreateAccountRecord {
        id: id.into(),
        org_id: org_id.into(),
        account_name: "new".into(),
        email: "new@example.com".into(),
        requested_ms: 10,
        completes_ms: 20,
        account_id: None,
        failure_reason: None,
        seq: 0,
    }
}

fn policy(id: &str, org_id: &str, t: &str, name: &str) -> PolicyRecord {
    PolicyRecord {
        id: id.into(),
        org_id: org_id.into(),
        policy_type: policy_type(t),
        name: name.into(),
        description: format!("{name} description"),
        content: format!("{{\"name\": \"{name}\"}}"),
        created_ms: 1_700_000_000_000,
        updated_ms: 1_700_000_000_000,
        seq: 0,
    }
}

fn attachment(org_id: &str, policy_id: &str, target_id: &str, t: &str) -> PolicyAttachmentRecord {
    PolicyAttachmentRecord {
        org_id: org_id.into(),
        policy_id: policy_id.into(),
        target_id: target_id.into(),
        policy_type: policy_type(t),
        attached_ms: 1_700_000_000_001,
        seq: 0,
    }
}

fn tag(k: &str, v: &str) -> TagRecord {
    TagRecord { key: k.into(), value: v.into() }
}

fn tags(pairs: &[(&str, &str)]) -> Vec<TagRecord> {
    pairs.iter().map(|(k, v)| tag(k, v)).collect()
}

fn is_store_error(e: &OpError, needle: &str) -> bool {
    matches!(e, OpError::Store(StoreError::Backend(m)) if m.contains(needle))
}

// ---------------------------------------------------------------------------------------------
// The suite

macro_rules! conformance {
    ($backend:ident, $factory:path) => {
        mod $backend {
            use super::*;
            conformance!(@cases $factory;
                org_round_trip,
                root_round_trip,
                ou_round_trip,
                ou_list_paging_and_counts,
                ou_find_by_name_is_exact,
                account_round_trip,
                caller_rows_follow_writes,
                account_partitions_are_distinct,
                account_list_paging_and_counts,
                account_counts_follow_every_change_of_organization,
                account_email_lookup_is_case_insensitive,
                car_round_trip,
                car_list_paging,
                tags_behaviour,
                org_delete_cascades,
                failing_closure_leaves_no_trace,
                answers_match_what_was_stored,
                panicking_closure_is_answered,
                read_transaction_refuses_writes,
                concurrent_writes_all_land,
                read_your_writes,
                concurrent_reads_each_get_their_own_answer,
                concurrent_read_modify_write_is_serialized,
                duplicate_insert_is_a_store_error,
                reset_empties_everything,
                policy_round_trip,
                policy_list_paging_counts_and_names,
                attachment_round_trip_and_order,
                attachment_lists_and_counts,
                attachment_bulk_deletes,
                org_delete_removes_policies,
                policy_writes_refused_in_read_tx,
                reset_empties_policies,
                credential_round_trip_and_expiry,
                credential_list_and_revoke,
                role_round_trip_and_reset,
                handshake_round_trip,
                handshake_lists_and_filters,
                handshake_pending_counts_and_purge,
                handshake_org_delete_and_reset,
                service_access_round_trip_and_list,
                delegated_admin_round_trip_lists_and_counts,
                resource_policy_put_replace_delete,
                org_delete_and_reset_remove_delegation_rows,
                delegation_writes_refused_in_read_tx,
                govcloud_link_round_trip,
                transfer_round_trip_and_lists,
                govcloud_org_delete_and_reset,
                govcloud_writes_refused_in_read_tx,
            );
        }
    };
    (@cases $factory:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(fx) = $factory() else { return };
                super::cases::$case(fx.store.clone()).await;
            }
        )*
    };
}

conformance!(memory, memory_fixture);
conformance!(file, file_fixture);
conformance!(postgres, postgres_fixture);

mod cases {
    use super::*;

    // --- identity: credentials and roles ---

    fn credential(akid: &str, account: &str, expires_ms: Option<i64>) -> CredentialRecord {
        CredentialRecord {
            access_key_id: akid.into(),
            partition: "aws".into(),
            account_id: account.into(),
            principal: if expires_ms.is_some() { "assumed-role/R/s".into() } else { "user/alice".into() },
            user_id: "AIDAEXAMPLE".into(),
            secret_sealed: "c2VhbGVk".into(),
            session_token_sha256: expires_ms.map(|_| "ab".repeat(32)),
            expires_ms,
            created_ms: 1_000,
            // Sessions carry what AssumeRole was given, round-tripped whole.
            session: expires_ms.map(|_| canopy_core::SessionFacts {
                policy: Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"organizations:Describe*","Resource":"*"}]}"#.into()),
                tags: vec![("team".into(), "blue".into()), ("Cost Center".into(), "4 2".into())],
                transitive_tag_keys: vec!["team".into()],
                source_identity: Some("alice@example.org".into()),
            }),
        }
    }

    pub async fn credential_round_trip_and_expiry(s: Arc<dyn Store>) {
        assert_eq!(read(&s, |tx| Ok(tx.credential_count_long_term()?)).await.unwrap(), 0);
        let long = credential("AKIAAAAAAAAAAAAAAAA1", "111111111111", None);
        let short = credential("ASIAAAAAAAAAAAAAAAA1", "222222222222", Some(5_000));
        let later = credential("ASIAAAAAAAAAAAAAAAA2", "222222222222", Some(9_000));
        let (l, sh, la) = (long.clone(), short.clone(), later.clone());
        write(&s, move |tx| {
            tx.credential_insert(&l)?;
            tx.credential_insert(&sh)?;
            Ok(tx.credential_insert(&la)?)
        })
        .await
        .unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.credential_get("AKIAAAAAAAAAAAAAAAA1")?)).await.unwrap(), Some(long.clone()));
        assert_eq!(read(&s, |tx| Ok(tx.credential_get("ASIAAAAAAAAAAAAAAAA1")?)).await.unwrap(), Some(short));
        assert_eq!(read(&s, |tx| Ok(tx.credential_get("AKIANOPE")?)).await.unwrap(), None);
        // Only long-term keys count.
        assert_eq!(read(&s, |tx| Ok(tx.credential_count_long_term()?)).await.unwrap(), 1);
        // A duplicate access key id is refused.
        let dup = long.clone();
        assert!(matches!(write(&s, move |tx| Ok(tx.credential_insert(&dup)?)).await, Err(OpError::Store(_))));
        // Expired sessions go; live sessions and long-term keys stay.
        write(&s, |tx| Ok(tx.credential_delete_expired(6_000)?)).await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.credential_get("ASIAAAAAAAAAAAAAAAA1")?)).await.unwrap(), None);
        assert_eq!(read(&s, |tx| Ok(tx.credential_get("ASIAAAAAAAAAAAAAAAA2")?)).await.unwrap(), Some(later));
        assert_eq!(read(&s, |tx| Ok(tx.credential_get("AKIAAAAAAAAAAAAAAAA1")?)).await.unwrap(), Some(long));
        // Writes are refused in a read transaction.
        let c = credential("AKIAAAAAAAAAAAAAAAA9", "1", None);
        assert!(read(&s, move |tx| Ok(tx.credential_insert(&c)?)).await.is_err());
    }

    pub async fn credential_list_and_revoke(s: Arc<dyn Store>) {
        let mut a2 = credential("AKIAAAAAAAAAAAAAAAB2", "111111111111", None);
        a2.created_ms = 2;
        let mut a1 = credential("AKIAAAAAAAAAAAAAAAB1", "111111111111", None);
        a1.created_ms = 2;
        let mut b = credential("AKIAAAAAAAAAAAAAAAC1", "222222222222", None);
        b.created_ms = 1;
        let session = credential("ASIAAAAAAAAAAAAAAAA1", "111111111111", Some(5_000));
        let mut other_partition = credential("AKIAAAAAAAAAAAAAAAD1", "111111111111", None);
        other_partition.partition = "aws-cn".into();
        let rows = vec![a2.clone(), a1.clone(), b.clone(), session, other_partition];
        write(&s, move |tx| {
            for r in &rows {
                tx.credential_insert(r)?;
            }
            Ok(())
        })
        .await
        .unwrap();
        // Long-term keys of the partition only, by creation time then key id.
        let all = read(&s, |tx| Ok(tx.credential_list_long_term("aws", None)?)).await.unwrap();
        assert_eq!(all, vec![b.clone(), a1.clone(), a2.clone()]);
        let one = read(&s, |tx| Ok(tx.credential_list_long_term("aws", Some("111111111111"))?)).await.unwrap();
        assert_eq!(one, vec![a1.clone(), a2.clone()]);
        // Revocation deletes one key; an unknown key is no error.
        write(&s, |tx| Ok(tx.credential_delete("AKIAAAAAAAAAAAAAAAB1")?)).await.unwrap();
        write(&s, |tx| Ok(tx.credential_delete("AKIANOPE")?)).await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.credential_get("AKIAAAAAAAAAAAAAAAB1")?)).await.unwrap(), None);
        let one = read(&s, |tx| Ok(tx.credential_list_long_term("aws", Some("111111111111"))?)).await.unwrap();
        assert_eq!(one, vec![a2]);
        assert!(read(&s, |tx| Ok(tx.credential_delete("AKIAAAAAAAAAAAAAAAB2")?)).await.is_err());
    }

    pub async fn role_round_trip_and_reset(s: Arc<dyn Store>) {
        let role = RoleRecord {
            partition: "aws".into(),
            account_id: "333333333333".into(),
            name: "OrganizationAccountAccessRole".into(),
            role_id: "AROAEXAMPLE".into(),
            trusted_account_id: "111111111111".into(),
            created_ms: 7,
        };
        let r = role.clone();
        write(&s, move |tx| Ok(tx.role_put(&r)?)).await.unwrap();
        assert_eq!(
            read(&s, |tx| Ok(tx.role_get("aws", "333333333333", "OrganizationAccountAccessRole")?)).await.unwrap(),
            Some(role.clone())
        );
        // Keyed by partition, account and exact name.
        assert_eq!(read(&s, |tx| Ok(tx.role_get("aws-cn", "333333333333", "OrganizationAccountAccessRole")?)).await.unwrap(), None);
        assert_eq!(read(&s, |tx| Ok(tx.role_get("aws", "333333333333", "Other")?)).await.unwrap(), None);
        // Put replaces.
        let replaced = RoleRecord { trusted_account_id: "444444444444".into(), ..role.clone() };
        let r = replaced.clone();
        write(&s, move |tx| Ok(tx.role_put(&r)?)).await.unwrap();
        assert_eq!(
            read(&s, |tx| Ok(tx.role_get("aws", "333333333333", "OrganizationAccountAccessRole")?)).await.unwrap(),
            Some(replaced)
        );
        // Reset empties roles and credentials too.
        let c = credential("AKIAAAAAAAAAAAAAAAA1", "111111111111", None);
        write(&s, move |tx| Ok(tx.credential_insert(&c)?)).await.unwrap();
        s.reset().await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.role_get("aws", "333333333333", "OrganizationAccountAccessRole")?)).await.unwrap(), None);
        assert_eq!(read(&s, |tx| Ok(tx.credential_get("AKIAAAAAAAAAAAAAAAA1")?)).await.unwrap(), None);
    }

    pub async fn org_round_trip(s: Arc<dyn Store>) {
        let o = org("o-aaaaaaaaaa");
        let o2 = o.clone();
        write(&s, move |tx| Ok(tx.org_insert(&o2)?)).await.unwrap();
        let got = read(&s, |tx| Ok(tx.org_get("o-aaaaaaaaaa")?)).await.unwrap();
        assert_eq!(got, Some(o.clone()));
        assert_eq!(read(&s, |tx| Ok(tx.org_get("o-missing000")?)).await.unwrap(), None);

        let updated = OrganizationRecord {
            partition: "aws-cn".into(),
            management_account_id: "222222222222".into(),
            feature_set: feature_set("CONSOLIDATED_BILLING"),
            created_ms: -5,
            ..o
        };
        let u2 = updated.clone();
        write(&s, move |tx| Ok(tx.org_update(&u2)?)).await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.org_get("o-aaaaaaaaaa")?)).await.unwrap(), Some(updated));
    }

    pub async fn root_round_trip(s: Arc<dyn Store>) {
        write(&s, |tx| {
            tx.org_insert(&org("o-1"))?;
            tx.root_insert(&root("r-b", "o-1"))?;
            tx.root_insert(&RootRecord { name: "Second".into(), ..root("r-a", "o-1") })?;
            tx.root_insert(&root("r-other", "o-2"))?;
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.root_get("r-b")?)).await.unwrap(), Some(root("r-b", "o-1")));
        assert_eq!(read(&s, |tx| Ok(tx.root_get("r-zz")?)).await.unwrap(), None);
        // Insertion order, not id order.
        let ids: Vec<String> = read(&s, |tx| Ok(tx.root_list("o-1")?)).await.unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["r-b", "r-a"]);

        // Enabled policy types keep their order; an empty list round-trips too.
        for types in [
            vec![policy_type("TAG_POLICY"), policy_type("SERVICE_CONTROL_POLICY"), policy_type("BACKUP_POLICY")],
            vec![policy_type("RESOURCE_CONTROL_POLICY")],
            vec![],
        ] {
            let r = RootRecord { name: "Renamed".into(), enabled_policy_types: types, ..root("r-b", "o-1") };
            let r2 = r.clone();
            write(&s, move |tx| Ok(tx.root_update(&r2)?)).await.unwrap();
            assert_eq!(read(&s, |tx| Ok(tx.root_get("r-b")?)).await.unwrap(), Some(r));
        }
    }

    pub async fn ou_round_trip(s: Arc<dyn Store>) {
        let stored = write(&s, |tx| Ok(tx.ou_insert(&ou("ou-1", "o-1", "r-1", "Dev"))?.expect("stored"))).await.unwrap();
        assert!(stored.seq > 0, "seq is assigned");
        assert_eq!(stored, OuRecord { seq: stored.seq, ..ou("ou-1", "o-1", "r-1", "Dev") });
        assert_eq!(read(&s, |tx| Ok(tx.ou_get("ou-1")?)).await.unwrap(), Some(stored.clone()));
        assert_eq!(read(&s, |tx| Ok(tx.ou_get("ou-2")?)).await.unwrap(), None);

        // A taken id, or a taken name under the same parent, stores nothing; the same name
        // under another parent, or differing in case, is a new OU.
        let taken_id = OuRecord { name: "Other".into(), ..ou("ou-1", "o-1", "r-1", "") };
        assert_eq!(write(&s, move |tx| Ok(tx.ou_insert(&taken_id)?)).await.unwrap(), None);
        assert_eq!(write(&s, |tx| Ok(tx.ou_insert(&ou("ou-2", "o-1", "r-1", "Dev"))?)).await.unwrap(), None);
        assert_eq!(read(&s, |tx| Ok(tx.ou_get("ou-2")?)).await.unwrap(), None);
        assert_eq!(read(&s, |tx| Ok(tx.ou_count("o-1")?)).await.unwrap(), 1);
        assert!(write(&s, |tx| Ok(tx.ou_insert(&ou("ou-3", "o-1", "r-1", "dev"))?)).await.unwrap().is_some());
        assert!(write(&s, |tx| Ok(tx.ou_insert(&ou("ou-4", "o-1", "ou-3", "Dev"))?)).await.unwrap().is_some());
        assert_eq!(read(&s, |tx| Ok(tx.ou_count("o-1")?)).await.unwrap(), 3);
        write(&s, |tx| Ok(tx.ou_delete("ou-4").and_then(|_| tx.ou_delete("ou-3"))?)).await.unwrap();

        // Update changes name and parent only.
        let moved = OuRecord { name: "Prod".into(), parent_id: "ou-0".into(), ..stored.clone() };
        let m2 = moved.clone();
        write(&s, move |tx| Ok(tx.ou_update(&m2)?)).await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.ou_get("ou-1")?)).await.unwrap(), Some(moved));
        assert_eq!(read(&s, |tx| Ok(tx.ou_count_by_parent("r-1")?)).await.unwrap(), 0);
        assert_eq!(read(&s, |tx| Ok(tx.ou_count_by_parent("ou-0")?)).await.unwrap(), 1);

        write(&s, |tx| Ok(tx.ou_delete("ou-1")?)).await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.ou_get("ou-1")?)).await.unwrap(), None);
        assert_eq!(read(&s, |tx| Ok(tx.ou_count("o-1")?)).await.unwrap(), 0);
    }

    pub async fn ou_list_paging_and_counts(s: Arc<dyn Store>) {
        // Ids deliberately not in insertion order.
        let names = ["z", "a", "m", "b", "y"];
        let inserted = write(&s, move |tx| {
            let mut out = vec![];
            for (i, n) in names.iter().enumerate() {
                out.push(tx.ou_insert(&ou(&format!("ou-{}", 9 - i), "o-1", "r-1", n))?.expect("stored"));
                tx.ou_insert(&ou(&format!("ou-x{i}"), "o-1", "ou-9", n))?.expect("stored");
            }
            tx.ou_insert(&ou("ou-other", "o-2", "r-2", "a"))?.expect("stored");
            Ok(out)
        })
        .await
        .unwrap();
        assert!(inserted.windows(2).all(|w| w[0].seq < w[1].seq), "seq increases");

        let all = read(&s, |tx| Ok(tx.ou_list_by_parent("r-1", None, 100)?)).await.unwrap();
        assert_eq!(all, inserted);
        let page1 = read(&s, |tx| Ok(tx.ou_list_by_parent("r-1", None, 2)?)).await.unwrap();
        assert_eq!(page1, inserted[..2]);
        let after = page1[1].seq;
        let page2 = read(&s, move |tx| Ok(tx.ou_list_by_parent("r-1", Some(after), 2)?)).await.unwrap();
        assert_eq!(page2, inserted[2..4]);
        let after = page2[1].seq;
        let page3 = read(&s, move |tx| Ok(tx.ou_list_by_parent("r-1", Some(after), 2)?)).await.unwrap();
        assert_eq!(page3, inserted[4..]);
        let after = page3[0].seq;
        assert!(read(&s, move |tx| Ok(tx.ou_list_by_parent("r-1", Some(after), 2)?)).await.unwrap().is_empty());
        assert!(read(&s, |tx| Ok(tx.ou_list_by_parent("r-1", None, 0)?)).await.unwrap().is_empty());

        assert_eq!(read(&s, |tx| Ok(tx.ou_count("o-1")?)).await.unwrap(), 10);
        assert_eq!(read(&s, |tx| Ok(tx.ou_count("o-2")?)).await.unwrap(), 1);
        assert_eq!(read(&s, |tx| Ok(tx.ou_count("o-3")?)).await.unwrap(), 0);
        assert_eq!(read(&s, |tx| Ok(tx.ou_count_by_parent("r-1")?)).await.unwrap(), 5);
        assert_eq!(read(&s, |tx| Ok(tx.ou_count_by_parent("ou-9")?)).await.unwrap(), 5);

        // The count follows deletes; deleting an OU that does not exist changes nothing.
        write(&s, |tx| {
            tx.ou_delete("ou-x0")?;
            tx.ou_delete("ou-does-not-exist")?;
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.ou_count("o-1")?)).await.unwrap(), 9);
        assert_eq!(read(&s, |tx| Ok(tx.ou_count("o-2")?)).await.unwrap(), 1);
    }

    pub async fn ou_find_by_name_is_exact(s: Arc<dyn Store>) {
        write(&s, |tx| {
            tx.ou_insert(&ou("ou-1", "o-1", "r-1", "Dev"))?.expect("stored");
            tx.ou_insert(&ou("ou-2", "o-1", "r-1", "Dev Team"))?.expect("stored");
            tx.ou_insert(&ou("ou-3", "o-1", "ou-1", "Prod"))?.expect("stored");
            Ok(())
        })
        .await
        .unwrap();
        let found = read(&s, |tx| Ok(tx.ou_find_by_name("r-1", "Dev")?)).await.unwrap();
        assert_eq!(found.map(|o| o.id), Some("ou-1".to_string()));
        for (parent, name) in [("r-1", "dev"), ("r-1", "Dev "), ("r-1", "De"), ("r-1", "Dev%"), ("r-1", "Prod"), ("ou-1", "Dev")] {
            let got = read(&s, move |tx| Ok(tx.ou_find_by_name(parent, name)?)).await.unwrap();
            assert_eq!(got, None, "{parent}/{name:?}");
        }
        let found = read(&s, |tx| Ok(tx.ou_find_by_name("ou-1", "Prod")?)).await.unwrap();
        assert_eq!(found.map(|o| o.id), Some("ou-3".to_string()));
    }

    pub async fn account_round_trip(s: Arc<dyn Store>) {
        let full = AccountRecord {
            joined_method: Some(joined("INVITED")),
            close_requested_ms: Some(1_700_000_009_999),
            ..member("000000000001", "o-1", "r-1", "Full@Example.com")
        };
        let bare = standalone("aws", "000000000002");
        let (f2, b2) = (full.clone(), bare.clone());
        let (sf, sb) = write(&s, move |tx| Ok((tx.account_insert(&f2)?, tx.account_insert(&b2)?))).await.unwrap();
        assert!(sf.seq > 0 && sb.seq > sf.seq);
        assert_eq!(sf, AccountRecord { seq: sf.seq, ..full.clone() });
        assert_eq!(sb, AccountRecord { seq: sb.seq, ..bare.clone() });
        assert_eq!(read(&s, |tx| Ok(tx.account_get("aws", "000000000001")?)).await.unwrap(), Some(sf.clone()));
        assert_eq!(read(&s, |tx| Ok(tx.account_get("aws", "000000000002")?)).await.unwrap(), Some(sb.clone()));
        assert_eq!(read(&s, |tx| Ok(tx.account_get("aws", "000000000003")?)).await.unwrap(), None);

        // Update replaces every field but seq: Some → None and None → Some.
        let emptied = AccountRecord {
            name: "renamed".into(),
            email: "other@example.com".into(),
            org_id: None,
            parent_id: None,
            joined_method: None,
            joined_ms: None,
            created_ms: 7,
            close_requested_ms: None,
            seq: 999_999,
            ..sf.clone()
        };
        let filled = AccountRecord {
            org_id: Some("o-9".into()),
            parent_id: Some("ou-9".into()),
            joined_method: Some(joined("CREATED")),
            joined_ms: Some(5),
            close_requested_ms: Some(6),
            ..sb.clone()
        };
        let (e2, fi2) = (emptied.clone(), filled.clone());
        write(&s, move |tx| {
            tx.account_update(&e2)?;
            tx.account_update(&fi2)?;
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(
            read(&s, |tx| Ok(tx.account_get("aws", "000000000001")?)).await.unwrap(),
            Some(AccountRecord { seq: sf.seq, ..emptied })
        );
        assert_eq!(read(&s, |tx| Ok(tx.account_get("aws", "000000000002")?)).await.unwrap(), Some(filled));
        // The email lookup follows an update of the email.
        assert_eq!(read(&s, |tx| Ok(tx.account_find_by_email("aws", "000000000002@EXAMPLE.com")?)).await.unwrap().map(|a| a.id), Some("000000000002".into()));
    }

    /// A transaction reads its own writes to accounts, organizations and roots, and writes queued
    /// together (one batch on SQLite) each see the ones before them: the SQLite store keeps the
    /// rows it read by key for the rest of the transaction.
    pub async fn caller_rows_follow_writes(s: Arc<dyn Store>) {
        write(&s, |tx| {
            tx.org_insert(&org("o-1"))?;
            tx.account_insert(&member("000000000001", "o-1", "r-1", "a@example.com"))?;
            Ok(())
        })
        .await
        .unwrap();
        let seen = write(&s, |tx| {
            let before = tx.account_get("aws", "000000000001")?.expect("inserted");
            tx.account_update(&AccountRecord { name: "renamed".into(), ..before })?;
            let after = tx.account_get("aws", "000000000001")?.expect("still there");
            let absent = tx.account_get("aws", "000000000002")?;
            tx.account_insert(&member("000000000002", "o-1", "r-1", "b@example.com"))?;
            let inserted = tx.account_get("aws", "000000000002")?;
            let org_before = tx.org_get("o-1")?.expect("inserted");
            tx.org_update(&OrganizationRecord { management_account_id: "000000000002".into(), ..org_before })?;
            let org_after = tx.org_get("o-1")?.expect("still there");
            tx.org_delete("o-1")?;
            let org_gone = tx.org_get("o-1")?;
            let no_root = tx.root_get("r-1")?;
            tx.root_insert(&root("r-1", "o-1"))?;
            let root_before = tx.root_get("r-1")?.expect("inserted");
            tx.root_update(&RootRecord { name: "Renamed".into(), ..root_before })?;
            let root_after = tx.root_get("r-1")?.expect("still there");
            Ok((after.name, absent.is_none(), inserted.is_some(), org_after.management_account_id, org_gone.is_none(), no_root.is_none(), root_after.name))
        })
        .await
        .unwrap();
        assert_eq!(seen, ("renamed".to_string(), true, true, "000000000002".to_string(), true, true, "Renamed".to_string()));

        // Forty increments of one account's name, queued at once: none is lost.
        write(&s, |tx| {
            let a = tx.account_get("aws", "000000000001")?.expect("inserted");
            Ok(tx.account_update(&AccountRecord { name: "0".into(), ..a })?)
        })
        .await
        .unwrap();
        let writes: Vec<_> = (0..40)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move {
                    write(&s, |tx| {
                        let a = tx.account_get("aws", "000000000001")?.expect("inserted");
                        let n: u32 = a.name.parse().expect("a number");
                        Ok(tx.account_update(&AccountRecord { name: (n + 1).to_string(), ..a })?)
                    })
                    .await
                })
            })
            .collect();
        for w in writes {
            w.await.unwrap().unwrap();
        }
        let a = read(&s, |tx| Ok(tx.account_get("aws", "000000000001")?)).await.unwrap().expect("inserted");
        assert_eq!(a.name, "40");

        // A refused write that read its own change before failing leaves nothing behind for the
        // writes queued with it.
        let jobs: Vec<_> = (0..20)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move {
                    write(&s, move |tx| {
                        let a = tx.account_get("aws", "000000000001")?.expect("inserted");
                        if i % 2 == 0 {
                            tx.account_update(&AccountRecord { name: "refused".into(), ..a })?;
                            let _ = tx.account_get("aws", "000000000001")?;
                            return Err(ApiError::new(canopy_api::ErrorCode::ConstraintViolationException, "refused").into());
                        }
                        Ok(a.name)
                    })
                    .await
                })
            })
            .collect();
        for (i, job) in jobs.into_iter().enumerate() {
            match job.await.unwrap() {
                Ok(name) => assert_eq!(name, "40", "job {i}"),
                Err(e) => assert!(i % 2 == 0, "job {i}: {e:?}"),
            }
        }
    }

    pub async fn account_partitions_are_distinct(s: Arc<dyn Store>) {
        write(&s, |tx| {
            tx.account_insert(&standalone("aws", "123456789012"))?;
            tx.account_insert(&AccountRecord { name: "china".into(), ..standalone("aws-cn", "123456789012") })?;
            Ok(())
        })
        .await
        .unwrap();
        let a = read(&s, |tx| Ok(tx.account_get("aws", "123456789012")?)).await.unwrap().unwrap();
        let b = read(&s, |tx| Ok(tx.account_get("aws-cn", "123456789012")?)).await.unwrap().unwrap();
        assert_eq!((a.partition.as_str(), a.name.as_str()), ("aws", "standalone"));
        assert_eq!((b.partition.as_str(), b.name.as_str()), ("aws-cn", "china"));
        assert_eq!(read(&s, |tx| Ok(tx.account_get("aws-us-gov", "123456789012")?)).await.unwrap(), None);
    }

    pub async fn account_list_paging_and_counts(s: Arc<dyn Store>) {
        let inserted = write(&s, |tx| {
            let mut out = vec![];
            for i in 0..7u32 {
                let parent = if i % 2 == 0 { "r-1" } else { "ou-1" };
                // Ids in reverse order to prove the order is by seq.
                let mut a = member(&format!("{:012}", 100 - i), "o-1", parent, &format!("a{i}@x.com"));
                a.created_ms = 1_000 + i64::from(i);
                // Some closed, to show the children projection carries the closure time.
                a.close_requested_ms = (i % 3 == 0).then_some(5_000 + i64::from(i));
                out.push(tx.account_insert(&a)?);
            }
            tx.account_insert(&member("000000000500", "o-2", "r-1", "other@x.com"))?;
            tx.account_insert(&standalone("aws", "000000000600"))?;
            Ok(out)
        })
        .await
        .unwrap();
        let all = read(&s, |tx| Ok(tx.account_list("o-1", None, 100)?)).await.unwrap();
        assert_eq!(all, inserted);
        let mut paged = vec![];
        let mut after = None;
        loop {
            let page = read(&s, move |tx| Ok(tx.account_list("o-1", after, 3)?)).await.unwrap();
            assert!(page.len() <= 3);
            if page.is_empty() {
                break;
            }
            after = Some(page.last().unwrap().seq);
            paged.extend(page);
        }
        assert_eq!(paged, inserted);

        let in_root: Vec<_> = inserted.iter().filter(|a| a.parent_id.as_deref() == Some("r-1")).cloned().collect();
        let in_ou: Vec<_> = inserted.iter().filter(|a| a.parent_id.as_deref() == Some("ou-1")).cloned().collect();
        assert_eq!(read(&s, |tx| Ok(tx.account_list_by_parent("o-1", "r-1", None, 100)?)).await.unwrap(), in_root);
        assert_eq!(read(&s, |tx| Ok(tx.account_list_by_parent("o-1", "ou-1", None, 100)?)).await.unwrap(), in_ou);
        let first = in_ou[0].seq;
        assert_eq!(read(&s, move |tx| Ok(tx.account_list_by_parent("o-1", "ou-1", Some(first), 1)?)).await.unwrap(), in_ou[1..2]);
        // The parent filter is within the org.
        assert_eq!(read(&s, |tx| Ok(tx.account_list_by_parent("o-2", "ou-1", None, 100)?)).await.unwrap(), vec![]);

        // The children projection: the same rows, reduced, with the same paging.
        let children = |rows: &[AccountRecord]| -> Vec<AccountChildRecord> {
            rows.iter()
                .map(|a| AccountChildRecord { id: a.id.clone(), created_ms: a.created_ms, close_requested_ms: a.close_requested_ms, seq: a.seq })
                .collect()
        };
        assert!(in_root.iter().chain(&in_ou).any(|a| a.close_requested_ms.is_some()));
        assert_eq!(read(&s, |tx| Ok(tx.account_children("o-1", "r-1", None, 100)?)).await.unwrap(), children(&in_root));
        assert_eq!(read(&s, |tx| Ok(tx.account_children("o-1", "ou-1", None, 100)?)).await.unwrap(), children(&in_ou));
        assert_eq!(read(&s, move |tx| Ok(tx.account_children("o-1", "ou-1", Some(first), 1)?)).await.unwrap(), children(&in_ou[1..2]));
        assert_eq!(read(&s, |tx| Ok(tx.account_children("o-2", "ou-1", None, 100)?)).await.unwrap(), vec![]);
        assert!(read(&s, |tx| Ok(tx.account_list("o-1", None, 0)?)).await.unwrap().is_empty());

        assert_eq!(read(&s, |tx| Ok(tx.account_count("o-1")?)).await.unwrap(), 7);
        assert_eq!(read(&s, |tx| Ok(tx.account_count("o-2")?)).await.unwrap(), 1);
        assert_eq!(read(&s, |tx| Ok(tx.account_count("o-3")?)).await.unwrap(), 0);
        assert_eq!(read(&s, |tx| Ok(tx.account_count_by_parent("o-1", "r-1")?)).await.unwrap(), 4);
        assert_eq!(read(&s, |tx| Ok(tx.account_count_by_parent("o-1", "ou-1")?)).await.unwrap(), 3);
        assert_eq!(read(&s, |tx| Ok(tx.account_count_by_parent("o-2", "ou-1")?)).await.unwrap(), 0);
    }

    pub async fn account_counts_follow_every_change_of_organization(s: Arc<dyn Store>) {
        let count = |o: &'static str| {
            let s = s.clone();
            async move { read(&s, move |tx| Ok(tx.account_count(o)?)).await.unwrap() }
        };
        write(&s, |tx| {
            for i in 0..3u32 {
                tx.account_insert(&member(&format!("{:012}", 10 + i), "o-1", "r-1", &format!("c{i}@x.com")))?;
            }
            tx.account_insert(&member("000000000020", "o-2", "r-2", "d@x.com"))?;
            tx.account_insert(&standalone("aws", "000000000030"))?;
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!((count("o-1").await, count("o-2").await), (3, 1));
        // An update that keeps the organization counts nothing twice.
        write(&s, |tx| {
            let mut a = tx.account_get("aws", "000000000010")?.unwrap();
            a.name = "renamed".into();
            a.parent_id = Some("ou-9".into());
            Ok(tx.account_update(&a)?)
        })
        .await
        .unwrap();
        assert_eq!((count("o-1").await, count("o-2").await), (3, 1));
        // Leaving, joining, and moving between organizations in one transaction.
        write(&s, |tx| {
            let mut left = tx.account_get("aws", "000000000011")?.unwrap();
            left.org_id = None;
            left.parent_id = None;
            tx.account_update(&left)?;
            let mut joined = tx.account_get("aws", "000000000030")?.unwrap();
            joined.org_id = Some("o-2".into());
            joined.parent_id = Some("r-2".into());
            tx.account_update(&joined)?;
            let mut moved = tx.account_get("aws", "000000000012")?.unwrap();
            moved.org_id = Some("o-3".into());
            moved.parent_id = Some("r-3".into());
            Ok(tx.account_update(&moved)?)
        })
        .await
        .unwrap();
        assert_eq!((count("o-1").await, count("o-2").await, count("o-3").await), (1, 2, 1));
        // A refused write changes no count.
        let r = write(&s, |tx| {
            tx.account_insert(&member("000000000040", "o-1", "r-1", "e@x.com"))?;
            Ok(tx.account_insert(&member("000000000040", "o-1", "r-1", "e@x.com"))?)
        })
        .await;
        assert!(r.is_err());
        assert_eq!(count("o-1").await, 1);
        s.reset().await.unwrap();
        assert_eq!((count("o-1").await, count("o-2").await, count("o-3").await), (0, 0, 0));
        write(&s, |tx| Ok(tx.account_insert(&member("000000000050", "o-1", "r-1", "f@x.com"))?)).await.unwrap();
        assert_eq!(count("o-1").await, 1);
    }

    pub async fn account_email_lookup_is_case_insensitive(s: Arc<dyn Store>) {
        write(&s, |tx| {
            tx.account_insert(&member("000000000001", "o-1", "r-1", "Alice.Smith@Example.COM"))?;
            tx.account_insert(&member("000000000002", "o-2", "r-2", "bob@example.com"))?;
            Ok(())
        })
        .await
        .unwrap();
        for probe in ["alice.smith@example.com", "ALICE.SMITH@EXAMPLE.COM", "Alice.Smith@Example.COM"] {
            let got = read(&s, move |tx| Ok(tx.account_find_by_email("aws", probe)?)).await.unwrap();
            assert_eq!(got.map(|a| (a.id, a.email)), Some(("000000000001".into(), "Alice.Smith@Example.COM".into())), "{probe}");
        }
        // Exact match only; the scope is the partition, across organizations.
        assert_eq!(read(&s, |tx| Ok(tx.account_find_by_email("aws", "BOB@example.com")?)).await.unwrap().map(|a| a.id), Some("000000000002".into()));
        for (p, probe) in [("aws", "alice.smith@example.co"), ("aws", "alice%"), ("aws-cn", "bob@example.com"), ("aws-cn", "alice.smith@example.com")] {
            assert_eq!(read(&s, move |tx| Ok(tx.account_find_by_email(p, probe)?)).await.unwrap(), None, "{p} {probe}");
        }
    }

    pub async fn car_round_trip(s: Arc<dyn Store>) {
        let ok = CreateAccountRecord { account_id: Some("000000000777".into()), ..car("car-1", "o-1") };
        let failed = CreateAccountRecord { failure_reason: Some(failure("EMAIL_ALREADY_EXISTS")), ..car("car-2", "o-1") };
        let (o2, f2) = (ok.clone(), failed.clone());
        let (so, sf) = write(&s, move |tx| Ok((tx.car_insert(&o2)?, tx.car_insert(&f2)?))).await.unwrap();
        assert!(so.seq > 0 && sf.seq > so.seq);
        assert_eq!(so, CreateAccountRecord { seq: so.seq, ..ok });
        assert_eq!(sf, CreateAccountRecord { seq: sf.seq, ..failed });
        assert_eq!(read(&s, |tx| Ok(tx.car_get("o-1", "car-1")?)).await.unwrap(), Some(so.clone()));
        assert_eq!(read(&s, |tx| Ok(tx.car_get("o-1", "car-2")?)).await.unwrap(), Some(sf.clone()));
        // Found only within its organization.
        assert_eq!(read(&s, |tx| Ok(tx.car_get("o-2", "car-1")?)).await.unwrap(), None);
        assert_eq!(read(&s, |tx| Ok(tx.car_get("o-1", "car-3")?)).await.unwrap(), None);

        let flipped = CreateAccountRecord {
            account_name: "renamed".into(),
            email: "e@x.com".into(),
            requested_ms: 11,
            completes_ms: 21,
            account_id: None,
            failure_reason: Some(failure("INTERNAL_FAILURE")),
            ..so.clone()
        };
        let fl2 = flipped.clone();
        write(&s, move |tx| Ok(tx.car_update(&fl2)?)).await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.car_get("o-1", "car-1")?)).await.unwrap(), Some(flipped));
    }

    pub async fn car_list_paging(s: Arc<dyn Store>) {
        let inserted = write(&s, |tx| {
            let mut out = vec![];
            for i in 0..5 {
                out.push(tx.car_insert(&car(&format!("car-{}", 9 - i), "o-1"))?);
                tx.car_insert(&car(&format!("car-other-{i}"), "o-2"))?;
            }
            Ok(out)
        })
        .await
        .unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.car_list("o-1", None, 10)?)).await.unwrap(), inserted);
        let p1 = read(&s, |tx| Ok(tx.car_list("o-1", None, 3)?)).await.unwrap();
        assert_eq!(p1, inserted[..3]);
        let after = p1[2].seq;
        assert_eq!(read(&s, move |tx| Ok(tx.car_list("o-1", Some(after), 3)?)).await.unwrap(), inserted[3..]);
        assert!(read(&s, |tx| Ok(tx.car_list("o-3", None, 3)?)).await.unwrap().is_empty());
    }

    pub async fn tags_behaviour(s: Arc<dyn Store>) {
        write(&s, |tx| {
            tx.tags_put("o-1", "ou-1", &tags(&[("b", "2"), ("a", "1"), ("C", "3"), ("a b", "")]))?;
            tx.tags_put("o-1", "ou-2", &tags(&[("a", "other")]))?;
            tx.tags_put("o-2", "ou-1", &tags(&[("a", "other org")]))?;
            Ok(())
        })
        .await
        .unwrap();
        // Ordered by key (byte order).
        let got = read(&s, |tx| Ok(tx.tags_get("o-1", "ou-1")?)).await.unwrap();
        assert_eq!(got, tags(&[("C", "3"), ("a", "1"), ("a b", ""), ("b", "2")]));

        // Overwrite one, add one.
        write(&s, |tx| Ok(tx.tags_put("o-1", "ou-1", &tags(&[("a", "new"), ("d", "4")]))?)).await.unwrap();
        let got = read(&s, |tx| Ok(tx.tags_get("o-1", "ou-1")?)).await.unwrap();
        assert_eq!(got, tags(&[("C", "3"), ("a", "new"), ("a b", ""), ("b", "2"), ("d", "4")]));

        // Delete some keys (a missing key is ignored).
        write(&s, |tx| Ok(tx.tags_delete("o-1", "ou-1", &["b".into(), "C".into(), "nope".into()])?)).await.unwrap();
        let got = read(&s, |tx| Ok(tx.tags_get("o-1", "ou-1")?)).await.unwrap();
        assert_eq!(got, tags(&[("a", "new"), ("a b", ""), ("d", "4")]));

        write(&s, |tx| Ok(tx.tags_delete_all("o-1", "ou-1")?)).await.unwrap();
        assert!(read(&s, |tx| Ok(tx.tags_get("o-1", "ou-1")?)).await.unwrap().is_empty());
        // Other resources and other organizations untouched.
        assert_eq!(read(&s, |tx| Ok(tx.tags_get("o-1", "ou-2")?)).await.unwrap(), tags(&[("a", "other")]));
        assert_eq!(read(&s, |tx| Ok(tx.tags_get("o-2", "ou-1")?)).await.unwrap(), tags(&[("a", "other org")]));
        // Empty puts and deletes are fine.
        write(&s, |tx| {
            tx.tags_put("o-1", "ou-2", &[])?;
            tx.tags_delete("o-1", "ou-2", &[])?;
            Ok(())
        })
        .await
        .unwrap();
    }

    async fn populate_org(s: &Arc<dyn Store>, o: &'static str) {
        write(s, move |tx| {
            tx.org_insert(&org(o))?;
            tx.root_insert(&root(&format!("r-{o}"), o))?;
            tx.ou_insert(&ou(&format!("ou-{o}"), o, &format!("r-{o}"), "Dev"))?.expect("stored");
            tx.car_insert(&car(&format!("car-{o}"), o))?;
            tx.account_insert(&member(&format!("{o}-acct"), o, &format!("ou-{o}"), &format!("{o}@x.com")))?;
            tx.tags_put(o, &format!("ou-{o}"), &tags(&[("k", "v")]))?;
            tx.tags_put(o, &format!("{o}-acct"), &tags(&[("k", "v")]))?;
            Ok(())
        })
        .await
        .unwrap();
    }

    #[derive(Debug, PartialEq)]
    struct OrgState {
        org: bool,
        root: bool,
        ou: bool,
        car: bool,
        account: bool,
        ou_tags: usize,
        account_tags: usize,
        roots: usize,
        ous: u64,
        cars: usize,
    }

    async fn org_state(s: &Arc<dyn Store>, o: &'static str) -> OrgState {
        read(s, move |tx| {
            Ok(OrgState {
                org: tx.org_get(o)?.is_some(),
                root: tx.root_get(&format!("r-{o}"))?.is_some(),
                ou: tx.ou_get(&format!("ou-{o}"))?.is_some(),
                car: tx.car_get(o, &format!("car-{o}"))?.is_some(),
                account: tx.account_get("aws", &format!("{o}-acct"))?.is_some(),
                ou_tags: tx.tags_get(o, &format!("ou-{o}"))?.len(),
                account_tags: tx.tags_get(o, &format!("{o}-acct"))?.len(),
                roots: tx.root_list(o)?.len(),
                ous: tx.ou_count(o)?,
                cars: tx.car_list(o, None, 10)?.len(),
            })
        })
        .await
        .unwrap()
    }

    pub async fn org_delete_cascades(s: Arc<dyn Store>) {
        populate_org(&s, "o-1").await;
        populate_org(&s, "o-2").await;
        let full = OrgState { org: true, root: true, ou: true, car: true, account: true, ou_tags: 1, account_tags: 1, roots: 1, ous: 1, cars: 1 };
        assert_eq!(org_state(&s, "o-1").await, full);
        // Core deletes the OUs (walking the tree) before the organization.
        write(&s, |tx| {
            tx.ou_delete("ou-o-1")?;
            Ok(tx.org_delete("o-1")?)
        })
        .await
        .unwrap();
        // Everything of o-1 is gone but the account row (core detaches accounts itself).
        assert_eq!(
            org_state(&s, "o-1").await,
            OrgState { org: false, root: false, ou: false, car: false, account: true, ou_tags: 0, account_tags: 0, roots: 0, ous: 0, cars: 0 }
        );
        assert_eq!(org_state(&s, "o-2").await, full);
    }

    pub async fn failing_closure_leaves_no_trace(s: Arc<dyn Store>) {
        // Queue all jobs before awaiting any: they share batches with the failing ones.
        let mut futs = vec![];
        for i in 0..40u32 {
            let fail = i % 4;
            futs.push(s.write(Box::new(move |tx| {
                tx.org_insert(&org(&format!("o-{i}")))?;
                tx.ou_insert(&ou(&format!("ou-{i}"), &format!("o-{i}"), "r", &format!("n{i}")))?.expect("stored");
                tx.tags_put(&format!("o-{i}"), "r", &tags(&[("k", "v")]))?;
                match fail {
                    1 => Err(OpError::Api(ApiError::internal())),
                    2 => Err(OpError::Store(StoreError::Backend("refused".into()))),
                    _ => Ok(Box::new(i) as Box<dyn Any + Send>),
                }
            })));
        }
        let mut results = vec![];
        for f in futs {
            results.push(f.await);
        }
        for (i, r) in results.into_iter().enumerate() {
            match i % 4 {
                1 => assert!(matches!(r, Err(OpError::Api(_))), "job {i}: {r:?}"),
                2 => assert!(is_store_error(r.as_ref().unwrap_err(), "refused"), "job {i}"),
                _ => assert_eq!(*r.unwrap().downcast::<u32>().unwrap(), i as u32),
            }
        }
        let present = read(&s, |tx| {
            let mut v = vec![];
            for i in 0..40u32 {
                let o = tx.org_get(&format!("o-{i}"))?.is_some();
                let u = tx.ou_get(&format!("ou-{i}"))?.is_some();
                let t = !tx.tags_get(&format!("o-{i}"), "r")?.is_empty();
                v.push((o, u, t));
            }
            Ok(v)
        })
        .await
        .unwrap();
        for (i, p) in present.into_iter().enumerate() {
            let expect = matches!(i % 4, 0 | 3);
            assert_eq!(p, (expect, expect, expect), "job {i}");
        }
        // An error from the store inside the closure (duplicate key) is also rolled back.
        let r = write(&s, |tx| {
            tx.org_insert(&org("o-dup"))?;
            tx.org_insert(&org("o-dup"))?;
            Ok(())
        })
        .await;
        assert!(matches!(r, Err(OpError::Store(_))));
        assert_eq!(read(&s, |tx| Ok(tx.org_get("o-dup")?)).await.unwrap(), None);
    }

    /// Jobs sharing batches, some failing before they write and some after: the answers of
    /// those that succeed describe exactly what is stored (a store may run a batch twice and
    /// must answer with the run that was committed).
    pub async fn answers_match_what_was_stored(s: Arc<dyn Store>) {
        let mut futs = vec![];
        for i in 0..60u32 {
            futs.push(s.write(Box::new(move |tx| {
                if i % 5 == 1 {
                    return Err(OpError::Api(ApiError::internal()));
                }
                let a = tx.account_insert(&member(&format!("{i:012}"), "o-1", "r-1", &format!("{i}@x.com")))?;
                if i % 5 == 3 {
                    return Err(OpError::Api(ApiError::internal()));
                }
                Ok(Box::new(a.seq) as Box<dyn Any + Send>)
            })));
        }
        let mut answered = vec![];
        for (i, f) in futs.into_iter().enumerate() {
            match (i % 5, f.await) {
                (1 | 3, r) => assert!(matches!(r, Err(OpError::Api(_))), "job {i}: {r:?}"),
                (_, r) => answered.push((format!("{i:012}"), *r.expect("job succeeds").downcast::<i64>().unwrap())),
            }
        }
        let stored = read(&s, |tx| Ok(tx.account_list("o-1", None, 1000)?)).await.unwrap();
        let mut stored: Vec<(String, i64)> = stored.into_iter().map(|a| (a.id, a.seq)).collect();
        // Jobs may run in any order (PostgreSQL runs them on several connections).
        stored.sort();
        answered.sort();
        assert_eq!(stored, answered, "the stored accounts and their seq are what was answered");
    }

    pub async fn panicking_closure_is_answered(s: Arc<dyn Store>) {
        let before = s.write(Box::new(|tx| {
            tx.org_insert(&org("o-before"))?;
            Ok(Box::new(()) as Box<dyn Any + Send>)
        }));
        let boom = s.write(Box::new(|tx| {
            tx.org_insert(&org("o-boom"))?;
            panic!("deliberate panic in a write closure");
        }));
        let after = s.write(Box::new(|tx| {
            tx.org_insert(&org("o-after"))?;
            Ok(Box::new(()) as Box<dyn Any + Send>)
        }));
        before.await.unwrap();
        let e = boom.await.unwrap_err();
        assert!(is_store_error(&e, "panicked"), "{e:?}");
        after.await.unwrap();
        let e = s
            .read(Box::new(|_tx| -> Result<Box<dyn Any + Send>, OpError> { panic!("deliberate panic in a read closure") }))
            .await
            .unwrap_err();
        assert!(is_store_error(&e, "panicked"), "{e:?}");
        // The store keeps working.
        write(&s, |tx| Ok(tx.org_insert(&org("o-later"))?)).await.unwrap();
        let got = read(&s, |tx| {
            Ok(["o-before", "o-boom", "o-after", "o-later"].map(|o| tx.org_get(o).map(|x| x.is_some())))
        })
        .await
        .unwrap()
        .map(|r| r.unwrap());
        assert_eq!(got, [true, false, true, true]);
    }

    pub async fn read_transaction_refuses_writes(s: Arc<dyn Store>) {
        populate_org(&s, "o-1").await;
        let errors = read(&s, |tx| {
            let a = member("000000000009", "o-1", "r-o-1", "z@x.com");
            let results: Vec<(&str, Result<(), StoreError>)> = vec![
                ("org_insert", tx.org_insert(&org("o-9"))),
                ("org_update", tx.org_update(&org("o-1"))),
                ("org_delete", tx.org_delete("o-1")),
                ("root_insert", tx.root_insert(&root("r-9", "o-1"))),
                ("root_update", tx.root_update(&root("r-o-1", "o-1"))),
                ("ou_insert", tx.ou_insert(&ou("ou-9", "o-1", "r", "n")).map(|_| ())),
                ("ou_update", tx.ou_update(&ou("ou-o-1", "o-1", "r", "n"))),
                ("ou_delete", tx.ou_delete("ou-o-1")),
                ("account_insert", tx.account_insert(&a).map(|_| ())),
                ("account_update", tx.account_update(&a)),
                ("car_insert", tx.car_insert(&car("car-9", "o-1")).map(|_| ())),
                ("car_update", tx.car_update(&car("car-o-1", "o-1"))),
                ("tags_put", tx.tags_put("o-1", "x", &tags(&[("a", "b")]))),
                ("tags_delete", tx.tags_delete("o-1", "ou-o-1", &["k".into()])),
                ("tags_delete_all", tx.tags_delete_all("o-1", "ou-o-1")),
            ];
            Ok(results
                .into_iter()
                .map(|(name, r)| (name, matches!(r, Err(StoreError::Backend(m)) if m == "write in a read transaction")))
                .collect::<Vec<_>>())
        })
        .await
        .unwrap();
        for (name, refused) in errors {
            assert!(refused, "{name} was not refused in a read transaction");
        }
        let full = OrgState { org: true, root: true, ou: true, car: true, account: true, ou_tags: 1, account_tags: 1, roots: 1, ous: 1, cars: 1 };
        assert_eq!(org_state(&s, "o-1").await, full);
    }

    pub async fn concurrent_writes_all_land(s: Arc<dyn Store>) {
        let mut handles = vec![];
        for i in 0..200u32 {
            let s = s.clone();
            handles.push(tokio::spawn(async move {
                write(&s, move |tx| Ok(tx.account_insert(&member(&format!("{i:012}"), "o-1", "r-1", &format!("{i}@x.com")))?.seq)).await
            }));
        }
        let mut seqs = vec![];
        for h in handles {
            seqs.push(h.await.unwrap().unwrap());
        }
        seqs.sort();
        seqs.dedup();
        assert_eq!(seqs.len(), 200, "every insert got its own seq");
        assert_eq!(read(&s, |tx| Ok(tx.account_count("o-1")?)).await.unwrap(), 200);
        let listed = read(&s, |tx| Ok(tx.account_list("o-1", None, 1000)?)).await.unwrap();
        assert_eq!(listed.iter().map(|a| a.seq).collect::<Vec<_>>(), seqs, "listed in seq order");
    }

    /// 64 concurrent closures each read a value and write it back plus one: with writes
    /// serialized no increment is lost (PostgreSQL: conflicts are re-run inside the store).
    pub async fn concurrent_read_modify_write_is_serialized(s: Arc<dyn Store>) {
        write(&s, |tx| Ok(tx.org_insert(&org("o-counter"))?)).await.unwrap();
        let mut handles = vec![];
        for _ in 0..64 {
            let s = s.clone();
            handles.push(tokio::spawn(async move {
                write(&s, |tx| {
                    let mut o = tx.org_get("o-counter")?.expect("org");
                    o.created_ms += 1;
                    tx.org_update(&o)?;
                    // A second row in the same transaction: both or neither.
                    tx.tags_put("o-counter", "r", &tags(&[(&format!("n{}", o.created_ms), "x")]))?;
                    Ok(())
                })
                .await
            }));
        }
        for h in handles {
            h.await.unwrap().expect("every increment is acknowledged");
        }
        let got = read(&s, |tx| Ok((tx.org_get("o-counter")?.unwrap().created_ms, tx.tags_get("o-counter", "r")?.len()))).await.unwrap();
        assert_eq!(got, (org("o-counter").created_ms + 64, 64), "no lost update");
    }

    pub async fn read_your_writes(s: Arc<dyn Store>) {
        for i in 0..100u32 {
            let id = format!("{i:012}");
            let id2 = id.clone();
            write(&s, move |tx| Ok(tx.account_insert(&standalone("aws", &id2))?)).await.unwrap();
            let got = read(&s, move |tx| Ok(tx.account_get("aws", &id)?)).await.unwrap();
            assert!(got.is_some(), "read after write {i}");
        }
    }

    /// Many reads in flight at once (the SQLite file store runs queued reads in one shared
    /// transaction): each gets its own answer, a failing or panicking read spoils none of the
    /// others, and reads queued after a write resolved see it.
    pub async fn concurrent_reads_each_get_their_own_answer(s: Arc<dyn Store>) {
        for i in 0..50u32 {
            let id = format!("{i:012}");
            write(&s, move |tx| Ok(tx.account_insert(&standalone("aws", &id))?)).await.unwrap();
        }
        let mut handles = vec![];
        for round in 0..4u32 {
            for i in 0..50u32 {
                let s = s.clone();
                handles.push(tokio::spawn(async move {
                    let id = format!("{i:012}");
                    let r = match i % 10 {
                        3 => s.read(Box::new(|_tx| -> Result<Box<dyn Any + Send>, OpError> { panic!("deliberate panic in a read closure") })).await,
                        7 => s.read(Box::new(|_tx| -> Result<Box<dyn Any + Send>, OpError> { Err(OpError::Api(ApiError::internal())) })).await,
                        _ => s.read(Box::new(move |tx| Ok(Box::new(tx.account_get("aws", &id)?.map(|a| a.id)) as Box<dyn Any + Send>))).await,
                    };
                    (round, i, r)
                }));
            }
        }
        // Writes interleaved with the reads; each is read back once acknowledged.
        for i in 50..60u32 {
            let id = format!("{i:012}");
            let id2 = id.clone();
            write(&s, move |tx| Ok(tx.account_insert(&standalone("aws", &id2))?)).await.unwrap();
            let got = read(&s, move |tx| Ok(tx.account_get("aws", &id)?.map(|a| a.id))).await.unwrap();
            assert_eq!(got.as_deref(), Some(format!("{i:012}").as_str()), "read after write {i}");
        }
        for h in handles {
            let (round, i, r) = h.await.unwrap();
            match i % 10 {
                3 => assert!(matches!(&r, Err(e) if is_store_error(e, "panicked")), "round {round} read {i}: {:?}", r.err()),
                7 => assert!(matches!(&r, Err(OpError::Api(_))), "round {round} read {i}: {:?}", r.err()),
                _ => {
                    let got = *r.expect("read").downcast::<Option<String>>().expect("type");
                    assert_eq!(got, Some(format!("{i:012}")), "round {round} read {i}");
                }
            }
        }
    }

    pub async fn duplicate_insert_is_a_store_error(s: Arc<dyn Store>) {
        write(&s, |tx| Ok(tx.account_insert(&standalone("aws", "000000000001"))?)).await.unwrap();
        let r = write(&s, |tx| Ok(tx.account_insert(&standalone("aws", "000000000001"))?)).await;
        assert!(matches!(r, Err(OpError::Store(StoreError::Backend(_)))), "{r:?}");
        let r = write(&s, |tx| Ok(tx.ou_insert(&ou("ou-1", "o", "r", "a")).and_then(|_| tx.ou_insert(&ou("ou-1", "o", "r", "b")))?.expect("stored"))).await;
        assert!(matches!(r, Err(OpError::Store(_))));
    }

    pub async fn reset_empties_everything(s: Arc<dyn Store>) {
        populate_org(&s, "o-1").await;
        write(&s, |tx| Ok(tx.account_insert(&standalone("aws", "000000000042"))?)).await.unwrap();
        s.reset().await.unwrap();
        let empty = OrgState { org: false, root: false, ou: false, car: false, account: false, ou_tags: 0, account_tags: 0, roots: 0, ous: 0, cars: 0 };
        assert_eq!(org_state(&s, "o-1").await, empty);
        assert_eq!(read(&s, |tx| Ok(tx.account_get("aws", "000000000042")?)).await.unwrap(), None);
        assert_eq!(read(&s, |tx| Ok(tx.account_count("o-1")?)).await.unwrap(), 0);
        // The store works after a reset, and seq still increases within the new life.
        let a = write(&s, |tx| Ok(tx.account_insert(&standalone("aws", "000000000001"))?)).await.unwrap();
        let b = write(&s, |tx| Ok(tx.account_insert(&standalone("aws", "000000000002"))?)).await.unwrap();
        assert!(a.seq > 0 && b.seq > a.seq);
        populate_org(&s, "o-1").await;
    }

    // --- policies and attachments ---

    pub async fn policy_round_trip(s: Arc<dyn Store>) {
        let stored = write(&s, |tx| Ok(tx.policy_insert(&policy("p-aaaaaaaa", "o-1", "TAG_POLICY", "Tags"))?)).await.unwrap();
        assert!(stored.seq > 0, "seq is assigned");
        assert_eq!(stored, PolicyRecord { seq: stored.seq, ..policy("p-aaaaaaaa", "o-1", "TAG_POLICY", "Tags") });
        assert_eq!(read(&s, |tx| Ok(tx.policy_get("o-1", "p-aaaaaaaa")?)).await.unwrap(), Some(stored.clone()));
        // Scoped by organization.
        assert_eq!(read(&s, |tx| Ok(tx.policy_get("o-2", "p-aaaaaaaa")?)).await.unwrap(), None);
        assert_eq!(read(&s, |tx| Ok(tx.policy_get("o-1", "p-bbbbbbbb")?)).await.unwrap(), None);

        // Update changes name, description, content and updated_ms; never the type or created_ms.
        let changed = PolicyRecord {
            name: "Renamed".into(),
            description: String::new(),
            content: "{ \"x\" :  1 }\n".into(),
            updated_ms: 1_800_000_000_000,
            policy_type: policy_type("BACKUP_POLICY"),
            created_ms: 5,
            ..stored.clone()
        };
        let c2 = changed.clone();
        write(&s, move |tx| Ok(tx.policy_update(&c2)?)).await.unwrap();
        let expected = PolicyRecord { policy_type: stored.policy_type, created_ms: stored.created_ms, ..changed };
        assert_eq!(read(&s, |tx| Ok(tx.policy_get("o-1", "p-aaaaaaaa")?)).await.unwrap(), Some(expected));

        write(&s, |tx| Ok(tx.policy_delete("o-1", "p-aaaaaaaa")?)).await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.policy_get("o-1", "p-aaaaaaaa")?)).await.unwrap(), None);
        // Deleting what is not there does nothing.
        write(&s, |tx| Ok(tx.policy_delete("o-1", "p-aaaaaaaa")?)).await.unwrap();
    }

    pub async fn policy_list_paging_counts_and_names(s: Arc<dyn Store>) {
        write(&s, |tx| {
            // Ids deliberately not in insertion order; types interleaved; another org.
            tx.policy_insert(&policy("p-zzzzzzzz", "o-1", "SERVICE_CONTROL_POLICY", "A"))?;
            tx.policy_insert(&policy("p-mmmmmmmm", "o-1", "TAG_POLICY", "A"))?;
            tx.policy_insert(&policy("p-aaaaaaaa", "o-1", "SERVICE_CONTROL_POLICY", "B"))?;
            tx.policy_insert(&policy("p-kkkkkkkk", "o-2", "SERVICE_CONTROL_POLICY", "A"))?;
            tx.policy_insert(&policy("p-cccccccc", "o-1", "SERVICE_CONTROL_POLICY", "C"))?;
            Ok(())
        })
        .await
        .unwrap();
        let scp = policy_type("SERVICE_CONTROL_POLICY");
        let all = read(&s, move |tx| Ok(tx.policy_list("o-1", scp, None, 100)?)).await.unwrap();
        assert_eq!(all.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["p-zzzzzzzz", "p-aaaaaaaa", "p-cccccccc"]);
        let first = read(&s, move |tx| Ok(tx.policy_list("o-1", scp, None, 2)?)).await.unwrap();
        assert_eq!(first.len(), 2);
        let after = first[1].seq;
        let rest = read(&s, move |tx| Ok(tx.policy_list("o-1", scp, Some(after), 2)?)).await.unwrap();
        assert_eq!(rest.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["p-cccccccc"]);
        assert_eq!(read(&s, move |tx| Ok(tx.policy_count("o-1", scp)?)).await.unwrap(), 3);
        assert_eq!(read(&s, |tx| Ok(tx.policy_count("o-1", policy_type("TAG_POLICY"))?)).await.unwrap(), 1);
        assert_eq!(read(&s, |tx| Ok(tx.policy_count("o-3", policy_type("TAG_POLICY"))?)).await.unwrap(), 0);
        // Names: exact, per type and organization.
        let found = read(&s, move |tx| Ok(tx.policy_find_by_name("o-1", scp, "B")?)).await.unwrap();
        assert_eq!(found.map(|p| p.id), Some("p-aaaaaaaa".to_string()));
        assert_eq!(read(&s, move |tx| Ok(tx.policy_find_by_name("o-1", scp, "b")?)).await.unwrap(), None);
        assert_eq!(read(&s, |tx| Ok(tx.policy_find_by_name("o-1", policy_type("TAG_POLICY"), "B")?)).await.unwrap(), None);
        let other = read(&s, move |tx| Ok(tx.policy_find_by_name("o-2", scp, "A")?)).await.unwrap();
        assert_eq!(other.map(|p| p.id), Some("p-kkkkkkkk".to_string()));
    }

    pub async fn attachment_round_trip_and_order(s: Arc<dyn Store>) {
        let a = write(&s, |tx| Ok(tx.attachment_insert(&attachment("o-1", "p-2", "r-1", "TAG_POLICY"))?)).await.unwrap();
        assert!(a.seq > 0);
        assert_eq!(a, PolicyAttachmentRecord { seq: a.seq, ..attachment("o-1", "p-2", "r-1", "TAG_POLICY") });
        assert_eq!(read(&s, |tx| Ok(tx.attachment_get("o-1", "p-2", "r-1")?)).await.unwrap(), Some(a.clone()));
        assert_eq!(read(&s, |tx| Ok(tx.attachment_get("o-2", "p-2", "r-1")?)).await.unwrap(), None);
        // Duplicate (org, policy, target) is a store error.
        let dup = write(&s, |tx| Ok(tx.attachment_insert(&attachment("o-1", "p-2", "r-1", "TAG_POLICY"))?)).await;
        assert!(matches!(dup, Err(OpError::Store(_))), "{dup:?}");
        // Attachment order, not id order; detach + re-attach moves to the end.
        write(&s, |tx| {
            tx.attachment_insert(&attachment("o-1", "p-1", "r-1", "TAG_POLICY"))?;
            tx.attachment_insert(&attachment("o-1", "p-3", "r-1", "TAG_POLICY"))?;
            tx.attachment_delete("o-1", "p-2", "r-1")?;
            tx.attachment_insert(&attachment("o-1", "p-2", "r-1", "TAG_POLICY"))?;
            Ok(())
        })
        .await
        .unwrap();
        let tag = policy_type("TAG_POLICY");
        let order = read(&s, move |tx| Ok(tx.attachment_list_by_target("o-1", "r-1", Some(tag), None, 100)?)).await.unwrap();
        assert_eq!(order.iter().map(|a| a.policy_id.as_str()).collect::<Vec<_>>(), ["p-1", "p-3", "p-2"]);
        assert!(order.windows(2).all(|w| w[0].seq < w[1].seq));
        // Deleting an absent attachment does nothing.
        write(&s, |tx| Ok(tx.attachment_delete("o-1", "p-9", "r-1")?)).await.unwrap();
        assert_eq!(read(&s, move |tx| Ok(tx.attachment_count_by_target("o-1", "r-1", tag)?)).await.unwrap(), 3);
    }

    pub async fn attachment_lists_and_counts(s: Arc<dyn Store>) {
        write(&s, |tx| {
            tx.attachment_insert(&attachment("o-1", "p-FullAWSAccess", "r-1", "SERVICE_CONTROL_POLICY"))?;
            tx.attachment_insert(&attachment("o-1", "p-tag", "r-1", "TAG_POLICY"))?;
            tx.attachment_insert(&attachment("o-1", "p-FullAWSAccess", "ou-1", "SERVICE_CONTROL_POLICY"))?;
            tx.attachment_insert(&attachment("o-1", "p-FullAWSAccess", "111111111111", "SERVICE_CONTROL_POLICY"))?;
            tx.attachment_insert(&attachment("o-2", "p-FullAWSAccess", "r-2", "SERVICE_CONTROL_POLICY"))?;
            Ok(())
        })
        .await
        .unwrap();
        let scp = policy_type("SERVICE_CONTROL_POLICY");
        let all_root = read(&s, |tx| Ok(tx.attachment_list_by_target("o-1", "r-1", None, None, 100)?)).await.unwrap();
        assert_eq!(all_root.iter().map(|a| a.policy_id.as_str()).collect::<Vec<_>>(), ["p-FullAWSAccess", "p-tag"]);
        let scp_root = read(&s, move |tx| Ok(tx.attachment_list_by_target("o-1", "r-1", Some(scp), None, 100)?)).await.unwrap();
        assert_eq!(scp_root.len(), 1);
        let targets = read(&s, |tx| Ok(tx.attachment_list_by_policy("o-1", "p-FullAWSAccess", None, 100)?)).await.unwrap();
        assert_eq!(targets.iter().map(|a| a.target_id.as_str()).collect::<Vec<_>>(), ["r-1", "ou-1", "111111111111"]);
        let after = targets[0].seq;
        let page = read(&s, move |tx| Ok(tx.attachment_list_by_policy("o-1", "p-FullAWSAccess", Some(after), 1)?)).await.unwrap();
        assert_eq!(page.iter().map(|a| a.target_id.as_str()).collect::<Vec<_>>(), ["ou-1"]);
        let after = all_root[0].seq;
        let page = read(&s, move |tx| Ok(tx.attachment_list_by_target("o-1", "r-1", None, Some(after), 10)?)).await.unwrap();
        assert_eq!(page.iter().map(|a| a.policy_id.as_str()).collect::<Vec<_>>(), ["p-tag"]);
        assert_eq!(read(&s, |tx| Ok(tx.attachment_count_by_policy("o-1", "p-FullAWSAccess")?)).await.unwrap(), 3);
        assert_eq!(read(&s, |tx| Ok(tx.attachment_count_by_policy("o-2", "p-FullAWSAccess")?)).await.unwrap(), 1);
        assert_eq!(read(&s, move |tx| Ok(tx.attachment_count_by_target("o-1", "r-1", scp)?)).await.unwrap(), 1);
        assert_eq!(read(&s, move |tx| Ok(tx.attachment_count_by_target("o-1", "ou-9", scp)?)).await.unwrap(), 0);
    }

    pub async fn attachment_bulk_deletes(s: Arc<dyn Store>) {
        write(&s, |tx| {
            tx.attachment_insert(&attachment("o-1", "p-FullAWSAccess", "r-1", "SERVICE_CONTROL_POLICY"))?;
            tx.attachment_insert(&attachment("o-1", "p-scp", "ou-1", "SERVICE_CONTROL_POLICY"))?;
            tx.attachment_insert(&attachment("o-1", "p-tag", "ou-1", "TAG_POLICY"))?;
            tx.attachment_insert(&attachment("o-1", "p-tag", "r-1", "TAG_POLICY"))?;
            tx.attachment_insert(&attachment("o-2", "p-FullAWSAccess", "r-2", "SERVICE_CONTROL_POLICY"))?;
            Ok(())
        })
        .await
        .unwrap();
        let scp = policy_type("SERVICE_CONTROL_POLICY");
        write(&s, move |tx| Ok(tx.attachment_delete_by_type("o-1", scp)?)).await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.attachment_count_by_policy("o-1", "p-FullAWSAccess")?)).await.unwrap(), 0);
        assert_eq!(read(&s, |tx| Ok(tx.attachment_count_by_policy("o-1", "p-scp")?)).await.unwrap(), 0);
        assert_eq!(read(&s, |tx| Ok(tx.attachment_count_by_policy("o-1", "p-tag")?)).await.unwrap(), 2);
        // Other organizations keep theirs.
        assert_eq!(read(&s, |tx| Ok(tx.attachment_count_by_policy("o-2", "p-FullAWSAccess")?)).await.unwrap(), 1);
        write(&s, |tx| Ok(tx.attachment_delete_by_target("o-1", "ou-1")?)).await.unwrap();
        let left = read(&s, |tx| Ok(tx.attachment_list_by_policy("o-1", "p-tag", None, 10)?)).await.unwrap();
        assert_eq!(left.iter().map(|a| a.target_id.as_str()).collect::<Vec<_>>(), ["r-1"]);
    }

    pub async fn org_delete_removes_policies(s: Arc<dyn Store>) {
        write(&s, |tx| {
            for o in ["o-1", "o-2"] {
                tx.org_insert(&org(o))?;
                tx.policy_insert(&policy(&format!("p-{o}"), o, "TAG_POLICY", "T"))?;
                tx.attachment_insert(&attachment(o, &format!("p-{o}"), "r-1", "TAG_POLICY"))?;
            }
            Ok(())
        })
        .await
        .unwrap();
        write(&s, |tx| Ok(tx.org_delete("o-1")?)).await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.policy_get("o-1", "p-o-1")?)).await.unwrap(), None);
        assert_eq!(read(&s, |tx| Ok(tx.attachment_count_by_policy("o-1", "p-o-1")?)).await.unwrap(), 0);
        assert!(read(&s, |tx| Ok(tx.policy_get("o-2", "p-o-2")?)).await.unwrap().is_some());
        assert_eq!(read(&s, |tx| Ok(tx.attachment_count_by_policy("o-2", "p-o-2")?)).await.unwrap(), 1);
    }

    pub async fn policy_writes_refused_in_read_tx(s: Arc<dyn Store>) {
        write(&s, |tx| {
            tx.policy_insert(&policy("p-1", "o-1", "TAG_POLICY", "T"))?;
            tx.attachment_insert(&attachment("o-1", "p-1", "r-1", "TAG_POLICY"))?;
            Ok(())
        })
        .await
        .unwrap();
        let errors = read(&s, |tx| {
            let tag = policy_type("TAG_POLICY");
            let results: Vec<(&str, Result<(), StoreError>)> = vec![
                ("policy_insert", tx.policy_insert(&policy("p-2", "o-1", "TAG_POLICY", "U")).map(|_| ())),
                ("policy_update", tx.policy_update(&policy("p-1", "o-1", "TAG_POLICY", "V"))),
                ("policy_delete", tx.policy_delete("o-1", "p-1")),
                ("attachment_insert", tx.attachment_insert(&attachment("o-1", "p-1", "ou-1", "TAG_POLICY")).map(|_| ())),
                ("attachment_delete", tx.attachment_delete("o-1", "p-1", "r-1")),
                ("attachment_delete_by_type", tx.attachment_delete_by_type("o-1", tag)),
                ("attachment_delete_by_target", tx.attachment_delete_by_target("o-1", "r-1")),
            ];
            Ok(results
                .into_iter()
                .map(|(name, r)| (name, matches!(r, Err(StoreError::Backend(m)) if m == "write in a read transaction")))
                .collect::<Vec<_>>())
        })
        .await
        .unwrap();
        for (name, refused) in errors {
            assert!(refused, "{name} was not refused in a read transaction");
        }
        assert_eq!(read(&s, |tx| Ok(tx.policy_get("o-1", "p-1")?.map(|p| p.name))).await.unwrap(), Some("T".to_string()));
        assert_eq!(read(&s, |tx| Ok(tx.attachment_count_by_policy("o-1", "p-1")?)).await.unwrap(), 1);
    }

    pub async fn reset_empties_policies(s: Arc<dyn Store>) {
        write(&s, |tx| {
            tx.policy_insert(&policy("p-1", "o-1", "TAG_POLICY", "T"))?;
            tx.attachment_insert(&attachment("o-1", "p-1", "r-1", "TAG_POLICY"))?;
            Ok(())
        })
        .await
        .unwrap();
        s.reset().await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.policy_get("o-1", "p-1")?)).await.unwrap(), None);
        assert_eq!(read(&s, |tx| Ok(tx.attachment_count_by_policy("o-1", "p-1")?)).await.unwrap(), 0);
    }

    use canopy_api::{ActionType, HandshakePartyType, HandshakeResourceType, HandshakeState};
    use canopy_core::{HandshakePartyRecord, HandshakeRecord, HandshakeResourceRecord};

    fn handshake(id: &str, org_id: &str, action: ActionType, recipient: &str, requested_ms: i64) -> HandshakeRecord {
        HandshakeRecord {
            id: id.into(),
            partition: "aws".into(),
            arn: format!("arn:aws:organizations::111111111111:handshake/{org_id}/{}/{id}", action.as_str().to_lowercase()),
            org_id: org_id.into(),
            action,
            parties: vec![
                HandshakePartyRecord { id: org_id.into(), party_type: HandshakePartyType::Organization },
                HandshakePartyRecord { id: recipient.into(), party_type: HandshakePartyType::Account },
            ],
            resources: vec![
                HandshakeResourceRecord {
                    resource_type: HandshakeResourceType::Organization,
                    value: org_id.into(),
                    resources: vec![
                        HandshakeResourceRecord { resource_type: HandshakeResourceType::MasterEmail, value: "m@example.com".into(), resources: vec![] },
                        HandshakeResourceRecord { resource_type: HandshakeResourceType::MasterName, value: "Ma\"ster \u{e9}".into(), resources: vec![] },
                    ],
                },
                HandshakeResourceRecord { resource_type: HandshakeResourceType::Notes, value: "line\nbreak".into(), resources: vec![] },
            ],
            recipient: recipient.into(),
            parent_id: None,
            state: HandshakeState::Open,
            requested_ms,
            expires_ms: requested_ms + 1_000,
            ended_ms: None,
            seq: 0,
        }
    }

    pub async fn handshake_round_trip(s: Arc<dyn Store>) {
        let h = handshake("h-aaaaaaaa01", "o-1", ActionType::Invite, "222222222222", 10_000);
        let hc = h.clone();
        let stored = write(&s, move |tx| Ok(tx.handshake_insert(&hc)?)).await.unwrap();
        assert!(stored.seq > 0);
        assert_eq!(stored, HandshakeRecord { seq: stored.seq, ..h.clone() });
        assert_eq!(read(&s, |tx| Ok(tx.handshake_get("h-aaaaaaaa01")?)).await.unwrap(), Some(stored.clone()));
        assert_eq!(read(&s, |tx| Ok(tx.handshake_get("h-nope0000")?)).await.unwrap(), None);
        // Update changes the mutable fields only.
        let mut changed = stored.clone();
        changed.state = HandshakeState::Accepted;
        changed.ended_ms = Some(10_500);
        changed.expires_ms = 99;
        changed.resources.truncate(1);
        changed.parties.pop();
        let mut attempt = changed.clone();
        attempt.recipient = "333333333333".into();
        attempt.action = ActionType::EnableAllFeatures;
        write(&s, move |tx| Ok(tx.handshake_update(&attempt)?)).await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.handshake_get("h-aaaaaaaa01")?)).await.unwrap(), Some(changed));
        // A duplicate id is a store error; writes are refused in a read transaction.
        let dup = h.clone();
        assert!(matches!(write(&s, move |tx| Ok(tx.handshake_insert(&dup)?)).await, Err(OpError::Store(_))));
        let other = handshake("h-aaaaaaaa02", "o-1", ActionType::Invite, "x@example.com", 1);
        let e = read(&s, move |tx| Ok(tx.handshake_insert(&other)?)).await.unwrap_err();
        assert!(is_store_error(&e, "write in a read transaction"), "{e:?}");
    }

    pub async fn handshake_lists_and_filters(s: Arc<dyn Store>) {
        let a = handshake("h-list000001", "o-1", ActionType::Invite, "222222222222", 1);
        let b = handshake("h-list000002", "o-1", ActionType::Invite, "bob@example.com", 2);
        let parent = handshake("h-list000003", "o-1", ActionType::EnableAllFeatures, "111111111111", 3);
        let mut child = handshake("h-list000004", "o-1", ActionType::EnableAllFeatures, "222222222222", 4);
        child.parent_id = Some("h-list000003".into());
        let elsewhere = handshake("h-list000005", "o-2", ActionType::Invite, "222222222222", 5);
        let mut cn = handshake("h-list000006", "o-3", ActionType::Invite, "222222222222", 6);
        cn.partition = "aws-cn".into();
        let rows = vec![a, b, parent, child, elsewhere, cn];
        write(&s, move |tx| {
            for r in &rows {
                tx.handshake_insert(r)?;
            }
            Ok(())
        })
        .await
        .unwrap();
        let ids = |v: Vec<HandshakeRecord>| v.into_iter().map(|h| h.id).collect::<Vec<_>>();
        let all = read(&s, |tx| Ok(tx.handshake_list_by_org("o-1", None, None, None, 100)?)).await.unwrap();
        assert_eq!(ids(all.clone()), ["h-list000001", "h-list000002", "h-list000003", "h-list000004"]);
        // Paging by seq.
        let page = read(&s, |tx| Ok(tx.handshake_list_by_org("o-1", None, None, None, 2)?)).await.unwrap();
        assert_eq!(ids(page.clone()), ["h-list000001", "h-list000002"]);
        let after = page[1].seq;
        let rest = read(&s, move |tx| Ok(tx.handshake_list_by_org("o-1", None, None, Some(after), 2)?)).await.unwrap();
        assert_eq!(ids(rest), ["h-list000003", "h-list000004"]);
        // Filters: by action, by parent, both.
        let eaf = read(&s, |tx| Ok(tx.handshake_list_by_org("o-1", Some(ActionType::EnableAllFeatures), None, None, 100)?)).await.unwrap();
        assert_eq!(ids(eaf), ["h-list000003", "h-list000004"]);
        let kids = read(&s, |tx| Ok(tx.handshake_list_by_org("o-1", None, Some("h-list000003"), None, 100)?)).await.unwrap();
        assert_eq!(ids(kids), ["h-list000004"]);
        let none = read(&s, |tx| Ok(tx.handshake_list_by_org("o-1", Some(ActionType::Invite), Some("h-list000003"), None, 100)?))
            .await
            .unwrap();
        assert!(none.is_empty());
        // By recipient: account id or email, one partition only.
        let mine = read(&s, |tx| Ok(tx.handshake_list_by_recipient("aws", "222222222222", "bob@example.com", None, 100)?)).await.unwrap();
        assert_eq!(ids(mine), ["h-list000001", "h-list000002", "h-list000004", "h-list000005"]);
        let acct_only = read(&s, |tx| Ok(tx.handshake_list_by_recipient("aws", "222222222222", "nobody@example.com", None, 2)?)).await.unwrap();
        assert_eq!(ids(acct_only.clone()), ["h-list000001", "h-list000004"]);
        let after = acct_only[1].seq;
        let rest = read(&s, move |tx| Ok(tx.handshake_list_by_recipient("aws", "222222222222", "nobody@example.com", Some(after), 2)?))
            .await
            .unwrap();
        assert_eq!(ids(rest), ["h-list000005"]);
        let cn = read(&s, |tx| Ok(tx.handshake_list_by_recipient("aws-cn", "222222222222", "x@y.z", None, 100)?)).await.unwrap();
        assert_eq!(ids(cn), ["h-list000006"]);
    }

    pub async fn handshake_pending_counts_and_purge(s: Arc<dyn Store>) {
        // Three invites at t=0 (expire at 1000): one open, one declined, one accepted; one at t=500.
        let open = handshake("h-pend000001", "o-1", ActionType::Invite, "222222222222", 0);
        let mut declined = handshake("h-pend000002", "o-1", ActionType::Invite, "333333333333", 0);
        declined.state = HandshakeState::Declined;
        declined.ended_ms = Some(100);
        let mut accepted = handshake("h-pend000003", "o-1", ActionType::Invite, "444444444444", 0);
        accepted.state = HandshakeState::Accepted;
        accepted.ended_ms = Some(200);
        let late = handshake("h-pend000004", "o-1", ActionType::Invite, "222222222222", 500);
        let eaf = handshake("h-pend000005", "o-1", ActionType::EnableAllFeatures, "111111111111", 0);
        let other_org = handshake("h-pend000006", "o-2", ActionType::Invite, "222222222222", 0);
        let rows = vec![open, declined, accepted, late, eaf, other_org];
        write(&s, move |tx| {
            for r in &rows {
                tx.handshake_insert(r)?;
                tx.tags_put(&r.org_id, &r.id, &[tag("k", "v")])?;
            }
            Ok(())
        })
        .await
        .unwrap();
        let ids = |v: Vec<HandshakeRecord>| v.into_iter().map(|h| h.id).collect::<Vec<_>>();
        let inv = ActionType::Invite;
        // Pending: not ended, not expired (expiry is exclusive: at expires_ms it is expired).
        assert_eq!(read(&s, move |tx| Ok(tx.handshake_count_pending("o-1", inv, 999)?)).await.unwrap(), 2);
        assert_eq!(read(&s, move |tx| Ok(tx.handshake_count_pending("o-1", inv, 1_000)?)).await.unwrap(), 1);
        assert_eq!(read(&s, move |tx| Ok(tx.handshake_count_pending("o-1", inv, 1_500)?)).await.unwrap(), 0);
        let p = read(&s, move |tx| Ok(tx.handshake_list_pending("o-1", inv, None, 999, 100)?)).await.unwrap();
        assert_eq!(ids(p), ["h-pend000001", "h-pend000004"]);
        let p = read(&s, move |tx| Ok(tx.handshake_list_pending("o-1", inv, Some("222222222222"), 999, 1)?)).await.unwrap();
        assert_eq!(ids(p), ["h-pend000001"]);
        let p = read(&s, move |tx| Ok(tx.handshake_list_pending("o-1", inv, Some("333333333333"), 50, 100)?)).await.unwrap();
        assert!(p.is_empty(), "an ended handshake is not pending");
        let p = read(&s, |tx| Ok(tx.handshake_list_pending("o-1", ActionType::EnableAllFeatures, None, 999, 100)?)).await.unwrap();
        assert_eq!(ids(p), ["h-pend000005"]);
        // Sent since: accepted ones do not count.
        assert_eq!(read(&s, move |tx| Ok(tx.handshake_count_sent_since("o-1", inv, 0)?)).await.unwrap(), 3);
        assert_eq!(read(&s, move |tx| Ok(tx.handshake_count_sent_since("o-1", inv, 1)?)).await.unwrap(), 1);
        // Purge: ended (or expired) before the cutoff go, with their tags; other orgs untouched.
        write(&s, |tx| Ok(tx.handshake_delete_ended_before("o-1", 150)?)).await.unwrap();
        let left = read(&s, |tx| Ok(tx.handshake_list_by_org("o-1", None, None, None, 100)?)).await.unwrap();
        assert_eq!(ids(left), ["h-pend000001", "h-pend000003", "h-pend000004", "h-pend000005"]);
        assert!(read(&s, |tx| Ok(tx.tags_get("o-1", "h-pend000002")?)).await.unwrap().is_empty());
        assert_eq!(read(&s, |tx| Ok(tx.tags_get("o-1", "h-pend000001")?)).await.unwrap(), vec![tag("k", "v")]);
        write(&s, |tx| Ok(tx.handshake_delete_ended_before("o-1", 1_001)?)).await.unwrap();
        let left = read(&s, |tx| Ok(tx.handshake_list_by_org("o-1", None, None, None, 100)?)).await.unwrap();
        assert_eq!(ids(left), ["h-pend000004"]);
        assert!(read(&s, |tx| Ok(tx.handshake_get("h-pend000006")?)).await.unwrap().is_some());
        assert_eq!(read(&s, |tx| Ok(tx.tags_get("o-2", "h-pend000006")?)).await.unwrap(), vec![tag("k", "v")]);
    }

    pub async fn handshake_org_delete_and_reset(s: Arc<dyn Store>) {
        write(&s, |tx| {
            tx.org_insert(&org("o-1"))?;
            tx.org_insert(&org("o-2"))?;
            tx.handshake_insert(&handshake("h-del0000001", "o-1", ActionType::Invite, "222222222222", 0))?;
            tx.handshake_insert(&handshake("h-del0000002", "o-2", ActionType::Invite, "222222222222", 0))?;
            Ok(())
        })
        .await
        .unwrap();
        write(&s, |tx| Ok(tx.org_delete("o-1")?)).await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.handshake_get("h-del0000001")?)).await.unwrap(), None);
        assert!(read(&s, |tx| Ok(tx.handshake_get("h-del0000002")?)).await.unwrap().is_some());
        s.reset().await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.handshake_get("h-del0000002")?)).await.unwrap(), None);
        let n = read(&s, |tx| Ok(tx.handshake_list_by_recipient("aws", "222222222222", "-", None, 10)?)).await.unwrap();
        assert!(n.is_empty());
    }
    use canopy_core::{DelegatedAdminRecord, ResourcePolicyRecord, ServiceAccessRecord};

    fn access(org_id: &str, sp: &str, ms: i64) -> ServiceAccessRecord {
        ServiceAccessRecord { org_id: org_id.into(), service_principal: sp.into(), enabled_ms: ms, seq: 0 }
    }

    fn admin(org_id: &str, account: &str, sp: &str) -> DelegatedAdminRecord {
        DelegatedAdminRecord { org_id: org_id.into(), account_id: account.into(), service_principal: sp.into(), registered_ms: 1_700_000_000_500, seq: 0 }
    }

    fn rpolicy(org_id: &str, id: &str, content: &str, ms: i64) -> ResourcePolicyRecord {
        ResourcePolicyRecord { org_id: org_id.into(), id: id.into(), content: content.into(), created_ms: ms, updated_ms: ms }
    }

    pub async fn service_access_round_trip_and_list(s: Arc<dyn Store>) {
        let stored = write(&s, |tx| {
            let a = tx.service_access_insert(&access("o-1", "sso.amazonaws.com", 10))?;
            let b = tx.service_access_insert(&access("o-1", "config.amazonaws.com", 20))?;
            tx.service_access_insert(&access("o-2", "sso.amazonaws.com", 30))?;
            Ok((a, b))
        })
        .await
        .unwrap();
        assert!(stored.0.seq > 0 && stored.1.seq > stored.0.seq);
        let got = read(&s, |tx| Ok(tx.service_access_get("o-1", "sso.amazonaws.com")?)).await.unwrap();
        assert_eq!(got, Some(stored.0.clone()));
        assert_eq!(read(&s, |tx| Ok(tx.service_access_get("o-1", "ram.amazonaws.com")?)).await.unwrap(), None);
        // Enabling the same principal twice is a store error (core checks first).
        assert!(write(&s, |tx| Ok(tx.service_access_insert(&access("o-1", "sso.amazonaws.com", 40))?)).await.is_err());
        let all = read(&s, |tx| Ok(tx.service_access_list("o-1", None, 10)?)).await.unwrap();
        assert_eq!(all.iter().map(|a| a.service_principal.as_str()).collect::<Vec<_>>(), ["sso.amazonaws.com", "config.amazonaws.com"]);
        let first = stored.0.seq;
        let page = read(&s, move |tx| Ok(tx.service_access_list("o-1", Some(first), 10)?)).await.unwrap();
        assert_eq!(page, vec![stored.1.clone()]);
        assert_eq!(read(&s, |tx| Ok(tx.service_access_list("o-1", None, 1)?)).await.unwrap().len(), 1);
        write(&s, |tx| Ok(tx.service_access_delete("o-1", "sso.amazonaws.com")?)).await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.service_access_get("o-1", "sso.amazonaws.com")?)).await.unwrap(), None);
        assert!(read(&s, |tx| Ok(tx.service_access_get("o-2", "sso.amazonaws.com")?)).await.unwrap().is_some());
    }

    pub async fn delegated_admin_round_trip_lists_and_counts(s: Arc<dyn Store>) {
        let seqs = write(&s, |tx| {
            let a = tx.delegated_admin_insert(&admin("o-1", "222222222222", "sso.amazonaws.com"))?.seq;
            let b = tx.delegated_admin_insert(&admin("o-1", "333333333333", "config.amazonaws.com"))?.seq;
            let c = tx.delegated_admin_insert(&admin("o-1", "222222222222", "config.amazonaws.com"))?.seq;
            tx.delegated_admin_insert(&admin("o-2", "222222222222", "sso.amazonaws.com"))?;
            Ok((a, b, c))
        })
        .await
        .unwrap();
        assert!(seqs.0 < seqs.1 && seqs.1 < seqs.2);
        let got = read(&s, |tx| Ok(tx.delegated_admin_get("o-1", "222222222222", "config.amazonaws.com")?)).await.unwrap().unwrap();
        assert_eq!((got.registered_ms, got.seq), (1_700_000_000_500, seqs.2));
        assert!(write(&s, |tx| Ok(tx.delegated_admin_insert(&admin("o-1", "222222222222", "sso.amazonaws.com"))?)).await.is_err());
        // Per service, in registration order.
        let config = read(&s, |tx| Ok(tx.delegated_admin_list("o-1", Some("config.amazonaws.com"), None, 10)?)).await.unwrap();
        assert_eq!(config.iter().map(|d| d.account_id.as_str()).collect::<Vec<_>>(), ["333333333333", "222222222222"]);
        // Every service: each account once, at its first registration.
        let all = read(&s, |tx| Ok(tx.delegated_admin_list("o-1", None, None, 10)?)).await.unwrap();
        assert_eq!(
            all.iter().map(|d| (d.account_id.as_str(), d.seq)).collect::<Vec<_>>(),
            [("222222222222", seqs.0), ("333333333333", seqs.1)]
        );
        let after = seqs.0;
        let rest = read(&s, move |tx| Ok(tx.delegated_admin_list("o-1", None, Some(after), 1)?)).await.unwrap();
        assert_eq!(rest.iter().map(|d| d.account_id.as_str()).collect::<Vec<_>>(), ["333333333333"]);
        let mine = read(&s, |tx| Ok(tx.delegated_admin_list_by_account("o-1", "222222222222", None, 10)?)).await.unwrap();
        assert_eq!(mine.iter().map(|d| d.service_principal.as_str()).collect::<Vec<_>>(), ["sso.amazonaws.com", "config.amazonaws.com"]);
        let after = mine[0].seq;
        let page = read(&s, move |tx| Ok(tx.delegated_admin_list_by_account("o-1", "222222222222", Some(after), 10)?)).await.unwrap();
        assert_eq!(page.len(), 1);
        let counts = read(&s, |tx| {
            Ok((
                tx.delegated_admin_count_by_service("o-1", "config.amazonaws.com")?,
                tx.delegated_admin_count_by_account("o-1", "222222222222")?,
                tx.delegated_admin_count_by_account("o-1", "444444444444")?,
            ))
        })
        .await
        .unwrap();
        assert_eq!(counts, (2, 2, 0));
        write(&s, |tx| Ok(tx.delegated_admin_delete("o-1", "222222222222", "sso.amazonaws.com")?)).await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.delegated_admin_count_by_account("o-1", "222222222222")?)).await.unwrap(), 1);
        write(&s, |tx| Ok(tx.delegated_admin_delete_by_service("o-1", "config.amazonaws.com")?)).await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.delegated_admin_list("o-1", None, None, 10)?)).await.unwrap(), vec![]);
        // Other organizations are untouched.
        assert_eq!(read(&s, |tx| Ok(tx.delegated_admin_count_by_account("o-2", "222222222222")?)).await.unwrap(), 1);
    }

    pub async fn resource_policy_put_replace_delete(s: Arc<dyn Store>) {
        assert_eq!(read(&s, |tx| Ok(tx.resource_policy_get("o-1")?)).await.unwrap(), None);
        write(&s, |tx| {
            tx.resource_policy_put(&rpolicy("o-1", "rp-abcd1234", "{\"a\":1}", 10))?;
            tx.resource_policy_put(&rpolicy("o-2", "rp-zzzz9999", "{}", 11))?;
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.resource_policy_get("o-1")?)).await.unwrap(), Some(rpolicy("o-1", "rp-abcd1234", "{\"a\":1}", 10)));
        let replaced = ResourcePolicyRecord { content: "{\"b\":2}".into(), updated_ms: 20, ..rpolicy("o-1", "rp-abcd1234", "", 10) };
        let r2 = replaced.clone();
        write(&s, move |tx| Ok(tx.resource_policy_put(&r2)?)).await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.resource_policy_get("o-1")?)).await.unwrap(), Some(replaced));
        write(&s, |tx| Ok(tx.resource_policy_delete("o-1")?)).await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.resource_policy_get("o-1")?)).await.unwrap(), None);
        assert!(read(&s, |tx| Ok(tx.resource_policy_get("o-2")?)).await.unwrap().is_some());
    }

    pub async fn org_delete_and_reset_remove_delegation_rows(s: Arc<dyn Store>) {
        write(&s, |tx| {
            for o in ["o-1", "o-2"] {
                tx.org_insert(&org(o))?;
                tx.service_access_insert(&access(o, "sso.amazonaws.com", 1))?;
                tx.delegated_admin_insert(&admin(o, "222222222222", "sso.amazonaws.com"))?;
                tx.resource_policy_put(&rpolicy(o, &format!("rp-{o}"), "{}", 1))?;
            }
            Ok(())
        })
        .await
        .unwrap();
        write(&s, |tx| Ok(tx.org_delete("o-1")?)).await.unwrap();
        let state = |o: &'static str| {
            let s = s.clone();
            async move {
                read(&s, move |tx| {
                    Ok((
                        tx.service_access_list(o, None, 10)?.len(),
                        tx.delegated_admin_count_by_account(o, "222222222222")?,
                        tx.resource_policy_get(o)?.is_some(),
                    ))
                })
                .await
                .unwrap()
            }
        };
        assert_eq!(state("o-1").await, (0, 0, false));
        assert_eq!(state("o-2").await, (1, 1, true));
        s.reset().await.unwrap();
        assert_eq!(state("o-2").await, (0, 0, false));
    }

    pub async fn delegation_writes_refused_in_read_tx(s: Arc<dyn Store>) {
        let errors = read(&s, |tx| {
            let results: Vec<(&str, Result<(), StoreError>)> = vec![
                ("service_access_insert", tx.service_access_insert(&access("o-1", "sso.amazonaws.com", 1)).map(|_| ())),
                ("service_access_delete", tx.service_access_delete("o-1", "sso.amazonaws.com")),
                ("delegated_admin_insert", tx.delegated_admin_insert(&admin("o-1", "222222222222", "sso.amazonaws.com")).map(|_| ())),
                ("delegated_admin_delete", tx.delegated_admin_delete("o-1", "222222222222", "sso.amazonaws.com")),
                ("delegated_admin_delete_by_service", tx.delegated_admin_delete_by_service("o-1", "sso.amazonaws.com")),
                ("resource_policy_put", tx.resource_policy_put(&rpolicy("o-1", "rp-1234", "{}", 1))),
                ("resource_policy_delete", tx.resource_policy_delete("o-1")),
            ];
            Ok(results
                .into_iter()
                .map(|(name, r)| (name, matches!(r, Err(StoreError::Backend(m)) if m == "write in a read transaction")))
                .collect::<Vec<_>>())
        })
        .await
        .unwrap();
        for (name, refused) in errors {
            assert!(refused, "{name} was not refused in a read transaction");
        }
    }
    use canopy_api::{ResponsibilityTransferStatus, ResponsibilityTransferType};
    use canopy_core::{GovCloudLinkRecord, TransferRecord};

    fn link(org_id: &str, car: &str, account: &str, gov: &str) -> GovCloudLinkRecord {
        GovCloudLinkRecord {
            org_id: org_id.into(),
            create_request_id: car.into(),
            account_id: account.into(),
            govcloud_account_id: gov.into(),
            created_ms: 5,
        }
    }

    fn transfer(id: &str, source_org: &str, target_org: &str, handshake: &str) -> TransferRecord {
        TransferRecord {
            id: id.into(),
            transfer_type: ResponsibilityTransferType::Billing,
            name: format!("name of {id}"),
            source_org_id: source_org.into(),
            source_account_id: "222222222222".into(),
            source_email: "source@example.org".into(),
            target_org_id: target_org.into(),
            target_account_id: "111111111111".into(),
            target_email: "target@example.org".into(),
            handshake_id: handshake.into(),
            status: ResponsibilityTransferStatus::Requested,
            start_ms: 1_000,
            end_ms: None,
            expires_ms: 9_000,
            created_ms: 10,
            seq: 0,
        }
    }

    pub async fn govcloud_link_round_trip(s: Arc<dyn Store>) {
        write(&s, |tx| {
            tx.govcloud_link_insert(&link("o-1", "car-aaaaaaaa", "333333333333", "444444444444"))?;
            tx.govcloud_link_insert(&link("o-2", "car-bbbbbbbb", "555555555555", "666666666666"))?;
            Ok(())
        })
        .await
        .unwrap();
        let by_request = read(&s, |tx| Ok(tx.govcloud_link_by_request("o-1", "car-aaaaaaaa")?)).await.unwrap();
        assert_eq!(by_request, Some(link("o-1", "car-aaaaaaaa", "333333333333", "444444444444")));
        let by_account = read(&s, |tx| Ok(tx.govcloud_link_by_account("o-2", "555555555555")?)).await.unwrap();
        assert_eq!(by_account, Some(link("o-2", "car-bbbbbbbb", "555555555555", "666666666666")));
        // Scoped by organization.
        assert_eq!(read(&s, |tx| Ok(tx.govcloud_link_by_request("o-2", "car-aaaaaaaa")?)).await.unwrap(), None);
        assert_eq!(read(&s, |tx| Ok(tx.govcloud_link_by_account("o-1", "555555555555")?)).await.unwrap(), None);
        // One pair per GovCloud account: a second one is a store error and changes nothing.
        let dup = write(&s, |tx| Ok(tx.govcloud_link_insert(&link("o-1", "car-cccccccc", "777777777777", "444444444444"))?)).await;
        assert!(dup.is_err());
        assert_eq!(read(&s, |tx| Ok(tx.govcloud_link_by_request("o-1", "car-cccccccc")?)).await.unwrap(), None);
    }

    pub async fn transfer_round_trip_and_lists(s: Arc<dyn Store>) {
        let stored = write(&s, |tx| {
            Ok(vec![
                tx.transfer_insert(&transfer("rt-aaaaaaaa", "o-src", "o-tgt", "h-aaaaaaaa"))?,
                tx.transfer_insert(&transfer("rt-bbbbbbbb", "o-tgt", "o-src", "h-bbbbbbbb"))?,
                tx.transfer_insert(&transfer("rt-cccccccc", "o-src", "o-tgt", "h-cccccccc"))?,
            ])
        })
        .await
        .unwrap();
        assert!(stored[0].seq > 0 && stored[0].seq < stored[1].seq && stored[1].seq < stored[2].seq, "seq assigned in order");
        assert_eq!(stored[0], TransferRecord { seq: stored[0].seq, ..transfer("rt-aaaaaaaa", "o-src", "o-tgt", "h-aaaaaaaa") });
        let a = stored[0].clone();
        assert_eq!(read(&s, |tx| Ok(tx.transfer_get("rt-aaaaaaaa")?)).await.unwrap(), Some(a.clone()));
        assert_eq!(read(&s, |tx| Ok(tx.transfer_get_by_handshake("h-aaaaaaaa")?)).await.unwrap(), Some(a.clone()));
        assert_eq!(read(&s, |tx| Ok(tx.transfer_get("rt-zzzzzzzz")?)).await.unwrap(), None);

        // Update rewrites name, status, end and expiry.
        let mut changed = a.clone();
        changed.name = "renamed".into();
        changed.status = ResponsibilityTransferStatus::Withdrawn;
        changed.end_ms = Some(7_000);
        changed.expires_ms = 8_000;
        let c2 = changed.clone();
        write(&s, move |tx| Ok(tx.transfer_update(&c2)?)).await.unwrap();
        assert_eq!(read(&s, |tx| Ok(tx.transfer_get("rt-aaaaaaaa")?)).await.unwrap(), Some(changed));

        // Inbound = target organization, outbound = source organization, in seq order, paged.
        let ids = |v: Vec<TransferRecord>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
        let inbound = read(&s, |tx| Ok(tx.transfer_list_inbound("o-tgt", None, 10)?)).await.unwrap();
        assert_eq!(ids(inbound), ["rt-aaaaaaaa", "rt-cccccccc"]);
        let outbound = read(&s, |tx| Ok(tx.transfer_list_outbound("o-tgt", None, 10)?)).await.unwrap();
        assert_eq!(ids(outbound), ["rt-bbbbbbbb"]);
        let first = read(&s, |tx| Ok(tx.transfer_list_outbound("o-src", None, 1)?)).await.unwrap();
        assert_eq!(ids(first.clone()), ["rt-aaaaaaaa"]);
        let after = first[0].seq;
        let rest = read(&s, move |tx| Ok(tx.transfer_list_outbound("o-src", Some(after), 10)?)).await.unwrap();
        assert_eq!(ids(rest), ["rt-cccccccc"]);
        // Ids and handshakes are unique.
        assert!(write(&s, |tx| Ok(tx.transfer_insert(&transfer("rt-aaaaaaaa", "o-x", "o-y", "h-dddddddd"))?)).await.is_err());
        assert!(write(&s, |tx| Ok(tx.transfer_insert(&transfer("rt-eeeeeeee", "o-x", "o-y", "h-aaaaaaaa"))?)).await.is_err());
        assert_eq!(read(&s, |tx| Ok(tx.transfer_list_outbound("o-x", None, 10)?)).await.unwrap(), vec![]);
    }

    pub async fn govcloud_org_delete_and_reset(s: Arc<dyn Store>) {
        write(&s, |tx| {
            for o in ["o-1", "o-2", "o-3"] {
                tx.org_insert(&org(o))?;
            }
            tx.govcloud_link_insert(&link("o-1", "car-aaaaaaaa", "333333333333", "444444444444"))?;
            tx.govcloud_link_insert(&link("o-2", "car-bbbbbbbb", "555555555555", "666666666666"))?;
            // o-1 is the source of one transfer and the target of another; o-2/o-3 share a third.
            tx.transfer_insert(&transfer("rt-aaaaaaaa", "o-1", "o-2", "h-aaaaaaaa"))?;
            tx.transfer_insert(&transfer("rt-bbbbbbbb", "o-3", "o-1", "h-bbbbbbbb"))?;
            tx.transfer_insert(&transfer("rt-cccccccc", "o-2", "o-3", "h-cccccccc"))?;
            Ok(())
        })
        .await
        .unwrap();
        write(&s, |tx| Ok(tx.org_delete("o-1")?)).await.unwrap();
        let state = || {
            let s = s.clone();
            async move {
                read(&s, |tx| {
                    Ok((
                        tx.govcloud_link_by_request("o-1", "car-aaaaaaaa")?.is_some(),
                        tx.govcloud_link_by_request("o-2", "car-bbbbbbbb")?.is_some(),
                        ["rt-aaaaaaaa", "rt-bbbbbbbb", "rt-cccccccc"].map(|id| tx.transfer_get(id).map(|t| t.is_some())),
                    ))
                })
                .await
                .unwrap()
            }
        };
        let (l1, l2, transfers) = state().await;
        assert_eq!((l1, l2), (false, true));
        assert_eq!(transfers.map(|r| r.unwrap()), [false, false, true], "the deleted organization's transfers, either side");
        s.reset().await.unwrap();
        let (l1, l2, transfers) = state().await;
        assert_eq!((l1, l2), (false, false));
        assert_eq!(transfers.map(|r| r.unwrap()), [false, false, false]);
    }

    pub async fn govcloud_writes_refused_in_read_tx(s: Arc<dyn Store>) {
        let errors = read(&s, |tx| {
            let results: Vec<(&str, Result<(), StoreError>)> = vec![
                ("govcloud_link_insert", tx.govcloud_link_insert(&link("o-1", "car-aaaaaaaa", "333333333333", "444444444444"))),
                ("transfer_insert", tx.transfer_insert(&transfer("rt-aaaaaaaa", "o-1", "o-2", "h-aaaaaaaa")).map(|_| ())),
                ("transfer_update", tx.transfer_update(&transfer("rt-aaaaaaaa", "o-1", "o-2", "h-aaaaaaaa"))),
            ];
            Ok(results
                .into_iter()
                .map(|(name, r)| (name, matches!(r, Err(StoreError::Backend(m)) if m == "write in a read transaction")))
                .collect::<Vec<_>>())
        })
        .await
        .unwrap();
        for (name, refused) in errors {
            assert!(refused, "{name} was not refused in a read transaction");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL-specific behaviour (skipped without CANOPY_TEST_POSTGRES)

/// A fresh scratch schema, or `None` (with a notice) when no database is configured.
fn with_pg_scratch() -> Option<canopy_store::PgScratch> {
    match pg_url() {
        Some(base) => Some(canopy_store::PgScratch::create(&base).expect("scratch schema")),
        None => {
            eprintln!("skipped: set CANOPY_TEST_POSTGRES=postgres://… to run the PostgreSQL cases");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_replicas_starting_at_once_migrate_once() {
    let Some(scratch) = with_pg_scratch() else { return };
    let url = scratch.url().to_string();
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || canopy_store::open(&url).map(|s| s.kind()))
        })
        .collect();
    for t in opened {
        assert_eq!(t.join().unwrap().expect("every replica opens"), "postgres");
    }
    assert_eq!(canopy_store::migrate(&url).unwrap(), canopy_store::PG_MIGRATIONS.len());
    let s = canopy_store::open(&url).unwrap();
    write(&s, |tx| Ok(tx.org_insert(&org("o-1"))?)).await.unwrap();
    assert!(read(&s, |tx| Ok(tx.org_get("o-1")?)).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_store_is_durable_across_reopen_and_shared_between_stores() {
    let Some(scratch) = with_pg_scratch() else { return };
    let a = canopy_store::open(scratch.url()).unwrap();
    let b = canopy_store::open(scratch.url()).unwrap();
    write(&a, |tx| Ok(tx.org_insert(&org("o-1"))?)).await.unwrap();
    // Another store (another replica) sees an acknowledged write at once.
    assert_eq!(read(&b, |tx| Ok(tx.org_get("o-1")?)).await.unwrap(), Some(org("o-1")));
    let first = write(&b, |tx| Ok(tx.account_insert(&standalone("aws", "000000000001"))?)).await.unwrap();
    drop(a);
    drop(b);
    let c = canopy_store::open(scratch.url()).unwrap();
    assert_eq!(read(&c, |tx| Ok(tx.org_get("o-1")?)).await.unwrap(), Some(org("o-1")));
    let second = write(&c, |tx| Ok(tx.account_insert(&standalone("aws", "000000000002"))?)).await.unwrap();
    assert!(second.seq > first.seq, "seq keeps increasing across stores and reopens");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_lost_sessions_are_replaced() {
    let Some(scratch) = with_pg_scratch() else { return };
    let s = canopy_store::open(scratch.url()).unwrap();
    // Use several pooled connections, then end every session behind the store's back.
    let futs: Vec<_> = (0..16u32)
        .map(|i| {
            s.write(Box::new(move |tx| {
                tx.account_insert(&standalone("aws", &format!("{i:012}")))?;
                Ok(Box::new(()) as Box<dyn Any + Send>)
            }))
        })
        .collect();
    for f in futs {
        f.await.unwrap();
    }
    assert!(scratch.terminate_sessions().unwrap() >= 1);
    // Every pooled connection is dead: each request replaces its worker's connection and succeeds.
    for i in 100..132u32 {
        write(&s, move |tx| Ok(tx.account_insert(&standalone("aws", &format!("{i:012}")))?)).await.expect("write after the sessions ended");
    }
    assert_eq!(read(&s, |tx| Ok(tx.account_get("aws", "000000000131")?)).await.unwrap().map(|a| a.id), Some("000000000131".to_string()));
}

/// A session the server ends in the middle of a write (an administrator's
/// `pg_terminate_backend`, a shutdown) committed nothing: the write is re-run on a new
/// connection and succeeds, instead of answering a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_a_session_ended_inside_a_write_is_rerun() {
    use std::sync::atomic::{AtomicU32, Ordering};
    let Some(scratch) = with_pg_scratch() else { return };
    let scratch = Arc::new(scratch);
    let s = canopy_store::open(scratch.url()).unwrap();
    for round in 0..5u32 {
        let runs = Arc::new(AtomicU32::new(0));
        let (killer, counter) = (scratch.clone(), runs.clone());
        write(&s, move |tx| {
            tx.account_insert(&standalone("aws", &format!("{:012}", 2 * round)))?;
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                killer.terminate_sessions().expect("terminate");
            }
            Ok(tx.account_insert(&standalone("aws", &format!("{:012}", 2 * round + 1)))?)
        })
        .await
        .unwrap_or_else(|e| panic!("round {round}: the write is re-run, not failed: {e:?}"));
        assert!(runs.load(Ordering::SeqCst) >= 2, "round {round}: the closure ran again");
        for id in [2 * round, 2 * round + 1] {
            let got = read(&s, move |tx| Ok(tx.account_get("aws", &format!("{id:012}"))?)).await.unwrap();
            assert!(got.is_some(), "round {round}: account {id} committed once");
        }
    }
}

/// Writes queue behind the organization their worker's last write named; a closure that names
/// a new organization on every run (CreateOrganization draws a fresh id each time) must still
/// succeed, not be re-queued until it gives up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_closures_naming_a_fresh_org_each_run_succeed() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let Some(scratch) = with_pg_scratch() else { return };
    let s = canopy_store::open(scratch.url()).unwrap();
    write(&s, |tx| Ok(tx.org_insert(&org("o-old"))?)).await.unwrap();
    for _ in 0..32 {
        write(&s, |tx| {
            let mut o = tx.org_get("o-old")?.unwrap();
            o.created_ms += 1;
            Ok(tx.org_update(&o)?)
        })
        .await
        .unwrap();
    }
    static N: AtomicU64 = AtomicU64::new(0);
    for _ in 0..16 {
        write(&s, |tx| Ok(tx.org_insert(&org(&format!("o-new-{}", N.fetch_add(1, Ordering::Relaxed))))?)).await.expect("a fresh organization is created");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_newer_schema_is_refused() {
    let Some(scratch) = with_pg_scratch() else { return };
    drop(canopy_store::open(scratch.url()).unwrap());
    // Pretend a newer build migrated the schema.
    let url = scratch.url().to_string();
    std::thread::spawn(move || {
        let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        c.batch_execute("UPDATE schema_version SET version = 999").unwrap();
    })
    .join()
    .unwrap();
    match canopy_store::open(scratch.url()) {
        // Not "corrupt": a newer build wrote it, and the message says so.
        Err(StoreError::Backend(m)) => assert!(m.contains("999") && m.contains("newer Canopy"), "{m}"),
        Err(e) => panic!("unexpected error {e:?}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
}

// ---------------------------------------------------------------------------------------------
// SQLite-specific behaviour

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_is_durable_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/org.db");
    let spec = path.to_str().unwrap().to_string();
    {
        let s = canopy_store::open(&spec).unwrap();
        assert_eq!(s.kind(), "sqlite-file");
        let mut futs = vec![];
        for i in 0..50u32 {
            futs.push(s.write(Box::new(move |tx| {
                tx.account_insert(&member(&format!("{i:012}"), "o-1", "r-1", &format!("{i}@x.com")))?;
                Ok(Box::new(()) as Box<dyn Any + Send>)
            })));
        }
        for f in futs {
            f.await.unwrap();
        }
        write(&s, |tx| Ok(tx.org_insert(&org("o-1"))?)).await.unwrap();
    }
    assert!(path.is_file(), "the database file is where the spec said");
    let s = canopy_store::open(&spec).unwrap();
    assert_eq!(read(&s, |tx| Ok(tx.account_count("o-1")?)).await.unwrap(), 50);
    assert_eq!(read(&s, |tx| Ok(tx.org_get("o-1")?)).await.unwrap(), Some(org("o-1")));
    // seq keeps increasing across the reopen.
    let max_before = read(&s, |tx| Ok(tx.account_list("o-1", None, 100)?)).await.unwrap().last().unwrap().seq;
    let a = write(&s, |tx| Ok(tx.account_insert(&standalone("aws", "999999999999"))?)).await.unwrap();
    assert!(a.seq > max_before);
}

/// `tasks` writers that each put `per_task` tags of a 16 KiB value (five pages with its overflow
/// chain) on resources `ou-{round}-{task}-{i}`, one write at a time; each answers its slowest write.
fn spawn_tag_writers(s: &Arc<dyn Store>, round: u32, tasks: u32, per_task: u32) -> Vec<tokio::task::JoinHandle<std::time::Duration>> {
    let value = big_tag_value();
    (0..tasks)
        .map(|task| {
            let s = s.clone();
            let value = value.clone();
            tokio::spawn(async move {
                let mut slowest = std::time::Duration::ZERO;
                for i in 0..per_task {
                    let v = format!("{i}{value}");
                    let started = std::time::Instant::now();
                    write(&s, move |tx| Ok(tx.tags_put("o-1", &format!("ou-{round}-{task}-{i}"), &tags(&[("k", &v)]))?)).await.unwrap();
                    slowest = slowest.max(started.elapsed());
                }
                slowest
            })
        })
        .collect()
}

/// The WAL file's largest size, sampled every 20 ms until every task has finished.
async fn largest_wal_while_running<T>(wal: &std::path::Path, tasks: &[tokio::task::JoinHandle<T>]) -> u64 {
    let mut largest = 0u64;
    while tasks.iter().any(|h| !h.is_finished()) {
        largest = largest.max(std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    largest
}

fn big_tag_value() -> String {
    "v".repeat(16 * 1024)
}

/// Under writes that never pause, PASSIVE checkpoints alone never let SQLite start the WAL
/// over, and the file grew by every page written. The store now starts it over once it holds
/// 16 MiB; here about 200 MiB of pages are written without a pause. Measured peaks: 21–24 MiB
/// with the writer calling the checkpointer when the WAL is full (24–28 MiB since the writer
/// finishes that checkpoint itself); 100–113 MiB when the checkpointer only looked every
/// 200 ms (on a fast machine); 286 MiB with no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wal_stays_bounded_under_sustained_writes() {
    let dir = tempfile::tempdir().unwrap();
    let s = canopy_store::open(&format!("{}/", dir.path().display())).unwrap();
    let wal = dir.path().join(format!("{}-wal", canopy_store::DB_FILE_NAME));
    let handles = spawn_tag_writers(&s, 0, 16, 800);
    let largest = largest_wal_while_running(&wal, &handles).await;
    for h in handles {
        h.await.unwrap();
    }
    assert!(largest < 64 << 20, "the WAL grew to {} MiB", largest >> 20);
    assert_eq!(read(&s, |tx| Ok(tx.tags_get("o-1", "ou-0-3-799")?)).await.unwrap()[0].value, format!("799{}", big_tag_value()));
}

/// The same with reads running all the while: a reader inside the WAL when the writer's commit
/// would start it over defeats that attempt, which is retried (past four times the usual
/// length with a RESTART that waits briefly for readers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wal_stays_bounded_under_sustained_writes_and_reads() {
    let dir = tempfile::tempdir().unwrap();
    let s = canopy_store::open(&format!("{}/", dir.path().display())).unwrap();
    let wal = dir.path().join(format!("{}-wal", canopy_store::DB_FILE_NAME));
    let handles = spawn_tag_writers(&s, 0, 16, 800);
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut readers = vec![];
    for task in 0..8u32 {
        let s = s.clone();
        let writing = writing.clone();
        readers.push(tokio::spawn(async move {
            let mut reads = 0u64;
            while writing.load(std::sync::atomic::Ordering::Relaxed) {
                read(&s, move |tx| Ok(tx.tags_get("o-1", &format!("ou-0-{task}-1"))?)).await.unwrap();
                reads += 1;
            }
            reads
        }));
    }
    let largest = largest_wal_while_running(&wal, &handles).await;
    writing.store(false, std::sync::atomic::Ordering::Relaxed);
    for h in handles {
        h.await.unwrap();
    }
    let mut reads = 0;
    for r in readers {
        reads += r.await.unwrap();
    }
    assert!(reads > 1000, "the readers ran ({reads} reads)");
    assert!(largest < 96 << 20, "the WAL grew to {} MiB", largest >> 20);
}

/// A reader outside the store (a `sqlite3` shell, say) holding one snapshot keeps the WAL from
/// starting over. Writes must go on meanwhile, without the failed batches a RESTART that held
/// the writer back for its whole busy timeout gave; once the reader leaves, the WAL starts over
/// and is trimmed back to `journal_size_limit`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_holding_the_wal_slows_no_write_and_the_wal_shrinks_after() {
    let dir = tempfile::tempdir().unwrap();
    let s = canopy_store::open(&format!("{}/", dir.path().display())).unwrap();
    let db = dir.path().join(canopy_store::DB_FILE_NAME);
    let wal = dir.path().join(format!("{}-wal", canopy_store::DB_FILE_NAME));
    write(&s, |tx| Ok(tx.tags_put("o-1", "r-1", &tags(&[("k", "v")]))?)).await.unwrap();
    let outside = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    outside.execute_batch("BEGIN").unwrap();
    let _: i64 = outside.query_row("SELECT COUNT(*) FROM tags", [], |r| r.get(0)).unwrap();

    // About 100 MiB of pages while the snapshot is held.
    let mut slowest = std::time::Duration::ZERO;
    for h in spawn_tag_writers(&s, 1, 8, 800) {
        slowest = slowest.max(h.await.unwrap());
    }
    let held = std::fs::metadata(&wal).unwrap().len();
    assert!(held > 64 << 20, "the held WAL grew ({} MiB)", held >> 20);
    assert!(slowest < std::time::Duration::from_secs(2), "a write took {slowest:?} while the WAL was held");

    outside.execute_batch("COMMIT").unwrap();
    drop(outside);
    // The checkpointer retries at most every 2 s: keep writing until the WAL has started over.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut round = 2;
    while std::fs::metadata(&wal).unwrap().len() > 64 << 20 {
        assert!(std::time::Instant::now() < deadline, "the WAL did not start over after the reader left");
        for h in spawn_tag_writers(&s, round, 8, 20) {
            h.await.unwrap();
        }
        round += 1;
    }
    assert_eq!(read(&s, |tx| Ok(tx.tags_get("o-1", "ou-1-7-799")?)).await.unwrap()[0].value, format!("799{}", big_tag_value()));
}

#[tokio::test]
async fn open_spec_forms() {
    let dir = tempfile::tempdir().unwrap();
    // A path ending with '/' is a directory (created) holding canopy.db.
    let d = dir.path().join("new-dir/");
    let spec = format!("{}/", d.display());
    drop(canopy_store::open(&spec).unwrap());
    assert!(d.join(canopy_store::DB_FILE_NAME).is_file());
    // An existing directory, without the slash.
    let e = dir.path().join("existing");
    std::fs::create_dir(&e).unwrap();
    drop(canopy_store::open(e.to_str().unwrap()).unwrap());
    assert!(e.join(canopy_store::DB_FILE_NAME).is_file());
    // Anything else is the file itself.
    let f = dir.path().join("a/b/custom.sqlite");
    drop(canopy_store::open(f.to_str().unwrap()).unwrap());
    assert!(f.is_file());

    assert_eq!(canopy_store::open("memory").unwrap().kind(), "sqlite-memory");
    // postgres:// URLs select PostgreSQL; an unreachable server is an error that does not echo
    // the URL (port 1 refuses at once).
    for url in ["postgres://u:secret@127.0.0.1:1/db", "postgresql://u:secret@127.0.0.1:1/db", "POSTGRES://u:secret@127.0.0.1:1/x"] {
        match canopy_store::open(url) {
            Err(StoreError::Backend(m)) => {
                assert!(m.contains("cannot connect to PostgreSQL"), "{m}");
                assert!(!m.contains("secret"), "the URL is not echoed: {m}");
            }
            Err(e) => panic!("{url}: unexpected error {e:?}"),
            Ok(_) => panic!("{url}: should fail"),
        }
    }
    assert!(canopy_store::open("").is_err());
}

#[tokio::test]
async fn memory_stores_are_independent() {
    let a = canopy_store::open("memory").unwrap();
    let b = canopy_store::open("memory").unwrap();
    write(&a, |tx| Ok(tx.org_insert(&org("o-1"))?)).await.unwrap();
    assert_eq!(read(&b, |tx| Ok(tx.org_get("o-1")?)).await.unwrap(), None);
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    drop(canopy_store::open(path.to_str().unwrap()).unwrap());
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute("UPDATE schema_version SET version = 999", []).unwrap();
    }
    match canopy_store::open(path.to_str().unwrap()) {
        // Not "corrupt": a newer build wrote it, and the message says so.
        Err(StoreError::Backend(m)) => assert!(m.contains("999") && m.contains("newer Canopy"), "{m}"),
        Err(e) => panic!("unexpected error {e:?}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
}

#[tokio::test]
async fn dropping_the_store_finishes_queued_writes() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("d.db").to_str().unwrap().to_string();
    let s = canopy_store::open(&spec).unwrap();
    let futs: Vec<_> = (0..20u32)
        .map(|i| {
            s.write(Box::new(move |tx| {
                tx.account_insert(&standalone("aws", &format!("{i:012}")))?;
                Ok(Box::new(()) as Box<dyn Any + Send>)
            }))
        })
        .collect();
    drop(s);
    for f in futs {
        f.await.unwrap();
    }
    let s = canopy_store::open(&spec).unwrap();
    assert!(read(&s, |tx| Ok(tx.account_get("aws", "000000000019")?)).await.unwrap().is_some());
}

/// Rough throughput on the file store:
/// `cargo test -p canopy-store --release --test conformance -- --ignored --nocapture throughput`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn throughput() {
    let dir = tempfile::tempdir().unwrap();
    println!("-- file store");
    bench(canopy_store::open(&format!("{}/", dir.path().display())).unwrap()).await;
    println!("-- memory store");
    bench(canopy_store::open("memory").unwrap()).await;
}

async fn bench(s: Arc<dyn Store>) {
    const TASKS: u32 = 32;
    const READS: u32 = 20_000;
    const WRITES: u32 = 5_000;
    write(&s, |tx| {
        for i in 0..1000u32 {
            tx.account_insert(&member(&format!("{i:012}"), "o-1", "r-1", &format!("{i}@x.com")))?;
        }
        Ok(())
    })
    .await
    .unwrap();

    let start = Instant::now();
    let mut handles = vec![];
    for t in 0..TASKS {
        let s = s.clone();
        handles.push(tokio::spawn(async move {
            for j in 0..READS / TASKS {
                let id = format!("{:012}", (t * 7919 + j) % 1000);
                let got = read(&s, move |tx| Ok(tx.account_get("aws", &id)?)).await.unwrap();
                assert!(got.is_some());
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let el = start.elapsed();
    println!("reads:  {} account_get from {TASKS} tasks in {:.2?} = {:.0}/s", READS / TASKS * TASKS, el, (READS / TASKS * TASKS) as f64 / el.as_secs_f64());

    let start = Instant::now();
    let mut handles = vec![];
    for t in 0..TASKS {
        let s = s.clone();
        handles.push(tokio::spawn(async move {
            for j in 0..WRITES / TASKS {
                let id = format!("9{t:03}{j:08}");
                write(&s, move |tx| Ok(tx.account_insert(&standalone("aws", &id))?)).await.unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let el = start.elapsed();
    let n = WRITES / TASKS * TASKS;
    println!("writes: {n} single-row account_insert from {TASKS} tasks in {:.2?} = {:.0}/s", el, n as f64 / el.as_secs_f64());

    let start = Instant::now();
    for j in 0..200u32 {
        let id = format!("8{j:011}");
        write(&s, move |tx| Ok(tx.account_insert(&standalone("aws", &id))?)).await.unwrap();
    }
    let el = start.elapsed();
    println!("serial writes (one commit+fsync each): 200 in {:.2?} = {:.0}/s", el, 200.0 / el.as_secs_f64());
}

/// A database written before migration 9 (which rebuilt the hot tables WITHOUT ROWID) keeps
/// every row, every index and its insertion counter when a newer build opens it.
#[tokio::test]
async fn upgrade_from_version_8_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE schema_version (version BIGINT NOT NULL); INSERT INTO schema_version VALUES (8);").unwrap();
        for sql in &canopy_store::MIGRATIONS[..8] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(
            "UPDATE counters SET value = 40 WHERE name = 'seq';
             INSERT INTO organizations VALUES ('o-1', 'aws', '111111111111', 'ALL', 1700000000000);
             INSERT INTO roots VALUES ('r-1', 'o-1', 'Root', 'SERVICE_CONTROL_POLICY,TAG_POLICY', 1);
             INSERT INTO ous VALUES ('ou-1', 'o-1', 'r-1', 'Prod', 1700000000123, 2);
             INSERT INTO org_ou_counts VALUES ('o-1', 1);
             INSERT INTO accounts VALUES ('aws', '000000000100', 'acct-000000000100', 'A@x.com', 'a@x.com', 'o-1', 'ou-1',
                                          'CREATED', 1700000001000, 1700000000500, 1700000009000, 3);
             INSERT INTO accounts VALUES ('aws', '000000000200', 'acct-000000000200', 'b@x.com', 'b@x.com', 'o-1', 'r-1',
                                          'CREATED', 1700000001000, 1700000000500, NULL, 4);
             INSERT INTO tags VALUES ('o-1', '000000000100', 'env', 'prod'), ('o-1', '000000000100', 'team', 'core');
             INSERT INTO policy_attachments VALUES ('o-1', 'p-examplep1', 'ou-1', 'SERVICE_CONTROL_POLICY', 1700000000001, 5);",
        )
        .unwrap();
    }
    let s = canopy_store::open(&path.display().to_string()).unwrap();
    assert_eq!(read(&s, |tx| Ok(tx.org_get("o-1")?)).await.unwrap(), Some(org("o-1")));
    let r = read(&s, |tx| Ok(tx.root_get("r-1")?)).await.unwrap().unwrap();
    assert_eq!(r.enabled_policy_types, vec![policy_type("SERVICE_CONTROL_POLICY"), policy_type("TAG_POLICY")]);
    assert_eq!(read(&s, |tx| Ok(tx.ou_get("ou-1")?)).await.unwrap(), Some(OuRecord { seq: 2, ..ou("ou-1", "o-1", "r-1", "Prod") }));
    assert_eq!(read(&s, |tx| Ok(tx.ou_find_by_name("r-1", "Prod")?)).await.unwrap().map(|o| o.id), Some("ou-1".to_string()));
    assert_eq!(read(&s, |tx| Ok(tx.ou_count("o-1")?)).await.unwrap(), 1);
    let closed = read(&s, |tx| Ok(tx.account_get("aws", "000000000100")?)).await.unwrap().unwrap();
    assert_eq!((closed.email.as_str(), closed.close_requested_ms, closed.seq), ("A@x.com", Some(1_700_000_009_000), 3));
    let listed: Vec<_> = read(&s, |tx| Ok(tx.account_list("o-1", None, 10)?)).await.unwrap().into_iter().map(|a| a.id).collect();
    assert_eq!(listed, ["000000000100", "000000000200"]);
    let children = read(&s, |tx| Ok(tx.account_children("o-1", "ou-1", None, 10)?)).await.unwrap();
    assert_eq!(
        children,
        vec![AccountChildRecord { id: "000000000100".into(), created_ms: 1_700_000_000_500, close_requested_ms: Some(1_700_000_009_000), seq: 3 }]
    );
    let by_email = read(&s, |tx| Ok(tx.account_find_by_email("aws", "A@X.COM")?)).await.unwrap();
    assert_eq!(by_email.map(|a| a.id), Some("000000000100".to_string()));
    assert_eq!(read(&s, |tx| Ok(tx.tags_get("o-1", "000000000100")?)).await.unwrap(), tags(&[("env", "prod"), ("team", "core")]));
    let attached = read(&s, |tx| Ok(tx.attachment_list_by_target("o-1", "ou-1", None, None, 10)?)).await.unwrap();
    let kept = PolicyAttachmentRecord { seq: 5, ..attachment("o-1", "p-examplep1", "ou-1", "SERVICE_CONTROL_POLICY") };
    // With FullAWSAccess stored nowhere, migration 15 recorded it as detached from every target.
    let detached = PolicyAttachmentRecord { attached_ms: 0, seq: 0, ..attachment("o-1", "p-FullAWSAccess", "ou-1", "SERVICE_CONTROL_POLICY") };
    assert_eq!(attached, vec![detached, kept]);
    // The counter carried over: the next insert follows what was there.
    let next = write(&s, |tx| Ok(tx.ou_insert(&ou("ou-2", "o-1", "r-1", "Dev"))?.expect("stored"))).await.unwrap();
    assert_eq!(next.seq, 41);
    assert_eq!(read(&s, |tx| Ok(tx.ou_count("o-1")?)).await.unwrap(), 2);
    // The primary keys still refuse duplicates.
    assert!(write(&s, |tx| Ok(tx.ou_insert(&ou("ou-1", "o-1", "r-1", "Again"))?.expect("stored"))).await.is_err());
}
