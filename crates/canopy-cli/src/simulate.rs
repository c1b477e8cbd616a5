//! `canopy simulate`: asks a running server's `POST /canopy/v1/simulate` and prints the answer,
//! for a person (the decision and each layer's path as a small tree) or as JSON.
//!
//! The client is a minimal HTTP/1.1 POST over `std::net::TcpStream`: the endpoint is a local
//! Canopy server over plain HTTP, and one request per run does not justify an HTTP stack.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use serde_json::{json, Map, Value};

/// Where the server is and who is asking (shared by `simulate` and `what-if`).
#[derive(Args, Debug)]
pub struct Endpoint {
    /// The Canopy server (plain HTTP).
    #[arg(long, env = "CANOPY_ENDPOINT", default_value = "http://127.0.0.1:4590")]
    pub endpoint: String,
    /// The calling account: the organization's management account. Sent as the access key id
    /// of a dev-auth Authorization header; without it the server's default account calls.
    #[arg(long, env = "CANOPY_ACCOUNT", value_parser = parse_account)]
    pub account: Option<String>,
    /// Print the server's JSON answer as is.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub endpoint: Endpoint,
    /// A batch: a JSON file (`-` for stdin) with one request or `{"requests": [...]}`, in the
    /// format of POST /canopy/v1/simulate. Replaces the request flags.
    #[arg(long, value_name = "FILE|-", conflicts_with_all = ["principal", "action"])]
    pub file: Option<String>,
    /// The caller: an IAM ARN (`arn:aws:iam::111122223333:role/Dev`), a service principal or `*`.
    #[arg(long, required_unless_present = "file")]
    pub principal: Option<String>,
    /// IAMUser, AssumedRole, ServiceLinkedRole, AWSService, Root, FederatedUser or Anonymous
    /// (default: read from the ARN).
    #[arg(long)]
    pub principal_type: Option<String>,
    /// `service:Action`.
    #[arg(long, required_unless_present = "file")]
    pub action: Option<String>,
    /// The resource ARN (default `*`: an action without a resource).
    #[arg(long)]
    pub resource: Option<String>,
    /// The account that owns the resource (its RCPs apply).
    #[arg(long)]
    pub resource_account: Option<String>,
    /// A condition key, `key=value`; repeat a key for a multi-valued key.
    #[arg(long, value_name = "KEY=VALUE")]
    pub context: Vec<String>,
    /// The IAM decision to combine with (Allow, ImplicitDeny, ExplicitDeny).
    #[arg(long)]
    pub iam_decision: Option<String>,
    /// Element-level explanations (every Action/Resource entry and condition value).
    #[arg(long)]
    pub detail: bool,
}

pub fn run(args: SimulateArgs) -> Result<()> {
    let body = match &args.file {
        Some(f) => read_json(f)?,
        None => request_body(&args)?,
    };
    let reply = post(&args.endpoint, "/canopy/v1/simulate", &body)?;
    if args.endpoint.json {
        return write_out(&format!("{}\n", serde_json::to_string_pretty(&reply)?));
    }
    let mut out = String::new();
    match reply.get("results").and_then(Value::as_array) {
        Some(results) => {
            let requests = body.get("requests").and_then(Value::as_array);
            for (i, r) in results.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                // Probe mode answers per account; batches per request.
                let req = requests.and_then(|q| q.get(i)).or_else(|| body.get("probe")).unwrap_or(&Value::Null);
                if let Some(a) = r.get("account_id").and_then(Value::as_str) {
                    out.push_str(&format!("account {a}\n"));
                }
                out.push_str(&render(req, r));
            }
        }
        None => out.push_str(&render(&body, &reply)),
    }
    write_out(&out)
}

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly.
pub fn write_out(text: &str) -> Result<()> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

fn request_body(args: &SimulateArgs) -> Result<Value> {
    let mut m = Map::new();
    m.insert("principal".into(), json!(args.principal));
    m.insert("action".into(), json!(args.action));
    for (k, v) in [
        ("principal_type", &args.principal_type),
        ("resource", &args.resource),
        ("resource_account", &args.resource_account),
        ("iam_decision", &args.iam_decision),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    }
    if !args.context.is_empty() {
        m.insert("context".into(), parse_context(&args.context)?);
    }
    if args.detail {
        m.insert("detail".into(), json!(true));
    }
    Ok(Value::Object(m))
}

/// `k=v` pairs; a key given twice or more becomes a multi-valued key.
pub fn parse_context(pairs: &[String]) -> Result<Value> {
    let mut ctx: Vec<(String, Vec<String>)> = Vec::new();
    for p in pairs {
        let (k, v) = p.split_once('=').ok_or_else(|| anyhow!("--context {p:?}: expected KEY=VALUE"))?;
        if k.is_empty() {
            bail!("--context {p:?}: the key is empty");
        }
        match ctx.iter_mut().find(|(key, _)| key.eq_ignore_ascii_case(k)) {
            Some((_, vals)) => vals.push(v.to_string()),
            None => ctx.push((k.to_string(), vec![v.to_string()])),
        }
    }
    Ok(Value::Object(
        ctx.into_iter()
            .map(|(k, mut v)| (k, if v.len() == 1 { json!(v.remove(0)) } else { json!(v) }))
            .collect(),
    ))
}

pub fn read_json(file: &str) -> Result<Value> {
    let text = if file == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("reading stdin")?;
        s
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?
    };
    serde_json::from_str(&text).with_context(|| format!("{file} is not valid JSON"))
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// POSTs `body` to `path` and returns the JSON answer; a Canopy API error becomes an error
/// naming its code and message.
pub fn post(ep: &Endpoint, path: &str, body: &Value) -> Result<Value> {
    let rest = ep
        .endpoint
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("--endpoint {:?}: only http:// endpoints are supported", ep.endpoint))?;
    let host = rest.split('/').next().unwrap_or(rest);
    let addr = if host.contains(':') { host.to_string() } else { format!("{host}:80") };
    let payload = body.to_string();
    let auth = match &ep.account {
        Some(a) => format!(
            "Authorization: AWS4-HMAC-SHA256 Credential={a}/20250101/us-east-1/organizations/aws4_request, SignedHeaders=host, Signature=0000000000000000000000000000000000000000000000000000000000000000\r\n"
        ),
        None => String::new(),
    };
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    let mut stream = TcpStream::connect(&addr).with_context(|| format!("connecting to {}", ep.endpoint))?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).context("reading the answer")?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| anyhow!("malformed HTTP answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status: u16 = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| anyhow!("malformed status line"))?;
    let mut data = raw[split + 4..].to_vec();
    if head.lines().any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.to_ascii_lowercase().contains("chunked")) {
        data = dechunk(&data)?;
    }
    let value: Value = serde_json::from_slice(&data)
        .with_context(|| format!("HTTP {status}: the answer is not JSON: {}", String::from_utf8_lossy(&data)))?;
    if status != 200 {
        let code = value.get("error").and_then(Value::as_str).unwrap_or("Error");
        let message = value.get("message").and_then(Value::as_str).unwrap_or("");
        bail!("{code} (HTTP {status}): {message}");
    }
    Ok(value)
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = std::str::from_utf8(&data[..end])?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)?;
        data = &data[end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size {
            bail!("truncated chunked answer");
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Rendering for a person

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn statement_label(st: &Value) -> String {
    let mut out = format!("{} statement {}", s(st, "policy_id"), st.get("statement_index").and_then(Value::as_u64).unwrap_or(0));
    if let Some(sid) = st.get("sid").and_then(Value::as_str) {
        out.push_str(&format!(" ({sid})"));
    }
    out
}

/// One layer: its decision and, when it evaluated the path, the path as a tree with what
/// matched at each level.
pub fn render_layer(name: &str, layer: &Value, out: &mut String) {
    out.push_str(&format!("{name}: {} ({})\n", s(layer, "decision"), s(layer, "reason")));
    let deciding = layer.get("deciding");
    let levels = layer.get("levels").and_then(Value::as_array).cloned().unwrap_or_default();
    for (depth, level) in levels.iter().enumerate() {
        let indent = "   ".repeat(depth);
        let id = s(level, "target_id");
        let result = s(level, "result");
        let mut line = format!("  {indent}└─ {id} [{}]: {result}", s(level, "target_type"));
        let denies = level.get("deny_statements").and_then(Value::as_array);
        let allows = level.get("allow_statements").and_then(Value::as_array);
        match result {
            "ExplicitDeny" => {
                let list: Vec<String> = denies.into_iter().flatten().map(statement_label).collect();
                line.push_str(&format!(" by {}", list.join(", ")));
            }
            "Allow" => {
                if let Some(first) = allows.and_then(|a| a.first()) {
                    line.push_str(&format!(" by {}", statement_label(first)));
                }
            }
            _ => line.push_str(" (no statement allows it here)"),
        }
        if deciding.is_some_and(|d| s(d, "target_id") == id) {
            line.push_str("  ◀ decides");
        }
        out.push_str(&line);
        out.push('\n');
        if result == "ImplicitDeny" {
            for st in level.get("unmatched_statements").and_then(Value::as_array).into_iter().flatten() {
                if s(st, "effect") != "Allow" {
                    continue;
                }
                let nm = st.get("not_matched").unwrap_or(&Value::Null);
                let why = match s(nm, "part") {
                    "condition" => format!("condition {} {} is false", s(nm, "operator"), s(nm, "key")),
                    part => format!("{part} does not match"),
                };
                out.push_str(&format!("  {indent}     · {}: {why}\n", statement_label(st)));
            }
        }
    }
}

fn render(req: &Value, reply: &Value) -> String {
    let mut out = String::new();
    let decision = s(reply, "decision");
    let resource = req.get("resource").and_then(Value::as_str).unwrap_or("*");
    out.push_str(&format!("{decision}: {} {} on {resource}\n", s(req, "principal"), s(req, "action")));
    if let Some(l) = reply.get("deciding_layer").and_then(Value::as_str) {
        out.push_str(&format!("decided by: {l}\n"));
    }
    let blocked: Vec<&str> = reply.get("blocked_by").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    if !blocked.is_empty() {
        out.push_str(&format!("blocked by: {}\n", blocked.join(", ")));
    }
    // Probe mode: no per-layer explanation, only what decided.
    if let Some(d) = reply.get("deciding") {
        match d.get("policy_id") {
            Some(_) => out.push_str(&format!("deciding: {} at {}\n", statement_label(d), s(d, "target_id"))),
            None => out.push_str(&format!("deciding: no statement allows it at {}\n", s(d, "target_id"))),
        }
    }
    for (name, key) in [("SCP", "scp"), ("RCP", "rcp")] {
        if let Some(layer) = reply.get(key) {
            render_layer(name, layer, &mut out);
        }
    }
    out
}

/// An account id: 12 digits (anything else would silently call as the server's default account).
fn parse_account(s: &str) -> Result<String, String> {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err(format!("{s:?} is not an AWS account id (exactly 12 digits)"))
    }
}
