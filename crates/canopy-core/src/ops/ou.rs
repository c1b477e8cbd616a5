//! Organizational units and the tree reads: Create/Describe/Update/DeleteOrganizationalUnit,
//! ListOrganizationalUnitsForParent, ListChildren, ListParents.

use canopy_api::{
    ApiError, Caller, Child, ChildType, ConstraintViolationExceptionReason,
    CreateOrganizationalUnitRequest, CreateOrganizationalUnitResponse,
    DeleteOrganizationalUnitRequest, DescribeOrganizationalUnitRequest,
    DescribeOrganizationalUnitResponse, ErrorCode, ListChildrenRequest, ListChildrenResponse,
    ListOrganizationalUnitsForParentRequest, ListOrganizationalUnitsForParentResponse,
    ListParentsRequest, ListParentsResponse, Parent, ParentType, UpdateOrganizationalUnitRequest,
    UpdateOrganizationalUnitResponse,
};

use crate::records::{AccountRecord, OrganizationRecord, OuRecord};
use crate::store::{OpError, Tx};
use crate::tree::{self, Node};
use crate::{access, paging, views, Env};

fn ou_not_found() -> ApiError {
    ApiError::new(
        ErrorCode::OrganizationalUnitNotFoundException,
        "We can't find an OU with the OrganizationalUnitId that you specified.",
    )
}

fn duplicate_ou() -> ApiError {
    ApiError::new(
        ErrorCode::DuplicateOrganizationalUnitException,
        "An OU with the same name already exists.",
    )
}

fn find_ou(tx: &mut dyn Tx, org: &OrganizationRecord, id: &str) -> Result<OuRecord, OpError> {
    tx.ou_get(id)?.filter(|o| o.org_id == org.id).ok_or_else(|| ou_not_found().into())
}

pub fn create(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &CreateOrganizationalUnitRequest) -> Result<CreateOrganizationalUnitResponse, OpError> {
    crate::free_text::check(&[("Name", Some(&input.name))])?;
    let member = access::management(tx, caller)?;
    let org = &member.org;
    let tags = super::tags::check_new_tags(input.tags.as_deref().unwrap_or_default())?;
    let parent = tree::find_parent(tx, &org.id, &input.parent_id)?.ok_or_else(tree::parent_not_found)?;
    // The parent's ancestry, read once: its length is the depth, and the new OU's path extends it.
    let chain = tree::chain_to(tx, parent.id())?;
    if chain.len() > env.config.max_ou_depth {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::OuDepthLimitExceeded,
            format!("You attempted to create an OU tree that is too many levels deep (the limit is {}).", env.config.max_ou_depth),
        )
        .into());
    }
    if tx.ou_count(&org.id)? >= env.config.max_ous {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::OuNumberLimitExceeded,
            format!("You have reached the maximum number of OUs in the organization ({}).", env.config.max_ous),
        )
        .into());
    }
    let root = match &parent {
        tree::Node::Root(root) => root.clone(),
        tree::Node::Ou(_) => tree::root_of(tx, &org.id)?,
    };
    // The insert refuses a taken name or id; only then is it worth finding out which.
    let ou = loop {
        let record = OuRecord {
            id: env.ids.ou_id(&root.id),
            org_id: org.id.clone(),
            parent_id: parent.id().to_string(),
            name: input.name.clone(),
            created_ms: env.clock.now_ms(),
            seq: 0,
        };
        if let Some(ou) = tx.ou_insert(&record)? {
            break ou;
        }
        if tx.ou_find_by_name(parent.id(), &input.name)?.is_some() {
            return Err(duplicate_ou().into());
        }
    };
    super::tags::apply(tx, env, &org.id, &ou.id, &tags)?;
    let path = format!("{}{}/", tree::path_from(&org.id, &chain), ou.id);
    Ok(CreateOrganizationalUnitResponse { organizational_unit: Some(views::ou(org, &ou, Some(path))) })
}

pub fn describe(tx: &mut dyn Tx, caller: &Caller, input: &DescribeOrganizationalUnitRequest) -> Result<DescribeOrganizationalUnitResponse, OpError> {
    let member = access::reader(tx, caller)?;
    let ou = find_ou(tx, &member.org, &input.organizational_unit_id)?;
    let path = tree::path_of(tx, &member.org, &ou.id)?;
    Ok(DescribeOrganizationalUnitResponse { organizational_unit: Some(views::ou(&member.org, &ou, Some(path))) })
}

pub fn update(tx: &mut dyn Tx, caller: &Caller, input: &UpdateOrganizationalUnitRequest) -> Result<UpdateOrganizationalUnitResponse, OpError> {
    crate::free_text::check(&[("Name", input.name.as_deref())])?;
    let member = access::management(tx, caller)?;
    let mut ou = find_ou(tx, &member.org, &input.organizational_unit_id)?;
    if let Some(name) = &input.name {
        if *name != ou.name {
            if tx.ou_find_by_name(&ou.parent_id, name)?.is_some_and(|other| other.id != ou.id) {
                return Err(duplicate_ou().into());
            }
            ou.name = name.clone();
            tx.ou_update(&ou)?;
        }
    }
    let path = tree::path_of(tx, &member.org, &ou.id)?;
    Ok(UpdateOrganizationalUnitResponse { organizational_unit: Some(views::ou(&member.org, &ou, Some(path))) })
}

pub fn delete(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &DeleteOrganizationalUnitRequest) -> Result<(), OpError> {
    let member = access::management(tx, caller)?;
    let ou = find_ou(tx, &member.org, &input.organizational_unit_id)?;
    let left = match tx.ou_count_by_parent(&ou.id)? {
        0 => accounts_that_left(tx, env, &member.org.id, &ou.id)?,
        _ => None,
    };
    let Some(left) = left else {
        return Err(ApiError::new(
            ErrorCode::OrganizationalUnitNotEmptyException,
            "The specified OU is not empty. Move all accounts to another root or to other OUs, remove all child OUs, and try again.",
        )
        .into());
    };
    if !left.is_empty() {
        // Their rows keep a parent that must exist: they go to the root, where no list shows
        // them either.
        let root = tree::root_of(tx, &member.org.id)?;
        for mut account in left {
            account.parent_id = Some(root.id.clone());
            tx.account_update(&account)?;
        }
    }
    tx.tags_delete_all(&member.org.id, &ou.id)?;
    tx.attachment_delete_by_target(&member.org.id, &ou.id)?;
    tx.ou_delete(&ou.id)?;
    Ok(())
}

/// The rows of the accounts in the OU when every one of them has left the organization (purged
/// after its closure: no list shows it, and it no longer keeps the OU from being deleted);
/// `None` when an account that has not left is there.
fn accounts_that_left(tx: &mut dyn Tx, env: &Env, org_id: &str, ou_id: &str) -> Result<Option<Vec<AccountRecord>>, OpError> {
    let mut left = Vec::new();
    if tx.account_count_by_parent(org_id, ou_id)? == 0 {
        return Ok(Some(left));
    }
    let now = env.clock.now_ms();
    let mut after = None;
    loop {
        let page = tx.account_list_by_parent(org_id, ou_id, after, 500)?;
        let Some(last) = page.last() else { return Ok(Some(left)) };
        after = Some(last.seq);
        for account in page {
            if views::lifecycle(&account, &env.config, now) != views::Lifecycle::Purged {
                return Ok(None);
            }
            left.push(account);
        }
    }
}

pub fn list_for_parent(
    tx: &mut dyn Tx,
    caller: &Caller,
    input: &ListOrganizationalUnitsForParentRequest,
) -> Result<ListOrganizationalUnitsForParentResponse, OpError> {
    let member = access::reader(tx, caller)?;
    let parent = tree::find_parent(tx, &member.org.id, &input.parent_id)?.ok_or_else(tree::parent_not_found)?;
    let scope = format!("ListOrganizationalUnitsForParent/{}", parent.id());
    let page = paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
    let rows = tx.ou_list_by_parent(parent.id(), page.after_seq, page.limit + 1)?;
    let (rows, next_token) = paging::finish(&scope, rows, page.limit, |o| o.seq);
    let parent_path = tree::path_of(tx, &member.org, parent.id())?;
    let ous = rows.iter().map(|o| views::ou(&member.org, o, Some(format!("{parent_path}{}/", o.id)))).collect();
    Ok(ListOrganizationalUnitsForParentResponse { organizational_units: Some(ous), next_token })
}

pub fn list_children(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &ListChildrenRequest) -> Result<ListChildrenResponse, OpError> {
    let member = access::reader(tx, caller)?;
    let org = &member.org;
    let parent = tree::find_parent(tx, &org.id, &input.parent_id)?.ok_or_else(tree::parent_not_found)?;
    let scope = format!("ListChildren/{}/{}", parent.id(), input.child_type.as_str());
    let page = paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
    let (children, next_token) = match input.child_type {
        ChildType::OrganizationalUnit => {
            let rows = tx.ou_list_by_parent(parent.id(), page.after_seq, page.limit + 1)?;
            let (rows, token) = paging::finish(&scope, rows, page.limit, |o| o.seq);
            (rows.into_iter().map(|o| Child { id: Some(o.id), type_: Some(ChildType::OrganizationalUnit) }).collect(), token)
        }
        ChildType::Account => {
            let now = env.clock.now_ms();
            let rows = paging::collect(
                &page,
                |after, n| tx.account_children(&org.id, parent.id(), after, n),
                |a| a.seq,
                |a| views::is_child_visible(a, &env.config, now),
            )?;
            let (rows, token) = paging::finish(&scope, rows, page.limit, |a| a.seq);
            (rows.into_iter().map(|a| Child { id: Some(a.id), type_: Some(ChildType::Account) }).collect(), token)
        }
    };
    Ok(ListChildrenResponse { children: Some(children), next_token })
}

pub fn list_parents(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &ListParentsRequest) -> Result<ListParentsResponse, OpError> {
    let member = access::reader(tx, caller)?;
    let org = &member.org;
    let scope = format!("ListParents/{}", input.child_id);
    paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
    let parent_id = if input.child_id.starts_with("ou-") {
        tx.ou_get(&input.child_id)?.filter(|o| o.org_id == org.id).map(|o| o.parent_id)
    } else {
        super::account::visible_member(tx, env, org, &input.child_id)?.and_then(|a| a.parent_id)
    };
    let parent_id = parent_id.ok_or_else(|| {
        ApiError::new(ErrorCode::ChildNotFoundException, "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.")
    })?;
    let parent_type = if parent_id.starts_with("r-") { ParentType::Root } else { ParentType::OrganizationalUnit };
    Ok(ListParentsResponse { parents: Some(vec![Parent { id: Some(parent_id), type_: Some(parent_type) }]), next_token: None })
}

/// Used by MoveAccount and the account lists: a parent of the caller's organization.
pub fn require_parent(tx: &mut dyn Tx, org: &OrganizationRecord, id: &str) -> Result<Node, OpError> {
    tree::find_parent(tx, &org.id, id)?.ok_or_else(|| tree::parent_not_found().into())
}
