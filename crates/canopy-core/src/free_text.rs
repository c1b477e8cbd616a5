//! AWS Organizations rejects free-text values (names, descriptions, notes) that look like
//! cross-site scripting payloads, with `InvalidInputException` / `INVALID_PATTERN`, beyond the
//! model's own patterns (the model's documentation of INVALID_PATTERN says so; api-facts §4.3).
//! AWS does not publish its list; Canopy refuses the two shapes such a payload needs: an HTML
//! tag (`<` then a letter, `/`, `!` or `?`) and a script URL (`javascript:`, `vbscript:`).
//! Plain text with `<`, `>` or `&` in it (`a < b`, `R&D`) stays valid.

use canopy_api::{ApiError, InvalidInputExceptionReason};

/// Checks each present `(member name, value)`; the first that looks like markup is the error.
pub fn check(fields: &[(&'static str, Option<&str>)]) -> Result<(), ApiError> {
    match fields.iter().find(|(_, value)| value.is_some_and(looks_like_script)) {
        None => Ok(()),
        Some((name, _)) => Err(ApiError::invalid_input(
            InvalidInputExceptionReason::InvalidPattern,
            format!("Invalid value for {name}: it looks like HTML markup or a script, which this field can't contain."),
        )),
    }
}

fn looks_like_script(value: &str) -> bool {
    let bytes = value.as_bytes();
    let tag = bytes
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'/' | b'!' | b'?')));
    if tag {
        return true;
    }
    // Whitespace and control characters are dropped before the scheme test: browsers ignore
    // them inside a URL scheme (`java\tscript:`).
    let folded: String = value.chars().filter(|c| !c.is_whitespace() && !c.is_control()).flat_map(char::to_lowercase).collect();
    folded.contains("javascript:") || folded.contains("vbscript:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_script_urls_are_refused_plain_text_is_not() {
        for bad in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "Prod</b>",
            "<!-- x -->",
            "<?xml",
            "JavaScript:alert(1)",
            "java\tscript:alert(1)",
            "vbscript:msgbox",
        ] {
            assert!(looks_like_script(bad), "{bad:?}");
        }
        for good in ["Production", "a < b", "R&D > Ops", "<3 team", "x<1", "Sales (EMEA)", "script", "javascript", "日本"] {
            assert!(!looks_like_script(good), "{good:?}");
        }
        let e = check(&[("Name", Some("ok")), ("Description", Some("<b>x</b>"))]).unwrap_err();
        assert!(e.message.contains("Description"), "{}", e.message);
        assert!(check(&[("Name", Some("ok")), ("Notes", None)]).is_ok());
    }
}
