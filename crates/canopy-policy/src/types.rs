//! The policy type catalogue (spec §1) and per-type limits.

use std::collections::BTreeMap;
use std::fmt;

/// The fifteen values of the Organizations `PolicyType` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyType {
    ServiceControlPolicy,
    ResourceControlPolicy,
    TagPolicy,
    BackupPolicy,
    AiservicesOptOutPolicy,
    ChatbotPolicy,
    DeclarativePolicyEc2,
    SecurityhubPolicy,
    SecurityhubCspmPolicy,
    InspectorPolicy,
    UpgradeRolloutPolicy,
    BedrockPolicy,
    S3Policy,
    NetworkSecurityDirectorPolicy,
    GuarddutyPolicy,
}

/// Authorization policies filter requests (SCP, RCP); management policies merge into an
/// effective document per account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyFamily {
    Authorization,
    Management,
}

impl PolicyType {
    /// Every type, in the order of the service model's enum.
    pub const ALL: [PolicyType; 15] = [
        PolicyType::ServiceControlPolicy,
        PolicyType::ResourceControlPolicy,
        PolicyType::TagPolicy,
        PolicyType::BackupPolicy,
        PolicyType::AiservicesOptOutPolicy,
        PolicyType::ChatbotPolicy,
        PolicyType::DeclarativePolicyEc2,
        PolicyType::SecurityhubPolicy,
        PolicyType::SecurityhubCspmPolicy,
        PolicyType::InspectorPolicy,
        PolicyType::UpgradeRolloutPolicy,
        PolicyType::BedrockPolicy,
        PolicyType::S3Policy,
        PolicyType::NetworkSecurityDirectorPolicy,
        PolicyType::GuarddutyPolicy,
    ];

    /// The wire name (`SERVICE_CONTROL_POLICY`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::ServiceControlPolicy => "SERVICE_CONTROL_POLICY",
            PolicyType::ResourceControlPolicy => "RESOURCE_CONTROL_POLICY",
            PolicyType::TagPolicy => "TAG_POLICY",
            PolicyType::BackupPolicy => "BACKUP_POLICY",
            PolicyType::AiservicesOptOutPolicy => "AISERVICES_OPT_OUT_POLICY",
            PolicyType::ChatbotPolicy => "CHATBOT_POLICY",
            PolicyType::DeclarativePolicyEc2 => "DECLARATIVE_POLICY_EC2",
            PolicyType::SecurityhubPolicy => "SECURITYHUB_POLICY",
            PolicyType::SecurityhubCspmPolicy => "SECURITYHUB_CSPM_POLICY",
            PolicyType::InspectorPolicy => "INSPECTOR_POLICY",
            PolicyType::UpgradeRolloutPolicy => "UPGRADE_ROLLOUT_POLICY",
            PolicyType::BedrockPolicy => "BEDROCK_POLICY",
            PolicyType::S3Policy => "S3_POLICY",
            PolicyType::NetworkSecurityDirectorPolicy => "NETWORK_SECURITY_DIRECTOR_POLICY",
            PolicyType::GuarddutyPolicy => "GUARDDUTY_POLICY",
        }
    }

    /// Parse a wire name (exact, upper case as on the wire).
    pub fn from_wire(s: &str) -> Option<PolicyType> {
        PolicyType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The lower-case form used in policy ARNs (`service_control_policy`).
    pub fn arn_segment(self) -> String {
        self.as_str().to_ascii_lowercase()
    }

    pub fn family(self) -> PolicyFamily {
        match self {
            PolicyType::ServiceControlPolicy | PolicyType::ResourceControlPolicy => {
                PolicyFamily::Authorization
            }
            _ => PolicyFamily::Management,
        }
    }

    pub fn is_authorization(self) -> bool {
        self.family() == PolicyFamily::Authorization
    }

    pub fn is_management(self) -> bool {
        self.family() == PolicyFamily::Management
    }

    /// The single top-level key of a management policy document (§4.7); `None` for SCP/RCP.
    ///
    /// SECURITYHUB_CSPM_POLICY and GUARDDUTY_POLICY are not in the spec's table: their keys
    /// (`securityhub_cspm`, `guardduty`) are emulator decisions.
    pub fn root_key(self) -> Option<&'static str> {
        Some(match self {
            PolicyType::ServiceControlPolicy | PolicyType::ResourceControlPolicy => return None,
            PolicyType::TagPolicy => "tags",
            PolicyType::BackupPolicy => "plans",
            PolicyType::AiservicesOptOutPolicy => "services",
            PolicyType::ChatbotPolicy => "chatbot",
            PolicyType::DeclarativePolicyEc2 => "ec2_attributes",
            PolicyType::SecurityhubPolicy => "securityhub",
            PolicyType::SecurityhubCspmPolicy => "securityhub_cspm",
            PolicyType::InspectorPolicy => "inspector",
            PolicyType::UpgradeRolloutPolicy => "upgrade_rollout",
            PolicyType::BedrockPolicy => "bedrock",
            PolicyType::S3Policy => "s3_attributes",
            PolicyType::NetworkSecurityDirectorPolicy => "network_security_director",
            PolicyType::GuarddutyPolicy => "guardduty",
        })
    }

    /// The AWS managed policy attached everywhere when the type is enabled, if any.
    pub fn default_managed_policy_id(self) -> Option<&'static str> {
        match self {
            PolicyType::ServiceControlPolicy => Some("p-FullAWSAccess"),
            PolicyType::ResourceControlPolicy => Some("p-RCPFullAWSAccess"),
            _ => None,
        }
    }

    /// The service whose trusted access must be enabled before the type can be enabled.
    pub fn required_service_access(self) -> Option<&'static str> {
        match self {
            PolicyType::SecurityhubPolicy => Some("securityhub.amazonaws.com"),
            PolicyType::InspectorPolicy => Some("inspector2.amazonaws.com"),
            _ => None,
        }
    }

    /// Default limits as of mid-2026 (spec §1; [L] rows use 10,000 / 10 / 1,000).
    pub fn default_limits(self) -> Limits {
        let mgmt = |max_size, attach| Limits {
            max_size,
            max_attachments_per_target: attach,
            min_attachments_per_target: 0,
            max_policies_per_org: 1_000,
        };
        match self {
            PolicyType::ServiceControlPolicy => Limits {
                max_size: 10_240,
                max_attachments_per_target: 10,
                min_attachments_per_target: 1,
                max_policies_per_org: 10_000,
            },
            PolicyType::ResourceControlPolicy => Limits {
                max_size: 5_120,
                max_attachments_per_target: 5,
                min_attachments_per_target: 1,
                max_policies_per_org: 2_000,
            },
            PolicyType::ChatbotPolicy => mgmt(10_000, 5),
            PolicyType::AiservicesOptOutPolicy => mgmt(2_500, 5),
            _ => mgmt(10_000, 10),
        }
    }
}

impl fmt::Display for PolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Per-type quotas. Attachment limits count direct attachments only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum size of the `Content` string (see [`SizeUnit`]).
    pub max_size: usize,
    pub max_attachments_per_target: usize,
    pub min_attachments_per_target: usize,
    pub max_policies_per_org: usize,
}

impl Limits {
    /// SCP limits before 15 May 2026 (5,120 characters, 5 per target).
    pub fn scp_before_may_2026() -> Limits {
        Limits {
            max_size: 5_120,
            max_attachments_per_target: 5,
            ..PolicyType::ServiceControlPolicy.default_limits()
        }
    }
}

/// The configuration table of limits: defaults plus caller overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitsTable {
    overrides: BTreeMap<PolicyType, Limits>,
}

impl LimitsTable {
    pub fn new() -> LimitsTable {
        LimitsTable::default()
    }

    /// The limits in force for a type.
    pub fn get(&self, t: PolicyType) -> Limits {
        self.overrides
            .get(&t)
            .copied()
            .unwrap_or_else(|| t.default_limits())
    }

    /// Override the limits of one type.
    pub fn set(&mut self, t: PolicyType, limits: Limits) -> &mut Self {
        self.overrides.insert(t, limits);
        self
    }

    /// Builder form of [`LimitsTable::set`].
    pub fn with(mut self, t: PolicyType, limits: Limits) -> Self {
        self.set(t, limits);
        self
    }
}

/// How policy size is counted (§2.2, ambiguity 9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SizeUnit {
    /// Unicode scalar values (default).
    #[default]
    Characters,
    /// UTF-8 bytes.
    Bytes,
}

impl SizeUnit {
    pub fn measure(self, s: &str) -> usize {
        match self {
            SizeUnit::Characters => s.chars().count(),
            SizeUnit::Bytes => s.len(),
        }
    }
}

impl fmt::Display for SizeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SizeUnit::Characters => "characters",
            SizeUnit::Bytes => "bytes",
        })
    }
}

/// Options for [`crate::validate`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationOptions {
    /// Restore the SCP grammar from before 19 September 2025 (NotAction, Condition only with
    /// Deny; Allow Resource only `"*"`; no NotResource; wildcards only at the end of actions).
    pub legacy_scp_grammar: bool,
    /// Treat a missing SCP/RCP `Version` as `2012-10-17` instead of rejecting it.
    pub lenient_version: bool,
    /// The document is an AWS managed policy (RCPFullAWSAccess may Allow with Action `"*"`).
    pub aws_managed: bool,
    pub size_unit: SizeUnit,
    pub limits: LimitsTable,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for t in PolicyType::ALL {
            assert_eq!(PolicyType::from_wire(t.as_str()), Some(t));
            assert_eq!(t.root_key().is_none(), t.is_authorization());
        }
        assert_eq!(PolicyType::from_wire("tag_policy"), None);
        assert_eq!(
            PolicyType::ALL.iter().filter(|t| t.is_management()).count(),
            13
        );
    }

    #[test]
    fn limits_override() {
        let t = LimitsTable::new().with(
            PolicyType::ServiceControlPolicy,
            Limits::scp_before_may_2026(),
        );
        assert_eq!(t.get(PolicyType::ServiceControlPolicy).max_size, 5_120);
        assert_eq!(t.get(PolicyType::ResourceControlPolicy).max_size, 5_120);
        assert_eq!(t.get(PolicyType::AiservicesOptOutPolicy).max_size, 2_500);
        assert_eq!(
            t.get(PolicyType::ChatbotPolicy).max_attachments_per_target,
            5
        );
    }
}
