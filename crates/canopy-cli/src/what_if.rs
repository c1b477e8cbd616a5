//! `canopy what-if`: posts proposed changes and probes to a running server's
//! `POST /canopy/v1/what-if` and prints the decisions that flip as a table (or the JSON).

use anyhow::Result;
use clap::Args;
use serde_json::Value;

use crate::simulate::{post, read_json, write_out, Endpoint};

#[derive(Args, Debug)]
pub struct WhatIfArgs {
    #[command(flatten)]
    pub endpoint: Endpoint,
    /// `{"changes": [...], "probes": [...]}` in the format of POST /canopy/v1/what-if (`-` for
    /// stdin).
    #[arg(long, value_name = "FILE|-")]
    pub file: String,
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// What decided the answer of one side of a flip: `SCP p-… #0 (Sid) at ou-…`.
fn decided_by(side: &Value) -> String {
    let Some(layer) = side.get("deciding_layer").and_then(Value::as_str) else { return "-".into() };
    let Some(expl) = side.get(layer.to_ascii_lowercase().as_str()) else { return layer.into() };
    let Some(d) = expl.get("deciding") else { return format!("{layer} {}", s(expl, "reason")) };
    match d.get("policy_id").and_then(Value::as_str) {
        Some(p) => {
            let mut out = format!("{layer} {p} #{}", d.get("statement_index").and_then(Value::as_u64).unwrap_or(0));
            if let Some(sid) = d.get("sid").and_then(Value::as_str) {
                out.push_str(&format!(" ({sid})"));
            }
            out.push_str(&format!(" at {}", s(d, "target_id")));
            out
        }
        None => format!("{layer} no Allow at {}", s(d, "target_id")),
    }
}

pub fn run(args: WhatIfArgs) -> Result<()> {
    let body = read_json(&args.file)?;
    let reply = post(&args.endpoint, "/canopy/v1/what-if", &body)?;
    if args.endpoint.json {
        return write_out(&format!("{}\n", serde_json::to_string_pretty(&reply)?));
    }
    let mut out = String::new();
    let n = |k: &str| reply.get(k).and_then(Value::as_u64).unwrap_or(0);
    out.push_str(&format!("affected accounts: {}   evaluations: {}   flips: {}\n", n("affected_accounts"), n("evaluations"), n("flip_count")));
    let flips = reply.get("flips").and_then(Value::as_array).cloned().unwrap_or_default();
    if flips.is_empty() {
        if n("flip_count") == 0 {
            out.push_str("no decision changes\n");
        }
        return write_out(&out);
    }
    let header = ["ACCOUNT", "PROBE", "PRINCIPAL", "ACTION", "RESOURCE", "BEFORE", "AFTER", "DECIDED BY"];
    let rows: Vec<[String; 8]> = flips
        .iter()
        .map(|f| {
            let (before, after) = (&f["before"], &f["after"]);
            // The side that denies explains the flip.
            let why = if s(after, "decision") == "Allow" { decided_by(before) } else { decided_by(after) };
            [
                s(f, "account_id").to_string(),
                f.get("probe").and_then(Value::as_u64).unwrap_or(0).to_string(),
                s(f, "principal").to_string(),
                s(f, "action").to_string(),
                s(f, "resource").to_string(),
                s(before, "decision").to_string(),
                s(after, "decision").to_string(),
                why,
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut line = |cells: &[String]| {
        let parts: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&header.map(String::from));
    for r in &rows {
        line(r);
    }
    if reply.get("truncated").and_then(Value::as_bool) == Some(true) {
        out.push_str(&format!("({} more not shown; raise max_flips)\n", n("flip_count") as usize - rows.len()));
    }
    write_out(&out)
}
