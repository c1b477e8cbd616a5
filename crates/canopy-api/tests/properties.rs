//! Property tests: parsing never panics on arbitrary JSON, and the compiled model patterns agree
//! with independent hand-written checks.

use canopy_api::validate;
use canopy_api::*;
use proptest::prelude::*;
use serde_json::{Map, Value};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,30}".prop_map(Value::String),
        "(12345678901[0-9]|ou-ab12-cd34ef5[0-9]|r-ab12|p-[a-z]{8}|SERVICE_CONTROL_POLICY|ACCOUNT)"
            .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                "(Key|Value|Tags|ResourceId|ParentId|ChildType|MaxResults|NextToken|Email|AccountName|[A-Za-z]{1,8})",
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Arbitrary JSON, often an object with some of the input's real member names.
fn arb_input() -> impl Strategy<Value = Value> {
    prop_oneof![
        arb_json(),
        prop::collection::btree_map(
            "(Key|Value|Tags|ResourceId|ParentId|ChildType|MaxResults|NextToken|Email|AccountName|RoleName|IamUserAccessToBilling|Filter|TargetId|Content|Description|Name|Type|States)",
            arb_json(),
            0..8
        )
        .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
    ]
}

fn no_panic<T: FromJson>(v: &Value) {
    let _ = T::from_json(v, &mut FieldPath::new());
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn lower_alnum(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

fn is_ou_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("ou-") else {
        return false;
    };
    let Some((a, b)) = rest.split_once('-') else {
        return false;
    };
    lower_alnum(a, 4, 32) && lower_alnum(b, 8, 32)
}

/// Characters whose TagKey classification is known by hand: letters, separators and numbers
/// (Unicode L/Z/N) plus `_.:/=+-@` are allowed.
const TAG_ALLOWED: &[char] = &[
    'a', 'Z', '0', '9', ' ', '_', '.', ':', '/', '=', '+', '-', '@', 'é', '日', '٣', 'Ⅻ',
    '\u{2028}', '\u{3000}',
];
const TAG_DENIED: &[char] = &[
    '!', '#', '$', '%', '&', '*', '(', ')', '<', '>', '\t', '\n', '"', '\'', '\u{301}', '😀',
];

fn tag_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select(TAG_ALLOWED),
        1 => prop::sample::select(TAG_DENIED),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn from_json_never_panics(v in arb_input()) {
        no_panic::<TagResourceRequest>(&v);
        no_panic::<ListChildrenRequest>(&v);
        no_panic::<CreateAccountRequest>(&v);
        no_panic::<ListPoliciesRequest>(&v);
        no_panic::<ListCreateAccountStatusRequest>(&v);
        no_panic::<InviteAccountToOrganizationRequest>(&v);
        no_panic::<EnableAllFeaturesRequest>(&v);
    }

    #[test]
    fn account_id_pattern_agrees(s in "[0-9]{10,14}|[0-9a-z٣]{0,14}|\\PC{0,14}") {
        let by_model = validate::check_account_id(&s, &FieldPath::new()).is_ok();
        prop_assert_eq!(by_model, is_account_id(&s), "{:?}", s);
    }

    #[test]
    fn child_id_pattern_agrees(s in "(ou-[0-9a-z]{2,34}-[0-9a-z]{6,34}|[0-9]{11,13}|ou-[0-9a-zA-Z-]{0,20}|.{0,20})(x?)") {
        let by_model = validate::check_child_id(&s, &FieldPath::new()).is_ok();
        let by_hand = s.chars().count() <= 100 && (is_account_id(&s) || is_ou_id(&s));
        prop_assert_eq!(by_model, by_hand, "{:?}", s);
    }

    #[test]
    fn tag_key_pattern_agrees(chars in prop::collection::vec(tag_char(), 0..140)) {
        let s: String = chars.iter().collect();
        let by_model = validate::check_tag_key(&s, &FieldPath::new()).is_ok();
        let len = chars.len();
        let by_hand = (1..=128).contains(&len) && chars.iter().all(|c| TAG_ALLOWED.contains(c));
        prop_assert_eq!(by_model, by_hand, "{:?}", s);
    }

    #[test]
    fn body_parsing_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = canopy_api::json::parse_body(&bytes);
    }
}
