//! Evaluates many authorization cases in one process, for the differential test against
//! iam-simulate (bench/iam-simulate). Input: a JSON array of `{id, canopy: {scp, rcp}}` where
//! `scp` and `rcp` are vector cases (spec §0) or null. Output (stdout): a JSON array of
//! `{id, scp, rcp}` decisions (`Allow` | `ImplicitDeny` | `ExplicitDeny` | `NotApplicable` |
//! an error object).
//!
//! `--time ITER`: after one warm-up pass, times every case ITER times in three ways and prints
//! per-request means (both layers) to stderr as JSON:
//! - `full`: `eval_case` from the JSON documents (compile, evaluate, full explanation), as
//!   iam-simulate's `runSimulation` does (validate, load, evaluate, explain);
//! - `decide`: the same with `detail`/`explain` off (compile and decide);
//! - `precompiled`: policies compiled once, `evaluate_with` per request without explanation
//!   (the server's path: policies are compiled when stored).
//!
//! Run: `cargo run --release -p canopy-policy --example diff_cases -- cases.json [--time 5]`

use canopy_policy::{
    eval_case, evaluate_with, AuthzRequest, CompiledPolicy, ContextValue, EvalOptions, Json,
    Layer, LevelPolicies, OrgView, PathNode, PolicyType, Principal, PrincipalKind,
    RequestContext, TargetType,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// One layer of one case, ready to evaluate (what the server holds after CreatePolicy).
struct Prepared {
    layer: Layer,
    org: OrgView,
    levels: Vec<LevelPolicies>,
    request: AuthzRequest,
}

fn nodes(v: &Value) -> Vec<PathNode> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| {
            let t = TargetType::parse(n["type"].as_str()?)?;
            Some(PathNode::new(n["id"].as_str()?, t))
        })
        .collect()
}

/// Mirrors the vector runner for the subset gen.py writes (explicit paths, no org id).
fn prepare(case: &Value) -> Option<Prepared> {
    let layer = Layer::parse(case["layer"].as_str()?)?;
    let path = nodes(&case["org"]["path"]);
    let req = &case["request"];
    let mut context = RequestContext::new();
    for (k, v) in req["context"].as_object()? {
        let s = |x: &Value| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string());
        let cv = match v {
            Value::Array(a) => ContextValue::Multi(a.iter().map(s).collect()),
            other => ContextValue::Single(s(other)),
        };
        context.insert(k.as_str(), cv);
    }
    let request = AuthzRequest {
        principal: Principal {
            arn: req["principal"]["arn"].as_str()?.to_string(),
            account: req["principal"]["account"].as_str().map(str::to_string),
            kind: PrincipalKind::AssumedRole,
        },
        action: req["action"].as_str()?.to_string(),
        resource: req["resource"].as_str()?.to_string(),
        resource_account: req["resource_account"].as_str().map(str::to_string),
        context,
    };
    let principal_path = match case["org"].get("principal_path") {
        Some(p) => nodes(p),
        None => path.clone(),
    };
    let org = OrgView {
        org_id: None,
        management_account: case["org"]["management_account"].as_str()?.to_string(),
        enabled_policy_types: vec![layer.policy_type()],
        principal_path: Some(principal_path),
        resource_path: Some(path.clone()),
    };
    let mut compiled: HashMap<&str, Arc<CompiledPolicy>> = HashMap::new();
    let mut levels = Vec::new();
    for n in &path {
        let mut ps = Vec::new();
        for pid in case["attachments"][n.id.as_str()].as_array()?.iter().filter_map(Value::as_str) {
            let p = &case["policies"][pid];
            if PolicyType::from_wire(p["type"].as_str()?) != Some(layer.policy_type()) {
                continue;
            }
            let c = match compiled.get(pid) {
                Some(c) => c.clone(),
                None => {
                    let c = Arc::new(CompiledPolicy::from_json(pid, &Json::from_value(&p["content"])).ok()?);
                    compiled.insert(pid, c.clone());
                    c
                }
            };
            ps.push(c);
        }
        levels.push(LevelPolicies { target_id: n.id.clone(), target_type: n.target_type, policies: ps });
    }
    Some(Prepared { layer, org, levels, request })
}

fn decision(case: &Value) -> Value {
    if case.is_null() {
        return Value::Null;
    }
    let out = eval_case(case);
    match out.get("decision") {
        Some(d) => d.clone(),
        None => out,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(file) = args.first() else {
        eprintln!("usage: diff_cases CASES.json [--time ITER]");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| {
        eprintln!("{file}: {e}");
        std::process::exit(2);
    });
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap_or_else(|e| {
        eprintln!("{file}: {e}");
        std::process::exit(2);
    });
    let layers: Vec<(&Value, &Value)> = cases
        .iter()
        .map(|c| (&c["canopy"]["scp"], &c["canopy"]["rcp"]))
        .collect();
    let out: Vec<Value> = cases
        .iter()
        .zip(&layers)
        .map(|(c, (s, r))| json!({"id": c["id"], "scp": decision(s), "rcp": decision(r)}))
        .collect();
    println!("{}", Value::Array(out));

    if let Some(i) = args.iter().position(|a| a == "--time") {
        let iters: usize = args.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(5);
        let quiet = |v: &Value| -> Value {
            let mut v = v.clone();
            if v.is_object() {
                v["options"]["detail"] = json!(false);
                v["options"]["explain"] = json!(false);
            }
            v
        };
        let quiet_layers: Vec<(Value, Value)> = layers.iter().map(|(s, r)| (quiet(s), quiet(r))).collect();
        let time = |f: &dyn Fn(usize)| -> f64 {
            (0..cases.len()).for_each(f); // warm-up
            let t0 = Instant::now();
            for _ in 0..iters {
                (0..cases.len()).for_each(f);
            }
            t0.elapsed().as_nanos() as f64 / (iters * cases.len()) as f64 / 1000.0
        };
        // `--precompiled-only` skips the two slow paths (for profiling the evaluator alone).
        let only_pre = args.iter().any(|a| a == "--precompiled-only");
        let time_unless = |skip: bool, f: &dyn Fn(usize)| if skip { f64::NAN } else { time(f) };
        let full = time_unless(only_pre, &|k| {
            std::hint::black_box(decision(layers[k].0));
            std::hint::black_box(decision(layers[k].1));
        });
        let decide = time_unless(only_pre, &|k| {
            std::hint::black_box(decision(&quiet_layers[k].0));
            std::hint::black_box(decision(&quiet_layers[k].1));
        });
        let prepared: Vec<Vec<Prepared>> = layers
            .iter()
            .map(|(s, r)| [*s, *r].into_iter().filter(|c| !c.is_null()).filter_map(prepare).collect())
            .collect();
        let opts = EvalOptions { derive_keys: false, explain: false, detail: false, ..Default::default() };
        // The pre-compiled path must give the same answers as eval_case.
        for ((s, r), ps) in layers.iter().zip(&prepared) {
            let want: Vec<Value> = [*s, *r].into_iter().filter(|c| !c.is_null()).map(decision).collect();
            let got: Vec<Value> = ps
                .iter()
                .map(|p| json!(evaluate_with(p.layer, &p.org, &p.levels, &p.request, &opts).decision.as_str()))
                .collect();
            assert_eq!(want, got, "pre-compiled evaluation differs from eval_case");
        }
        let pre = time(&|k| {
            for p in &prepared[k] {
                std::hint::black_box(evaluate_with(p.layer, &p.org, &p.levels, &p.request, &opts));
            }
        });
        eprintln!(
            "{}",
            json!({"tool": "canopy", "requests": iters * cases.len(),
                   "full_us": full, "decide_us": decide, "precompiled_us": pre})
        );
    }
}
