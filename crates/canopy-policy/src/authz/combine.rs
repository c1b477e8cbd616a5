//! Combining the guardrail layers with the IAM decision (spec §3.11).

use super::{Decision, Layer, Outcome};

/// Who decided a combined answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecidingLayer {
    Scp,
    Rcp,
    /// The identity/resource-policy decision the caller supplied.
    Iam,
}

impl DecidingLayer {
    pub fn as_str(self) -> &'static str {
        match self {
            DecidingLayer::Scp => "SCP",
            DecidingLayer::Rcp => "RCP",
            DecidingLayer::Iam => "IAM",
        }
    }
}

impl From<Layer> for DecidingLayer {
    fn from(l: Layer) -> Self {
        match l {
            Layer::Scp => DecidingLayer::Scp,
            Layer::Rcp => DecidingLayer::Rcp,
        }
    }
}

/// The full decision of §3.11.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combined {
    /// `Allow`, `ImplicitDeny` or `ExplicitDeny` (never `NotApplicable`). Without an IAM
    /// decision, `Allow` means the guardrails let the request through: they grant nothing.
    pub decision: Outcome,
    /// The layer that decided a denial.
    pub deciding_layer: Option<DecidingLayer>,
    /// Guardrail layers that deny the request (RCP first, then SCP): with them removed, the
    /// request would get the IAM answer.
    pub blocked_by: Vec<Layer>,
}

fn denies(o: Outcome) -> bool {
    matches!(o, Outcome::ExplicitDeny | Outcome::ImplicitDeny)
}

/// Combines the SCP and RCP layers and, when given, the IAM decision (identity, resource,
/// boundary and session policies already combined by the caller), in the order of §3.11:
/// any explicit deny; then an RCP layer that is present and not `Allow`; then the SCP layer;
/// then IAM. A layer that does not apply (`NotApplicable`) never denies.
pub fn combine(scp: &Decision, rcp: &Decision, iam: Option<Outcome>) -> Combined {
    let blocked_by: Vec<Layer> = [rcp, scp]
        .iter()
        .filter(|d| denies(d.decision))
        .map(|d| d.layer)
        .collect();
    let explicit = [
        (scp.decision, DecidingLayer::Scp),
        (rcp.decision, DecidingLayer::Rcp),
        (iam.unwrap_or(Outcome::NotApplicable), DecidingLayer::Iam),
    ]
    .into_iter()
    .find(|(o, _)| *o == Outcome::ExplicitDeny);
    let (decision, deciding_layer) = if let Some((_, l)) = explicit {
        (Outcome::ExplicitDeny, Some(l))
    } else if rcp.decision == Outcome::ImplicitDeny {
        (Outcome::ImplicitDeny, Some(DecidingLayer::Rcp))
    } else if scp.decision == Outcome::ImplicitDeny {
        (Outcome::ImplicitDeny, Some(DecidingLayer::Scp))
    } else {
        match iam {
            // An SCP/RCP Allow grants nothing: IAM decides.
            Some(Outcome::ImplicitDeny) => (Outcome::ImplicitDeny, Some(DecidingLayer::Iam)),
            _ => (Outcome::Allow, None),
        }
    };
    Combined {
        decision,
        deciding_layer,
        blocked_by,
    }
}
