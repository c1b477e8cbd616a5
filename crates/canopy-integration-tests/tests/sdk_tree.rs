//! The official AWS SDK for Rust against Canopy: OUs and the tree (Create / Describe / Update /
//! DeleteOrganizationalUnit, ListOrganizationalUnitsForParent, ListChildren, ListParents).

mod common;

use std::collections::BTreeSet;

use aws_sdk_organizations::operation::create_organizational_unit::CreateOrganizationalUnitError;
use aws_sdk_organizations::operation::update_organizational_unit::UpdateOrganizationalUnitError;
use aws_sdk_organizations::types::{ChildType, ConstraintViolationExceptionReason, ParentType};
use common::*;

#[tokio::test]
async fn create_describe_update_ou() {
    let org = Org::new().await;
    let out = org
        .mgmt
        .create_organizational_unit()
        .parent_id(&org.root_id)
        .name("Engineering")
        .tags(tag("team", "eng"))
        .send()
        .await
        .unwrap();
    let ou = out.organizational_unit().unwrap();
    let id = ou.id().unwrap().to_string();
    assert!(is_ou_id_of(&id, &org.root_id), "OU id {id} embeds the root suffix of {}", org.root_id);
    assert_eq!(ou.arn(), Some(format!("arn:aws:organizations::{MGMT}:ou/{}/{id}", org.org_id).as_str()));
    assert_eq!(ou.name(), Some("Engineering"));
    assert_eq!(ou.path(), Some(format!("{}/{}/{id}/", org.org_id, org.root_id).as_str()));

    let described = org.mgmt.describe_organizational_unit().organizational_unit_id(&id).send().await.unwrap();
    assert_eq!(described.organizational_unit(), Some(ou));

    // Tags given at creation are there.
    let tags = org.mgmt.list_tags_for_resource().resource_id(&id).send().await.unwrap();
    assert_eq!(tags.tags(), [tag("team", "eng")]);

    // Nested OU: path grows, id still embeds the root suffix.
    let child = org.create_ou(&id, "Platform").await;
    assert!(is_ou_id_of(&child, &org.root_id));
    let described = org.mgmt.describe_organizational_unit().organizational_unit_id(&child).send().await.unwrap();
    assert_eq!(described.organizational_unit().unwrap().path(), Some(format!("{}/{}/{id}/{child}/", org.org_id, org.root_id).as_str()));
    // CreateOrganizationalUnit answers the same path (built from the parent's ancestry).
    let grandchild = org.mgmt.create_organizational_unit().parent_id(&child).name("Edge").send().await.unwrap();
    let grandchild = grandchild.organizational_unit().unwrap();
    let gid = grandchild.id().unwrap();
    assert_eq!(grandchild.path(), Some(format!("{}/{}/{id}/{child}/{gid}/", org.org_id, org.root_id).as_str()));

    // Rename: id and ARN unchanged.
    let renamed = org.mgmt.update_organizational_unit().organizational_unit_id(&id).name("Eng").send().await.unwrap();
    let renamed = renamed.organizational_unit().unwrap();
    assert_eq!(renamed.id(), Some(id.as_str()));
    assert_eq!(renamed.arn(), ou.arn());
    assert_eq!(renamed.name(), Some("Eng"));
    let described = org.mgmt.describe_organizational_unit().organizational_unit_id(&id).send().await.unwrap();
    assert_eq!(described.organizational_unit().unwrap().name(), Some("Eng"));
    // Renaming to its own name is fine.
    org.mgmt.update_organizational_unit().organizational_unit_id(&id).name("Eng").send().await.unwrap();
}

#[tokio::test]
async fn ou_depth_limit_is_five() {
    let org = Org::new().await;
    let mut parent = org.root_id.clone();
    for level in 1..=5 {
        parent = org.create_ou(&parent, &format!("Level{level}")).await;
    }
    let r = org.mgmt.create_organizational_unit().parent_id(&parent).name("Level6").send().await;
    let err = expect_err(r, "ConstraintViolationException", Some("OU_DEPTH_LIMIT_EXCEEDED"));
    match err {
        CreateOrganizationalUnitError::ConstraintViolationException(c) => {
            assert_eq!(c.reason(), Some(&ConstraintViolationExceptionReason::OuDepthLimitExceeded))
        }
        other => panic!("{other:?}"),
    }
    let d = org.mgmt.describe_organizational_unit().organizational_unit_id(&parent).send().await.unwrap();
    assert_eq!(d.organizational_unit().unwrap().path().unwrap().matches("ou-").count(), 5);
}

#[tokio::test]
async fn duplicate_ou_names_among_siblings() {
    let org = Org::new().await;
    let a = org.create_ou(&org.root_id, "A").await;
    let b = org.create_ou(&org.root_id, "B").await;
    let err = expect_err(
        org.mgmt.create_organizational_unit().parent_id(&org.root_id).name("A").send().await,
        "DuplicateOrganizationalUnitException",
        None,
    );
    assert!(matches!(err, CreateOrganizationalUnitError::DuplicateOrganizationalUnitException(_)));
    // The same name under another parent is fine.
    org.create_ou(&a, "A").await;
    org.create_ou(&b, "A").await;
    // Rename onto a sibling's name.
    let err = expect_err(
        org.mgmt.update_organizational_unit().organizational_unit_id(&b).name("A").send().await,
        "DuplicateOrganizationalUnitException",
        None,
    );
    assert!(matches!(err, UpdateOrganizationalUnitError::DuplicateOrganizationalUnitException(_)));
    let d = org.mgmt.describe_organizational_unit().organizational_unit_id(&b).send().await.unwrap();
    assert_eq!(d.organizational_unit().unwrap().name(), Some("B"));
}

#[tokio::test]
async fn delete_ou_must_be_empty() {
    let org = Org::new().await;
    let parent = org.create_ou(&org.root_id, "Parent").await;
    let child = org.create_ou(&parent, "Child").await;
    expect_err(
        org.mgmt.delete_organizational_unit().organizational_unit_id(&parent).send().await,
        "OrganizationalUnitNotEmptyException",
        None,
    );
    // An OU holding an account is not empty either.
    let account = org.create_account("Inside").await;
    org.mgmt.move_account().account_id(&account).source_parent_id(&org.root_id).destination_parent_id(&child).send().await.unwrap();
    expect_err(
        org.mgmt.delete_organizational_unit().organizational_unit_id(&child).send().await,
        "OrganizationalUnitNotEmptyException",
        None,
    );
    org.mgmt.move_account().account_id(&account).source_parent_id(&child).destination_parent_id(&org.root_id).send().await.unwrap();
    org.mgmt.delete_organizational_unit().organizational_unit_id(&child).send().await.expect("delete empty child");
    org.mgmt.delete_organizational_unit().organizational_unit_id(&parent).send().await.expect("delete now-empty parent");
    expect_err(
        org.mgmt.describe_organizational_unit().organizational_unit_id(&parent).send().await,
        "OrganizationalUnitNotFoundException",
        None,
    );
    let ous = org.mgmt.list_organizational_units_for_parent().parent_id(&org.root_id).send().await.unwrap();
    assert!(ous.organizational_units().is_empty());
    // Deleting it again: not found.
    expect_err(
        org.mgmt.delete_organizational_unit().organizational_unit_id(&parent).send().await,
        "OrganizationalUnitNotFoundException",
        None,
    );
}

#[tokio::test]
async fn unknown_and_malformed_ou_ids() {
    let org = Org::new().await;
    let suffix = org.root_id.trim_start_matches("r-");
    let unknown = format!("ou-{suffix}-zzzzzzzz");
    const NF: &str = "OrganizationalUnitNotFoundException";
    expect_err(org.mgmt.describe_organizational_unit().organizational_unit_id(&unknown).send().await, NF, None);
    expect_err(org.mgmt.update_organizational_unit().organizational_unit_id(&unknown).name("X").send().await, NF, None);
    expect_err(org.mgmt.delete_organizational_unit().organizational_unit_id(&unknown).send().await, NF, None);
    // Parent not found (a well-formed root id and OU id that don't exist).
    expect_err(
        org.mgmt.create_organizational_unit().parent_id(&unknown).name("X").send().await,
        "ParentNotFoundException",
        None,
    );
    expect_err(
        org.mgmt.create_organizational_unit().parent_id("r-zzzz").name("X").send().await,
        "ParentNotFoundException",
        None,
    );
    // Malformed ids are invalid input.
    let f = fail(org.mgmt.describe_organizational_unit().organizational_unit_id("not-an-ou").send().await);
    assert_eq!(f.code, "InvalidInputException", "{f:?}");
    assert_eq!(f.reason.as_deref(), Some("INVALID_PATTERN"), "{f:?}");
    let f = fail(org.mgmt.create_organizational_unit().parent_id("123").name("X").send().await);
    assert_eq!(f.code, "InvalidInputException", "{f:?}");
    // Name too long (max 128).
    let f = fail(org.mgmt.create_organizational_unit().parent_id(&org.root_id).name("n".repeat(129)).send().await);
    assert_eq!((f.code.as_str(), f.reason.as_deref()), ("InvalidInputException", Some("MAX_LENGTH_EXCEEDED")), "{f:?}");
}

#[tokio::test]
async fn list_ous_for_parent_and_pagination() {
    let org = Org::new().await;
    let mut created = BTreeSet::new();
    for i in 0..7 {
        created.insert(org.create_ou(&org.root_id, &format!("OU {i:02}")).await);
    }
    let nested = org.create_ou(created.iter().next().unwrap(), "Nested").await;
    let mut seen = BTreeSet::new();
    let mut token = None;
    let mut pages = Vec::new();
    loop {
        let out = org
            .mgmt
            .list_organizational_units_for_parent()
            .parent_id(&org.root_id)
            .max_results(3)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        pages.push(out.organizational_units().len());
        for ou in out.organizational_units() {
            let id = ou.id().unwrap().to_string();
            assert_eq!(ou.path(), Some(format!("{}/{}/{id}/", org.org_id, org.root_id).as_str()));
            assert!(ou.name().unwrap().starts_with("OU "));
            assert!(seen.insert(id), "duplicate across pages");
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
        assert!(pages.len() < 10, "pagination does not end");
    }
    assert_eq!(pages, vec![3, 3, 1]);
    assert_eq!(seen, created, "direct children only");
    assert!(!seen.contains(&nested));

    // The SDK paginator collects the same.
    let all = org
        .mgmt
        .list_organizational_units_for_parent()
        .parent_id(&org.root_id)
        .max_results(2)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .unwrap();
    let all: Vec<_> = all.iter().flat_map(|p| p.organizational_units()).collect();
    assert_eq!(all.len(), created.len());
    assert_eq!(all.iter().map(|o| o.id().unwrap().to_string()).collect::<BTreeSet<_>>(), created);

    expect_err(
        org.mgmt.list_organizational_units_for_parent().parent_id("r-zzzz").send().await,
        "ParentNotFoundException",
        None,
    );
}

#[tokio::test]
async fn list_children_of_both_types() {
    let org = Org::new().await;
    let ou = org.create_ou(&org.root_id, "Workloads").await;
    let sub = org.create_ou(&ou, "Prod").await;
    let a1 = org.create_account("One").await;
    let a2 = org.create_account("Two").await;
    org.mgmt.move_account().account_id(&a2).source_parent_id(&org.root_id).destination_parent_id(&ou).send().await.unwrap();

    let children = |parent: String, t: ChildType| {
        let c = org.mgmt.clone();
        async move {
            let out = c.list_children().parent_id(parent).child_type(t.clone()).send().await.unwrap();
            assert!(out.next_token().is_none());
            for child in out.children() {
                assert_eq!(child.r#type(), Some(&t));
            }
            out.children().iter().map(|c| c.id().unwrap().to_string()).collect::<BTreeSet<_>>()
        }
    };
    assert_eq!(children(org.root_id.clone(), ChildType::Account).await, BTreeSet::from([MGMT.to_string(), a1.clone()]));
    assert_eq!(children(org.root_id.clone(), ChildType::OrganizationalUnit).await, BTreeSet::from([ou.clone()]));
    assert_eq!(children(ou.clone(), ChildType::Account).await, BTreeSet::from([a2.clone()]));
    assert_eq!(children(ou.clone(), ChildType::OrganizationalUnit).await, BTreeSet::from([sub.clone()]));
    assert!(children(sub.clone(), ChildType::Account).await.is_empty());

    // ChildType is required: the SDK may refuse to send; the server must refuse too.
    let r = org.mgmt.list_children().parent_id(&org.root_id).send().await;
    expect_err_or_client_rejection(r, "InvalidInputException", Some("INPUT_REQUIRED"));
    let raw = raw_call(&org.server, MGMT, "ListChildren", &format!(r#"{{"ParentId":"{}"}}"#, org.root_id)).await;
    assert_eq!(raw.status, 400, "{}", raw.body);
    assert_eq!(raw.body["__type"], "InvalidInputException", "{}", raw.body);
    assert_eq!(raw.body["Reason"], "INPUT_REQUIRED", "{}", raw.body);
    // Bad enum value.
    let raw = raw_call(&org.server, MGMT, "ListChildren", &format!(r#"{{"ParentId":"{}","ChildType":"POLICY"}}"#, org.root_id)).await;
    assert_eq!((raw.body["__type"].as_str(), raw.body["Reason"].as_str()), (Some("InvalidInputException"), Some("INVALID_ENUM")), "{}", raw.body);

    expect_err(
        org.mgmt.list_children().parent_id(format!("ou-{}-zzzzzzzz", org.root_id.trim_start_matches("r-"))).child_type(ChildType::Account).send().await,
        "ParentNotFoundException",
        None,
    );
}

#[tokio::test]
async fn list_children_pagination() {
    let org = Org::new().await;
    for i in 0..5 {
        org.create_account(&format!("Acct {i}")).await;
    }
    let all = org
        .mgmt
        .list_children()
        .parent_id(&org.root_id)
        .child_type(ChildType::Account)
        .max_results(2)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .unwrap();
    let all: Vec<_> = all.iter().flat_map(|p| p.children()).collect();
    let ids: BTreeSet<_> = all.iter().map(|c| c.id().unwrap().to_string()).collect();
    assert_eq!(all.len(), ids.len(), "no child listed twice");
    assert_eq!(ids.len(), 6, "5 created + management, no duplicate: {all:?}");
    let first = org.mgmt.list_children().parent_id(&org.root_id).child_type(ChildType::Account).max_results(2).send().await.unwrap();
    assert_eq!(first.children().len(), 2);
    let token = first.next_token().expect("a token when more follow");
    // A token is bound to its list: the other child type refuses it.
    let r = org.mgmt.list_children().parent_id(&org.root_id).child_type(ChildType::OrganizationalUnit).next_token(token).send().await;
    expect_err(r, "InvalidInputException", Some("INVALID_NEXT_TOKEN"));
}

#[tokio::test]
async fn list_parents() {
    let org = Org::new().await;
    let ou = org.create_ou(&org.root_id, "Parent").await;
    let sub = org.create_ou(&ou, "Sub").await;
    let account = org.create_account("Child").await;

    let parent_of = |child: String| {
        let c = org.mgmt.clone();
        async move {
            let out = c.list_parents().child_id(child).send().await.unwrap();
            assert_eq!(out.parents().len(), 1, "exactly one parent: {out:?}");
            assert!(out.next_token().is_none());
            let p = &out.parents()[0];
            (p.id().unwrap().to_string(), p.r#type().cloned().unwrap())
        }
    };
    assert_eq!(parent_of(account.clone()).await, (org.root_id.clone(), ParentType::Root));
    assert_eq!(parent_of(MGMT.to_string()).await, (org.root_id.clone(), ParentType::Root));
    assert_eq!(parent_of(ou.clone()).await, (org.root_id.clone(), ParentType::Root));
    assert_eq!(parent_of(sub.clone()).await, (ou.clone(), ParentType::OrganizationalUnit));
    org.mgmt.move_account().account_id(&account).source_parent_id(&org.root_id).destination_parent_id(&sub).send().await.unwrap();
    assert_eq!(parent_of(account.clone()).await, (sub.clone(), ParentType::OrganizationalUnit));

    const NF: &str = "ChildNotFoundException";
    expect_err(org.mgmt.list_parents().child_id("000000000000").send().await, NF, None);
    expect_err(org.mgmt.list_parents().child_id(format!("ou-{}-zzzzzzzz", org.root_id.trim_start_matches("r-"))).send().await, NF, None);
    // A root is not a child.
    let f = fail(org.mgmt.list_parents().child_id(&org.root_id).send().await);
    assert_eq!(f.code, "InvalidInputException", "{f:?}");
}

/// U+0000 is refused in every string member, on every store (PostgreSQL cannot store it).
#[tokio::test]
async fn nul_characters_are_refused_and_name_the_member() {
    let org = Org::new().await;
    expect_err(
        org.mgmt.create_organizational_unit().parent_id(&org.root_id).name("a\u{0}b").send().await,
        "InvalidInputException",
        Some("INVALID_PATTERN"),
    );
    let ou = org.create_ou(&org.root_id, "Plain").await;
    let raw = raw_call(&org.server, MGMT, "UpdateOrganizationalUnit", &format!(r#"{{"OrganizationalUnitId":"{ou}","Name":"x\u0000"}}"#)).await;
    assert_eq!(raw.status, 400);
    assert_eq!(raw.body["__type"], "InvalidInputException");
    assert_eq!(raw.body["Reason"], "INVALID_PATTERN");
    assert!(raw.body["Message"].as_str().unwrap().contains("'Name'"), "{}", raw.body);
    let raw = raw_call(&org.server, MGMT, "TagResource", &format!(r#"{{"ResourceId":"{ou}","Tags":[{{"Key":"k","Value":"\u0000"}}]}}"#)).await;
    assert_eq!(raw.body["Reason"], "INVALID_PATTERN");
    assert!(raw.body["Message"].as_str().unwrap().contains("'Tags[0].Value'"), "{}", raw.body);
    // Nothing was stored, and other control characters are still names.
    let d = org.mgmt.describe_organizational_unit().organizational_unit_id(&ou).send().await.unwrap();
    assert_eq!(d.organizational_unit().and_then(|o| o.name()), Some("Plain"));
    assert!(org.mgmt.list_tags_for_resource().resource_id(&ou).send().await.unwrap().tags().is_empty());
    let tabbed = org.create_ou(&org.root_id, "tab\there").await;
    let d = org.mgmt.describe_organizational_unit().organizational_unit_id(&tabbed).send().await.unwrap();
    assert_eq!(d.organizational_unit().and_then(|o| o.name()), Some("tab\there"));
}

#[tokio::test]
async fn names_that_look_like_script_are_refused() {
    let org = Org::new().await;
    for name in ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "javascript:alert(1)"] {
        expect_err(
            org.mgmt.create_organizational_unit().parent_id(&org.root_id).name(name).send().await,
            "InvalidInputException",
            Some("INVALID_PATTERN"),
        );
    }
    let ou = org.create_ou(&org.root_id, "R&D <3").await;
    expect_err(
        org.mgmt.update_organizational_unit().organizational_unit_id(&ou).name("</b>").send().await,
        "InvalidInputException",
        Some("INVALID_PATTERN"),
    );
    let d = org.mgmt.describe_organizational_unit().organizational_unit_id(&ou).send().await.unwrap();
    assert_eq!(d.organizational_unit().and_then(|o| o.name()), Some("R&D <3"));
    expect_err(
        org.mgmt.create_account().account_name("<script>x</script>").email("x@example.org").send().await,
        "InvalidInputException",
        Some("INVALID_PATTERN"),
    );
    let listed = org.mgmt.list_organizational_units_for_parent().parent_id(&org.root_id).send().await.unwrap();
    assert_eq!(listed.organizational_units().len(), 1, "nothing else was created: {listed:?}");
}
