//! The policy vectors through the server: every vector of kinds validation, effective_policy and
//! effective_policy_validation in crates/canopy-policy/tests/vectors/{shared,canopy}.json.
//!
//! - effective_policy(_validation): the vector's organization is built with the AWS SDK (enable
//!   the types, create the OU path, create the account — or use the management account when
//!   the path ends there —, create each policy attached on the path, attach in order), then
//!   DescribeEffectivePolicy / ListEffectivePolicyValidationErrors /
//!   ListAccountsWithInvalidEffectivePolicy answer and `canopy_policy::compare_case` judges.
//!   The server does not expose `ignored_child_operations`, so that part of `expected` is left
//!   out of the comparison (the library and `canopy policy eval` cover it).
//! - validation: CreatePolicy with the vector's content on a server configured with the
//!   vector's options (`legacy_scp_grammar`, `lenient_version`, `size_unit`, `max_size`: the
//!   CoreConfig fields behind `canopy serve`'s flags); the error code and Reason are compared,
//!   and an expected JSON path must appear in the message. An `aws_managed` vector cannot go
//!   through CreatePolicy (customers never create AWS managed policies): it passes as valid when
//!   the server serves an AWS managed policy of the type with exactly that document.

mod common;

use std::collections::BTreeMap;

use aws_sdk_organizations::error::ProvideErrorMetadata;
use aws_sdk_organizations::types::{EffectivePolicyType, PolicyType};
use aws_sdk_organizations::Client;
use canopy_core::canopy_policy::{self as engine, compare_case, Limits, LimitsTable, SizeUnit};
use canopy_core::CoreConfig;
use canopy_server::testing::TestServer;
use common::*;
use serde_json::{json, Value};

fn load(name: &str) -> Vec<Value> {
    let path = format!("{}/../canopy-policy/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let file: Value = serde_json::from_str(&text).unwrap();
    file["vectors"].as_array().unwrap().clone()
}

fn content_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The error code and Reason of a service error, as `{"error", "reason"?, "message"}`.
fn error_value<E: ProvideErrorMetadata>(e: &aws_sdk_organizations::error::SdkError<E>) -> Value {
    let reason = e
        .raw_response()
        .and_then(|r| r.body().bytes())
        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        .and_then(|v| v.get("Reason").cloned());
    let mut out = json!({"error": e.code().unwrap_or("?"), "message": e.message().unwrap_or("")});
    if let Some(r) = reason {
        out["reason"] = r;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Effective policies

struct Built {
    account: String,
    /// Server policy id → vector policy id.
    names: BTreeMap<String, String>,
}

/// Builds the vector's organization under its own management account on `server`.
async fn build(server: &TestServer, case: &Value, mgmt_id: &str, n: usize) -> Result<(Client, Built), String> {
    let mgmt = client_for(&server.endpoint, mgmt_id);
    mgmt.create_organization().send().await.map_err(|e| format!("CreateOrganization: {e:?}"))?;
    let root = mgmt.list_roots().send().await.map_err(|e| format!("{e:?}"))?.roots()[0].id().unwrap().to_string();
    let org = &case["org"];
    let enabled: Vec<String> = org["enabled_policy_types"].as_array().into_iter().flatten().filter_map(|t| t.as_str().map(String::from)).collect();
    for t in &enabled {
        if t == "SERVICE_CONTROL_POLICY" {
            continue; // enabled by CreateOrganization
        }
        // As in AWS, SECURITYHUB_POLICY / INSPECTOR_POLICY need their service's trusted access first.
        if let Some(service) = canopy_core::canopy_policy::PolicyType::from_wire(t).and_then(|p| p.required_service_access()) {
            mgmt.enable_aws_service_access().service_principal(service).send().await.map_err(|e| format!("EnableAWSServiceAccess {service}: {e:?}"))?;
        }
        mgmt.enable_policy_type().root_id(&root).policy_type(PolicyType::from(t.as_str())).send().await.map_err(|e| format!("EnablePolicyType {t}: {e:?}"))?;
    }
    // The path: vector node id → server id.
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut parent = root.clone();
    let mut account = None;
    for node in org["path"].as_array().into_iter().flatten() {
        let vid = node["id"].as_str().unwrap_or_default().to_string();
        let name = node["name"].as_str().unwrap_or(&vid).to_string();
        match node["type"].as_str() {
            Some("ROOT") => {
                ids.insert(vid, root.clone());
            }
            Some("ORGANIZATIONAL_UNIT") => {
                let out = mgmt.create_organizational_unit().parent_id(&parent).name(&name).send().await.map_err(|e| format!("CreateOU: {e:?}"))?;
                parent = out.organizational_unit().unwrap().id().unwrap().to_string();
                ids.insert(vid, parent.clone());
            }
            Some("ACCOUNT") => {
                let id = if Some(vid.as_str()) == org["management_account"].as_str() {
                    mgmt_id.to_string()
                } else {
                    let id = create_account_with(&mgmt, "vector account", &format!("v{n}-{vid}@example.org")).await;
                    if parent != root {
                        mgmt.move_account().account_id(&id).source_parent_id(&root).destination_parent_id(&parent).send().await.map_err(|e| format!("MoveAccount: {e:?}"))?;
                    }
                    id
                };
                ids.insert(vid, id.clone());
                account = Some(id);
            }
            other => return Err(format!("unknown node type {other:?}")),
        }
    }
    let account = account.ok_or("the path has no account")?;
    // Policies attached on the path, created in attachment order and attached in order.
    let mut created: BTreeMap<String, String> = BTreeMap::new();
    let mut names = BTreeMap::new();
    for node in org["path"].as_array().into_iter().flatten() {
        let vid = node["id"].as_str().unwrap_or_default();
        for pid in case["attachments"][vid].as_array().into_iter().flatten() {
            let pid = pid.as_str().unwrap_or_default().to_string();
            let p = &case["policies"][&pid];
            let t = p["type"].as_str().unwrap_or_default();
            if !enabled.iter().any(|e| e == t) {
                continue; // AttachPolicy would refuse it (PolicyTypeNotEnabledException)
            }
            let server_id = match created.get(&pid) {
                Some(id) => id.clone(),
                None => {
                    let out = mgmt
                        .create_policy()
                        .r#type(PolicyType::from(t))
                        .name(&pid)
                        .description("")
                        .content(content_string(&p["content"]))
                        .send()
                        .await
                        .map_err(|e| format!("CreatePolicy {pid}: {}", error_value(&e)))?;
                    let id = out.policy().unwrap().policy_summary().unwrap().id().unwrap().to_string();
                    created.insert(pid.clone(), id.clone());
                    names.insert(id.clone(), pid.clone());
                    id
                }
            };
            mgmt.attach_policy().policy_id(&server_id).target_id(&ids[vid]).send().await.map_err(|e| format!("AttachPolicy {pid}: {}", error_value(&e)))?;
        }
    }
    Ok((mgmt, Built { account, names }))
}

async fn eval_effective(server: &TestServer, case: &Value, mgmt_id: &str, n: usize) -> Result<Value, String> {
    let (mgmt, built) = build(server, case, mgmt_id, n).await?;
    let t = EffectivePolicyType::from(case["policy_type"].as_str().unwrap_or_default());
    if case["kind"] == "effective_policy" {
        return Ok(match mgmt.describe_effective_policy().policy_type(t).target_id(&built.account).send().await {
            Ok(out) => {
                let content = out.effective_policy().and_then(|e| e.policy_content()).ok_or("no PolicyContent")?;
                json!({"effective_policy": serde_json::from_str::<Value>(content).map_err(|e| e.to_string())?})
            }
            Err(e) => error_value(&e),
        });
    }
    let out = match mgmt.list_effective_policy_validation_errors().account_id(&built.account).policy_type(t.clone()).send().await {
        Ok(out) => out,
        Err(e) => return Ok(error_value(&e)),
    };
    let errors: Vec<Value> = out
        .effective_policy_validation_errors()
        .iter()
        .map(|e| {
            let contributing: Vec<String> = e.contributing_policies().iter().map(|id| built.names.get(id).cloned().unwrap_or_else(|| id.clone())).collect();
            json!({
                "ErrorCode": e.error_code(),
                "ErrorMessage": e.error_message(),
                "PathToError": e.path_to_error(),
                "ContributingPolicies": contributing,
            })
        })
        .collect();
    let listed = mgmt.list_accounts_with_invalid_effective_policy().policy_type(t).send().await.map_err(|e| format!("{e:?}"))?;
    let is_listed = listed.accounts().iter().any(|a| a.id() == Some(built.account.as_str()));
    Ok(json!({"validation_errors": errors, "account_listed_by_ListAccountsWithInvalidEffectivePolicy": is_listed}))
}

// ---------------------------------------------------------------------------------------------
// Validation

/// A valid document of `t` padded with whitespace to `n` characters (as canopy-policy's runner
/// builds `content_size_characters` cases).
fn sized_document(t: &str, n: usize) -> String {
    let base = match t {
        "SERVICE_CONTROL_POLICY" => r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#.to_string(),
        "RESOURCE_CONTROL_POLICY" => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:DeleteBucket","Resource":"*"}]}"#.to_string()
        }
        other => format!("{{\"{}\":{{}}}}", engine::PolicyType::from_wire(other).and_then(|p| p.root_key()).unwrap_or("x")),
    };
    let len = base.chars().count();
    if n <= len {
        return base;
    }
    format!("{}{}}}", &base[..base.len() - 1], " ".repeat(n - len))
}

/// The server configuration a validation vector needs (and a key naming it), or `None` when the
/// server has no such setting.
fn config_for(case: &Value) -> Option<(String, CoreConfig)> {
    let opts = case.get("options").cloned().unwrap_or(json!({}));
    let mut config = CoreConfig::default();
    let mut key = String::new();
    for (k, v) in opts.as_object().into_iter().flatten() {
        match k.as_str() {
            "legacy_scp_grammar" => {
                config.legacy_scp_grammar = v.as_bool() == Some(true);
                key.push_str(&format!("legacy={};", config.legacy_scp_grammar));
            }
            "lenient_version" => {
                config.policy_lenient_version = v.as_bool() == Some(true);
                key.push_str(&format!("lenient={};", config.policy_lenient_version));
            }
            "size_unit" => {
                config.policy_size_unit = match v.as_str()? {
                    "bytes" => SizeUnit::Bytes,
                    "characters" => SizeUnit::Characters,
                    _ => return None,
                };
                key.push_str(&format!("size_unit={:?};", config.policy_size_unit));
            }
            // Answered from the server's AWS managed policies (see eval_validation).
            "aws_managed" => {}
            "max_size" => {
                let t = engine::PolicyType::from_wire(case["policy_type"].as_str()?)?;
                let max = v.as_u64()? as usize;
                config.policy_limits = LimitsTable::new().with(t, Limits { max_size: max, ..t.default_limits() });
                key.push_str(&format!("max_size={t}:{max};"));
            }
            _ => return None,
        }
    }
    Some((key, config))
}

async fn eval_validation(server: &TestServer, case: &Value, mgmt_id: &str, n: usize) -> Result<Value, String> {
    let mgmt = client_for(&server.endpoint, mgmt_id);
    let t = case["policy_type"].as_str().unwrap_or_default();
    let content = if let Some(s) = case.get("content_string").and_then(Value::as_str) {
        s.to_string()
    } else if let Some(c) = case.get("content") {
        content_string(c)
    } else if let Some(size) = case.get("content_size_characters").and_then(Value::as_u64) {
        sized_document(t, size as usize)
    } else {
        return Err("no content".into());
    };
    if case["options"]["aws_managed"] == json!(true) {
        // Valid as an AWS managed policy when the server holds one of the type with this document.
        let wanted: Value = serde_json::from_str(&content).map_err(|e| format!("vector content: {e}"))?;
        let listed = mgmt.list_policies().filter(PolicyType::from(t)).send().await.map_err(|e| format!("ListPolicies: {e:?}"))?;
        for summary in listed.policies().iter().filter(|p| p.aws_managed()) {
            let out = mgmt.describe_policy().policy_id(summary.id().unwrap_or_default()).send().await.map_err(|e| format!("DescribePolicy: {e:?}"))?;
            let served = out.policy().and_then(|p| p.content()).unwrap_or_default();
            if serde_json::from_str::<Value>(served).ok().as_ref() == Some(&wanted) {
                return Ok(json!({"valid": true}));
            }
        }
        return Ok(json!({"error": "NoAwsManagedPolicyWithThisContent"}));
    }
    Ok(match mgmt.create_policy().r#type(PolicyType::from(t)).name(format!("v{n}")).description("").content(content).send().await {
        Ok(_) => json!({"valid": true}),
        Err(e) => error_value(&e),
    })
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vectors_through_the_server() {
    let default_server = TestServer::start().await;
    let mut servers: BTreeMap<String, TestServer> = BTreeMap::new();
    let mut organizations: BTreeMap<String, String> = BTreeMap::new();
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut stripped = 0;
    let mut failures = Vec::new();
    let mut n = 0usize;
    for file in ["shared.json", "canopy.json"] {
        for case in load(file) {
            let kind = case["kind"].as_str().unwrap_or_default().to_string();
            if !["validation", "effective_policy", "effective_policy_validation"].contains(&kind.as_str()) {
                continue;
            }
            n += 1;
            let id = case["id"].as_str().unwrap_or("?").to_string();
            let mgmt_id = format!("{:012}", 300_000_000_000u64 + n as u64);
            let mut expected_case = case.clone();
            let result = if kind == "validation" {
                let Some((key, config)) = config_for(&case) else {
                    skipped.push(format!("{file} {id} (options {})", case["options"]));
                    continue;
                };
                let server = if key.is_empty() {
                    &default_server
                } else {
                    if !servers.contains_key(&key) {
                        servers.insert(key.clone(), TestServer::start_with(config).await);
                    }
                    &servers[&key]
                };
                // One organization per server is enough for validation.
                let mgmt_id = organizations.entry(server.endpoint.clone()).or_insert_with(|| mgmt_id.clone()).clone();
                if mgmt_id == format!("{:012}", 300_000_000_000u64 + n as u64) {
                    client_for(&server.endpoint, &mgmt_id).create_organization().send().await.unwrap();
                }
                // The path is checked against the message (the wire error has no path field).
                let path = expected_case["expected"].as_object_mut().and_then(|e| e.remove("path"));
                let actual = eval_validation(server, &case, &mgmt_id, n).await;
                match (actual, path) {
                    (Ok(a), Some(Value::String(p))) if !p.is_empty() => {
                        let msg = a["message"].as_str().unwrap_or_default();
                        if a.get("error").is_some() && !msg.contains(&format!("{p}: ")) {
                            Err(format!("message {msg:?} does not name the path {p:?}"))
                        } else {
                            Ok(a)
                        }
                    }
                    (other, _) => other,
                }
            } else {
                if expected_case["expected"].as_object_mut().and_then(|e| e.remove("ignored_child_operations")).is_some() {
                    stripped += 1;
                }
                eval_effective(&default_server, &case, &mgmt_id, n).await
            };
            let problems = match result {
                Ok(actual) => compare_case(&expected_case, &actual),
                Err(e) => vec![e],
            };
            let entry = counts.entry(format!("{file} {kind}")).or_default();
            entry.1 += 1;
            if problems.is_empty() {
                entry.0 += 1;
                println!("PASS {file} {id}");
            } else {
                println!("FAIL {file} {id}: {}", problems.join("; "));
                failures.push(format!("{file} {id}: {}", problems.join("; ")));
            }
        }
    }
    for (k, (pass, total)) in &counts {
        println!("{k}: {pass}/{total} pass");
    }
    println!("skipped (no server setting): {}: {}", skipped.len(), skipped.join(", "));
    println!("ignored_child_operations left out of the comparison in {stripped} vectors");
    let total: usize = counts.values().map(|c| c.1).sum();
    assert!(total >= 170, "{counts:?}");
    assert!(skipped.is_empty(), "vectors the server cannot run: {skipped:?}");
    assert!(failures.is_empty(), "failing vectors through the server:\n{}", failures.join("\n"));
}
