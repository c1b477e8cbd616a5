//! Management policy grammar (spec §4.1, §4.2, §4.7): the generic operator language plus a
//! schema per type.

use crate::error::PolicyError;
use crate::json::Json;
use crate::types::PolicyType;

type R = Result<(), PolicyError>;

fn bad(path: impl Into<String>, problem: impl Into<String>) -> R {
    Err(PolicyError::malformed(path, problem))
}

pub(crate) const ASSIGN: &str = "@@assign";
pub(crate) const APPEND: &str = "@@append";
pub(crate) const REMOVE: &str = "@@remove";
pub(crate) const CHILD_CONTROL: &str = "@@operators_allowed_for_child_policies";

/// AI services keys the documentation names (the list grows; unknown keys are accepted).
pub const KNOWN_AI_SERVICES: &[&str] = &[
    "default",
    "aidevops",
    "aiops",
    "awssupplychain",
    "chimesdkvoiceanalytics",
    "cloudwatch",
    "codeguruprofiler",
    "codewhisperer",
    "comprehend",
    "connectamd",
    "connectoptimization",
    "contactlens",
    "frauddetector",
    "guardduty",
    "lex",
    "polly",
    "rekognition",
    "textract",
    "transcribe",
    "translate",
];

type Check = fn(&str) -> Result<(), String>;

/// Schema of one position in a management document.
pub(crate) enum S {
    /// Container: fixed keys, plus an optional rule for user-chosen keys.
    Obj(Vec<(&'static str, S)>, Option<(Check, Box<S>)>),
    /// Single-valued setting: `@@assign` only.
    Scalar(V),
    /// List setting: assign, append, remove.
    List(V),
    /// Anything that follows the generic operator language.
    Any,
}

/// Allowed values of a setting (or of each list element).
pub(crate) enum V {
    Str(Check),
    Enum(&'static [&'static str]),
    /// String or number holding an integer in the range.
    Int(i64, i64),
    /// Boolean or "true"/"false".
    Bool,
    /// Any JSON scalar.
    AnyScalar,
}

fn obj(fixed: Vec<(&'static str, S)>) -> S {
    S::Obj(fixed, None)
}
fn map(check: Check, child: S) -> S {
    S::Obj(vec![], Some((check, Box::new(child))))
}
fn any_key(_: &str) -> Result<(), String> {
    Ok(())
}
fn any_str(_: &str) -> Result<(), String> {
    Ok(())
}
fn nonempty(s: &str) -> Result<(), String> {
    if s.is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(())
    }
}

fn region(s: &str) -> Result<(), String> {
    let ok = s.len() <= 32
        && s.split('-').count() >= 3
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && s.ends_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!("\"{s}\" is not a Region code"))
    }
}
fn region_or_all(s: &str) -> Result<(), String> {
    if s == "ALL_SUPPORTED" {
        Ok(())
    } else {
        region(s).map_err(|e| format!("{e} or ALL_SUPPORTED"))
    }
}
fn no_account_var(s: &str) -> Result<(), String> {
    if s.contains("$account") {
        Err("$account may appear only in ARN values".into())
    } else {
        Ok(())
    }
}
fn arn(s: &str) -> Result<(), String> {
    if s.starts_with("arn:") && s.matches(':').count() >= 5 {
        Ok(())
    } else {
        Err(format!("\"{s}\" is not an ARN"))
    }
}
fn cron(s: &str) -> Result<(), String> {
    no_account_var(s)?;
    if (s.starts_with("cron(") || s.starts_with("rate(")) && s.ends_with(')') {
        Ok(())
    } else {
        Err(format!("\"{s}\" is not a cron(...) expression"))
    }
}
fn resource_type(s: &str) -> Result<(), String> {
    // "service:resource" (dynamodb:table, secretsmanager:ALL_SUPPORTED, redshift:*); no
    // wildcard for every service.
    match s.split_once(':') {
        Some((svc, res))
            if !svc.is_empty()
                && svc
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !res.is_empty() =>
        {
            Ok(())
        }
        _ => Err(format!(
            "\"{s}\" is not a resource type of the form service:type"
        )),
    }
}
fn tag_value(s: &str) -> Result<(), String> {
    if s.chars().count() > 256 {
        return Err("tag values are at most 256 characters".into());
    }
    if s.matches('*').count() > 1 {
        return Err(format!("\"{s}\" has more than one * wildcard"));
    }
    Ok(())
}
fn tag_key(s: &str) -> Result<(), String> {
    let n = s.chars().count();
    if n == 0 || n > 128 {
        Err("tag keys are 1 to 128 characters".into())
    } else {
        Ok(())
    }
}
fn criteria_key(s: &str) -> Result<(), String> {
    let ok = s
        .strip_prefix("criteria_")
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| (1..=10).contains(&n) && !s.ends_with("_0") && !s[9..].starts_with('0'));
    if ok {
        Ok(())
    } else {
        Err("criteria keys are criteria_1 to criteria_10".into())
    }
}
fn image_provider(s: &str) -> Result<(), String> {
    if matches!(s, "amazon" | "aws_marketplace" | "aws_backup_vault")
        || (s.len() == 12 && s.chars().all(|c| c.is_ascii_digit()))
    {
        Ok(())
    } else {
        Err(format!(
            "\"{s}\" is not an account id, amazon, aws_marketplace or aws_backup_vault"
        ))
    }
}
fn image_name(s: &str) -> Result<(), String> {
    let n = s.chars().count();
    if (1..=128).contains(&n) {
        Ok(())
    } else {
        Err("image names are 1 to 128 characters".into())
    }
}
fn models(s: &str) -> Result<(), String> {
    nonempty(s)
}
fn guardrail_id(s: &str) -> Result<(), String> {
    // arn:aws:bedrock:<region>:<account>:guardrail/<id>:<version>
    let ok = s.starts_with("arn:")
        && s.contains(":bedrock:")
        && s.contains(":guardrail/")
        && s.rsplit(':')
            .next()
            .is_some_and(|v| !v.is_empty() && !v.contains('/'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{s}\" is not a guardrail ARN followed by :version"
        ))
    }
}

const ENABLED_DISABLED: &[&str] = &["enabled", "disabled"];

fn regions_pair(check: Check) -> Vec<(&'static str, S)> {
    vec![
        ("enable_in_regions", S::List(V::Str(check))),
        ("disable_in_regions", S::List(V::Str(check))),
    ]
}

fn lifecycle() -> S {
    obj(vec![
        (
            "move_to_cold_storage_after_days",
            S::Scalar(V::Int(0, i64::MAX)),
        ),
        ("delete_after_days", S::Scalar(V::Int(1, i64::MAX))),
        (
            "opt_in_to_archive_for_supported_resources",
            S::Scalar(V::Bool),
        ),
    ])
}

fn tag_pair() -> S {
    obj(vec![
        ("tag_key", S::Scalar(V::Str(no_account_var))),
        ("tag_value", S::Scalar(V::Str(no_account_var))),
    ])
}

/// The schema under the root key.
pub(crate) fn schema(t: PolicyType) -> S {
    match t {
        PolicyType::ServiceControlPolicy | PolicyType::ResourceControlPolicy => S::Any,
        PolicyType::TagPolicy => map(
            tag_key,
            obj(vec![
                ("tag_key", S::Scalar(V::Str(tag_key))),
                ("tag_value", S::List(V::Str(tag_value))),
                ("enforced_for", S::List(V::Str(resource_type))),
                ("report_required_tag_for", S::List(V::Str(resource_type))),
            ]),
        ),
        PolicyType::BackupPolicy => map(
            nonempty,
            obj(vec![
                ("regions", S::List(V::Str(region))),
                (
                    "rules",
                    map(
                        nonempty,
                        S::Obj(
                            vec![
                                ("schedule_expression", S::Scalar(V::Str(cron))),
                                (
                                    "schedule_expression_timezone",
                                    S::Scalar(V::Str(no_account_var)),
                                ),
                                (
                                    "start_backup_window_minutes",
                                    S::Scalar(V::Int(0, i64::MAX)),
                                ),
                                (
                                    "complete_backup_window_minutes",
                                    S::Scalar(V::Int(0, i64::MAX)),
                                ),
                                ("enable_continuous_backup", S::Scalar(V::Bool)),
                                (
                                    "target_backup_vault_name",
                                    S::Scalar(V::Str(no_account_var)),
                                ),
                                (
                                    "target_logically_air_gapped_backup_vault_arn",
                                    S::Scalar(V::Str(arn)),
                                ),
                                ("lifecycle", lifecycle()),
                                ("recovery_point_tags", map(nonempty, tag_pair())),
                                (
                                    "copy_actions",
                                    map(
                                        nonempty,
                                        obj(vec![
                                            ("target_backup_vault_arn", S::Scalar(V::Str(arn))),
                                            ("lifecycle", lifecycle()),
                                        ]),
                                    ),
                                ),
                            ],
                            // Newer AWS Backup rule fields: accepted without deep validation.
                            Some((any_key, Box::new(S::Any))),
                        ),
                    ),
                ),
                (
                    "selections",
                    S::Obj(
                        vec![(
                            "tags",
                            map(
                                nonempty,
                                obj(vec![
                                    ("iam_role_arn", S::Scalar(V::Str(arn))),
                                    ("tag_key", S::Scalar(V::Str(no_account_var))),
                                    ("tag_value", S::List(V::Str(no_account_var))),
                                ]),
                            ),
                        )],
                        // resources / not_resources / conditions: structural only.
                        Some((any_key, Box::new(S::Any))),
                    ),
                ),
                (
                    "advanced_backup_settings",
                    // EC2's one documented setting has its enum; other resource types' settings
                    // are scalars.
                    S::Obj(
                        vec![(
                            "ec2",
                            S::Obj(
                                vec![("windows_vss", S::Scalar(V::Enum(ENABLED_DISABLED)))],
                                Some((nonempty, Box::new(S::Scalar(V::AnyScalar)))),
                            ),
                        )],
                        Some((nonempty, Box::new(map(nonempty, S::Scalar(V::AnyScalar))))),
                    ),
                ),
                ("backup_plan_tags", map(nonempty, tag_pair())),
                ("scan_settings", S::Any),
            ]),
        ),
        PolicyType::AiservicesOptOutPolicy => map(
            |k| {
                if !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    Ok(())
                } else {
                    Err(format!("\"{k}\" is not an AI service key"))
                }
            },
            obj(vec![(
                "opt_out_policy",
                S::Scalar(V::Enum(&["optIn", "optOut"])),
            )]),
        ),
        PolicyType::ChatbotPolicy => {
            let roles = || S::List(V::Enum(&["user_role", "channel_role"]));
            let channels = || S::List(V::Enum(&["public", "private"]));
            let client = || S::Scalar(V::Enum(ENABLED_DISABLED));
            obj(vec![
                (
                    "platforms",
                    obj(vec![
                        (
                            "slack",
                            obj(vec![
                                ("client", client()),
                                ("workspaces", S::List(V::Str(nonempty))),
                                (
                                    "default",
                                    obj(vec![
                                        ("supported_channel_types", channels()),
                                        ("supported_role_settings", roles()),
                                    ]),
                                ),
                                (
                                    "overrides",
                                    map(
                                        nonempty,
                                        obj(vec![
                                            ("supported_channel_types", channels()),
                                            ("supported_role_settings", roles()),
                                        ]),
                                    ),
                                ),
                            ]),
                        ),
                        (
                            "microsoft_teams",
                            obj(vec![
                                ("client", client()),
                                ("tenants", map(nonempty, S::List(V::Str(nonempty)))),
                                ("default", obj(vec![("supported_role_settings", roles())])),
                                (
                                    "overrides",
                                    map(
                                        nonempty,
                                        map(
                                            nonempty,
                                            obj(vec![("supported_role_settings", roles())]),
                                        ),
                                    ),
                                ),
                            ]),
                        ),
                        ("chime", obj(vec![("client", client())])),
                    ]),
                ),
                ("default", obj(vec![("client", client())])),
            ])
        }
        PolicyType::DeclarativePolicyEc2 => {
            let mdp = || S::Scalar(V::Enum(&["no_preference", "enabled", "disabled"]));
            obj(vec![
                ("exception_message", S::Scalar(V::Str(any_str))),
                (
                    "vpc_block_public_access",
                    obj(vec![(
                        "internet_gateway_block",
                        obj(vec![
                            (
                                "mode",
                                S::Scalar(V::Enum(&[
                                    "off",
                                    "block_ingress",
                                    "block_bidirectional",
                                ])),
                            ),
                            ("exclusions_allowed", S::Scalar(V::Enum(ENABLED_DISABLED))),
                        ]),
                    )]),
                ),
                (
                    "serial_console_access",
                    obj(vec![("status", S::Scalar(V::Enum(ENABLED_DISABLED)))]),
                ),
                (
                    "image_block_public_access",
                    obj(vec![(
                        "state",
                        S::Scalar(V::Enum(&["unblocked", "block_new_sharing"])),
                    )]),
                ),
                (
                    "allowed_images_settings",
                    obj(vec![
                        (
                            "state",
                            S::Scalar(V::Enum(&["enabled", "disabled", "audit_mode"])),
                        ),
                        (
                            "image_criteria",
                            map(
                                criteria_key,
                                obj(vec![
                                    ("allowed_image_providers", S::List(V::Str(image_provider))),
                                    ("image_names", S::List(V::Str(image_name))),
                                    ("marketplace_product_codes", S::List(V::Str(nonempty))),
                                    (
                                        "creation_date_condition",
                                        obj(vec![(
                                            "maximum_days_since_created",
                                            S::Scalar(V::Int(0, 2_147_483_647)),
                                        )]),
                                    ),
                                    (
                                        "deprecation_time_condition",
                                        obj(vec![(
                                            "maximum_days_since_deprecated",
                                            S::Scalar(V::Int(0, 2_147_483_647)),
                                        )]),
                                    ),
                                ]),
                            ),
                        ),
                    ]),
                ),
                (
                    "instance_metadata_defaults",
                    obj(vec![
                        (
                            "http_tokens",
                            S::Scalar(V::Enum(&["no_preference", "required", "optional"])),
                        ),
                        ("http_put_response_hop_limit", S::Scalar(V::Int(-1, 64))),
                        ("http_endpoint", mdp()),
                        ("instance_metadata_tags", mdp()),
                    ]),
                ),
                (
                    "snapshot_block_public_access",
                    obj(vec![(
                        "state",
                        S::Scalar(V::Enum(&[
                            "unblocked",
                            "block_new_sharing",
                            "block_all_sharing",
                        ])),
                    )]),
                ),
            ])
        }
        PolicyType::SecurityhubPolicy => {
            let mut fixed = regions_pair(region_or_all);
            fixed.push(("features", map(nonempty, obj(regions_pair(region_or_all)))));
            obj(fixed)
        }
        PolicyType::SecurityhubCspmPolicy => S::Obj(
            vec![("cspm_enablement", obj(regions_pair(region_or_all)))],
            Some((any_key, Box::new(S::Any))),
        ),
        PolicyType::InspectorPolicy => {
            let scan = || obj(regions_pair(region_or_all));
            obj(vec![(
                "enablement",
                obj(vec![
                    ("ec2_scanning", scan()),
                    ("ecr_scanning", scan()),
                    ("lambda_standard_scanning", scan()),
                    ("lambda_code_scanning", scan()),
                    ("code_repository_scanning", scan()),
                ]),
            )])
        }
        PolicyType::UpgradeRolloutPolicy => {
            let order = || S::Scalar(V::Enum(&["first", "second", "last"]));
            obj(vec![
                ("default", obj(vec![("patch_order", order())])),
                (
                    "tags",
                    map(
                        tag_key,
                        obj(vec![(
                            "tag_values",
                            map(any_key, obj(vec![("patch_order", order())])),
                        )]),
                    ),
                ),
            ])
        }
        PolicyType::BedrockPolicy => obj(vec![(
            "guardrail_inference",
            map(
                region,
                map(
                    nonempty,
                    obj(vec![
                        ("identifier", S::Scalar(V::Str(guardrail_id))),
                        ("input_tags", S::Scalar(V::Enum(&["honor", "ignore"]))),
                        (
                            "selective_content_guarding",
                            obj(vec![
                                (
                                    "system",
                                    S::Scalar(V::Enum(&["selective", "comprehensive"])),
                                ),
                                (
                                    "messages",
                                    S::Scalar(V::Enum(&["selective", "comprehensive"])),
                                ),
                            ]),
                        ),
                        (
                            "model_enforcement",
                            obj(vec![
                                ("included_models", S::List(V::Str(models))),
                                ("excluded_models", S::List(V::Str(models))),
                            ]),
                        ),
                    ]),
                ),
            ),
        )]),
        PolicyType::S3Policy => obj(vec![(
            "public_access_block_configuration",
            S::Scalar(V::Enum(&["all", "none"])),
        )]),
        PolicyType::NetworkSecurityDirectorPolicy => obj(vec![(
            "enablement",
            obj(vec![(
                "network_security_scan",
                obj(regions_pair(region_or_all)),
            )]),
        )]),
        PolicyType::GuarddutyPolicy => S::Any,
    }
}

struct Ctx {
    ai: bool,
}

/// Validate a management document of type `t`.
pub(crate) fn validate(t: PolicyType, doc: &Json) -> R {
    let root = t.root_key().unwrap_or("");
    let Some(top) = doc.as_object() else {
        return bad(
            "",
            format!(
                "the policy must be a JSON object, found {}",
                doc.type_name()
            ),
        );
    };
    if top.len() != 1 {
        return bad(
            "",
            format!(
                "the policy must have exactly one top-level key, \"{root}\" (found {})",
                top.len()
            ),
        );
    }
    let (k, body) = &top[0];
    if !k.eq_ignore_ascii_case(root) {
        return bad(
            k.as_str(),
            format!("unknown top-level key; {t} documents start with \"{root}\""),
        );
    }
    let cx = Ctx {
        ai: t == PolicyType::AiservicesOptOutPolicy,
    };
    node(&cx, root, body, &schema(t))?;
    if t == PolicyType::TagPolicy {
        tag_rules(body, root)?;
    }
    Ok(())
}

fn is_value_op(k: &str) -> bool {
    matches!(k, ASSIGN | APPEND | REMOVE)
}

fn child_control(cx: &Ctx, p: &str, v: &Json) -> R {
    let p = format!("{p}.{CHILD_CONTROL}");
    let Json::Array(items) = v else {
        return bad(
            p,
            format!("must be an array of operators, found {}", v.type_name()),
        );
    };
    if items.is_empty() {
        return bad(
            p,
            "must list at least one operator (use [\"@@none\"] to forbid all)",
        );
    }
    let mut exclusive = false;
    for (i, it) in items.iter().enumerate() {
        let Some(s) = it.as_str() else {
            return bad(
                format!("{p}[{i}]"),
                format!("must be a string, found {}", it.type_name()),
            );
        };
        let allowed: &[&str] = if cx.ai {
            &["@@assign", "@@none"]
        } else {
            &["@@all", "@@none", "@@assign", "@@append", "@@remove"]
        };
        if !allowed.contains(&s) {
            return bad(
                format!("{p}[{i}]"),
                format!("\"{s}\" is not one of {}", allowed.join(", ")),
            );
        }
        if s == "@@all" || s == "@@none" {
            exclusive = true;
        }
    }
    if exclusive && items.len() > 1 {
        return bad(
            p,
            "@@all and @@none cannot be combined with other operators",
        );
    }
    Ok(())
}

fn node(cx: &Ctx, p: &str, v: &Json, s: &S) -> R {
    let Some(entries) = v.as_object() else {
        return bad(
            p,
            format!(
                "found {} where an object was expected; values must be wrapped in an inheritance operator such as {{\"@@assign\": ...}}",
                v.type_name()
            ),
        );
    };
    let mut has_value_op = false;
    let mut names: Vec<(&String, &Json)> = Vec::new();
    for (k, val) in entries {
        if k.starts_with("@@") {
            match k.as_str() {
                ASSIGN | APPEND | REMOVE => has_value_op = true,
                CHILD_CONTROL => child_control(cx, p, val)?,
                _ => {
                    return bad(
                        format!("{p}.{k}"),
                        "unknown inheritance operator (expected @@assign, @@append, @@remove or @@operators_allowed_for_child_policies)",
                    )
                }
            }
        } else {
            names.push((k, val));
        }
    }
    if has_value_op && !names.is_empty() {
        return bad(
            format!("{p}.{}", names[0].0),
            "a node that sets a value with an inheritance operator cannot also contain keys",
        );
    }
    // Case-insensitive duplicates among name keys.
    for (i, (a, _)) in names.iter().enumerate() {
        if names[..i].iter().any(|(b, _)| same_ignoring_case(b, a)) {
            return bad(
                format!("{p}.{a}"),
                "duplicate key (keys are case-insensitive)",
            );
        }
    }
    if cx.ai {
        for op in [APPEND, REMOVE] {
            if v.get(op).is_some() {
                return bad(
                    format!("{p}.{op}"),
                    "AI services opt-out policies accept only @@assign",
                );
            }
        }
    }
    match s {
        S::Any => {
            for op in [APPEND, REMOVE] {
                if let Some(x) = v.get(op) {
                    if !matches!(x, Json::Array(_)) {
                        return bad(
                            format!("{p}.{op}"),
                            format!("must be a list, found {}", x.type_name()),
                        );
                    }
                }
            }
            if let Some(x) = v.get(ASSIGN) {
                if matches!(x, Json::Object(_)) {
                    return bad(
                        format!("{p}.{ASSIGN}"),
                        "must be a scalar or a list, found an object",
                    );
                }
            }
            for (k, val) in names {
                node(cx, &format!("{p}.{k}"), val, &S::Any)?;
            }
            Ok(())
        }
        S::Obj(fixed, user) => {
            if has_value_op {
                let op = entries
                    .iter()
                    .find(|(k, _)| is_value_op(k))
                    .map(|(k, _)| k.as_str())
                    .unwrap_or(ASSIGN);
                return bad(
                    format!("{p}.{op}"),
                    "this element is a container of keys, not a setting",
                );
            }
            for (k, val) in names {
                let kp = format!("{p}.{k}");
                if let Some((_, cs)) = fixed.iter().find(|(f, _)| f.eq_ignore_ascii_case(k)) {
                    node(cx, &kp, val, cs)?;
                } else if let Some((check, cs)) = user {
                    if let Err(e) = check(k) {
                        return bad(kp, e);
                    }
                    node(cx, &kp, val, cs)?;
                } else {
                    let expected: Vec<&str> = fixed.iter().map(|(f, _)| *f).collect();
                    return bad(
                        kp,
                        format!("unknown key (expected one of {})", expected.join(", ")),
                    );
                }
            }
            Ok(())
        }
        S::Scalar(vs) | S::List(vs) => {
            let list = matches!(s, S::List(_));
            if let Some((k, _)) = names.first() {
                return bad(
                    format!("{p}.{k}"),
                    "unknown key: this element is a setting and takes an inheritance operator",
                );
            }
            if !has_value_op && v.get(CHILD_CONTROL).is_none() {
                return bad(
                    p,
                    "a setting needs an inheritance operator such as @@assign",
                );
            }
            for (k, val) in entries {
                if !is_value_op(k) {
                    continue;
                }
                let op_path = format!("{p}.{k}");
                if !list {
                    if k != ASSIGN {
                        return bad(
                            op_path,
                            format!("{k} is not allowed on a single-valued setting; use @@assign"),
                        );
                    }
                    if !val.is_scalar() || matches!(val, Json::Null) {
                        return bad(
                            op_path,
                            format!("must be a single value, found {}", val.type_name()),
                        );
                    }
                    value(&op_path, val, vs)?;
                } else {
                    let Json::Array(items) = val else {
                        return bad(
                            op_path,
                            format!("must be a list, found {}", val.type_name()),
                        );
                    };
                    for (i, it) in items.iter().enumerate() {
                        value(&format!("{op_path}[{i}]"), it, vs)?;
                    }
                }
            }
            Ok(())
        }
    }
}

fn value(p: &str, v: &Json, vs: &V) -> R {
    match vs {
        V::AnyScalar => {
            if v.is_scalar() && !matches!(v, Json::Null) {
                Ok(())
            } else {
                bad(
                    p,
                    format!("must be a single value, found {}", v.type_name()),
                )
            }
        }
        V::Str(check) => match v {
            Json::String(s) => check(s).or_else(|e| bad(p, e)),
            other => bad(p, format!("must be a string, found {}", other.type_name())),
        },
        V::Enum(opts) => match v {
            Json::String(s) if opts.contains(&s.as_str()) => Ok(()),
            Json::String(s) => bad(p, format!("\"{s}\" is not one of {}", quoted(opts))),
            other => bad(
                p,
                format!(
                    "must be one of {}, found {}",
                    quoted(opts),
                    other.type_name()
                ),
            ),
        },
        V::Bool => match v {
            Json::Bool(_) => Ok(()),
            Json::String(s) if s == "true" || s == "false" => Ok(()),
            other => bad(
                p,
                format!(
                    "must be true or false, found {}",
                    crate::json_display(other)
                ),
            ),
        },
        V::Int(lo, hi) => {
            let n = match v {
                Json::Number(n) => n.as_i64(),
                Json::String(s) => s.parse::<i64>().ok(),
                _ => None,
            };
            match n {
                Some(n) if n >= *lo && n <= *hi => Ok(()),
                Some(n) => bad(p, format!("{n} is out of range ({lo} to {hi})")),
                None => bad(
                    p,
                    format!("must be an integer, found {}", crate::json_display(v)),
                ),
            }
        }
    }
}

fn quoted(opts: &[&str]) -> String {
    opts.iter()
        .map(|o| format!("\"{o}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Name keys and `tag_key` compare without letter case, Unicode's as well as ASCII's: the
/// inheritance merge folds keys the same way (`merge.rs`), so two keys this calls different are
/// never merged as one.
fn same_ignoring_case(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// Tag policy rule: `tag_key` must equal the policy key apart from case.
fn tag_rules(body: &Json, root: &str) -> R {
    for (k, tag) in body.as_object().unwrap_or(&[]) {
        if k.starts_with("@@") {
            continue;
        }
        let tk = tag
            .as_object()
            .and_then(|o| o.iter().find(|(n, _)| n.eq_ignore_ascii_case("tag_key")));
        if let Some((tkname, tkv)) = tk {
            if let Some(Json::String(s)) = tkv.get(ASSIGN) {
                if !same_ignoring_case(s, k) {
                    return bad(
                        format!("{root}.{k}.{tkname}.{ASSIGN}"),
                        format!("\"{s}\" must equal the policy key \"{k}\" apart from letter case"),
                    );
                }
            }
        }
    }
    Ok(())
}
