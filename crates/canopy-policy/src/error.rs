//! Errors returned by create/update validation.

use crate::types::{PolicyType, SizeUnit};

/// Why `CreatePolicy`/`UpdatePolicy` would reject a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// `MalformedPolicyDocumentException`: `path` is the JSON path of the offending element
    /// (`Statement[0].Effect`, `tags.costcenter.tag_key`), empty for the whole document.
    #[error("{}", path_message(.path, .problem))]
    MalformedPolicyDocument { path: String, problem: String },
    /// `ConstraintViolationException` with reason `POLICY_CONTENT_LIMIT_EXCEEDED`.
    #[error("policy content is {size} {unit}, over the {limit} {unit} limit for {policy_type}")]
    ContentLimitExceeded {
        policy_type: PolicyType,
        size: usize,
        limit: usize,
        unit: SizeUnit,
    },
}

fn path_message(path: &str, problem: &str) -> String {
    if path.is_empty() {
        problem.to_string()
    } else {
        format!("{path}: {problem}")
    }
}

impl PolicyError {
    pub(crate) fn malformed(path: impl Into<String>, problem: impl Into<String>) -> PolicyError {
        PolicyError::MalformedPolicyDocument {
            path: path.into(),
            problem: problem.into(),
        }
    }

    /// The AWS exception name (`MalformedPolicyDocumentException`, ...).
    pub fn exception_name(&self) -> &'static str {
        match self {
            PolicyError::MalformedPolicyDocument { .. } => "MalformedPolicyDocumentException",
            PolicyError::ContentLimitExceeded { .. } => "ConstraintViolationException",
        }
    }

    /// The `Reason` field of a ConstraintViolationException, if any.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            PolicyError::MalformedPolicyDocument { .. } => None,
            PolicyError::ContentLimitExceeded { .. } => Some("POLICY_CONTENT_LIMIT_EXCEEDED"),
        }
    }

    /// The JSON path of a malformed element.
    pub fn path(&self) -> Option<&str> {
        match self {
            PolicyError::MalformedPolicyDocument { path, .. } => Some(path),
            PolicyError::ContentLimitExceeded { .. } => None,
        }
    }
}
