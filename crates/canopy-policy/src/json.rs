//! An order-preserving JSON tree that rejects duplicate object keys.
//!
//! `serde_json::Value` (without the workspace-wide `preserve_order` feature) sorts object keys
//! and silently keeps the last of two duplicate keys. Policy documents need both the written
//! order (attachment-order semantics, readable error paths) and duplicate detection (§2.2), so
//! documents are parsed into [`Json`]. Parsing goes through `serde_json`, which bounds nesting
//! depth, so no input can overflow the stack.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

/// A parsed JSON value whose objects keep their keys in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parse text, rejecting duplicate keys (exact spelling) in any object.
    pub fn parse(text: &str) -> Result<Json, String> {
        serde_json::from_str::<Json>(text).map_err(|e| e.to_string())
    }

    pub fn as_object(&self) -> Option<&[(String, Json)]> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_scalar(&self) -> bool {
        !matches!(self, Json::Array(_) | Json::Object(_))
    }

    /// First value under `key` (exact match).
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.as_object()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }

    /// Convert to a `serde_json::Value` (object order is then the map's order).
    pub fn to_value(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.clone()),
            Json::Array(a) => Value::Array(a.iter().map(Json::to_value).collect()),
            Json::Object(o) => {
                let mut m = serde_json::Map::new();
                for (k, v) in o {
                    m.insert(k.clone(), v.to_value());
                }
                Value::Object(m)
            }
        }
    }

    /// Convert from a `serde_json::Value` (no duplicates are possible there).
    pub fn from_value(v: &serde_json::Value) -> Json {
        use serde_json::Value;
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(s) => Json::String(s.clone()),
            Value::Array(a) => Json::Array(a.iter().map(Json::from_value).collect()),
            Value::Object(o) => Json::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), Json::from_value(v)))
                    .collect(),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        serde_json::Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<Json>()? {
            out.push(v);
        }
        Ok(Json::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut out: Vec<(String, Json)> = Vec::new();
        // Policy objects are small: a linear scan finds duplicates without copying keys; a set
        // takes over for large objects so that no input is quadratic.
        let mut seen: Option<HashSet<String>> = None;
        while let Some(k) = map.next_key::<String>()? {
            let duplicate = if out.len() < 16 {
                out.iter().any(|(x, _)| *x == k)
            } else {
                let set = seen.get_or_insert_with(|| out.iter().map(|(x, _)| x.clone()).collect());
                !set.insert(k.clone())
            };
            if duplicate {
                return Err(de::Error::custom(format!("duplicate key \"{k}\"")));
            }
            let v = map.next_value::<Json>()?;
            out.push((k, v));
        }
        Ok(Json::Object(out))
    }
}

/// A JSON value that borrows its strings from the parsed text when they hold no escapes.
/// The effective-policy merge parses every attached document on every read; borrowing saves
/// one allocation per key and string. Same rules as [`Json`]: document order, duplicate keys
/// rejected.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JsonRef<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Cow<'a, str>),
    Array(Vec<JsonRef<'a>>),
    Object(Vec<(Cow<'a, str>, JsonRef<'a>)>),
}

impl<'a> JsonRef<'a> {
    pub(crate) fn parse(text: &'a str) -> Result<JsonRef<'a>, String> {
        serde_json::from_str::<JsonRef<'a>>(text).map_err(|e| e.to_string())
    }

    pub(crate) fn as_object(&self) -> Option<&[(Cow<'a, str>, JsonRef<'a>)]> {
        match self {
            JsonRef::Object(o) => Some(o),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            JsonRef::String(s) => Some(s),
            _ => None,
        }
    }

    /// First value under `key` (exact match).
    pub(crate) fn get(&self, key: &str) -> Option<&JsonRef<'a>> {
        self.as_object()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            JsonRef::Null => "null",
            JsonRef::Bool(_) => "a boolean",
            JsonRef::Number(_) => "a number",
            JsonRef::String(_) => "a string",
            JsonRef::Array(_) => "an array",
            JsonRef::Object(_) => "an object",
        }
    }

    pub(crate) fn to_value(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            JsonRef::Null => Value::Null,
            JsonRef::Bool(b) => Value::Bool(*b),
            JsonRef::Number(n) => Value::Number(n.clone()),
            JsonRef::String(s) => Value::String(s.to_string()),
            JsonRef::Array(a) => Value::Array(a.iter().map(JsonRef::to_value).collect()),
            JsonRef::Object(o) => {
                let mut m = serde_json::Map::new();
                for (k, v) in o {
                    m.insert(k.to_string(), v.to_value());
                }
                Value::Object(m)
            }
        }
    }
}

impl<'de> Deserialize<'de> for JsonRef<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<JsonRef<'de>, D::Error> {
        deserializer.deserialize_any(JsonRefVisitor)
    }
}

/// Reads a string, borrowed from the input when possible.
struct StrSeed;

impl<'de> de::DeserializeSeed<'de> for StrSeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Cow<'de, str>, D::Error> {
        deserializer.deserialize_str(StrSeed)
    }
}

impl<'de> Visitor<'de> for StrSeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

struct JsonRefVisitor;

impl<'de> Visitor<'de> for JsonRefVisitor {
    type Value = JsonRef<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<JsonRef<'de>, E> {
        Ok(JsonRef::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<JsonRef<'de>, E> {
        Ok(JsonRef::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<JsonRef<'de>, E> {
        Ok(JsonRef::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<JsonRef<'de>, E> {
        serde_json::Number::from_f64(v)
            .map(JsonRef::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<JsonRef<'de>, E> {
        Ok(JsonRef::String(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<JsonRef<'de>, E> {
        Ok(JsonRef::String(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<JsonRef<'de>, E> {
        Ok(JsonRef::String(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<JsonRef<'de>, E> {
        Ok(JsonRef::Null)
    }
    fn visit_none<E>(self) -> Result<JsonRef<'de>, E> {
        Ok(JsonRef::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonRef<'de>, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<JsonRef<'de>>()? {
            out.push(v);
        }
        Ok(JsonRef::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonRef<'de>, A::Error> {
        let mut out: Vec<(Cow<'de, str>, JsonRef<'de>)> = Vec::new();
        let mut seen: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(k) = map.next_key_seed(StrSeed)? {
            let duplicate = if out.len() < 16 {
                out.iter().any(|(x, _)| *x == k)
            } else {
                let set = seen.get_or_insert_with(|| out.iter().map(|(x, _)| x.clone()).collect());
                !set.insert(k.clone())
            };
            if duplicate {
                return Err(de::Error::custom(format!("duplicate key \"{k}\"")));
            }
            let v = map.next_value::<JsonRef<'de>>()?;
            out.push((k, v));
        }
        Ok(JsonRef::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_rejects_duplicates() {
        let j = Json::parse(r#"{"b":1,"a":[true,null,"x"]}"#).unwrap();
        let keys: Vec<_> = j
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(keys, ["b", "a"]);
        let e = Json::parse(r#"{"a":1,"x":{"k":1,"k":2}}"#).unwrap_err();
        assert!(e.contains("duplicate key \"k\""), "{e}");
    }

    #[test]
    fn duplicates_in_large_objects_are_found() {
        for (first, second) in [(0, 5), (3, 20), (17, 30)] {
            let keys: Vec<String> = (0..40)
                .map(|i| format!("\"k{}\":{i}", if i == second { first } else { i }))
                .collect();
            let text = format!("{{{}}}", keys.join(","));
            let e = Json::parse(&text).unwrap_err();
            assert!(e.contains(&format!("duplicate key \"k{first}\"")), "{e}");
        }
        let keys: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        assert!(Json::parse(&format!("{{{}}}", keys.join(","))).is_ok());
    }

    #[test]
    fn borrowed_parse_agrees_with_the_owned_one() {
        let text = r#"{"b":1,"a":[true,null,"x\u00e9y",-2.5],"c":{"k\n":"v"}}"#;
        let r = JsonRef::parse(text).unwrap();
        assert_eq!(r.to_value(), Json::parse(text).unwrap().to_value());
        assert!(matches!(r.get("b"), Some(JsonRef::Number(_))));
        assert!(
            matches!(&r.get("c").unwrap().as_object().unwrap()[0].0, Cow::Owned(k) if k == "k\n")
        );
        let e = JsonRef::parse(r#"{"a":1,"x":{"k":1,"k":2}}"#).unwrap_err();
        assert!(e.contains("duplicate key \"k\""), "{e}");
        let keys: Vec<String> = (0..40)
            .map(|i| format!("\"k{}\":{i}", if i == 30 { 3 } else { i }))
            .collect();
        assert!(JsonRef::parse(&format!("{{{}}}", keys.join(",")))
            .unwrap_err()
            .contains("duplicate key \"k3\""));
        assert!(JsonRef::parse(&"[".repeat(100_000)).is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let s = "[".repeat(100_000);
        assert!(Json::parse(&s).is_err());
    }
}
