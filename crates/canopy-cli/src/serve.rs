//! `canopy serve`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use canopy_core::{Canopy, CoreConfig};
use canopy_policy::{LimitsTable, PolicyType, SizeUnit};
use canopy_server::{AuthMode, ServerConfig};
use clap::builder::BoolishValueParser;
use clap::{Args, ValueEnum};

const DAY_MS: f64 = 24.0 * 60.0 * 60.0 * 1000.0;

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
pub enum Auth {
    /// Signatures are parsed, not verified; a 12-digit access key id is the caller's account.
    Dev,
    /// SigV4 must verify against credentials Canopy issued (`canopy credentials create`).
    Strict,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Args)]
#[command(after_help = "Log level: set CANOPY_LOG to an EnvFilter directive (default: info), e.g. \
                        CANOPY_LOG=debug or CANOPY_LOG=info,canopy::request=warn.\n\
                        Every flag can also be set through the environment variable shown.")]
pub struct ServeArgs {
    /// Address and port to listen on. Use port 0 for an ephemeral port; the listening line
    /// printed on stdout gives the real one.
    #[arg(long, env = "CANOPY_LISTEN", default_value = "127.0.0.1:4590", value_name = "ADDR:PORT")]
    listen: SocketAddr,

    /// Where state lives: a directory or file path for the embedded SQLite database (created on
    /// first start), `memory` for an ephemeral in-process store, or a postgres:// URL.
    #[arg(long, env = "CANOPY_DATABASE", default_value = "./canopy-data/", value_name = "PATH|memory|URL")]
    database: String,

    /// How callers are identified: `dev` parses SigV4 credentials without verifying them;
    /// `strict` requires SigV4 verified against credentials Canopy issued.
    #[arg(long, env = "CANOPY_AUTH", value_enum, default_value = "dev")]
    auth: Auth,

    /// The account (12 digits) of callers whose access key id is not itself a 12-digit account id.
    #[arg(long, env = "CANOPY_DEFAULT_ACCOUNT", default_value = "123456789012", value_parser = parse_account_id)]
    default_account: String,

    #[command(flatten)]
    key: crate::credentials::KeyArgs,

    /// Log line format, written to stderr.
    #[arg(long, env = "CANOPY_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,

    /// Threads that serve HTTP (default: one per core). Storage work runs on the store's own
    /// threads (SQLite: a writer, a syncer and 2 to 4 readers).
    #[arg(long, env = "CANOPY_WORKER_THREADS", value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    worker_threads: Option<u16>,

    /// Largest accepted request body in bytes (at least 1024); larger ones get 413
    /// RequestEntityTooLargeException.
    #[arg(long, env = "CANOPY_MAX_BODY_BYTES", default_value_t = canopy_server::DEFAULT_MAX_BODY_BYTES, value_parser = parse_body_limit)]
    max_body_bytes: usize,

    /// Seconds a client may take to send a request's headers, and then its body, before its
    /// connection is closed (headers) or answered 408 RequestTimeoutException (body); also how
    /// long a kept-alive connection may sit idle.
    #[arg(long, env = "CANOPY_READ_TIMEOUT", default_value = "60", value_name = "SECONDS", value_parser = parse_read_timeout)]
    read_timeout: Duration,

    /// Maximum accounts per organization, including the management account, pending and closed
    /// accounts (at least 1; AWS starts at 10).
    #[arg(long, env = "CANOPY_MAX_ACCOUNTS", default_value_t = CoreConfig::default().max_accounts, value_parser = clap::value_parser!(u64).range(1..))]
    max_accounts: u64,

    /// Maximum organizational units per organization (AWS: 2,000).
    #[arg(long, env = "CANOPY_MAX_OUS", default_value_t = CoreConfig::default().max_ous)]
    max_ous: u64,

    /// Maximum levels of OUs below the root (AWS: 5).
    #[arg(long, env = "CANOPY_MAX_OU_DEPTH", default_value_t = CoreConfig::default().max_ou_depth)]
    max_ou_depth: usize,

    /// Maximum tags on one resource (AWS: 50).
    #[arg(long, env = "CANOPY_MAX_TAGS_PER_RESOURCE", default_value_t = CoreConfig::default().max_tags_per_resource)]
    max_tags_per_resource: usize,

    /// Seconds a CreateAccount request stays IN_PROGRESS before it succeeds (fractions allowed;
    /// AWS takes minutes).
    #[arg(long, env = "CANOPY_ACCOUNT_CREATION_DELAY", default_value = "0", value_name = "SECONDS", value_parser = parse_seconds)]
    account_creation_delay: f64,

    /// CreateAccount requests that may be in progress at once (at least 1; AWS: 5; only
    /// reachable with a creation delay).
    #[arg(long, env = "CANOPY_MAX_CONCURRENT_ACCOUNT_CREATIONS", default_value_t = CoreConfig::default().max_concurrent_account_creations, value_parser = clap::value_parser!(u64).range(1..))]
    max_concurrent_account_creations: u64,

    /// Seconds a closed account stays PENDING_CLOSURE before it is SUSPENDED (fractions allowed).
    #[arg(long, env = "CANOPY_ACCOUNT_CLOSURE_DELAY", default_value = "0", value_name = "SECONDS", value_parser = parse_seconds)]
    account_closure_delay: f64,

    /// Days a closed account stays in the organization (SUSPENDED/CLOSED) before it disappears
    /// (fractions allowed; AWS: 90).
    #[arg(long, env = "CANOPY_CLOSED_ACCOUNT_RETENTION", default_value = "90", value_name = "DAYS", value_parser = parse_days)]
    closed_account_retention: f64,

    /// Account closures allowed per rolling 30 days at least, whatever the organization's size
    /// (AWS: 250).
    #[arg(long, env = "CANOPY_CLOSE_QUOTA_FLOOR", default_value_t = CoreConfig::default().close_quota_floor)]
    close_quota_floor: u64,

    /// Account closures allowed per rolling 30 days as a percentage of member accounts, when that
    /// is above the floor (0 to 100; AWS: 20).
    #[arg(long, env = "CANOPY_CLOSE_QUOTA_PERCENT", default_value_t = CoreConfig::default().close_quota_percent, value_parser = clap::value_parser!(u64).range(0..=100))]
    close_quota_percent: u64,

    /// Upper bound on account closures per rolling 30 days (AWS: 1,000).
    #[arg(long, env = "CANOPY_CLOSE_QUOTA_CAP", default_value_t = CoreConfig::default().close_quota_cap)]
    close_quota_cap: u64,

    /// Account closures that may be in progress at once (at least 1; AWS: 3; only reachable with
    /// a closure delay).
    #[arg(long, env = "CANOPY_MAX_CONCURRENT_CLOSURES", default_value_t = CoreConfig::default().max_concurrent_closures, value_parser = clap::value_parser!(u64).range(1..))]
    max_concurrent_closures: u64,

    /// Days a created account must exist before it can be removed from the organization
    /// (fractions allowed; AWS: 4, Canopy default 0 so tests can create and remove at once).
    #[arg(long, env = "CANOPY_MIN_ACCOUNT_AGE_FOR_REMOVAL", default_value = "0", value_name = "DAYS", value_parser = parse_days)]
    min_account_age_for_removal: f64,

    /// Do not enable SERVICE_CONTROL_POLICY on the root when an organization is created with all
    /// features (the current AWS behaviour is to enable it).
    #[arg(long, env = "CANOPY_NO_SCP_ON_CREATE", value_parser = BoolishValueParser::new())]
    no_scp_on_create: bool,

    /// Validate SCPs with the grammar from before September 2025 (Allow statements only with
    /// `Resource: "*"`, no NotResource, Condition only in Deny statements...).
    #[arg(long, env = "CANOPY_LEGACY_SCP_GRAMMAR", value_parser = BoolishValueParser::new())]
    legacy_scp_grammar: bool,

    /// Answer accounts with `State` only, without the legacy `Status` that AWS announced it
    /// would retire on 9 September 2026 (DescribeAccount, ListAccounts, ListAccountsForParent,
    /// ListDelegatedAdministrators): to check that a client no longer reads `Status`.
    #[arg(long, env = "CANOPY_OMIT_ACCOUNT_STATUS", value_parser = BoolishValueParser::new())]
    omit_account_status: bool,

    /// Whether EnablePolicyType of SECURITYHUB_POLICY / INSPECTOR_POLICY requires their
    /// service's trusted access (EnableAWSServiceAccess of securityhub.amazonaws.com /
    /// inspector2.amazonaws.com; else ConstraintViolation SERVICE_ACCESS_NOT_ENABLED), as in
    /// AWS. On by default; `--enforce-policy-service-access=false` switches it off.
    #[arg(long, env = "CANOPY_ENFORCE_POLICY_SERVICE_ACCESS", value_name = "BOOL", default_value_t = true, value_parser = BoolishValueParser::new(),
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    enforce_policy_service_access: bool,

    /// Do not evaluate SCPs on calls that member accounts make to the Organizations API. By
    /// default, as in AWS, a member's call to an operation is first checked against the SCPs in
    /// force with the action `organizations:<Operation>` (the management account is never
    /// restricted).
    #[arg(long, env = "CANOPY_NO_SCP_ENFORCEMENT", value_parser = BoolishValueParser::new())]
    no_scp_enforcement: bool,

    /// Accept an SCP or RCP without `Version` as if it said "2012-10-17" (AWS documents the
    /// element as required; several of its examples omit it).
    #[arg(long, env = "CANOPY_POLICY_LENIENT_VERSION", value_parser = BoolishValueParser::new())]
    policy_lenient_version: bool,

    /// How policy content size is counted against the per-type maximum: `characters` (current
    /// AWS documentation) or `bytes` (UTF-8, older documentation).
    #[arg(long, env = "CANOPY_POLICY_SIZE_UNIT", value_enum, default_value = "characters")]
    policy_size_unit: PolicySizeUnit,

    /// Override one per-type policy quota, as TYPE.FIELD=N; repeat the flag (or separate with
    /// commas in the variable). FIELD: max_size, max_attachments, min_attachments,
    /// max_policies. Defaults are AWS's 2026 figures, e.g. SERVICE_CONTROL_POLICY: 10240
    /// characters, 10 per target, at least 1, 10000 per organization (before 15 May 2026:
    /// SERVICE_CONTROL_POLICY.max_size=5120,SERVICE_CONTROL_POLICY.max_attachments=5).
    #[arg(long = "policy-limit", env = "CANOPY_POLICY_LIMITS", value_delimiter = ',', value_name = "TYPE.FIELD=N", value_parser = parse_policy_limit)]
    policy_limits: Vec<PolicyLimit>,
    /// Days an INVITE handshake stays open before it expires (fractions allowed; AWS: 15).
    #[arg(long, env = "CANOPY_INVITE_EXPIRY", default_value = "15", value_name = "DAYS", value_parser = parse_days)]
    invite_expiry: f64,

    /// Days an ENABLE_ALL_FEATURES handshake, and the migration it starts, stays open
    /// (fractions allowed; AWS: 90).
    #[arg(long, env = "CANOPY_ENABLE_ALL_FEATURES_EXPIRY", default_value = "90", value_name = "DAYS", value_parser = parse_days)]
    enable_all_features_expiry: f64,

    /// Days a handshake stays visible after it was accepted, declined, canceled or expired
    /// (fractions allowed; AWS: 30).
    #[arg(long, env = "CANOPY_HANDSHAKE_RETENTION", default_value = "30", value_name = "DAYS", value_parser = parse_days)]
    handshake_retention: f64,

    /// Invitations an organization may send per rolling 24 hours, or --max-accounts if that is
    /// larger, as AWS counts (accepted ones don't count; AWS: 20). More give
    /// HandshakeConstraintViolation HANDSHAKE_RATE_LIMIT_EXCEEDED.
    #[arg(long, env = "CANOPY_MAX_INVITATIONS_PER_DAY", default_value_t = CoreConfig::default().max_invitations_per_day)]
    max_invitations_per_day: u64,
    /// Recognize one more AWS service principal for trusted access and delegated administrators,
    /// or change a default one, as NAME or NAME=N, N being how many delegated administrators
    /// the service admits (0: none; default 1). Repeat the flag (or separate with commas in the
    /// variable). The defaults are the usual principals (sso, config (3), securityhub,
    /// member.org.stacksets.cloudformation (5)...); others get UNRECOGNIZED_SERVICE_PRINCIPAL.
    #[arg(long = "service-principal", env = "CANOPY_SERVICE_PRINCIPALS", value_delimiter = ',', value_name = "NAME[=N]")]
    service_principals: Vec<String>,

    /// Recognize only the principals given with --service-principal, none of the defaults.
    #[arg(long, env = "CANOPY_NO_DEFAULT_SERVICE_PRINCIPALS", value_parser = BoolishValueParser::new())]
    no_default_service_principals: bool,
    /// Commercial management accounts that may call CreateGovCloudAccount (AWS requires them to
    /// be paired with a GovCloud account, which Canopy cannot check): `all` (default), `none`,
    /// or a comma-separated list of 12-digit account ids. The others get ConstraintViolation
    /// MASTER_ACCOUNT_NOT_GOVCLOUD_ENABLED.
    #[arg(long, env = "CANOPY_GOVCLOUD_ENABLED_ACCOUNTS", default_value = "all", value_name = "all|none|ID,ID...")]
    govcloud_enabled_accounts: String,

    /// Days an unanswered responsibility transfer invitation stays open before it expires
    /// (fractions allowed; Canopy default 15, as account invitations).
    #[arg(long, env = "CANOPY_TRANSFER_INVITE_EXPIRY", default_value = "15", value_name = "DAYS", value_parser = parse_days)]
    transfer_invite_expiry: f64,

    /// How many months ahead a responsibility transfer's StartTimestamp or EndTimestamp may lie
    /// (later ones get START_DATE_TOO_LATE / END_DATE_TOO_LATE; Canopy default 12).
    #[arg(long, env = "CANOPY_TRANSFER_MAX_MONTHS_AHEAD", default_value_t = CoreConfig::default().transfer_max_months_ahead)]
    transfer_max_months_ahead: u32,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
pub enum PolicySizeUnit {
    /// Unicode characters.
    Characters,
    /// UTF-8 bytes.
    Bytes,
}

/// One `--policy-limit` override.
#[derive(Clone, Debug)]
pub struct PolicyLimit {
    policy_type: PolicyType,
    field: LimitField,
    value: usize,
}

#[derive(Copy, Clone, Debug)]
enum LimitField {
    MaxSize,
    MaxAttachments,
    MinAttachments,
    MaxPolicies,
}

fn parse_policy_limit(s: &str) -> Result<PolicyLimit, String> {
    let usage = "expected TYPE.FIELD=N, e.g. SERVICE_CONTROL_POLICY.max_size=5120";
    let (lhs, value) = s.trim().split_once('=').ok_or_else(|| format!("{s:?}: {usage}"))?;
    let (t, field) = lhs.split_once('.').ok_or_else(|| format!("{s:?}: {usage}"))?;
    let policy_type = PolicyType::from_wire(t).ok_or_else(|| format!("{t:?} is not a policy type (SERVICE_CONTROL_POLICY, TAG_POLICY, ...)"))?;
    let field = match field {
        "max_size" => LimitField::MaxSize,
        "max_attachments" => LimitField::MaxAttachments,
        "min_attachments" => LimitField::MinAttachments,
        "max_policies" => LimitField::MaxPolicies,
        other => return Err(format!("{other:?} is not a limit (max_size, max_attachments, min_attachments, max_policies)")),
    };
    let value = value.parse::<usize>().map_err(|_| format!("{value:?} is not a non-negative integer"))?;
    Ok(PolicyLimit { policy_type, field, value })
}

/// The defaults with the overrides applied in order (a later one wins).
fn limits_table(overrides: &[PolicyLimit]) -> Result<LimitsTable, String> {
    let mut table = LimitsTable::new();
    for o in overrides {
        let mut l = table.get(o.policy_type);
        match o.field {
            LimitField::MaxSize => l.max_size = o.value,
            LimitField::MaxAttachments => l.max_attachments_per_target = o.value,
            LimitField::MinAttachments => l.min_attachments_per_target = o.value,
            LimitField::MaxPolicies => l.max_policies_per_org = o.value,
        }
        table.set(o.policy_type, l);
    }
    for t in PolicyType::ALL {
        let l = table.get(t);
        if l.min_attachments_per_target > l.max_attachments_per_target {
            return Err(format!("{t}: min_attachments ({}) is above max_attachments ({})", l.min_attachments_per_target, l.max_attachments_per_target));
        }
    }
    Ok(table)
}

impl ServeArgs {
    fn core_config(&self) -> anyhow::Result<CoreConfig> {
        let policy_limits = limits_table(&self.policy_limits).map_err(|e| anyhow::anyhow!("--policy-limit: {e}"))?;
        if self.close_quota_floor > self.close_quota_cap {
            anyhow::bail!(
                "--close-quota-floor ({}) is above --close-quota-cap ({}): the cap bounds the floor too",
                self.close_quota_floor,
                self.close_quota_cap
            );
        }
        Ok(CoreConfig {
            max_accounts: self.max_accounts,
            max_ous: self.max_ous,
            max_ou_depth: self.max_ou_depth,
            max_tags_per_resource: self.max_tags_per_resource,
            account_creation_delay_ms: (self.account_creation_delay * 1000.0).round() as i64,
            max_concurrent_account_creations: self.max_concurrent_account_creations,
            account_closure_delay_ms: (self.account_closure_delay * 1000.0).round() as i64,
            closed_account_retention_ms: (self.closed_account_retention * DAY_MS).round() as i64,
            close_quota_floor: self.close_quota_floor,
            close_quota_percent: self.close_quota_percent,
            close_quota_cap: self.close_quota_cap,
            max_concurrent_closures: self.max_concurrent_closures,
            min_account_age_for_removal_ms: (self.min_account_age_for_removal * DAY_MS).round() as i64,
            enable_scp_on_create: !self.no_scp_on_create,
            legacy_scp_grammar: self.legacy_scp_grammar,
            account_status_field: !self.omit_account_status,
            enforce_policy_service_access: self.enforce_policy_service_access,
            enforce_scps: !self.no_scp_enforcement,
            invite_expiry_ms: (self.invite_expiry * DAY_MS).round() as i64,
            enable_all_features_expiry_ms: (self.enable_all_features_expiry * DAY_MS).round() as i64,
            handshake_retention_ms: (self.handshake_retention * DAY_MS).round() as i64,
            max_invitations_per_day: self.max_invitations_per_day,
            service_principals: {
                let mut known = if self.no_default_service_principals { Default::default() } else { CoreConfig::default().service_principals };
                for spec in self.service_principals.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
                    let (name, admins) = match spec.split_once('=') {
                        Some((name, n)) => (name, n.parse::<u32>().map_err(|_| anyhow::anyhow!("--service-principal {spec}: N must be a whole number"))?),
                        None => (spec, 1),
                    };
                    let valid = (1..=128).contains(&name.len()) && name.chars().all(|c| c.is_alphanumeric() || "_+=.@-".contains(c));
                    if !valid {
                        anyhow::bail!("--service-principal {spec}: '{name}' is not a service principal (1-128 of letters, digits and _+=.@-)");
                    }
                    known.insert(name.to_string(), admins);
                }
                known
            },
            govcloud_enabled_accounts: match self.govcloud_enabled_accounts.trim() {
                "all" => None,
                "none" => Some(Vec::new()),
                list => Some(
                    list.split(',')
                        .map(|a| {
                            let a = a.trim();
                            if a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()) {
                                Ok(a.to_string())
                            } else {
                                Err(anyhow::anyhow!("--govcloud-enabled-accounts: '{a}' is not a 12-digit account id (or use all / none)"))
                            }
                        })
                        .collect::<anyhow::Result<Vec<_>>>()?,
                ),
            },
            transfer_invite_expiry_ms: (self.transfer_invite_expiry * DAY_MS).round() as i64,
            transfer_max_months_ahead: self.transfer_max_months_ahead,
            policy_lenient_version: self.policy_lenient_version,
            policy_size_unit: match self.policy_size_unit {
                PolicySizeUnit::Characters => SizeUnit::Characters,
                PolicySizeUnit::Bytes => SizeUnit::Bytes,
            },
            policy_limits,
        })
    }

    fn server_config(&self) -> ServerConfig {
        ServerConfig {
            auth: match self.auth {
                Auth::Dev => AuthMode::Dev,
                Auth::Strict => AuthMode::Strict,
            },
            default_account: self.default_account.clone(),
            max_body_bytes: self.max_body_bytes,
            read_timeout: self.read_timeout,
            master_key: None,
            ..ServerConfig::default()
        }
    }
}

fn parse_account_id(s: &str) -> Result<String, String> {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err(format!("{s:?} is not an AWS account id (exactly 12 digits)"))
    }
}

fn parse_non_negative(s: &str, unit: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        // Bounded so that the conversion to milliseconds cannot overflow.
        Ok(v) if v.is_finite() && (0.0..=1e9).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a number of {unit} from 0 to 1000000000")),
    }
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    parse_non_negative(s, "seconds")
}

fn parse_read_timeout(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && (0.1..=86_400.0).contains(&n) => Ok(Duration::from_secs_f64(n)),
        _ => Err(format!("{s:?} is not a number of seconds from 0.1 to 86400")),
    }
}

fn parse_body_limit(s: &str) -> Result<usize, String> {
    // Smaller than any real request's body: every call would be refused.
    const MIN: usize = 1024;
    match s.trim().parse::<usize>() {
        Ok(n) if n >= MIN => Ok(n),
        _ => Err(format!("{s:?} is not a whole number of bytes of at least {MIN}")),
    }
}

fn parse_days(s: &str) -> Result<f64, String> {
    parse_non_negative(s, "days")
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let _log_guard = crate::logging::init(args.log_format)?;
    // Measured on 2 cores beside the load generator, once the store's sync thread had its short
    // time slice (canopy-store's `wakeups.rs`): two HTTP threads served TagResource 20–25 % and
    // ListChildren 20 % faster than one, DescribeOrganization and DescribeAccount 0–4 % slower,
    // the rest alike (README, Benchmark). Before that change one thread had been 15–30 % faster.
    let worker_threads = match args.worker_threads {
        Some(n) => usize::from(n),
        None => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).max(1),
    };
    // One HTTP thread: tokio's single-threaded scheduler, which skips the work-stealing
    // machinery the multi-threaded one keeps even for one worker. Measured on 2 cores in
    // alternating runs: DescribeOrganization 57.6–59.8k → 66.4–67.0k req/s, TagResource
    // 35.4–35.9k → 37.4–37.9k.
    let mut builder = if worker_threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(worker_threads);
        builder
    };
    let runtime = builder
        .enable_all()
        .thread_name("canopy-worker")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut server_config = args.server_config();
    let core_config = args.core_config()?;
    let strict = server_config.auth == AuthMode::Strict;
    // The port first, then the key, then the database: a start that fails on the port or on
    // a bad key leaves no new key file or database behind.
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let loaded_key = crate::credentials::master_key(&args.key, &args.database, strict)?;
    let store = canopy_store::open(&args.database)
        .with_context(|| format!("opening the database {:?}", crate::migrate::display_spec(&args.database)))?;
    let kind = store.kind();
    let canopy = Canopy::new(store, core_config);
    if let Some(loaded) = &loaded_key {
        loaded.check_opens_sealed(&canopy).await?;
    }
    server_config.master_key = loaded_key.map(|k| k.key);
    let addr = listener.local_addr().context("reading the listening address")?;

    if strict {
        let count = canopy.long_term_credential_count().await.map_err(|e| anyhow::anyhow!("counting credentials: {e}"))?;
        if count == 0 {
            let db = crate::migrate::display_spec(&args.database);
            let hint = if kind == "sqlite-memory" {
                "strict auth on an in-memory database: no credentials can be issued to it, so every request \
                 will be refused; use a database path".to_owned()
            } else {
                format!(
                    "strict auth and no credentials yet: every request will be refused until you issue one, e.g. \
                     `canopy credentials create --account 123456789012 --database {db}` (prints an access key)"
                )
            };
            eprintln!("canopy: {hint}");
            tracing::warn!("{hint}");
        }
    }
    let shutdown = shutdown_signal()?;
    println!("canopy listening on http://{addr} (store: {kind}, auth: {})", server_config.auth.as_str());
    tracing::info!(%addr, store = kind, auth = server_config.auth.as_str(), "serving");

    let read_timeout = server_config.read_timeout;
    let app = canopy_server::router(canopy, server_config);
    canopy_server::serve(listener, app, read_timeout, shutdown).await.context("serving")?;
    tracing::info!("stopped");
    Ok(())
}

/// Installs the SIGTERM and SIGINT handlers at once and returns the future that resolves on the
/// first of them. Installed before the listening address is printed: a signal sent as soon as the
/// server answers must start the graceful shutdown, not meet the default (fatal) action. A second
/// signal during the drain stops the process at once (exit status 128 + its number, as if it had
/// been killed by it): a second Ctrl-C means "now". Nothing unanswered was acknowledged, so that
/// is as safe as a crash.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = interrupt.recv() => {},
            }
            tokio::spawn(async move {
                let status = tokio::select! {
                    _ = term.recv() => 128 + 15,
                    _ = interrupt.recv() => 128 + 2,
                };
                eprintln!("canopy: second signal; stopping without waiting for in-flight requests");
                std::process::exit(status);
            });
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_limit_overrides_apply_in_order() {
        let o: Vec<PolicyLimit> = ["SERVICE_CONTROL_POLICY.max_size=5120", "SERVICE_CONTROL_POLICY.max_attachments=5", "TAG_POLICY.max_policies=3", "TAG_POLICY.max_policies=4"]
            .iter()
            .map(|s| parse_policy_limit(s).unwrap())
            .collect();
        let table = limits_table(&o).unwrap();
        let scp = table.get(PolicyType::ServiceControlPolicy);
        assert_eq!((scp.max_size, scp.max_attachments_per_target, scp.min_attachments_per_target, scp.max_policies_per_org), (5120, 5, 1, 10_000));
        assert_eq!(table.get(PolicyType::TagPolicy).max_policies_per_org, 4);
        assert_eq!(table.get(PolicyType::BackupPolicy), PolicyType::BackupPolicy.default_limits());
    }

    #[test]
    fn bad_policy_limits_are_refused() {
        for bad in ["SERVICE_CONTROL_POLICY", "scp.max_size=1", "TAG_POLICY.size=1", "TAG_POLICY.max_size=-1", "TAG_POLICY.max_size=x"] {
            assert!(parse_policy_limit(bad).is_err(), "{bad}");
        }
        let o = vec![parse_policy_limit("RESOURCE_CONTROL_POLICY.max_attachments=0").unwrap()];
        assert!(limits_table(&o).unwrap_err().contains("min_attachments"));
    }
}
