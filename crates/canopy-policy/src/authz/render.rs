//! JSON rendering of a [`Decision`] in the format of spec §3.12.

use super::{
    ConditionExplanation, ContextValue, Deciding, Decision, LevelExplanation, StatementDetail,
    StatementRef, StatementView,
};
use serde_json::{json, Map, Value};

fn sref_json(s: &StatementRef, with_sid: bool) -> Value {
    let mut m = Map::new();
    m.insert("target_id".into(), json!(s.target_id));
    m.insert("policy_id".into(), json!(s.policy_id));
    if let Some(a) = &s.policy_arn {
        m.insert("policy_arn".into(), json!(a));
    }
    m.insert("statement_index".into(), json!(s.statement_index));
    if with_sid {
        if let Some(sid) = &s.sid {
            m.insert("sid".into(), json!(sid));
        }
    }
    Value::Object(m)
}

fn deciding_json(d: &Deciding) -> Value {
    match &d.statement {
        Some(s) => sref_json(s, true),
        None => json!({"target_id": d.target_id}),
    }
}

fn condition_json(c: &ConditionExplanation) -> Value {
    json!({
        "operator": c.operator,
        "key": c.key,
        "request_values": c.request_values,
        "policy_values": c.policy_values,
        "request_value_results": c.request_value_results,
        "matched": c.matched,
        "matched_because_missing": c.matched_because_missing,
        "failed_because_missing": c.failed_because_missing,
        "failed_because_multivalued": c.failed_because_multivalued,
        "unresolved_variable": c.unresolved_variable,
    })
}

fn detail_json(d: &StatementDetail) -> Value {
    json!({
        "action": {
            "element": if d.not_action { "NotAction" } else { "Action" },
            "matched": d.action_matched,
            "entries": d.actions.iter().map(|a| json!({"pattern": a.pattern, "matched": a.matched})).collect::<Vec<_>>(),
        },
        "resource": {
            "element": if d.not_resource { "NotResource" } else { "Resource" },
            "matched": d.resource_matched,
            "entries": d.resources.iter().map(|r| {
                let mut m = json!({"pattern": r.pattern, "matched": r.matched});
                if let Some(x) = &r.resolved { m["resolved"] = json!(x); }
                if r.unresolved_variable { m["unresolved_variable"] = json!(true); }
                m
            }).collect::<Vec<_>>(),
        },
        "principal_matched": d.principal_matched,
        "conditions": d.conditions.iter().map(condition_json).collect::<Vec<_>>(),
    })
}

fn statement_json(level: &LevelExplanation, s: &StatementView) -> Value {
    let mut m = Map::new();
    m.insert("policy_id".into(), json!(s.policy.id()));
    if let Some(a) = s.policy.arn() {
        m.insert("policy_arn".into(), json!(a));
    }
    m.insert("target_id".into(), json!(level.target_id));
    m.insert("statement_index".into(), json!(s.statement_index));
    if let Some(sid) = s.sid {
        m.insert("sid".into(), json!(sid));
    }
    m.insert("effect".into(), json!(s.effect.as_str()));
    if let Some(mm) = &s.mismatch {
        let mut f = Map::new();
        f.insert("part".into(), json!(mm.part()));
        if let super::Mismatch::Condition { operator, key } = mm {
            f.insert("operator".into(), json!(operator));
            f.insert("key".into(), json!(key));
        }
        m.insert("not_matched".into(), Value::Object(f));
    }
    if let Some(d) = s.detail {
        m.insert("explain".into(), detail_json(d));
    }
    Value::Object(m)
}

fn level_json(l: &LevelExplanation) -> Value {
    let list = |it: &mut dyn Iterator<Item = StatementView>| -> Vec<Value> {
        it.map(|s| statement_json(l, &s)).collect()
    };
    json!({
        "target_id": l.target_id,
        "target_type": l.target_type.as_str(),
        "result": l.result.as_str(),
        "allow_statements": list(&mut l.allow_statements()),
        "deny_statements": list(&mut l.deny_statements()),
        "unmatched_statements": list(&mut l.unmatched_statements()),
    })
}

impl Decision {
    /// `deciding` as the vector format prints it (`{target_id, policy_id, statement_index,
    /// sid?}` or `{target_id}`).
    pub fn deciding_json(&self) -> Option<Value> {
        self.deciding.as_ref().map(deciding_json)
    }

    /// `allow_path` as the vector format prints it.
    pub fn allow_path_json(&self) -> Value {
        Value::Array(self.allow_path.iter().map(|s| sref_json(s, true)).collect())
    }

    /// The explanation of spec §3.12: `{layer, decision, reason, deciding?, allow_path?,
    /// levels: [...], derived_context}`.
    pub fn explanation_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("layer".into(), json!(self.layer.as_str()));
        m.insert("decision".into(), json!(self.decision.as_str()));
        m.insert("reason".into(), json!(self.reason.as_str()));
        if let Some(d) = self.deciding_json() {
            m.insert("deciding".into(), d);
        }
        if !self.allow_path.is_empty() {
            m.insert("allow_path".into(), self.allow_path_json());
        }
        m.insert(
            "levels".into(),
            Value::Array(self.explanation.levels.iter().map(level_json).collect()),
        );
        let mut ctx = Map::new();
        for (k, v) in self.explanation.derived_context.iter() {
            ctx.insert(
                k.to_string(),
                match v {
                    ContextValue::Single(s) => json!(s),
                    ContextValue::Multi(v) => json!(v),
                },
            );
        }
        m.insert("derived_context".into(), Value::Object(ctx));
        Value::Object(m)
    }

    /// The vector runner's answer: `{decision, reason, deciding?, allow_path?, explanation}`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("decision".into(), json!(self.decision.as_str()));
        m.insert("reason".into(), json!(self.reason.as_str()));
        if let Some(d) = self.deciding_json() {
            m.insert("deciding".into(), d);
        }
        if self.decision == super::Outcome::Allow {
            m.insert("allow_path".into(), self.allow_path_json());
        }
        m.insert("explanation".into(), self.explanation_json());
        Value::Object(m)
    }
}
