//! Response bodies: the pieces the generated [`WriteJson`] impls are built from.
//!
//! Output structures are written straight into one buffer, in model member order, absent
//! optional members left out: the same bytes `serde_json` writes for the shapes' `Serialize`
//! derive (a test holds them equal), for less work. Through serde, escaping the strings of a
//! 20-account ListAccounts page (serde_json checks them byte by byte) was a seventh of the HTTP
//! thread's time; most strings here (ids, ARNs, names) need no escaping, which a pass over 16
//! bytes at a time finds.

use crate::Timestamp;

/// A value that writes itself as awsJson1.1 output.
pub trait WriteJson {
    fn write_json(&self, out: &mut Vec<u8>);
}

/// Serializes an operation's output structure.
pub fn write_output<T: WriteJson>(output: &T) -> Vec<u8> {
    // A full ListAccounts page is about 5 KiB: it fits without growing (three copies from 1 KiB).
    let mut out = Vec::with_capacity(8192);
    output.write_json(&mut out);
    out
}

/// The body of an operation without an output shape.
pub fn empty_output() -> Vec<u8> {
    b"{}".to_vec()
}

/// A JSON string. Strings with nothing to escape are copied as they are; the rest are written
/// by `serde_json`, so escapes are exactly its own.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Whether `s` holds a byte JSON escapes: a control character, `"` or `\`. Branch-free within
/// 16-byte chunks, which the compiler turns into vector compares: a byte-at-a-time scan was
/// most of the cost of writing a ListAccounts page.
fn needs_escape(s: &[u8]) -> bool {
    let escaped = |b: u8| (b < 0x20) | (b == b'"') | (b == b'\\');
    let mut chunks = s.chunks_exact(16);
    for chunk in &mut chunks {
        if chunk.iter().fold(false, |hit, &b| hit | escaped(b)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| escaped(b))
}

/// Writes a JSON object member by member, commas between them.
pub struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> ObjectWriter<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        ObjectWriter { out, empty: true }
    }

    /// A member; `name` is a model member name (plain ASCII, nothing to escape).
    pub fn member<T: WriteJson>(&mut self, name: &str, value: &T) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
        value.write_json(self.out);
    }

    /// An optional member: left out when absent.
    pub fn optional<T: WriteJson>(&mut self, name: &str, value: &Option<T>) {
        if let Some(value) = value {
            self.member(name, value);
        }
    }

    pub fn end(self) {
        self.out.push(b'}');
    }
}

impl WriteJson for String {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_str(out, self);
    }
}

impl WriteJson for bool {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}

impl WriteJson for i32 {
    fn write_json(&self, out: &mut Vec<u8>) {
        let _ = serde_json::to_writer(&mut *out, self);
    }
}

impl WriteJson for i64 {
    fn write_json(&self, out: &mut Vec<u8>) {
        let _ = serde_json::to_writer(&mut *out, self);
    }
}

impl WriteJson for Timestamp {
    fn write_json(&self, out: &mut Vec<u8>) {
        // Epoch seconds as a JSON number, printed as serde_json prints an f64.
        let _ = serde_json::to_writer(&mut *out, &self.as_secs_f64());
    }
}

impl<T: WriteJson> WriteJson for Vec<T> {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            item.write_json(out);
        }
        out.push(b']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn written<T: WriteJson>(value: &T) -> String {
        let mut out = Vec::new();
        value.write_json(&mut out);
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn strings_escape_as_serde_json_does() {
        for s in ["", "plain ou-ab12-34cd5678", "quote \" backslash \\ slash /", "tab\tnew\nline\r", "\u{0}\u{1f}\u{7f}", "ünï 😀"] {
            assert_eq!(written(&s.to_owned()), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn escapes_are_found_at_every_position() {
        for len in [1, 15, 16, 17, 31, 32, 33, 50] {
            for at in 0..len {
                for c in ['"', '\\', '\n', '\u{1}'] {
                    let mut s: Vec<char> = "a".repeat(len).chars().collect();
                    s[at] = c;
                    let s: String = s.into_iter().collect();
                    assert!(needs_escape(s.as_bytes()), "{s:?}");
                    assert_eq!(written(&s), serde_json::to_string(&s).unwrap());
                }
            }
            assert!(!needs_escape("a".repeat(len).as_bytes()));
        }
    }

    #[test]
    fn numbers_and_timestamps_print_as_serde_json_does() {
        for ms in [0i64, 1, 999, 1_631_121_728_678, 1_631_121_728_000, -1_500] {
            let t = Timestamp::from_millis(ms);
            assert_eq!(written(&t), serde_json::to_string(&t).unwrap());
        }
        assert_eq!(written(&i32::MIN), "-2147483648");
        assert_eq!(written(&i64::MAX), i64::MAX.to_string());
        assert_eq!(written(&vec![true, false]), "[true,false]");
        assert_eq!(written(&Vec::<String>::new()), "[]");
    }

    proptest! {
        #[test]
        fn any_string_matches_serde_json(s in "\\PC*|[\\x00-\\x7f]*") {
            prop_assert_eq!(written(&s), serde_json::to_string(&s).unwrap());
        }
    }
}
