//! Error messages name the JSON path and the problem.

use canopy_policy::{validate, Limits, LimitsTable, PolicyError, PolicyType, ValidationOptions};

fn msg(t: PolicyType, doc: &str) -> String {
    validate(t, doc, &ValidationOptions::default())
        .unwrap_err()
        .to_string()
}

#[test]
fn scp_effect_message() {
    let e = msg(
        PolicyType::ServiceControlPolicy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Action":"*","Resource":"*"}]}"#,
    );
    assert_eq!(e, r#"Statement[0].Effect: must be "Allow" or "Deny""#);
}

#[test]
fn single_statement_object_path_has_no_index() {
    let e = msg(
        PolicyType::ServiceControlPolicy,
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":["s3:*",1],"Resource":"*"}}"#,
    );
    assert_eq!(e, "Statement.Action[1]: must be a string, found a number");
}

#[test]
fn rcp_messages() {
    let e = msg(
        PolicyType::ResourceControlPolicy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#,
    );
    assert!(
        e.starts_with("Statement[0].Action: RCP actions need a service prefix"),
        "{e}"
    );
    let e = msg(
        PolicyType::ResourceControlPolicy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#,
    );
    assert_eq!(
        e,
        r#"Statement[0].Effect: customer-managed RCPs must use "Deny""#
    );
}

#[test]
fn condition_path() {
    let e = msg(
        PolicyType::ServiceControlPolicy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":["2026-01-01","soon"]}}}]}"#,
    );
    assert_eq!(
        e,
        r#"Statement[0].Condition.DateLessThan.aws:CurrentTime[1]: "soon" is not an ISO 8601 date or epoch seconds"#
    );
}

#[test]
fn management_messages() {
    let e = msg(
        PolicyType::TagPolicy,
        r#"{"tags":{"costcenter":{"tag_key":{"@@assign":"Owner"}}}}"#,
    );
    assert_eq!(
        e,
        r#"tags.costcenter.tag_key.@@assign: "Owner" must equal the policy key "costcenter" apart from letter case"#
    );
    let e = msg(
        PolicyType::TagPolicy,
        r#"{"tags":{"costcenter":{"tag_value":{"@@replace":["A"]}}}}"#,
    );
    assert!(
        e.starts_with("tags.costcenter.tag_value.@@replace: unknown inheritance operator"),
        "{e}"
    );
    let e = msg(
        PolicyType::AiservicesOptOutPolicy,
        r#"{"services":{"lex":{"opt_out_policy":{"@@append":"optOut"}}}}"#,
    );
    assert_eq!(
        e,
        "services.lex.opt_out_policy.@@append: AI services opt-out policies accept only @@assign"
    );
    let e = msg(
        PolicyType::S3Policy,
        r#"{"s3_attributes":{"public_access_block_configuration":{"@@assign":"most"}}}"#,
    );
    assert_eq!(
        e,
        r#"s3_attributes.public_access_block_configuration.@@assign: "most" is not one of "all", "none""#
    );
    let e = msg(
        PolicyType::BackupPolicy,
        r#"{"plans":{"P":{"advanced_backup_settings":{"ec2":{"windows_vss":{"@@assign":"on"}}}}}}"#,
    );
    assert_eq!(
        e,
        r#"plans.P.advanced_backup_settings.ec2.windows_vss.@@assign: "on" is not one of "enabled", "disabled""#
    );
    validate(
        PolicyType::BackupPolicy,
        r#"{"plans":{"P":{"advanced_backup_settings":{"ec2":{"windows_vss":{"@@assign":"enabled"}},"rds":{"x":{"@@assign":"y"}}}}}}"#,
        &ValidationOptions::default(),
    )
    .unwrap();
    let e = msg(PolicyType::BackupPolicy, r#"{"tags":{}}"#);
    assert!(
        e.starts_with("tags: unknown top-level key; BACKUP_POLICY documents start with \"plans\""),
        "{e}"
    );
}

#[test]
fn json_and_size_errors() {
    let e = validate(
        PolicyType::TagPolicy,
        "{\"tags\":",
        &ValidationOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.exception_name(), "MalformedPolicyDocumentException");
    assert_eq!(e.reason(), None);
    assert!(
        e.to_string().starts_with("the policy is not valid JSON"),
        "{e}"
    );

    let opts = ValidationOptions {
        limits: LimitsTable::new().with(
            PolicyType::ServiceControlPolicy,
            Limits::scp_before_may_2026(),
        ),
        ..Default::default()
    };
    let big = format!("{{{}}}", " ".repeat(5_119));
    let e = validate(PolicyType::ServiceControlPolicy, &big, &opts).unwrap_err();
    assert_eq!(e.exception_name(), "ConstraintViolationException");
    assert_eq!(e.reason(), Some("POLICY_CONTENT_LIMIT_EXCEEDED"));
    assert!(matches!(
        e,
        PolicyError::ContentLimitExceeded {
            size: 5_121,
            limit: 5_120,
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        "policy content is 5121 characters, over the 5120 characters limit for SERVICE_CONTROL_POLICY"
    );
}

#[test]
fn aws_managed_contents_are_valid() {
    let full =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    validate(
        PolicyType::ServiceControlPolicy,
        full,
        &ValidationOptions::default(),
    )
    .unwrap();
    let rcp = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;
    let managed = ValidationOptions {
        aws_managed: true,
        ..Default::default()
    };
    validate(PolicyType::ResourceControlPolicy, rcp, &managed).unwrap();
    assert!(validate(
        PolicyType::ResourceControlPolicy,
        rcp,
        &ValidationOptions::default()
    )
    .is_err());
}

#[test]
fn condition_values_the_evaluator_could_never_match_are_refused() {
    let scp = |op: &str, key: &str, value: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{{"{op}":{{"{key}":"{value}"}}}}}}]}}"#
        )
    };
    // Dates out of the calendar: month 0 or 13, day 0 or past the month's end, hour 25.
    for bad in ["2020-13-01", "2020-00-10", "2020-01-32", "2020-01-00", "2021-02-29", "2020-04-31", "2020-01-01T25:00:00Z", "2020-01-01T23:60:00Z", "2020-01-01T23:59:61Z", "99999999999999999999"] {
        let e = msg(PolicyType::ServiceControlPolicy, &scp("DateGreaterThan", "aws:CurrentTime", bad));
        assert!(e.contains("is not an ISO 8601 date or epoch seconds"), "{bad}: {e}");
    }
    for good in ["2020-02-29", "2020-12-31T23:59:59Z", "2020-06-01T24:00:00Z", "2020-06-01T12:00:00+05:30", "1700000000"] {
        validate(PolicyType::ServiceControlPolicy, &scp("DateGreaterThan", "aws:CurrentTime", good), &ValidationOptions::default())
            .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    // Arn* values: "*", an ARN, a short ARN ending in "*", or a variable.
    for bad in ["role/Admin", "nope", "arn:aws:iam::123456789012"] {
        let e = msg(PolicyType::ServiceControlPolicy, &scp("ArnNotLike", "aws:PrincipalArn", bad));
        assert!(e.contains("is not \"*\" or an ARN"), "{bad}: {e}");
    }
    for good in ["*", "arn:aws:iam::*:role/Admin", "arn:aws:iam::123456789012:*", "arn:*", "${aws:PrincipalArn}"] {
        validate(PolicyType::ServiceControlPolicy, &scp("ArnLike", "aws:PrincipalArn", good), &ValidationOptions::default())
            .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

#[test]
fn rcp_actions_need_a_service_prefix_without_wildcards() {
    for action in ["*:*", "s*:*", "*:GetObject", "?3:*"] {
        let doc = format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"{action}","Resource":"*"}}]}}"#);
        let e = msg(PolicyType::ResourceControlPolicy, &doc);
        assert!(e.contains("RCP actions need a service prefix without wildcards"), "{action}: {e}");
    }
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":["s3:*","sqs:Send*"],"Resource":"*"}]}"#;
    validate(PolicyType::ResourceControlPolicy, doc, &ValidationOptions::default()).unwrap();
}

/// Keys compare without letter case beyond ASCII too, as the inheritance merge folds them.
#[test]
fn key_case_is_folded_beyond_ascii() {
    let ok = |content: &str| validate(PolicyType::TagPolicy, content, &ValidationOptions::default()).is_ok();
    assert!(ok(r#"{"tags":{"é":{"tag_key":{"@@assign":"É"}}}}"#));
    assert!(ok(r#"{"tags":{"ΣΟΦΊΑ":{"tag_key":{"@@assign":"σοφία"}}}}"#));
    let e = msg(PolicyType::TagPolicy, r#"{"tags":{"é":{"tag_key":{"@@assign":"e"}}}}"#);
    assert!(e.ends_with(r#""e" must equal the policy key "é" apart from letter case"#), "{e}");
    let e = msg(PolicyType::TagPolicy, r#"{"tags":{"é":{"tag_value":{"@@assign":["a"]}},"É":{"tag_value":{"@@assign":["b"]}}}}"#);
    assert!(e.contains("duplicate key (keys are case-insensitive)"), "{e}");
}
