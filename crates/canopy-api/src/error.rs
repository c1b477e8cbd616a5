//! The error every operation answers with, and its awsJson1.1 body.

use crate::{
    ConstraintViolationExceptionReason, ErrorCode, HandshakeConstraintViolationExceptionReason,
    InvalidInputExceptionReason, Operation, ValidationError, ValidationErrorKind,
};

/// An AWS error answer: `__type` (the code), `Message`, and `Reason` on the exceptions that model
/// one. The HTTP status follows from the code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// The wire value of the exception's `Reason` enum, when it has one.
    pub reason: Option<&'static str>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            reason: None,
        }
    }

    pub fn invalid_input(reason: InvalidInputExceptionReason, message: impl Into<String>) -> Self {
        ApiError {
            code: ErrorCode::InvalidInputException,
            message: message.into(),
            reason: Some(reason.as_str()),
        }
    }

    pub fn constraint(
        reason: ConstraintViolationExceptionReason,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            code: ErrorCode::ConstraintViolationException,
            message: message.into(),
            reason: Some(reason.as_str()),
        }
    }

    pub fn handshake_constraint(
        reason: HandshakeConstraintViolationExceptionReason,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            code: ErrorCode::HandshakeConstraintViolationException,
            message: message.into(),
            reason: Some(reason.as_str()),
        }
    }

    /// The default answer of every trait method Canopy has not implemented yet.
    pub fn not_implemented(op: Operation) -> Self {
        ApiError::new(
            ErrorCode::UnsupportedAPIEndpointException,
            format!("Canopy does not implement {} yet.", op.name()),
        )
    }

    /// An opaque internal error: details belong in the log, never in the answer.
    pub fn internal() -> Self {
        ApiError::new(ErrorCode::ServiceException, "An internal error occurred.")
    }

    pub fn not_in_use() -> Self {
        ApiError::new(
            ErrorCode::AWSOrganizationsNotInUseException,
            "Your account is not a member of an organization.",
        )
    }

    pub fn access_denied() -> Self {
        ApiError::new(
            ErrorCode::AccessDeniedException,
            "You don't have permissions to access this resource.",
        )
    }

    pub fn http_status(&self) -> u16 {
        self.code.http_status()
    }

    /// The awsJson1.1 error body: `{"__type":"<Code>","Message":"...","Reason":"..."}`.
    pub fn to_json_body(&self) -> Vec<u8> {
        let mut body = serde_json::Map::new();
        body.insert("__type".into(), self.code.as_str().into());
        body.insert("Message".into(), self.message.clone().into());
        if let Some(reason) = self.reason {
            body.insert("Reason".into(), reason.into());
        }
        // Serializing a map of strings cannot fail.
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        match e.kind {
            ValidationErrorKind::Serialization => {
                ApiError::new(ErrorCode::SerializationException, e.message)
            }
            ValidationErrorKind::InvalidInput(reason) => ApiError::invalid_input(reason, e.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_type_message_and_reason() {
        let e = ApiError::constraint(
            ConstraintViolationExceptionReason::OuDepthLimitExceeded,
            "too deep",
        );
        let v: serde_json::Value = serde_json::from_slice(&e.to_json_body()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"__type":"ConstraintViolationException","Message":"too deep","Reason":"OU_DEPTH_LIMIT_EXCEEDED"})
        );
        assert_eq!(e.http_status(), 400);
    }

    #[test]
    fn body_omits_absent_reason() {
        let v: serde_json::Value =
            serde_json::from_slice(&ApiError::not_in_use().to_json_body()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"__type":"AWSOrganizationsNotInUseException","Message":"Your account is not a member of an organization."})
        );
    }

    #[test]
    fn statuses() {
        assert_eq!(ApiError::internal().http_status(), 500);
        assert_eq!(
            ApiError::new(ErrorCode::InternalFailure, "x").http_status(),
            500
        );
        assert_eq!(
            ApiError::new(ErrorCode::RequestEntityTooLargeException, "x").http_status(),
            413
        );
        assert_eq!(
            ApiError::new(ErrorCode::TooManyRequestsException, "x").http_status(),
            400
        );
        assert_eq!(ApiError::access_denied().http_status(), 400);
        assert_eq!(
            ApiError::not_implemented(Operation::ListRoots).code,
            ErrorCode::UnsupportedAPIEndpointException
        );
        assert_eq!(
            ApiError::not_implemented(Operation::ListRoots).message,
            "Canopy does not implement ListRoots yet."
        );
    }

    #[test]
    fn display_names_code() {
        assert_eq!(
            ApiError::access_denied().to_string(),
            "AccessDeniedException: You don't have permissions to access this resource."
        );
    }
}
