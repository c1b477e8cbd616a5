//! Request validation: every error kind, reasons, messages, nested paths, full-match patterns.

use canopy_api::validate::{self, MODEL_PATTERNS};
use canopy_api::*;
use serde_json::{json, Value};

fn parse<T: FromJson>(v: Value) -> Result<T, ValidationError> {
    T::from_json(&v, &mut FieldPath::new())
}

fn reason_of<T: FromJson + std::fmt::Debug>(v: Value) -> InvalidInputExceptionReason {
    match parse::<T>(v.clone()) {
        Err(ValidationError {
            kind: ValidationErrorKind::InvalidInput(r),
            ..
        }) => r,
        other => panic!("expected InvalidInput for {v}, got {other:?}"),
    }
}

fn serialization<T: FromJson + std::fmt::Debug>(v: Value) -> String {
    match parse::<T>(v.clone()) {
        Err(ValidationError {
            kind: ValidationErrorKind::Serialization,
            message,
        }) => message,
        other => panic!("expected a serialization error for {v}, got {other:?}"),
    }
}

#[test]
fn every_model_pattern_compiles() {
    assert!(MODEL_PATTERNS.len() >= 30);
    for (shape, model, re) in MODEL_PATTERNS {
        let re = std::sync::LazyLock::force(re);
        assert!(
            re.as_str().starts_with("^(?:") && re.as_str().ends_with(")$"),
            "{shape}: {model}"
        );
    }
}

#[test]
fn valid_input_parses() {
    let r: ListChildrenRequest =
        parse(json!({"ParentId": "ou-ab12-cd34ef56", "ChildType": "ACCOUNT", "MaxResults": 20}))
            .unwrap();
    assert_eq!(r.parent_id, "ou-ab12-cd34ef56");
    assert_eq!(r.child_type, ChildType::Account);
    assert_eq!(r.max_results, Some(20));
    assert_eq!(r.next_token, None);
}

#[test]
fn unknown_members_are_ignored() {
    let r: DescribeAccountRequest =
        parse(json!({"AccountId": "123456789012", "Extra": [1, 2], "__type": "x"})).unwrap();
    assert_eq!(r.account_id, "123456789012");
}

#[test]
fn null_optional_is_absent_and_null_required_is_missing() {
    let r: ListRootsRequest = parse(json!({"MaxResults": null, "NextToken": null})).unwrap();
    assert_eq!(r, ListRootsRequest::default());
    assert_eq!(
        reason_of::<DescribeAccountRequest>(json!({"AccountId": null})),
        InvalidInputExceptionReason::InputRequired
    );
}

#[test]
fn missing_required_member() {
    let e = parse::<DescribeAccountRequest>(json!({})).unwrap_err();
    assert_eq!(
        e.kind,
        ValidationErrorKind::InvalidInput(InvalidInputExceptionReason::InputRequired)
    );
    assert_eq!(
        e.message,
        "1 validation error detected: Value null at 'AccountId' failed to satisfy constraint: Member must not be null"
    );
}

#[test]
fn child_id_full_match_and_target_id_reason() {
    let ok = |id: &str| validate::check_child_id(id, &FieldPath::new()).is_ok();
    assert!(ok("123456789012"));
    assert!(ok("ou-ab12-cd34ef56"));
    assert!(!ok("123456789012x"));
    assert!(!ok("x123456789012"));
    assert!(!ok("ou-ab12-cd34ef56 "));
    let e = parse::<ListParentsRequest>(json!({"ChildId": "123456789012x"})).unwrap_err();
    assert_eq!(
        e.kind,
        ValidationErrorKind::InvalidInput(InvalidInputExceptionReason::InvalidPatternTargetId)
    );
    assert!(
        e.message.contains("Value '123456789012x' at 'ChildId'"),
        "{}",
        e.message
    );
    assert!(
        e.message
            .contains("Member must satisfy regular expression pattern: ^(\\d{12})|"),
        "{}",
        e.message
    );
}

#[test]
fn sloppy_alternations_are_full_match() {
    // Model: ^(r-[0-9a-z]{4,32})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$ — "starts with A or ends with B".
    let ok = |id: &str| validate::check_parent_id(id, &FieldPath::new()).is_ok();
    assert!(ok("r-ab12"));
    assert!(ok("ou-ab12-cd34ef56"));
    assert!(!ok("r-ab12!!!"));
    assert!(!ok("!!!ou-ab12-cd34ef56"));
    let taggable = |id: &str| validate::check_taggable_resource_id(id, &FieldPath::new()).is_ok();
    assert!(taggable("p-FullAWSAccess"));
    assert!(taggable("rp-abcd"));
    assert!(!taggable("p-short"));
}

#[test]
fn non_pattern_ids_use_invalid_pattern() {
    assert_eq!(
        reason_of::<DescribeAccountRequest>(json!({"AccountId": "12345678901a"})),
        InvalidInputExceptionReason::InvalidPattern
    );
    // Java's \d is ASCII; so is ours.
    assert_eq!(
        reason_of::<DescribeAccountRequest>(json!({"AccountId": "١٢٣٤٥٦٧٨٩٠١٢"})),
        InvalidInputExceptionReason::InvalidPattern
    );
}

#[test]
fn string_lengths_count_characters() {
    let max = reason_of::<DescribeAccountRequest>(json!({"AccountId": "1234567890123"}));
    assert_eq!(max, InvalidInputExceptionReason::MaxLengthExceeded);
    let min =
        reason_of::<CreateOrganizationalUnitRequest>(json!({"ParentId": "r-ab12", "Name": ""}));
    assert_eq!(min, InvalidInputExceptionReason::MinLengthExceeded);
    // 256 two-byte characters are 256 characters, within TagValue's 0..=256.
    let tags =
        json!({"ResourceId": "123456789012", "Tags": [{"Key": "k", "Value": "é".repeat(256)}]});
    parse::<TagResourceRequest>(tags).unwrap();
    let tags =
        json!({"ResourceId": "123456789012", "Tags": [{"Key": "k", "Value": "é".repeat(257)}]});
    assert_eq!(
        reason_of::<TagResourceRequest>(tags),
        InvalidInputExceptionReason::MaxLengthExceeded
    );
}

#[test]
fn nested_paths_name_the_member() {
    let tags = json!({"ResourceId": "123456789012", "Tags": [
        {"Key": "a", "Value": ""}, {"Key": "b", "Value": "x"}, {"Key": "c".repeat(129), "Value": "x"}
    ]});
    let e = parse::<TagResourceRequest>(tags).unwrap_err();
    assert_eq!(
        e.kind,
        ValidationErrorKind::InvalidInput(InvalidInputExceptionReason::MaxLengthExceeded)
    );
    assert!(e.message.contains("at 'Tags[2].Key'"), "{}", e.message);
    assert!(
        e.message
            .contains("Member must have length less than or equal to 128"),
        "{}",
        e.message
    );
    // Long values are truncated to 60 characters.
    assert!(
        e.message.contains(&format!("'{}...'", "c".repeat(60))),
        "{}",
        e.message
    );

    let e =
        parse::<TagResourceRequest>(json!({"ResourceId": "123456789012", "Tags": [{"Key": "a"}]}))
            .unwrap_err();
    assert_eq!(
        e.kind,
        ValidationErrorKind::InvalidInput(InvalidInputExceptionReason::InputRequired)
    );
    assert!(e.message.contains("at 'Tags[0].Value'"), "{}", e.message);

    let msg = serialization::<TagResourceRequest>(
        json!({"ResourceId": "123456789012", "Tags": [{"Key": "a", "Value": 3}]}),
    );
    assert!(msg.contains("'Tags[0].Value'"), "{msg}");
    let msg =
        serialization::<TagResourceRequest>(json!({"ResourceId": "123456789012", "Tags": ["a"]}));
    assert!(
        msg.contains("String value found where a structure was expected at 'Tags[0]'"),
        "{msg}"
    );
    let e = parse::<TagResourceRequest>(json!({"ResourceId": "123456789012", "Tags": [null]}))
        .unwrap_err();
    assert_eq!(
        e.kind,
        ValidationErrorKind::InvalidInput(InvalidInputExceptionReason::InputRequired)
    );
}

#[test]
fn max_results_range() {
    let e = parse::<ListRootsRequest>(json!({"MaxResults": 0})).unwrap_err();
    assert_eq!(
        e.kind,
        ValidationErrorKind::InvalidInput(InvalidInputExceptionReason::MinValueExceeded)
    );
    assert_eq!(
        e.message,
        "1 validation error detected: Value '0' at 'MaxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"
    );
    let e = parse::<ListRootsRequest>(json!({"MaxResults": 21})).unwrap_err();
    assert_eq!(
        e.kind,
        ValidationErrorKind::InvalidInput(InvalidInputExceptionReason::MaxValueExceeded)
    );
    assert_eq!(
        e.message,
        "1 validation error detected: Value '21' at 'MaxResults' failed to satisfy constraint: Member must have value less than or equal to 20"
    );
    assert_eq!(
        parse::<ListRootsRequest>(json!({"MaxResults": 1}))
            .unwrap()
            .max_results,
        Some(1)
    );
    assert_eq!(
        reason_of::<ListRootsRequest>(json!({"MaxResults": 99999999999u64})),
        InvalidInputExceptionReason::MaxValueExceeded
    );
}

#[test]
fn wrong_json_types_are_serialization_errors() {
    let msg = serialization::<ListRootsRequest>(json!({"MaxResults": "5"}));
    assert!(
        msg.contains("String value found where an integer was expected at 'MaxResults'"),
        "{msg}"
    );
    serialization::<ListRootsRequest>(json!({"MaxResults": 5.5}));
    serialization::<ListRootsRequest>(json!({"MaxResults": 5.0}));
    serialization::<ListRootsRequest>(json!({"NextToken": 5}));
    serialization::<DescribeAccountRequest>(json!({"AccountId": {"a": 1}}));
    serialization::<DescribeAccountRequest>(json!({"AccountId": 123456789012u64}));
    serialization::<TagResourceRequest>(
        json!({"ResourceId": "123456789012", "Tags": {"Key": "a"}}),
    );
    serialization::<CreateAccountRequest>(
        json!({"Email": "a@b.cd", "AccountName": "x", "IamUserAccessToBilling": true}),
    );
    let msg = serialization::<ListRootsRequest>(json!([1]));
    assert!(
        msg.contains("Start of list found where a structure was expected"),
        "{msg}"
    );
}

#[test]
fn enums() {
    let e = parse::<ListChildrenRequest>(json!({"ParentId": "r-ab12", "ChildType": "ROOT"}))
        .unwrap_err();
    assert_eq!(
        e.kind,
        ValidationErrorKind::InvalidInput(InvalidInputExceptionReason::InvalidEnum)
    );
    assert_eq!(
        e.message,
        "1 validation error detected: Value 'ROOT' at 'ChildType' failed to satisfy constraint: Member must satisfy enum value set: [ACCOUNT, ORGANIZATIONAL_UNIT]"
    );
    // Enum values are case-sensitive.
    assert_eq!(
        reason_of::<ListChildrenRequest>(json!({"ParentId": "r-ab12", "ChildType": "account"})),
        InvalidInputExceptionReason::InvalidEnum
    );
    assert_eq!(
        reason_of::<ListPoliciesRequest>(json!({"Filter": "SCP"})),
        InvalidInputExceptionReason::InvalidEnumPolicyType
    );
    assert_eq!(
        reason_of::<DescribeEffectivePolicyRequest>(
            json!({"PolicyType": "SERVICE_CONTROL_POLICY"})
        ),
        InvalidInputExceptionReason::InvalidEnumPolicyType
    );
    let r: ListPoliciesRequest = parse(json!({"Filter": "RESOURCE_CONTROL_POLICY"})).unwrap();
    assert_eq!(r.filter, PolicyType::ResourceControlPolicy);
    let r: ListCreateAccountStatusRequest =
        parse(json!({"States": ["IN_PROGRESS", "FAILED"]})).unwrap();
    assert_eq!(
        r.states,
        Some(vec![
            CreateAccountState::InProgress,
            CreateAccountState::Failed
        ])
    );
    let e = parse::<ListCreateAccountStatusRequest>(json!({"States": ["IN_PROGRESS", "NOPE"]}))
        .unwrap_err();
    assert!(e.message.contains("at 'States[1]'"), "{}", e.message);
}

#[test]
fn sensitive_values_are_not_echoed() {
    let e = parse::<CreateAccountRequest>(json!({"Email": "not-an-email", "AccountName": "x"}))
        .unwrap_err();
    assert_eq!(
        e.kind,
        ValidationErrorKind::InvalidInput(InvalidInputExceptionReason::InvalidPattern)
    );
    assert!(!e.message.contains("not-an-email"), "{}", e.message);
    assert!(
        e.message.contains("Value '***' at 'Email'"),
        "{}",
        e.message
    );
    let e = parse::<CreateAccountRequest>(json!({"Email": "a@b.cd", "AccountName": "tab\there"}))
        .unwrap_err();
    assert_eq!(
        e.kind,
        ValidationErrorKind::InvalidInput(InvalidInputExceptionReason::InvalidPattern)
    );
    assert!(!e.message.contains("tab"), "{}", e.message);
}

#[test]
fn create_account_accepts_valid_input() {
    let r: CreateAccountRequest = parse(json!({
        "Email": "dev+1@example.com", "AccountName": "Dev Account ~!", "RoleName": "OrgAccess",
        "IamUserAccessToBilling": "DENY", "Tags": [{"Key": "env", "Value": "dev"}]
    }))
    .unwrap();
    assert_eq!(
        r.iam_user_access_to_billing,
        Some(IAMUserAccessToBilling::Deny)
    );
    assert_eq!(r.tags.unwrap()[0].key, "env");
    // \w in RoleName is ASCII only, as in Java.
    assert_eq!(
        reason_of::<CreateAccountRequest>(
            json!({"Email": "a@b.cd", "AccountName": "x", "RoleName": "rôle"})
        ),
        InvalidInputExceptionReason::InvalidPattern
    );
}

#[test]
fn timestamps_parse_from_epoch_seconds() {
    let r: TerminateResponsibilityTransferRequest =
        parse(json!({"Id": "rt-abcd1234", "EndTimestamp": 1631121728.678})).unwrap();
    assert_eq!(r.end_timestamp.map(|t| t.millis()), Some(1_631_121_728_678));
    serialization::<TerminateResponsibilityTransferRequest>(
        json!({"Id": "rt-abcd1234", "EndTimestamp": "2021-01-01"}),
    );
}

#[test]
fn outputs_serialize_with_wire_names_and_omit_absent_members() {
    let account = Account {
        id: Some("123456789012".into()),
        status: Some(AccountStatus::PendingClosure),
        joined_timestamp: Some(Timestamp::from_millis(1_631_121_728_678)),
        ..Default::default()
    };
    let v = serde_json::to_value(&account).unwrap();
    assert_eq!(
        v,
        json!({"Id": "123456789012", "Status": "PENDING_CLOSURE", "JoinedTimestamp": 1631121728.678})
    );
    let tag = Tag {
        key: "k".into(),
        value: String::new(),
    };
    assert_eq!(
        serde_json::to_value(&tag).unwrap(),
        json!({"Key": "k", "Value": ""})
    );
}

#[test]
fn enums_round_trip() {
    assert_eq!(PolicyType::ALL.len(), 15);
    for t in PolicyType::ALL {
        assert_eq!(PolicyType::from_wire(t.as_str()), Some(*t));
        assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
        assert_eq!(
            serde_json::from_value::<PolicyType>(json!(t.as_str())).unwrap(),
            *t
        );
    }
    assert_eq!(
        PolicyType::ServiceControlPolicy.as_str(),
        "SERVICE_CONTROL_POLICY"
    );
    assert_eq!(AccountStatus::from_wire("active"), None);
    assert_eq!(
        InvalidInputExceptionReason::InvalidNextToken.as_str(),
        "INVALID_NEXT_TOKEN"
    );
    assert_eq!(ConstraintViolationExceptionReason::ALL.len(), 48);
    assert_eq!(HandshakeConstraintViolationExceptionReason::ALL.len(), 16);
    assert_eq!(InvalidInputExceptionReason::ALL.len(), 41);
}

#[test]
fn operations_and_error_codes_cover_the_model() {
    assert_eq!(Operation::ALL.len(), 63);
    for op in Operation::ALL {
        assert_eq!(Operation::from_name(op.name()), Some(*op));
        assert!(
            op.modeled_errors()
                .contains(&ErrorCode::AccessDeniedException),
            "{op}"
        );
    }
    assert_eq!(Operation::from_name("listRoots"), None);
    assert_eq!(
        Operation::ListAWSServiceAccessForOrganization.name(),
        "ListAWSServiceAccessForOrganization"
    );
    assert_eq!(ErrorCode::MODELED.len(), 50);
    assert_eq!(ErrorCode::ALL.len(), 56, "the 50 modeled codes and the protocol ones");
    for code in ErrorCode::ALL {
        assert_eq!(ErrorCode::from_wire(code.as_str()), Some(*code));
    }
    let with_reason: Vec<_> = ErrorCode::ALL
        .iter()
        .filter(|c| c.has_reason())
        .map(|c| c.as_str())
        .collect();
    assert_eq!(
        with_reason,
        [
            "AccessDeniedForDependencyException",
            "ConstraintViolationException",
            "HandshakeConstraintViolationException",
            "InvalidInputException"
        ]
    );
    let fives: Vec<_> = ErrorCode::ALL
        .iter()
        .filter(|c| c.http_status() == 500)
        .map(|c| c.as_str())
        .collect();
    assert_eq!(fives, ["ServiceException", "InternalFailure"]);
    assert_eq!(ErrorCode::TooManyRequestsException.http_status(), 400);
}

#[test]
fn validation_errors_become_api_errors() {
    let e: ApiError = parse::<ListRootsRequest>(json!({"MaxResults": 0}))
        .unwrap_err()
        .into();
    assert_eq!(e.code, ErrorCode::InvalidInputException);
    assert_eq!(e.reason, Some("MIN_VALUE_EXCEEDED"));
    let e: ApiError = parse::<ListRootsRequest>(json!({"MaxResults": "x"}))
        .unwrap_err()
        .into();
    assert_eq!(e.code, ErrorCode::SerializationException);
    assert_eq!(e.reason, None);
}

#[test]
fn translated_pattern_syntax_behaves_like_java() {
    // `[a-z0-9-.]`: the `-` after a range is a literal.
    let re = &*validate::RE_RESPONSIBILITY_TRANSFER_ARN;
    assert!(re.is_match(
        "arn:aws-us-gov:organizations::123456789012:transfer/o-a1b2c3d4e5/billing/inbound/rt-abcd1234"
    ));
    assert!(re.is_match(
        "arn:a.b:organizations::123456789012:transfer/o-a1b2c3d4e5/billing/outbound/rt-abcd1234"
    ));
    assert!(!re.is_match(
        "arn:aws:organizations::123456789012:transfer/o-a1b2c3d4e5/billing/sideways/rt-abcd1234"
    ));
    // Java's `.` stops at line terminators.
    let generic = &*validate::RE_GENERIC_ARN;
    assert!(generic.is_match("arn:aws:organizations::123456789012:ou/x"));
    assert!(!generic.is_match("arn:aws:organizations::1234\n56789012:ou/x"));
    // `[\s\S]*` accepts anything, including newlines.
    assert!(validate::RE_POLICY_CONTENT.is_match("{\n  \"Version\": \"2012-10-17\"\r\n}\u{2028}"));
    // `[\u0020-\u007E]+`: printable ASCII only.
    assert!(validate::RE_CREATE_ACCOUNT_NAME.is_match("Dev ~ Account!"));
    assert!(!validate::RE_CREATE_ACCOUNT_NAME.is_match("Dév"));
}
