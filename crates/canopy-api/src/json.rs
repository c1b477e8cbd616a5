//! Request parsing: the pieces the generated `FromJson` impls are built from.
//!
//! Validation follows the AWS (Coral) wording — `1 validation error detected: Value '21' at
//! 'MaxResults' failed to satisfy constraint: Member must have value less than or equal to 20` —
//! and stops at the first error. A JSON value of the wrong type is a `SerializationException`;
//! a well-typed value that breaks a model constraint is an `InvalidInputException` with the
//! matching `Reason`.

use std::fmt;

use regex::Regex;
use serde_json::{Map, Value};

use crate::{ApiError, ErrorCode, InvalidInputExceptionReason, Timestamp};

/// Parses a model structure from its JSON form, enforcing every model constraint.
pub trait FromJson: Sized {
    fn from_json(value: &Value, path: &mut FieldPath) -> Result<Self, ValidationError>;
}

/// A model string enum (generated), as needed by the generic enum parser.
pub trait WireEnum: Sized + Copy + 'static {
    fn from_wire(s: &str) -> Option<Self>;
    /// Every wire value, in model order (for the error message).
    fn wire_values() -> &'static [&'static str];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationErrorKind {
    /// The JSON had the wrong shape (→ `SerializationException`).
    Serialization,
    /// A model constraint failed (→ `InvalidInputException` with this reason).
    InvalidInput(InvalidInputExceptionReason),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    pub kind: ValidationErrorKind,
    pub message: String,
}

impl ValidationError {
    pub fn serialization(message: impl Into<String>) -> Self {
        ValidationError {
            kind: ValidationErrorKind::Serialization,
            message: message.into(),
        }
    }

    /// A constraint failure in AWS's wording. `value` is already rendered (`'x'` or `null`).
    pub fn constraint(
        reason: InvalidInputExceptionReason,
        value: &str,
        path: &FieldPath,
        constraint: &str,
    ) -> Self {
        ValidationError {
            kind: ValidationErrorKind::InvalidInput(reason),
            message: format!(
                "1 validation error detected: Value {value} at '{path}' failed to satisfy constraint: {constraint}"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Member(&'static str),
    Index(usize),
}

/// Where in the request a value sits, for messages: `Tags[2].Key`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath {
    segments: Vec<Segment>,
}

impl FieldPath {
    pub fn new() -> Self {
        FieldPath::default()
    }

    pub fn push_member(&mut self, name: &'static str) {
        self.segments.push(Segment::Member(name));
    }

    pub fn push_index(&mut self, index: usize) {
        self.segments.push(Segment::Index(index));
    }

    pub fn pop(&mut self) {
        self.segments.pop();
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// `at 'Tags[2].Key'`, or `at the top level of the request` for the body itself.
    fn location(&self) -> String {
        if self.is_empty() {
            "at the top level of the request".to_owned()
        } else {
            format!("at '{self}'")
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Member(name) if i == 0 => f.write_str(name)?,
                Segment::Member(name) => write!(f, ".{name}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// Longest value echoed in a message, in characters.
const MAX_ECHO_CHARS: usize = 60;

/// A value as echoed in messages: quoted, truncated, and `***` for sensitive shapes.
fn echo(s: &str, sensitive: bool) -> String {
    if sensitive {
        return "'***'".to_owned();
    }
    let mut chars = s.chars();
    let head: String = chars.by_ref().take(MAX_ECHO_CHARS).collect();
    if chars.next().is_some() {
        format!("'{head}...'")
    } else {
        format!("'{head}'")
    }
}

/// Names a JSON value's kind the way awsJson deserializers do.
fn found(value: &Value) -> String {
    match value {
        Value::Null => "Null value".to_owned(),
        Value::Bool(b) => format!("Boolean value {b}"),
        Value::Number(n) => format!("Number value {n}"),
        Value::String(_) => "String value".to_owned(),
        Value::Array(_) => "Start of list".to_owned(),
        Value::Object(_) => "Start of structure".to_owned(),
    }
}

fn wrong_type(value: &Value, expected: &str, path: &FieldPath) -> ValidationError {
    ValidationError::serialization(format!(
        "{} found where {expected} was expected {}",
        found(value),
        path.location()
    ))
}

/// The request body as a JSON object: an empty (or all-whitespace) body counts as `{}`.
pub fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        ApiError::new(
            ErrorCode::SerializationException,
            format!(
                "The request body is not valid UTF-8 (invalid byte at offset {}).",
                e.valid_up_to()
            ),
        )
    })?;
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        ApiError::new(
            ErrorCode::SerializationException,
            format!("The request body is not valid JSON: {e}."),
        )
    })?;
    if !value.is_object() {
        return Err(wrong_type(&value, "a structure", &FieldPath::new()).into());
    }
    Ok(value)
}

/// Parses an operation's input structure from the whole body.
pub fn parse_input<T: FromJson>(value: &Value) -> Result<T, ApiError> {
    T::from_json(value, &mut FieldPath::new()).map_err(ApiError::from)
}

pub fn expect_object<'a>(
    value: &'a Value,
    path: &FieldPath,
) -> Result<&'a Map<String, Value>, ValidationError> {
    value
        .as_object()
        .ok_or_else(|| wrong_type(value, "a structure", path))
}

/// A required member: absent or `null` is `INPUT_REQUIRED`.
pub fn required<T>(
    obj: &Map<String, Value>,
    name: &'static str,
    path: &mut FieldPath,
    parse: impl FnOnce(&Value, &mut FieldPath) -> Result<T, ValidationError>,
) -> Result<T, ValidationError> {
    path.push_member(name);
    let result = match obj.get(name) {
        None | Some(Value::Null) => Err(ValidationError::constraint(
            InvalidInputExceptionReason::InputRequired,
            "null",
            path,
            "Member must not be null",
        )),
        Some(value) => parse(value, path),
    };
    path.pop();
    result
}

/// An optional member: awsJson treats `null` like an absent member.
pub fn optional<T>(
    obj: &Map<String, Value>,
    name: &'static str,
    path: &mut FieldPath,
    parse: impl FnOnce(&Value, &mut FieldPath) -> Result<T, ValidationError>,
) -> Result<Option<T>, ValidationError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => {
            path.push_member(name);
            let result = parse(value, path);
            path.pop();
            result.map(Some)
        }
    }
}

/// A string member. U+0000 is refused in every one: PostgreSQL's TEXT cannot hold it (the
/// store answered 500), no member of the API has a use for it, and both stores must answer alike.
pub fn string<'a>(value: &'a Value, path: &FieldPath) -> Result<&'a str, ValidationError> {
    let s = value.as_str().ok_or_else(|| wrong_type(value, "a string", path))?;
    if s.contains('\0') {
        return Err(ValidationError::constraint(
            InvalidInputExceptionReason::InvalidPattern,
            "containing U+0000",
            path,
            "Member must not contain the NUL character (U+0000)",
        ));
    }
    Ok(s)
}

/// The model's `min`/`max` on a string, counted in characters (Unicode scalar values).
pub fn check_length(
    s: &str,
    min: Option<usize>,
    max: Option<usize>,
    path: &FieldPath,
    sensitive: bool,
) -> Result<(), ValidationError> {
    let len = s.chars().count();
    if let Some(min) = min.filter(|&min| len < min) {
        return Err(ValidationError::constraint(
            InvalidInputExceptionReason::MinLengthExceeded,
            &echo(s, sensitive),
            path,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if let Some(max) = max.filter(|&max| len > max) {
        return Err(ValidationError::constraint(
            InvalidInputExceptionReason::MaxLengthExceeded,
            &echo(s, sensitive),
            path,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// The model's `pattern`, with `regex` already compiled for full-match semantics.
pub fn check_pattern(
    s: &str,
    regex: &Regex,
    model_pattern: &str,
    reason: InvalidInputExceptionReason,
    path: &FieldPath,
    sensitive: bool,
) -> Result<(), ValidationError> {
    if regex.is_match(s) {
        return Ok(());
    }
    Err(ValidationError::constraint(
        reason,
        &echo(s, sensitive),
        path,
        &format!("Member must satisfy regular expression pattern: {model_pattern}"),
    ))
}

/// A model string enum; `reason` is `INVALID_ENUM` or, for policy types, `INVALID_ENUM_POLICY_TYPE`.
pub fn enum_value<E: WireEnum>(
    value: &Value,
    path: &FieldPath,
    reason: InvalidInputExceptionReason,
) -> Result<E, ValidationError> {
    let s = string(value, path)?;
    E::from_wire(s).ok_or_else(|| {
        ValidationError::constraint(
            reason,
            &echo(s, false),
            path,
            &format!(
                "Member must satisfy enum value set: [{}]",
                E::wire_values().join(", ")
            ),
        )
    })
}

/// A model integer: a JSON integer (no fraction) within the model's `min`/`max` and `i32`.
pub fn integer(
    value: &Value,
    path: &FieldPath,
    min: Option<i64>,
    max: Option<i64>,
) -> Result<i32, ValidationError> {
    let n = match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => n,
        // `-0` is an integer in JSON's grammar, but serde_json reads it as the float -0.0 (a
        // literal `-0.0` is taken too; the two can't be told apart once read).
        Value::Number(n) if n.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative()) => &serde_json::Number::from(0),
        _ => return Err(wrong_type(value, "an integer", path)),
    };
    // i128 holds every i64 and u64, so the comparison is exact.
    let wide = n
        .as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
        .unwrap_or(0);
    if let Some(min) = min.filter(|&min| wide < i128::from(min)) {
        return Err(ValidationError::constraint(
            InvalidInputExceptionReason::MinValueExceeded,
            &format!("'{n}'"),
            path,
            &format!("Member must have value greater than or equal to {min}"),
        ));
    }
    if let Some(max) = max.filter(|&max| wide > i128::from(max)) {
        return Err(ValidationError::constraint(
            InvalidInputExceptionReason::MaxValueExceeded,
            &format!("'{n}'"),
            path,
            &format!("Member must have value less than or equal to {max}"),
        ));
    }
    i32::try_from(wide).map_err(|_| wrong_type(value, "a 32-bit integer", path))
}

pub fn boolean(value: &Value, path: &FieldPath) -> Result<bool, ValidationError> {
    value
        .as_bool()
        .ok_or_else(|| wrong_type(value, "a boolean", path))
}

/// awsJson timestamps: a JSON number of epoch seconds, possibly fractional.
pub fn timestamp(value: &Value, path: &FieldPath) -> Result<Timestamp, ValidationError> {
    value
        .as_f64()
        .filter(|_| value.is_number())
        .map(Timestamp::from_secs_f64)
        .ok_or_else(|| wrong_type(value, "a timestamp (epoch seconds)", path))
}

/// A model list: each member parsed in turn (path `Name[i]`), then the list's `min`/`max`.
pub fn list<T>(
    value: &Value,
    path: &mut FieldPath,
    min: Option<usize>,
    max: Option<usize>,
    mut parse: impl FnMut(&Value, &mut FieldPath) -> Result<T, ValidationError>,
) -> Result<Vec<T>, ValidationError> {
    let items = value
        .as_array()
        .ok_or_else(|| wrong_type(value, "a list", path))?;
    let echo_list = || format!("'[{} items]'", items.len());
    if let Some(min) = min.filter(|&min| items.len() < min) {
        return Err(ValidationError::constraint(
            InvalidInputExceptionReason::MinLengthExceeded,
            &echo_list(),
            path,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if let Some(max) = max.filter(|&max| items.len() > max) {
        return Err(ValidationError::constraint(
            InvalidInputExceptionReason::MaxLengthExceeded,
            &echo_list(),
            path,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        path.push_index(i);
        // Lists are not sparse in this model: a null member is a missing value.
        let result = if item.is_null() {
            Err(ValidationError::constraint(
                InvalidInputExceptionReason::InputRequired,
                "null",
                path,
                "Member must not be null",
            ))
        } else {
            parse(item, path)
        };
        path.pop();
        out.push(result?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_members() {
        let mut p = FieldPath::new();
        p.push_member("Tags");
        p.push_index(2);
        p.push_member("Key");
        assert_eq!(p.to_string(), "Tags[2].Key");
        p.pop();
        p.pop();
        assert_eq!(p.to_string(), "Tags");
    }

    #[test]
    fn echo_truncates_and_hides() {
        assert_eq!(echo("abc", false), "'abc'");
        assert_eq!(echo("secret", true), "'***'");
        let long = "é".repeat(61);
        assert_eq!(echo(&long, false), format!("'{}...'", "é".repeat(60)));
    }

    #[test]
    fn body_edge_cases() {
        assert_eq!(parse_body(b"").unwrap(), serde_json::json!({}));
        assert_eq!(parse_body(b" \n\t ").unwrap(), serde_json::json!({}));
        let e = parse_body(&[b'{', 0xff, b'}']).unwrap_err();
        assert_eq!(e.code, ErrorCode::SerializationException);
        assert!(e.message.contains("UTF-8"), "{}", e.message);
        let e = parse_body(b"{\"a\":").unwrap_err();
        assert_eq!(e.code, ErrorCode::SerializationException);
        let e = parse_body(b"[1]").unwrap_err();
        assert_eq!(e.code, ErrorCode::SerializationException);
        assert!(e.message.contains("Start of list"), "{}", e.message);
        assert_eq!(e.reason, None);
    }

    #[test]
    fn nul_characters_are_refused_with_the_member_named() {
        let mut path = FieldPath::new();
        path.push_member("Tags");
        path.push_index(0);
        path.push_member("Value");
        let e = string(&Value::String("a\u{0}b".into()), &path).unwrap_err();
        assert_eq!(e.kind, ValidationErrorKind::InvalidInput(InvalidInputExceptionReason::InvalidPattern));
        assert!(e.message.contains("at 'Tags[0].Value'") && e.message.contains("U+0000"), "{}", e.message);
        assert_eq!(string(&Value::String("a\u{1}b ü".into()), &path).unwrap(), "a\u{1}b ü");
    }

    #[test]
    fn integers() {
        let p = FieldPath::new();
        assert_eq!(
            integer(&serde_json::json!(5), &p, Some(1), Some(20)).unwrap(),
            5
        );
        assert!(integer(&serde_json::json!(5.5), &p, None, None).is_err());
        assert!(integer(&serde_json::json!(5.0), &p, None, None).is_err());
        assert!(integer(&serde_json::json!(0.0), &p, None, None).is_err());
        // `-0` is the integer 0 (serde_json reads it as -0.0).
        let minus_zero: Value = serde_json::from_str("-0").unwrap();
        assert_eq!(integer(&minus_zero, &p, None, None).unwrap(), 0);
        let e = integer(&minus_zero, &p, Some(1), Some(20)).unwrap_err();
        assert_eq!(e.kind, ValidationErrorKind::InvalidInput(InvalidInputExceptionReason::MinValueExceeded));
        assert!(e.message.contains("Value '0'"), "{}", e.message);
        let e = integer(&serde_json::json!(u64::MAX), &p, Some(1), Some(20)).unwrap_err();
        assert_eq!(
            e.kind,
            ValidationErrorKind::InvalidInput(InvalidInputExceptionReason::MaxValueExceeded)
        );
        let e = integer(&serde_json::json!(i64::MIN), &p, None, None).unwrap_err();
        assert_eq!(e.kind, ValidationErrorKind::Serialization);
    }

    #[test]
    fn timestamps() {
        let p = FieldPath::new();
        assert_eq!(
            timestamp(&serde_json::json!(1.5), &p).unwrap().millis(),
            1500
        );
        assert_eq!(timestamp(&serde_json::json!(2), &p).unwrap().millis(), 2000);
        assert!(timestamp(&serde_json::json!("2020-01-01"), &p).is_err());
    }
}
