//! Domain settings: quotas and timings. One struct, filled by the CLI from flags/env vars.

use canopy_policy::{LimitsTable, SizeUnit};

/// Quotas and timings that shape the organization's behaviour. Defaults follow AWS (mid-2026
/// figures) except where a test-friendly value serves users better; those are marked.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Accounts per organization (members + management, pending creations and closed accounts
    /// included). AWS starts at 10; Canopy defaults to 10,000 so test suites never hit it.
    pub max_accounts: u64,
    /// OUs per organization (AWS: 2,000).
    pub max_ous: u64,
    /// Levels of OUs below the root (AWS: 5).
    pub max_ou_depth: usize,
    /// Tags per resource (AWS: 50).
    pub max_tags_per_resource: usize,
    /// How long CreateAccount stays IN_PROGRESS. AWS takes minutes; Canopy defaults to 0.
    pub account_creation_delay_ms: i64,
    /// CreateAccount requests in progress at once (AWS: 5). Only reachable with a delay.
    pub max_concurrent_account_creations: u64,
    /// How long CloseAccount stays PENDING_CLOSURE. AWS takes minutes; Canopy defaults to 0.
    pub account_closure_delay_ms: i64,
    /// Closed accounts stay in the organization (SUSPENDED/CLOSED) this long (AWS: 90 days).
    pub closed_account_retention_ms: i64,
    /// Closures per rolling 30 days: max(floor, percent of members), capped (AWS: 250, 20%, 1,000).
    pub close_quota_floor: u64,
    pub close_quota_percent: u64,
    pub close_quota_cap: u64,
    /// Closures in progress at once (AWS: 3). Only reachable with a closure delay.
    pub max_concurrent_closures: u64,
    /// Minimum age of a created account before it can be removed (AWS: 4 days). Canopy
    /// defaults to 0 so that tests can create and remove at once.
    pub min_account_age_for_removal_ms: i64,
    /// Whether CreateOrganization with ALL features enables SERVICE_CONTROL_POLICY on the root,
    /// as the current API reference says it does.
    pub enable_scp_on_create: bool,
    /// Per-policy-type quotas: maximum content size, direct attachments per target (max/min)
    /// and policies per organization (canopy-policy's table; AWS mid-2026 figures by default).
    pub policy_limits: LimitsTable,
    /// Validate SCPs with the grammar from before September 2025 (Allow statements only with
    /// `Resource: "*"`, no NotResource, Condition only with Deny...).
    pub legacy_scp_grammar: bool,
    /// Answer accounts (DescribeAccount, the account listings, delegated administrators) with
    /// the legacy `Status` beside `State`. AWS announced `Status`'s retirement for 9 September
    /// 2026; the SDK models still define it, so it stays on by default.
    pub account_status_field: bool,
    /// Accept an SCP/RCP without `Version` as if it said `2012-10-17` (several AWS examples
    /// omit it; the documentation says it is required, so off by default).
    pub policy_lenient_version: bool,
    /// How policy content size is counted against `max_size`: Unicode characters (current
    /// AWS documentation, default) or UTF-8 bytes (older documentation).
    pub policy_size_unit: SizeUnit,
    /// Enforce that SECURITYHUB_POLICY / INSPECTOR_POLICY need their service's trusted access
    /// (EnableAWSServiceAccess) before EnablePolicyType (ConstraintViolation
    /// SERVICE_ACCESS_NOT_ENABLED), as AWS does. On by default.
    pub enforce_policy_service_access: bool,
    /// Evaluate the SCPs in force before every call a member account makes to the
    /// Organizations API (action `organizations:<Operation>`), as AWS does. On by default.
    pub enforce_scps: bool,
    /// How long an INVITE handshake stays open before it expires (AWS: 15 days).
    pub invite_expiry_ms: i64,
    /// How long an ENABLE_ALL_FEATURES handshake (and the migration it starts) stays open
    /// (AWS: 90 days).
    pub enable_all_features_expiry_ms: i64,
    /// How long a handshake stays visible after it was accepted, declined, canceled or expired
    /// (AWS: 30 days); then it is gone (HandshakeNotFoundException).
    pub handshake_retention_ms: i64,
    /// Invitations an organization may send per rolling 24 hours, or `max_accounts` if that is
    /// larger; accepted ones do not count, declined and canceled ones do (AWS: 20).
    pub max_invitations_per_day: u64,
    /// The service principals EnableAWSServiceAccess and RegisterDelegatedAdministrator
    /// recognize (others: InvalidInput UNRECOGNIZED_SERVICE_PRINCIPAL), each with how many
    /// delegated administrators it admits at once (0: the service has none). Defaults:
    /// `ops::delegation::DEFAULT_SERVICE_PRINCIPALS`.
    pub service_principals: std::collections::BTreeMap<String, u32>,
    /// Commercial management accounts that are "GovCloud-enabled" (paired with a GovCloud
    /// account), which CreateGovCloudAccount requires: `None` means every one (Canopy has no
    /// GovCloud sign-up to pair them through), `Some(list)` only those listed (empty: none).
    pub govcloud_enabled_accounts: Option<Vec<String>>,
    /// Responsibility transfer quotas and timing: how long an unanswered invitation stays
    /// open (Canopy default 15 days, as account invitations), and how many months ahead a
    /// StartTimestamp or EndTimestamp may lie (Canopy default 12).
    pub transfer_invite_expiry_ms: i64,
    pub transfer_max_months_ahead: u32,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            max_accounts: 10_000,
            max_ous: 2_000,
            max_ou_depth: 5,
            max_tags_per_resource: 50,
            account_creation_delay_ms: 0,
            max_concurrent_account_creations: 5,
            account_closure_delay_ms: 0,
            closed_account_retention_ms: 90 * DAY_MS,
            close_quota_floor: 250,
            close_quota_percent: 20,
            close_quota_cap: 1_000,
            max_concurrent_closures: 3,
            min_account_age_for_removal_ms: 0,
            enable_scp_on_create: true,
            policy_limits: LimitsTable::new(),
            legacy_scp_grammar: false,
            account_status_field: true,
            policy_lenient_version: false,
            policy_size_unit: SizeUnit::Characters,
            enforce_policy_service_access: true,
            enforce_scps: true,
            invite_expiry_ms: 15 * DAY_MS,
            enable_all_features_expiry_ms: 90 * DAY_MS,
            handshake_retention_ms: 30 * DAY_MS,
            max_invitations_per_day: 20,
            service_principals: crate::ops::delegation::default_service_principals(),
            govcloud_enabled_accounts: None,
            transfer_invite_expiry_ms: 15 * DAY_MS,
            transfer_max_months_ahead: 12,
        }
    }
}

pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;
