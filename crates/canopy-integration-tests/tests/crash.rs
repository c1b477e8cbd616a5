//! Crash durability of the real `canopy` binary with a file database: every write the server
//! acknowledged (HTTP 200) before a SIGKILL must be there after a restart, and the store must
//! still take writes.
//!
//! The binary: `$CANOPY_BIN` if set; otherwise `cargo build -p canopy-cli --bin canopy` is run
//! into the target directory this test was built in, and `<target>/<profile>/canopy` is used.
//! Run with `--nocapture` to see the counts.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_organizations::types::{ChildType, PolicyType};
use aws_sdk_organizations::Client;
use common::*;

const WRITERS: usize = 16;
const LOAD_BEFORE_KILL: Duration = Duration::from_millis(1500);

/// `canopy serve` on the file database, with quotas out of the way: the load writes more OUs
/// and root tags than AWS allows.
async fn start(bin: &Path, db: &Path, log: &Path) -> ServeProcess {
    let p = spawn_serve(bin, db.as_os_str(), &["--max-ous", "1000000", "--max-tags-per-resource", "1000000"], log, Duration::from_secs(30)).await;
    assert!(p.listening_line.contains("auth: dev"), "{}", p.listening_line);
    p
}

#[derive(Default)]
struct WriterLog {
    /// OU id → name, for every acknowledged CreateOrganizationalUnit.
    ous: BTreeMap<String, String>,
    /// Root tag keys acknowledged.
    tags: BTreeSet<String>,
    /// Names of OU creations / tag keys sent but not acknowledged (in flight at the kill).
    unacked_ous: BTreeSet<String>,
    unacked_tags: BTreeSet<String>,
    errors: Vec<String>,
}

async fn writer(client: Client, root: String, task: usize, stop: Arc<AtomicBool>) -> WriterLog {
    let mut log = WriterLog::default();
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        if i.is_multiple_of(2) {
            let name = format!("w{task:02}-ou-{i:05}");
            match client.create_organizational_unit().parent_id(&root).name(&name).send().await {
                Ok(out) => {
                    let id = out.organizational_unit().and_then(|o| o.id()).expect("ou id").to_string();
                    log.ous.insert(id, name);
                }
                Err(e) => {
                    log.unacked_ous.insert(name);
                    log.errors.push(format!("{e:?}"));
                    break;
                }
            }
        } else {
            let key = format!("w{task:02}-tag-{i:05}");
            match client.tag_resource().resource_id(&root).tags(tag(&key, &format!("v{i}"))).send().await {
                Ok(_) => {
                    log.tags.insert(key);
                }
                Err(e) => {
                    log.unacked_tags.insert(key);
                    log.errors.push(format!("{e:?}"));
                    break;
                }
            }
        }
        i += 1;
    }
    log
}

async fn all_ous(client: &Client, root: &str) -> BTreeMap<String, String> {
    let ous = client
        .list_organizational_units_for_parent()
        .parent_id(root)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("ListOrganizationalUnitsForParent after restart");
    ous.iter()
        .flat_map(|page| page.organizational_units())
        .map(|o| (o.id().unwrap().to_string(), o.name().unwrap().to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    let bin = canopy_binary();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("canopy-data");
    let log_path = dir.path().join("canopy.log");

    // First run: an organization, then concurrent writes, then SIGKILL mid-load.
    let mut first = start(&bin, &db, &log_path).await;
    let client = client_for(&first.endpoint, MGMT);
    let org = client.create_organization().send().await.expect("CreateOrganization");
    let org_id = org.organization().unwrap().id().unwrap().to_string();
    let root = client.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();

    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for task in 0..WRITERS {
        tasks.push(tokio::spawn(writer(client.clone(), root.clone(), task, stop.clone())));
    }
    tokio::time::sleep(LOAD_BEFORE_KILL).await;
    let killed_at = Instant::now();
    first.child.start_kill().expect("SIGKILL canopy"); // SIGKILL on Unix
    let status = first.child.wait().await.expect("wait for canopy");
    stop.store(true, Ordering::Relaxed);
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "canopy died of SIGKILL: {status:?}");
    }
    let mut acked_ous = BTreeMap::new();
    let mut acked_tags = BTreeSet::new();
    let mut unacked_ous = BTreeSet::new();
    let mut unacked_tags = BTreeSet::new();
    let mut writers_cut = 0;
    for t in tasks {
        let log = tokio::time::timeout(Duration::from_secs(30), t).await.expect("writers stop").expect("writer task");
        if !log.errors.is_empty() {
            writers_cut += 1;
        }
        acked_ous.extend(log.ous);
        acked_tags.extend(log.tags);
        unacked_ous.extend(log.unacked_ous);
        unacked_tags.extend(log.unacked_tags);
    }
    assert!(!acked_ous.is_empty() && !acked_tags.is_empty(), "the load acknowledged some writes before the kill");
    assert!(writers_cut > 0, "the kill happened mid-load (some writer saw its request fail)");

    // Second run on the same database.
    let second = start(&bin, &db, &log_path).await;
    let restarted_in = killed_at.elapsed();
    let client = client_for(&second.endpoint, MGMT);
    let described = client.describe_organization().send().await.expect("organization survives");
    assert_eq!(described.organization().unwrap().id(), Some(org_id.as_str()));

    let found_ous = all_ous(&client, &root).await;
    let missing_ous: Vec<_> = acked_ous.iter().filter(|(id, name)| found_ous.get(*id) != Some(*name)).collect();
    assert!(missing_ous.is_empty(), "{} acknowledged OUs lost after SIGKILL, e.g. {:?}", missing_ous.len(), &missing_ous[..missing_ous.len().min(5)]);
    // Nothing appears that was never sent.
    let sent_names: BTreeSet<_> = acked_ous.values().cloned().chain(unacked_ous.iter().cloned()).collect();
    let unexpected: Vec<_> = found_ous.values().filter(|n| !sent_names.contains(*n)).collect();
    assert!(unexpected.is_empty(), "OUs that were never sent: {unexpected:?}");
    let in_flight_committed_ous = found_ous.len() - acked_ous.len();

    // ListChildren agrees with ListOrganizationalUnitsForParent.
    let children = client
        .list_children()
        .parent_id(&root)
        .child_type(ChildType::OrganizationalUnit)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .unwrap();
    let child_ids: BTreeSet<_> = children.iter().flat_map(|p| p.children()).map(|c| c.id().unwrap().to_string()).collect();
    assert_eq!(child_ids, found_ous.keys().cloned().collect::<BTreeSet<_>>());

    let tags = client.list_tags_for_resource().resource_id(&root).into_paginator().items().send().try_collect().await.unwrap();
    let found_tags: BTreeSet<_> = tags.iter().map(|t| t.key().to_string()).collect();
    let missing_tags: Vec<_> = acked_tags.difference(&found_tags).collect();
    assert!(missing_tags.is_empty(), "{} acknowledged root tags lost, e.g. {:?}", missing_tags.len(), &missing_tags[..missing_tags.len().min(5)]);
    let unexpected: Vec<_> = found_tags.iter().filter(|k| !acked_tags.contains(*k) && !unacked_tags.contains(*k)).collect();
    assert!(unexpected.is_empty(), "tags that were never sent: {unexpected:?}");
    let in_flight_committed_tags = found_tags.len() - acked_tags.len();

    // The store still takes writes, and they last.
    let after = client.create_organizational_unit().parent_id(&root).name("after-restart").send().await.expect("write after restart");
    let after_id = after.organizational_unit().unwrap().id().unwrap().to_string();
    client.tag_resource().resource_id(&root).tags(tag("after-restart", "yes")).send().await.expect("tag after restart");
    let d = client.describe_organizational_unit().organizational_unit_id(&after_id).send().await.unwrap();
    assert_eq!(d.organizational_unit().unwrap().name(), Some("after-restart"));

    println!(
        "crash test: {WRITERS} writers, SIGKILL after {LOAD_BEFORE_KILL:?}; acknowledged {} OUs + {} root tags, all present after restart \
         ({} OUs and {} tags of the {} + {} in-flight requests were committed too); restart took {:?}",
        acked_ous.len(),
        acked_tags.len(),
        in_flight_committed_ous,
        in_flight_committed_tags,
        unacked_ous.len(),
        unacked_tags.len(),
        restarted_in,
    );
    let mut second = second;
    second.child.start_kill().ok();
    let _ = second.child.wait().await;
}

/// OUs enough that enabling RCPs (one attachment per OU, in one transaction) writes more than
/// the writer's 4 MiB page cache holds, so SQLite spills frames to the WAL before the commit and
/// rewrites their checksums after it.
const LARGE_ORG_OUS: usize = 30_000;

#[tokio::test]
async fn a_large_acknowledged_transaction_survives_sigkill_right_after_its_answer() {
    let bin = canopy_binary();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("canopy-data");
    let log_path = dir.path().join("canopy.log");
    let mut first = start(&bin, &db, &log_path).await;
    let client = client_for(&first.endpoint, MGMT);
    client.create_organization().send().await.expect("CreateOrganization");
    let root = client.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
    let mut tasks = Vec::new();
    for task in 0..WRITERS {
        let (client, root) = (client.clone(), root.clone());
        tasks.push(tokio::spawn(async move {
            for i in (task..LARGE_ORG_OUS).step_by(WRITERS) {
                client.create_organizational_unit().parent_id(&root).name(format!("ou-{i:05}")).send().await.expect("CreateOrganizationalUnit");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    let last_ou = client
        .create_organizational_unit()
        .parent_id(&root)
        .name("last")
        .send()
        .await
        .unwrap()
        .organizational_unit()
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    client.enable_policy_type().root_id(&root).policy_type(PolicyType::ResourceControlPolicy).send().await.expect("EnablePolicyType");
    // Killed as soon as the answer is in: the acknowledged transaction must be on disk.
    first.child.start_kill().expect("SIGKILL canopy");
    first.child.wait().await.expect("wait for canopy");

    let mut second = start(&bin, &db, &log_path).await;
    let client = client_for(&second.endpoint, MGMT);
    let roots = client.list_roots().send().await.unwrap();
    let types: Vec<_> = roots.roots()[0].policy_types().iter().filter_map(|t| t.r#type().cloned()).collect();
    assert!(types.contains(&PolicyType::ResourceControlPolicy), "the acknowledged EnablePolicyType was lost: {types:?}");
    let policies = client.list_policies_for_target().target_id(&last_ou).filter(PolicyType::ResourceControlPolicy).send().await.unwrap();
    let ids: Vec<_> = policies.policies().iter().filter_map(|p| p.id()).collect();
    assert_eq!(ids, ["p-RCPFullAWSAccess"]);
    second.child.start_kill().ok();
    let _ = second.child.wait().await;
}

/// A shared library that makes `fsync` and `fdatasync` fail with EIO while the file named by
/// `CANOPY_TEST_FAILSYNC` exists, loaded into the server with `LD_PRELOAD`.
const FAILSYNC_C: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
static int failing(void) {
    const char *flag = getenv("CANOPY_TEST_FAILSYNC");
    return flag && access(flag, F_OK) == 0;
}
int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    if (failing()) { errno = EIO; return -1; }
    return real(fd);
}
int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    if (failing()) { errno = EIO; return -1; }
    return real(fd);
}
"#;

#[tokio::test]
async fn after_a_failed_sync_the_store_refuses_writes_until_a_restart() {
    let bin = canopy_binary();
    let dir = tempfile::tempdir().expect("temp dir");
    let source = dir.path().join("failsync.c");
    let shim = dir.path().join("failsync.so");
    std::fs::write(&source, FAILSYNC_C).unwrap();
    let cc = std::process::Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&shim).arg(&source).arg("-ldl").status();
    assert!(cc.is_ok_and(|s| s.success()), "this test builds an LD_PRELOAD shim with `cc` (gcc or clang)");
    let flag = dir.path().join("failsync");
    let db = dir.path().join("canopy-data");
    let log_path = dir.path().join("canopy.log");
    let env = [("LD_PRELOAD", shim.as_os_str()), ("CANOPY_TEST_FAILSYNC", flag.as_os_str())];
    let mut first = spawn_serve_with_env(&bin, db.as_os_str(), &[], &env, &log_path, Duration::from_secs(30)).await;
    let client = client_for(&first.endpoint, MGMT);
    client.create_organization().send().await.expect("CreateOrganization");
    let root = client.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
    let before = client.create_organizational_unit().parent_id(&root).name("before").send().await.expect("before the failure");
    let before = before.organizational_unit().and_then(|o| o.id()).unwrap().to_string();

    std::fs::write(&flag, b"").unwrap();
    let failed = client.create_organizational_unit().parent_id(&root).name("during").send().await;
    assert_eq!(fail(failed).status, 500);
    std::fs::remove_file(&flag).unwrap();

    // The disk syncs again, but the store does not carry on: a later sync could succeed without
    // the pages that failed, and a write acknowledged then could be lost behind them.
    let refused = client.create_organizational_unit().parent_id(&root).name("after").send().await;
    assert_eq!(fail(refused).status, 500);
    let health = http_get(&first.endpoint, "/canopy/v1/health").await;
    assert_eq!(health.0, 503, "{}", health.1);
    assert!(health.1.contains("cannot sync the write-ahead log"), "{}", health.1);
    // Reads still work.
    let listed = client.list_organizational_units_for_parent().parent_id(&root).send().await.expect("reads still work");
    assert!(listed.organizational_units().iter().any(|o| o.id() == Some(before.as_str())));
    first.child.start_kill().expect("SIGKILL canopy");
    first.child.wait().await.expect("wait for canopy");

    // A restart recovers from what is on disk and takes writes again.
    let mut second = start(&bin, &db, &log_path).await;
    let client = client_for(&second.endpoint, MGMT);
    let names: Vec<String> = client
        .list_organizational_units_for_parent()
        .parent_id(&root)
        .send()
        .await
        .unwrap()
        .organizational_units()
        .iter()
        .filter_map(|o| o.name().map(str::to_string))
        .collect();
    assert!(names.contains(&"before".to_string()) && !names.contains(&"after".to_string()), "{names:?}");
    client.create_organizational_unit().parent_id(&root).name("after restart").send().await.expect("writes after the restart");
    second.child.start_kill().ok();
    let _ = second.child.wait().await;
}

/// A GET on the server's own API: status and body.
async fn http_get(endpoint: &str, path: &str) -> (u16, String) {
    let addr: std::net::SocketAddr = endpoint.trim_start_matches("http://").parse().expect("endpoint address");
    let (status, body) = raw_exchange(addr, &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}
