//! Evaluates many authorization cases in one process, for the differential test against
//! iam-simulate (bench/iam-simulate). Input: a JSON array of `{id, canopy: {scp, rcp}}` where
//! `scp` and `rcp` are vector cases (spec §0) or null. Output (stdout): a JSON array of
//! `{id, scp, rcp}` decisions (`Allow` | `ImplicitDeny` | `ExplicitDeny` | `NotApplicable` |
//! an error object).
//!
//! `--time ITER`: after one warm-up pass, times `eval_case` over every case ITER times and
//! prints the per-decision mean to stderr (each decision starts from the JSON documents, as
//! iam-simulate's `runSimulation` does: compile, then evaluate).
//!
//! Run: `cargo run --release -p canopy-policy --example diff_cases -- cases.json [--time 5]`

use canopy_policy::eval_case;
use serde_json::{json, Value};
use std::time::Instant;

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
        // One decision = one layer of one case; iam-simulate computes both layers per call.
        let mut n = 0usize;
        for (s, r) in &layers {
            std::hint::black_box(decision(s));
            std::hint::black_box(decision(r));
        }
        let t0 = Instant::now();
        for _ in 0..iters {
            for (s, r) in &layers {
                std::hint::black_box(decision(s));
                std::hint::black_box(decision(r));
                n += 1;
            }
        }
        let ns = t0.elapsed().as_nanos() as f64;
        eprintln!(
            "{}",
            json!({"tool": "canopy", "decisions": n, "mean_us": ns / n as f64 / 1000.0})
        );
    }
}
