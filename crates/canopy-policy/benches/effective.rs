//! The effective-policy merge (spec §4.3) of one account: 5 policies attached to every node of
//! the path, each document parsed from its `Content` string as the server does per request.
//!
//! - `depth5`: five nodes (root, three OUs, account) × 5 policies = 25 documents, as the
//!   authorization bench counts depth;
//! - `max_depth`: the deepest path AWS allows (root, five OUs, account) × 5 = 35 documents.
//!
//! Each for TAG_POLICY (every key with `tag_key`, a `tag_value` list written with
//! `@@assign`/`@@append`/`@@remove`, `enforced_for`, child-control lists at the root and first OU)
//! and BACKUP_POLICY (plans with rules, lifecycles, copy actions and selections; lower levels
//! add plans and override schedules). Every document is checked with `validate` before timing,
//! and the merged result must hold every key and plan, so the bench measures real merges.
//!
//! Run: `cargo bench -p canopy-policy --bench effective`

use canopy_policy::{
    effective_policy, validate, EffectiveResult, Level, PolicyType, ValidationOptions,
};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Map, Value};
use std::hint::black_box;

const POLICIES_PER_LEVEL: usize = 5;
const SHARED_KEYS: &[&str] = &["CostCenter", "Project", "Owner", "Environment", "DataClass"];

/// Tag policy `j` at level `l`: the five shared keys plus one key of its own.
fn tag_policy(l: usize, j: usize) -> Value {
    let mut tags = Map::new();
    for (k, key) in SHARED_KEYS.iter().enumerate() {
        let values: Vec<String> = (0..4).map(|v| format!("{key}-{l}-{j}-{v}")).collect();
        let tag_value = match (l, (j + k) % 3) {
            (0, _) => {
                json!({"@@assign": values, "@@operators_allowed_for_child_policies": ["@@append", "@@remove"]})
            }
            (_, 0) => json!({"@@append": values}),
            (_, 1) => json!({"@@remove": [format!("{key}-{}-{j}-0", l - 1)]}),
            _ => json!({"@@append": [values[0].clone()], "@@remove": [format!("{key}-0-{j}-1")]}),
        };
        let mut node = json!({
            "tag_key": {"@@assign": key},
            "tag_value": tag_value,
            "enforced_for": {"@@append": [format!("ec2:instance"), format!("s3:bucket"), format!("dynamodb:table")]},
        });
        if l == 1 {
            node["@@operators_allowed_for_child_policies"] = json!(["@@append", "@@remove"]);
        }
        tags.insert(key.to_lowercase(), node);
    }
    tags.insert(
        format!("team{l}x{j}"),
        json!({
            "tag_key": {"@@assign": format!("Team{l}x{j}")},
            "tag_value": {"@@assign": ["alpha", "beta", "gamma*"]},
            "report_required_tag_for": {"@@assign": ["ec2:instance", "rds:db"]},
        }),
    );
    json!({"tags": tags})
}

/// Backup policy `j` at level `l`: its own plan, and an override of the root's plan `shared{j}`.
fn backup_policy(l: usize, j: usize) -> Value {
    let rule = |hour: usize| {
        json!({
            "schedule_expression": {"@@assign": format!("cron(0 {hour} ? * * *)")},
            "start_backup_window_minutes": {"@@assign": "60"},
            "complete_backup_window_minutes": {"@@assign": "600"},
            "target_backup_vault_name": {"@@assign": "Default"},
            "lifecycle": {
                "move_to_cold_storage_after_days": {"@@assign": "30"},
                "delete_after_days": {"@@assign": "365"}
            },
            "copy_actions": {
                "arn:aws:backup:eu-west-1:$account:backup-vault:secondary": {
                    "target_backup_vault_arn": {"@@assign": "arn:aws:backup:eu-west-1:$account:backup-vault:secondary"},
                    "lifecycle": {"delete_after_days": {"@@assign": "120"}}
                }
            }
        })
    };
    let plan = |hour: usize| {
        json!({
            "regions": {"@@append": ["us-east-1", "eu-west-1", format!("ap-south-{}", 1 + hour % 2)]},
            "rules": {"daily": rule(hour), "weekly": rule(hour + 1)},
            "selections": {"tags": {"datatype": {
                "iam_role_arn": {"@@assign": "arn:aws:iam::$account:role/BackupRole"},
                "tag_key": {"@@assign": "dataType"},
                "tag_value": {"@@assign": ["PII", "RED"]}
            }}}
        })
    };
    let mut plans = Map::new();
    if l == 0 {
        plans.insert(
            "@@operators_allowed_for_child_policies".into(),
            json!(["@@append", "@@assign"]),
        );
        plans.insert(format!("shared{j}"), plan(j));
    } else {
        // Override the root plan's schedule and add a region.
        plans.insert(
            format!("shared{j}"),
            json!({
                "regions": {"@@append": [format!("eu-central-{}", 1 + l % 2)]},
                "rules": {"daily": {"schedule_expression": {"@@assign": format!("cron(30 {l} ? * * *)")}}}
            }),
        );
    }
    plans.insert(format!("plan{l}x{j}"), plan(l + j));
    json!({"plans": plans})
}

/// The path root → OUs → account with 5 validated policies per node.
fn levels(t: PolicyType, nodes: usize, doc: fn(usize, usize) -> Value) -> Vec<Level> {
    let options = ValidationOptions::default();
    (0..nodes)
        .map(|l| {
            let target_id = match l {
                0 => "r-ab12".to_string(),
                l if l + 1 == nodes => "111111111111".to_string(),
                l => format!("ou-ab12-{l:08}"),
            };
            let policies = (0..POLICIES_PER_LEVEL)
                .map(|j| {
                    let content = doc(l, j).to_string();
                    if let Err(e) = validate(t, &content, &options) {
                        panic!("{t} level {l} policy {j} is invalid: {e}");
                    }
                    (format!("p-{l:04}{j:04}"), content)
                })
                .collect();
            Level {
                target_id,
                policies,
            }
        })
        .collect()
}

/// Runs the merge once and checks that every policy's own key or plan survived.
fn check(t: PolicyType, levels: &[Level]) {
    let EffectiveResult::Found(p) = effective_policy(t, levels) else {
        panic!("{t}: no effective policy")
    };
    let root_key = t.root_key().unwrap();
    let merged = p.document[root_key]
        .as_object()
        .unwrap_or_else(|| panic!("{t}: no {root_key} in {}", p.document));
    let own = levels.len() * POLICIES_PER_LEVEL;
    let expected = own
        + if t == PolicyType::TagPolicy {
            SHARED_KEYS.len()
        } else {
            POLICIES_PER_LEVEL
        };
    assert_eq!(merged.len(), expected, "{t}: {}", p.document);
    assert_eq!(p.policies_applied.len(), own, "{t}: every policy applies");
    assert!(
        p.skipped_policies.is_empty(),
        "{t}: {:?}",
        p.skipped_policies
    );
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("effective");
    for (t, name, doc) in [
        (
            PolicyType::TagPolicy,
            "tag",
            tag_policy as fn(usize, usize) -> Value,
        ),
        (
            PolicyType::BackupPolicy,
            "backup",
            backup_policy as fn(usize, usize) -> Value,
        ),
    ] {
        for (depth_name, nodes) in [("depth5", 5), ("max_depth", 7)] {
            let levels = levels(t, nodes, doc);
            check(t, &levels);
            let bytes: usize = levels
                .iter()
                .flat_map(|l| l.policies.iter().map(|p| p.1.len()))
                .sum();
            println!(
                "{name}/{depth_name}: {nodes} nodes, {} policies, {bytes} bytes of content",
                nodes * POLICIES_PER_LEVEL
            );
            group.bench_function(format!("{name}/{depth_name}"), |b| {
                b.iter(|| effective_policy(t, black_box(&levels)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
