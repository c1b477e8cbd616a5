//! Concurrency and faults with real `canopy serve` processes: 64 concurrent SDK clients make
//! random valid and invalid mutations (OUs create/rename/delete, accounts create/move/close,
//! policy attach/detach, policy types enable/disable, tags) for a bounded time, then the
//! organization's invariants are checked through the API: no cycle, no orphan, each account in
//! exactly one parent, depth <= 5, sibling OU names unique, 1..=10 SCPs on every target, every
//! acknowledged create exists, every acknowledged delete is gone, and no 5xx outside the fault
//! windows, no call without an answer.
//!
//! - `sqlite_one_process`: one process on a SQLite file.
//! - `postgres_three_replicas` (needs `CANOPY_TEST_POSTGRES`, a database URL; skipped without):
//!   three processes on one fresh PostgreSQL schema. Mid-load every PostgreSQL session of the
//!   replicas is ended (what a server restart does to them), then one replica is killed with
//!   SIGKILL; the others must keep answering. With `CANOPY_TEST_PG_RESTART` set to a shell
//!   command (e.g. `pg_ctlcluster 15 main restart`) PostgreSQL itself is restarted under load
//!   too: requests then fail with the retryable ServiceException and the replicas must recover.
//!
//! Conflicts: the PostgreSQL store retries serialization conflicts inside the server; only
//! after its retry budget is a request answered ConcurrentModificationException (counted below).
//! Binary: `$CANOPY_BIN`, else built like the crash test does. `--nocapture` shows the counts.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_organizations::types::PolicyType;
use aws_sdk_organizations::Client;
use common::*;

const CLIENTS: usize = 64;
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_DEPTH: usize = 5;
/// Canopy's default SCP attachment quota per target (AWS raised it from 5 to 10 in 2026).
const MAX_SCPS: usize = 10;
const OU_NAMES: usize = 6;

// ---------------------------------------------------------------------------------------------
// Processes

/// A scratch schema on `$CANOPY_TEST_POSTGRES`, or `None` (the test is skipped) without one.
fn postgres_scratch() -> Option<canopy_store::PgScratch> {
    let Some(base) = std::env::var("CANOPY_TEST_POSTGRES").ok().filter(|u| !u.trim().is_empty()) else {
        eprintln!("skipped: set CANOPY_TEST_POSTGRES=postgres://… to run the PostgreSQL replicas test");
        return None;
    };
    Some(canopy_store::PgScratch::create(&base).expect("scratch schema"))
}

/// One replica on `database`; account creation quotas are not what this test is about.
async fn start_replica(bin: &Path, database: &str, log: &Path) -> ServeProcess {
    spawn_serve(bin, database.as_ref(), &["--max-accounts", "100000"], log, Duration::from_secs(60)).await
}

// ---------------------------------------------------------------------------------------------
// Calls and their outcomes

#[derive(Debug)]
enum Failure {
    /// The server answered a client error (counted in `Stats`): nothing was done.
    Api,
    /// The server answered a 5xx (counted in `Stats`): whether the write took effect is
    /// unknown (a PostgreSQL session killed during COMMIT may have committed).
    Server,
    /// No answer: connection refused or reset (a killed replica).
    Transport,
}

#[derive(Default)]
struct Stats {
    ok: AtomicUsize,
    api_errors: Mutex<BTreeMap<String, usize>>,
    transport: AtomicUsize,
    /// 5xx answered outside a fault window: each is a failure of the test.
    steady_5xx: Mutex<Vec<String>>,
    /// 5xx inside a fault window (must be the retryable ServiceException).
    fault_5xx: Mutex<BTreeMap<String, usize>>,
    hangs: Mutex<Vec<String>>,
    /// Fault windows: (start, end or still open).
    windows: Mutex<Vec<(Instant, Option<Instant>)>>,
}

impl Stats {
    fn fault_begins(&self) {
        self.windows.lock().unwrap().push((Instant::now(), None));
    }

    fn fault_ends(&self) {
        if let Some(w) = self.windows.lock().unwrap().last_mut() {
            w.1 = Some(Instant::now());
        }
    }

    /// Whether a call that started at `started` and ends now overlapped a fault window.
    fn overlaps_fault(&self, started: Instant) -> bool {
        let now = Instant::now();
        self.windows.lock().unwrap().iter().any(|(from, to)| *from <= now && to.is_none_or(|t| t >= started))
    }

    async fn call<T, E>(&self, op: &'static str, fut: impl Future<Output = Result<T, SdkError<E>>>) -> Result<T, Failure>
    where
        E: ProvideErrorMetadata + std::fmt::Debug,
    {
        let started = Instant::now();
        match tokio::time::timeout(CALL_TIMEOUT, fut).await {
            Err(_) => {
                self.hangs.lock().unwrap().push(op.to_string());
                Err(Failure::Transport)
            }
            Ok(Ok(v)) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                Ok(v)
            }
            Ok(Err(e)) => match e.raw_response().map(|r| r.status().as_u16()) {
                Some(status) => {
                    let code = e.code().unwrap_or("<no code>").to_string();
                    if status >= 500 {
                        if self.overlaps_fault(started) {
                            *self.fault_5xx.lock().unwrap().entry(format!("{status} {code}")).or_default() += 1;
                        } else {
                            self.steady_5xx.lock().unwrap().push(format!("{op}: {status} {code} {:?}", e.message()));
                        }
                    } else {
                        *self.api_errors.lock().unwrap().entry(format!("{op}: {code}")).or_default() += 1;
                    }
                    Err(if status >= 500 { Failure::Server } else { Failure::Api })
                }
                None => {
                    self.transport.fetch_add(1, Ordering::Relaxed);
                    Err(Failure::Transport)
                }
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the clients were told

#[derive(Default)]
struct World {
    /// OUs whose creation was acknowledged and whose deletion was not.
    live_ous: Vec<String>,
    created_ous: BTreeSet<String>,
    deleted_ous: BTreeSet<String>,
    /// OUs whose deletion got no answer or a 5xx: they may be gone or not.
    deletes_in_doubt: BTreeSet<String>,
    accounts: Vec<String>,
    /// Acknowledged CreateAccount request ids.
    create_requests: Vec<String>,
    closed: BTreeSet<String>,
}

struct Ctx {
    root: String,
    scps: Vec<String>,
    world: Mutex<World>,
    stats: Stats,
    stop: AtomicBool,
    /// Indexes of replicas known to be dead (clients skip them).
    dead: Mutex<BTreeSet<usize>>,
}

/// A small xorshift: the test's randomness needs no dependency and no shared state.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<T: Clone>(&mut self, v: &[T]) -> Option<T> {
        if v.is_empty() {
            None
        } else {
            Some(v[self.below(v.len())].clone())
        }
    }
}

impl Ctx {
    fn pick_parent(&self, rng: &mut Rng) -> String {
        let w = self.world.lock().unwrap();
        if rng.below(4) == 0 || w.live_ous.is_empty() {
            self.root.clone()
        } else {
            rng.pick(&w.live_ous).unwrap()
        }
    }
    fn pick_ou(&self, rng: &mut Rng) -> Option<String> {
        rng.pick(&self.world.lock().unwrap().live_ous)
    }
    fn pick_account(&self, rng: &mut Rng) -> Option<String> {
        rng.pick(&self.world.lock().unwrap().accounts)
    }
    fn pick_target(&self, rng: &mut Rng) -> String {
        match rng.below(3) {
            0 => self.root.clone(),
            1 => self.pick_ou(rng).unwrap_or_else(|| self.root.clone()),
            _ => self.pick_account(rng).unwrap_or_else(|| self.root.clone()),
        }
    }
}

async fn client_task(ctx: Arc<Ctx>, clients: Arc<Vec<Client>>, task: usize) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((task as u64 + 1) * 0x1000_0000_01B3));
    let mut home = task % clients.len();
    let mut i = 0u64;
    let st = &ctx.stats;
    while !ctx.stop.load(Ordering::Relaxed) {
        i += 1;
        if ctx.dead.lock().unwrap().contains(&home) {
            home = (home + 1) % clients.len();
            continue;
        }
        let c = &clients[home];
        let r: Result<(), Failure> = match rng.below(14) {
            0 | 1 => {
                let parent = ctx.pick_parent(&mut rng);
                let name = format!("n{}", rng.below(OU_NAMES));
                st.call("CreateOrganizationalUnit", c.create_organizational_unit().parent_id(&parent).name(name).send()).await.map(|out| {
                    let id = out.organizational_unit().and_then(|o| o.id()).expect("OU id").to_string();
                    let mut w = ctx.world.lock().unwrap();
                    w.created_ous.insert(id.clone());
                    w.live_ous.push(id);
                })
            }
            2 => match ctx.pick_ou(&mut rng) {
                Some(ou) => {
                    let name = format!("n{}", rng.below(OU_NAMES));
                    st.call("UpdateOrganizationalUnit", c.update_organizational_unit().organizational_unit_id(ou).name(name).send()).await.map(|_| ())
                }
                None => Ok(()),
            },
            3 => match ctx.pick_ou(&mut rng) {
                Some(ou) => {
                    let r = st.call("DeleteOrganizationalUnit", c.delete_organizational_unit().organizational_unit_id(&ou).send()).await;
                    let mut w = ctx.world.lock().unwrap();
                    match r {
                        Ok(_) => {
                            w.live_ous.retain(|o| o != &ou);
                            w.deleted_ous.insert(ou);
                            Ok(())
                        }
                        Err(f) => {
                            if matches!(f, Failure::Server | Failure::Transport) {
                                w.deletes_in_doubt.insert(ou);
                            }
                            Err(f)
                        }
                    }
                }
                None => Ok(()),
            },
            4 => {
                let email = format!("t{task}-{i}@example.com");
                st.call("CreateAccount", c.create_account().account_name(format!("t{task}-{i}")).email(email).send()).await.map(|out| {
                    let id = out.create_account_status().and_then(|s| s.id()).expect("request id").to_string();
                    ctx.world.lock().unwrap().create_requests.push(id);
                })
            }
            5 | 6 => match ctx.pick_account(&mut rng) {
                Some(account) => {
                    // The source parent is read first; a concurrent move makes it stale (an error).
                    match st.call("ListParents", c.list_parents().child_id(&account).send()).await {
                        Ok(p) => {
                            let src = p.parents().first().and_then(|p| p.id()).unwrap_or_default().to_string();
                            let dst = ctx.pick_parent(&mut rng);
                            st.call(
                                "MoveAccount",
                                c.move_account().account_id(&account).source_parent_id(src).destination_parent_id(dst).send(),
                            )
                            .await
                            .map(|_| ())
                        }
                        Err(e) => Err(e),
                    }
                }
                None => Ok(()),
            },
            7 => match ctx.pick_account(&mut rng) {
                Some(account) if rng.below(4) == 0 => st.call("CloseAccount", c.close_account().account_id(&account).send()).await.map(|_| {
                    ctx.world.lock().unwrap().closed.insert(account);
                }),
                _ => Ok(()),
            },
            8 | 9 => {
                let policy = rng.pick(&ctx.scps).unwrap();
                let target = ctx.pick_target(&mut rng);
                st.call("AttachPolicy", c.attach_policy().policy_id(policy).target_id(target).send()).await.map(|_| ())
            }
            10 => {
                let policy = rng.pick(&ctx.scps).unwrap();
                let target = ctx.pick_target(&mut rng);
                st.call("DetachPolicy", c.detach_policy().policy_id(policy).target_id(target).send()).await.map(|_| ())
            }
            11 => {
                let t = if rng.below(2) == 0 { PolicyType::TagPolicy } else { PolicyType::BackupPolicy };
                if rng.below(2) == 0 {
                    st.call("EnablePolicyType", c.enable_policy_type().root_id(&ctx.root).policy_type(t).send()).await.map(|_| ())
                } else {
                    st.call("DisablePolicyType", c.disable_policy_type().root_id(&ctx.root).policy_type(t).send()).await.map(|_| ())
                }
            }
            12 => {
                let target = ctx.pick_target(&mut rng);
                let key = format!("k{}", rng.below(4));
                if rng.below(3) == 0 {
                    st.call("UntagResource", c.untag_resource().resource_id(target).tag_keys(key).send()).await.map(|_| ())
                } else {
                    st.call("TagResource", c.tag_resource().resource_id(target).tags(tag(&key, &format!("v{i}"))).send()).await.map(|_| ())
                }
            }
            _ => {
                let parent = ctx.pick_parent(&mut rng);
                st.call("ListOrganizationalUnitsForParent", c.list_organizational_units_for_parent().parent_id(parent).send()).await.map(|_| ())
            }
        };
        if let Err(Failure::Transport) = r {
            // That replica is gone (or was restarting): use the next one.
            home = (home + 1) % clients.len();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Set-up and invariants

const SCP: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#;

/// An organization with 12 customer SCPs (more than a target may hold) and 12 member accounts;
/// returns (root, SCP ids, accounts).
async fn set_up(mgmt: &Client) -> (String, Vec<String>, Vec<String>) {
    mgmt.create_organization().send().await.expect("CreateOrganization");
    let root = mgmt.list_roots().send().await.expect("ListRoots").roots()[0].id().unwrap().to_string();
    let mut scps = vec!["p-FullAWSAccess".to_string()];
    for n in 0..12 {
        let out = mgmt
            .create_policy()
            .r#type(PolicyType::ServiceControlPolicy)
            .name(format!("scp-{n}"))
            .description("")
            .content(SCP)
            .send()
            .await
            .expect("CreatePolicy");
        scps.push(out.policy().and_then(|p| p.policy_summary()).and_then(|s| s.id()).unwrap().to_string());
    }
    let mut accounts = vec![];
    for n in 0..12 {
        accounts.push(create_account_with(mgmt, &format!("member-{n}"), &format!("member-{n}@example.com")).await);
    }
    (root, scps, accounts)
}

/// Retries `f` (a read) across transient failures for up to 60 s: the checks run after faults.
async fn settled<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        match f().await {
            Ok(v) => return v,
            Err(e) if start.elapsed() < Duration::from_secs(60) => {
                eprintln!("{what}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

async fn check_invariants(c: &Client, ctx: &Ctx) {
    // Walk the tree from the root: parent → (OUs, accounts), depth and sibling names.
    let mut seen_ous: BTreeMap<String, (String, usize)> = BTreeMap::new(); // OU → (parent, depth)
    let mut account_parents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut queue = vec![(ctx.root.clone(), 0usize)];
    while let Some((parent, depth)) = queue.pop() {
        let ous = settled("ListOrganizationalUnitsForParent", || async {
            c.list_organizational_units_for_parent().parent_id(&parent).into_paginator().send().try_collect().await.map_err(|e| format!("{e:?}"))
        })
        .await;
        let mut names = BTreeSet::new();
        for ou in ous.iter().flat_map(|p| p.organizational_units()) {
            let id = ou.id().unwrap().to_string();
            let name = ou.name().unwrap().to_string();
            assert!(names.insert(name.clone()), "two OUs named {name:?} under {parent}");
            assert!(depth < MAX_DEPTH, "OU {id} at depth {} > {MAX_DEPTH}", depth + 1);
            assert!(seen_ous.insert(id.clone(), (parent.clone(), depth + 1)).is_none(), "OU {id} reached twice: a cycle or two parents");
            queue.push((id, depth + 1));
        }
        let accounts = settled("ListAccountsForParent", || async {
            c.list_accounts_for_parent().parent_id(&parent).into_paginator().send().try_collect().await.map_err(|e| format!("{e:?}"))
        })
        .await;
        for a in accounts.iter().flat_map(|p| p.accounts()) {
            account_parents.entry(a.id().unwrap().to_string()).or_default().push(parent.clone());
        }
    }

    // Every account of the organization is in exactly one parent of the tree, and ListParents agrees.
    let all = settled("ListAccounts", || async {
        c.list_accounts().into_paginator().send().try_collect().await.map_err(|e| format!("{e:?}"))
    })
    .await;
    let all: BTreeSet<String> = all.iter().flat_map(|p| p.accounts()).map(|a| a.id().unwrap().to_string()).collect();
    for id in &all {
        let parents = account_parents.get(id).unwrap_or_else(|| panic!("account {id} is in no parent of the tree (orphan)"));
        assert_eq!(parents.len(), 1, "account {id} listed under {parents:?}");
        let p = settled("ListParents", || async { c.list_parents().child_id(id).send().await.map_err(|e| format!("{e:?}")) }).await;
        let listed: Vec<_> = p.parents().iter().map(|p| p.id().unwrap().to_string()).collect();
        assert_eq!(listed, parents.clone(), "ListParents of {id}");
    }
    assert_eq!(account_parents.keys().cloned().collect::<BTreeSet<_>>(), all, "the tree's accounts are the organization's");

    // Acknowledged creates exist (reachable from the root: no orphan OU), acknowledged deletes are gone.
    let (requests, deleted) = {
        let w = ctx.world.lock().unwrap();
        for ou in &w.created_ous {
            if w.deleted_ous.contains(ou) {
                assert!(!seen_ous.contains_key(ou), "OU {ou} was deleted (acknowledged) but is still in the tree");
            } else if w.deletes_in_doubt.contains(ou) {
                // A deletion answered 5xx or not at all may have committed.
            } else {
                assert!(seen_ous.contains_key(ou), "OU {ou} was created (acknowledged) but is not in the tree");
            }
        }
        (w.create_requests.clone(), w.deleted_ous.iter().cloned().collect::<Vec<String>>())
    };
    for ou in deleted.iter().take(50) {
        let r = c.describe_organizational_unit().organizational_unit_id(ou).send().await;
        match r {
            Err(e) => assert_eq!(e.code(), Some("OrganizationalUnitNotFoundException"), "DescribeOrganizationalUnit {ou}: {e:?}"),
            Ok(_) => panic!("deleted OU {ou} is still described"),
        }
    }
    for req in &requests {
        let s = settled("DescribeCreateAccountStatus", || async {
            c.describe_create_account_status().create_account_request_id(req).send().await.map_err(|e| format!("{e:?}"))
        })
        .await;
        let s = s.create_account_status().unwrap();
        if let Some(id) = s.account_id() {
            assert!(all.contains(id), "account {id} of acknowledged request {req} ({:?}) is not in the organization", s.state());
        }
    }

    // Policy quotas: every target has between 1 and 5 SCPs.
    let mut targets: Vec<String> = vec![ctx.root.clone()];
    targets.extend(seen_ous.keys().cloned());
    targets.extend(all.iter().cloned());
    for t in &targets {
        let p = settled("ListPoliciesForTarget", || async {
            c.list_policies_for_target().target_id(t).filter(PolicyType::ServiceControlPolicy).into_paginator().send().try_collect().await.map_err(|e| format!("{e:?}"))
        })
        .await;
        let ids: Vec<&str> = p.iter().flat_map(|p| p.policies()).filter_map(|p| p.id()).collect();
        let n = ids.len();
        assert!((1..=MAX_SCPS).contains(&n), "target {t} has {n} SCPs attached: {ids:?}");
    }
    println!(
        "invariants hold: {} OUs (max depth {}), {} accounts, {} targets checked, {} acknowledged OU deletes, {} account requests",
        seen_ous.len(),
        seen_ous.values().map(|(_, d)| *d).max().unwrap_or(0),
        all.len(),
        targets.len(),
        deleted.len(),
        requests.len()
    );
}

fn report(ctx: &Ctx, elapsed: Duration) {
    let st = &ctx.stats;
    let ok = st.ok.load(Ordering::Relaxed);
    let errors: usize = st.api_errors.lock().unwrap().values().sum();
    println!(
        "{} calls in {:.1?} ({:.0}/s): {ok} ok, {errors} AWS errors (4xx), {} transport errors, {} 5xx in fault windows",
        ok + errors + st.transport.load(Ordering::Relaxed),
        elapsed,
        (ok + errors) as f64 / elapsed.as_secs_f64(),
        st.transport.load(Ordering::Relaxed),
        st.fault_5xx.lock().unwrap().values().sum::<usize>()
    );
    let cme: usize = st.api_errors.lock().unwrap().iter().filter(|(k, _)| k.ends_with("ConcurrentModificationException")).map(|(_, v)| v).sum();
    println!("ConcurrentModificationException answers: {cme}");
    for (k, v) in st.api_errors.lock().unwrap().iter() {
        println!("  {v:6}  {k}");
    }
    for (k, v) in st.fault_5xx.lock().unwrap().iter() {
        println!("  {v:6}  (fault window) {k}");
    }
}

fn assert_clean(ctx: &Ctx) {
    let st = &ctx.stats;
    let hangs = st.hangs.lock().unwrap();
    assert!(hangs.is_empty(), "{} calls got no answer within {CALL_TIMEOUT:?}: {:?}", hangs.len(), &hangs[..hangs.len().min(10)]);
    let steady = st.steady_5xx.lock().unwrap();
    assert!(steady.is_empty(), "{} 5xx outside fault windows: {:?}", steady.len(), &steady[..steady.len().min(10)]);
    for k in st.fault_5xx.lock().unwrap().keys() {
        assert_eq!(k, "500 ServiceException", "a fault is answered with the retryable ServiceException");
    }
    assert!(st.ok.load(Ordering::Relaxed) > 500, "the load made progress");
}

fn load_duration(default_secs: u64) -> Duration {
    let secs = std::env::var("CANOPY_REPLICAS_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(default_secs);
    Duration::from_secs(secs)
}

async fn prepare(endpoints: &[String]) -> (Arc<Ctx>, Arc<Vec<Client>>) {
    let mgmt = client_for(&endpoints[0], MGMT);
    let (root, scps, accounts) = set_up(&mgmt).await;
    let ctx = Arc::new(Ctx {
        root,
        scps,
        world: Mutex::new(World { accounts, ..Default::default() }),
        stats: Stats::default(),
        stop: AtomicBool::new(false),
        dead: Mutex::new(BTreeSet::new()),
    });
    let clients: Arc<Vec<Client>> = Arc::new(endpoints.iter().map(|e| client_for(e, MGMT)).collect());
    (ctx, clients)
}

fn spawn_clients(ctx: &Arc<Ctx>, clients: &Arc<Vec<Client>>) -> Vec<tokio::task::JoinHandle<()>> {
    (0..CLIENTS).map(|t| tokio::spawn(client_task(ctx.clone(), clients.clone(), t))).collect()
}

async fn stop_clients(ctx: &Ctx, tasks: Vec<tokio::task::JoinHandle<()>>) {
    ctx.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        tokio::time::timeout(CALL_TIMEOUT + Duration::from_secs(5), t).await.expect("client task ends").expect("client task");
    }
}

// ---------------------------------------------------------------------------------------------
// The tests

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_one_process() {
    let bin = canopy_binary();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("{}/", dir.path().join("data").display());
    let replica = start_replica(&bin, &db, &dir.path().join("canopy.log")).await;
    let (ctx, clients) = prepare(std::slice::from_ref(&replica.endpoint)).await;
    let start = Instant::now();
    let tasks = spawn_clients(&ctx, &clients);
    tokio::time::sleep(load_duration(8)).await;
    stop_clients(&ctx, tasks).await;
    report(&ctx, start.elapsed());
    check_invariants(&clients[0], &ctx).await;
    assert_clean(&ctx);
    drop(replica);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_three_replicas() {
    let Some(scratch) = postgres_scratch() else { return };
    let bin = canopy_binary();
    // The replicas' log is kept when the test fails (its path is printed).
    let log = std::env::temp_dir().join(format!("canopy-replicas-{}.log", std::process::id()));
    println!("replica log: {}", log.display());
    // Started at once: their migrations race and must serialize.
    let (a, b, c) = tokio::join!(
        start_replica(&bin, scratch.url(), &log),
        start_replica(&bin, scratch.url(), &log),
        start_replica(&bin, scratch.url(), &log)
    );
    let mut replicas = vec![a, b, c];
    let endpoints: Vec<String> = replicas.iter().map(|r| r.endpoint.clone()).collect();
    let (ctx, clients) = prepare(&endpoints).await;
    let total = load_duration(24);
    let restart_cmd = std::env::var("CANOPY_TEST_PG_RESTART").ok().filter(|s| !s.trim().is_empty());

    let start = Instant::now();
    let tasks = spawn_clients(&ctx, &clients);

    // Fault 1: every PostgreSQL session of the replicas ends (as in a server restart).
    tokio::time::sleep(total / 4).await;
    ctx.stats.fault_begins();
    let ended = scratch.terminate_sessions().expect("terminate sessions");
    tokio::time::sleep(Duration::from_secs(2)).await;
    ctx.stats.fault_ends();
    println!("ended {ended} PostgreSQL sessions at {:.1?}", start.elapsed());

    // Fault 2: SIGKILL one replica; the others keep answering.
    tokio::time::sleep(total / 4).await;
    let killed = 2;
    ctx.dead.lock().unwrap().insert(killed);
    replicas[killed].child.start_kill().expect("SIGKILL");
    replicas[killed].child.wait().await.expect("wait");
    println!("killed replica {killed} at {:.1?}", start.elapsed());
    let ok_at_kill = ctx.stats.ok.load(Ordering::Relaxed);

    // Fault 3 (opt-in): restart PostgreSQL itself.
    tokio::time::sleep(total / 4).await;
    if let Some(cmd) = &restart_cmd {
        ctx.stats.fault_begins();
        let t = Instant::now();
        let status = tokio::process::Command::new("sh").arg("-c").arg(cmd).status().await.expect("run the restart command");
        assert!(status.success(), "{cmd} failed: {status:?}");
        println!("PostgreSQL restarted ({cmd}) in {:.1?}", t.elapsed());
        tokio::time::sleep(Duration::from_secs(3)).await;
        ctx.stats.fault_ends();
    }
    tokio::time::sleep(total / 4).await;
    stop_clients(&ctx, tasks).await;
    let ok_after_kill = ctx.stats.ok.load(Ordering::Relaxed) - ok_at_kill;
    report(&ctx, start.elapsed());
    assert!(ok_after_kill > 100, "the surviving replicas kept answering ({ok_after_kill} successes after the kill)");

    // Every surviving replica answers a write again (recovery by itself), then the invariants.
    for (i, c) in clients.iter().enumerate().filter(|(i, _)| *i != killed) {
        settled(&format!("replica {i} takes a write"), || async {
            c.tag_resource().resource_id(&ctx.root).tags(tag("recovered", "yes")).send().await.map_err(|e| format!("{e:?}"))
        })
        .await;
    }
    check_invariants(&clients[0], &ctx).await;
    assert_clean(&ctx);
    drop(replicas);
    drop(scratch);
    let _ = std::fs::remove_file(&log);
}

/// A write queue held by a session that never lets go (a paused or hung replica holding the
/// organization's advisory lock): writes wait out `lock_timeout` once, then go on without the
/// queue (SERIALIZABLE keeps them correct), instead of failing for as long as the holder lives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_stuck_write_queue_is_bypassed() {
    let Some(scratch) = postgres_scratch() else { return };
    let bin = canopy_binary();
    let dir = tempfile::tempdir().unwrap();
    let replica = start_replica(&bin, scratch.url(), &dir.path().join("canopy.log")).await;
    let mgmt = client_for(&replica.endpoint, MGMT);
    let org = mgmt.create_organization().send().await.expect("CreateOrganization");
    let org_id = org.organization().and_then(|o| o.id()).unwrap().to_string();
    let root = mgmt.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
    // Writes to the organization, enough for every worker connection to queue the next ones
    // behind its lock.
    for i in 0..32 {
        mgmt.tag_resource().resource_id(&root).tags(tag("before", &i.to_string())).send().await.expect("a write before");
    }

    // Another session takes the organization's queue lock and keeps it.
    let mut holder = tokio::process::Command::new("psql")
        .arg(scratch.url())
        .args(["-v", "ON_ERROR_STOP=1", "-c"])
        .arg(format!("SELECT pg_advisory_lock(hashtext('canopy-org:{org_id}')); SELECT pg_sleep(120)"))
        .kill_on_drop(true)
        .spawn()
        .expect("psql (PostgreSQL's client) holds the lock");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    for i in 0..3 {
        mgmt.tag_resource().resource_id(&root).tags(tag(&format!("during{i}"), "1")).send().await.expect("a write past the stuck queue");
    }
    // One lock_timeout (10 s) at most, not one per write.
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    let tags = mgmt.list_tags_for_resource().resource_id(&root).send().await.unwrap();
    assert_eq!(tags.tags().len(), 4, "{tags:?}");
    holder.start_kill().ok();
    let _ = holder.wait().await;
    drop(replica);
    drop(scratch);
}

/// Health reads a real table: a schema dropped under a running replica makes it 503, so a load
/// balancer takes the replica out (an empty transaction still succeeded).
#[tokio::test]
async fn postgres_health_fails_when_the_tables_are_gone() {
    let Some(scratch) = postgres_scratch() else { return };
    let bin = canopy_binary();
    let dir = tempfile::tempdir().unwrap();
    let replica = start_replica(&bin, scratch.url(), &dir.path().join("canopy.log")).await;
    let addr: std::net::SocketAddr = replica.endpoint.trim_start_matches("http://").parse().unwrap();
    let health = || raw_exchange(addr, "GET /canopy/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert_eq!(health().await.0, 200);
    let dropped = tokio::process::Command::new("psql")
        .arg(scratch.url())
        .args(["-v", "ON_ERROR_STOP=1", "-qc", "DROP TABLE organizations CASCADE"])
        .status()
        .await
        .expect("psql");
    assert!(dropped.success());
    let (status, body) = health().await;
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    drop(replica);
    drop(scratch);
}
