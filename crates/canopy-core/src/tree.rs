//! The root → OU → account tree: parents, depth and paths.

use canopy_api::ApiError;

use crate::records::{OrganizationRecord, OuRecord, RootRecord};
use crate::store::{OpError, StoreError, Tx};

/// A parent (root or OU) of the caller's organization.
pub enum Node {
    Root(RootRecord),
    Ou(OuRecord),
}

impl Node {
    pub fn id(&self) -> &str {
        match self {
            Node::Root(r) => &r.id,
            Node::Ou(o) => &o.id,
        }
    }
}

/// The root or OU `id` if it belongs to `org_id`.
pub fn find_parent(tx: &mut dyn Tx, org_id: &str, id: &str) -> Result<Option<Node>, OpError> {
    if id.starts_with("r-") {
        Ok(tx.root_get(id)?.filter(|r| r.org_id == org_id).map(Node::Root))
    } else if id.starts_with("ou-") {
        Ok(tx.ou_get(id)?.filter(|o| o.org_id == org_id).map(Node::Ou))
    } else {
        Ok(None)
    }
}

/// The ids from the root down to `parent_id` inclusive: `[r-…, ou-…, ou-…]`.
pub fn chain_to(tx: &mut dyn Tx, parent_id: &str) -> Result<Vec<String>, OpError> {
    let mut chain = vec![parent_id.to_string()];
    let mut current = parent_id.to_string();
    // The depth limit bounds this walk; the guard protects against a corrupt cycle.
    for _ in 0..64 {
        if current.starts_with("r-") {
            chain.reverse();
            return Ok(chain);
        }
        let ou = tx
            .ou_get(&current)?
            .ok_or_else(|| StoreError::Corrupt(format!("OU {current} has a missing ancestor")))?;
        chain.push(ou.parent_id.clone());
        current = ou.parent_id;
    }
    Err(StoreError::Corrupt(format!("OU {parent_id} has a cyclic ancestry")).into())
}

/// `o-…/r-…/ou-…/` for a node, with the trailing slash AWS writes.
pub fn path_of(tx: &mut dyn Tx, org: &OrganizationRecord, node_id: &str) -> Result<String, OpError> {
    Ok(path_from(&org.id, &chain_to(tx, node_id)?))
}

/// The path of the node that ends `chain` (as [`chain_to`] gives it), in `org_id`.
pub fn path_from(org_id: &str, chain: &[String]) -> String {
    let mut path = format!("{org_id}/");
    for id in chain {
        path.push_str(id);
        path.push('/');
    }
    path
}

/// Every OU under `root_id`, parents before children. OUs have no index by organization (every
/// CreateOrganizationalUnit would write to it): the walk reads them by parent, at most the OU quota.
pub fn all_ous(tx: &mut dyn Tx, root_id: &str) -> Result<Vec<OuRecord>, OpError> {
    let mut out = Vec::new();
    let mut parents = vec![root_id.to_string()];
    while let Some(parent) = parents.pop() {
        let mut after = None;
        loop {
            let page = tx.ou_list_by_parent(&parent, after, 500)?;
            let Some(last) = page.last() else { break };
            after = Some(last.seq);
            parents.extend(page.iter().map(|ou| ou.id.clone()));
            out.extend(page);
        }
    }
    Ok(out)
}

/// The root of an organization (there is exactly one).
pub fn root_of(tx: &mut dyn Tx, org_id: &str) -> Result<RootRecord, OpError> {
    tx.root_list(org_id)?
        .into_iter()
        .next()
        .ok_or_else(|| OpError::Store(StoreError::Corrupt(format!("organization {org_id} has no root"))))
}

pub fn parent_not_found() -> ApiError {
    ApiError::new(
        canopy_api::ErrorCode::ParentNotFoundException,
        "We can't find a root or OU with the ParentId that you specified.",
    )
}
