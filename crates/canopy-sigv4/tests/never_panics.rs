use canopy_sigv4::{parse_authorization_header, parse_credential, parse_presigned_query, percent_decode};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn header_parser_never_panics(s in any::<String>()) {
        let _ = parse_authorization_header(&s);
    }

    #[test]
    fn header_parser_never_panics_on_near_misses(
        cred in "[A-Za-z0-9/_-]{0,40}",
        headers in "[a-zA-Z;-]{0,20}",
        sig in "[0-9a-fA-Fx]{0,10}",
        sep in "(, |,| ,|)",
    ) {
        let h = format!("AWS4-HMAC-SHA256 Credential={cred}{sep}SignedHeaders={headers}{sep}Signature={sig}");
        if let Ok(p) = parse_authorization_header(&h) {
            prop_assert!(!p.access_key_id.is_empty());
            prop_assert_eq!(p.date.len(), 8);
        }
    }

    #[test]
    fn query_parser_never_panics(s in any::<String>()) {
        let _ = parse_presigned_query(&s);
        let _ = percent_decode(&s);
        let _ = parse_credential(&s);
    }

    #[test]
    fn query_parser_never_panics_on_near_misses(
        parts in proptest::collection::vec(
            ("(X-Amz-Algorithm|X-Amz-Credential|X-Amz-Date|X-Amz-SignedHeaders|X-Amz-Signature|X-Amz-Expires|other)",
             "[A-Za-z0-9%/_T-]{0,30}"),
            0..8),
    ) {
        let q: Vec<String> = parts.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = parse_presigned_query(&q.join("&"));
    }
}
