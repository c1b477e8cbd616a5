//! The official AWS SDK for Rust against Canopy: TagResource / UntagResource /
//! ListTagsForResource on accounts, OUs and the root, with their errors.

mod common;

use std::collections::BTreeMap;

use aws_sdk_organizations::operation::tag_resource::TagResourceError;
use aws_sdk_organizations::types::{ConstraintViolationExceptionReason, InvalidInputExceptionReason};
use aws_sdk_organizations::Client;
use common::*;

async fn tags_of(client: &Client, id: &str) -> BTreeMap<String, String> {
    let all = client.list_tags_for_resource().resource_id(id).into_paginator().items().send().try_collect().await.unwrap();
    let map: BTreeMap<_, _> = all.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
    assert_eq!(map.len(), all.len(), "no duplicate keys listed");
    map
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[tokio::test]
async fn tag_untag_list_on_account_ou_and_root() {
    let org = Org::new().await;
    let account = org.create_account("Tagged").await;
    let ou = org.create_ou(&org.root_id, "Tagged OU").await;
    for id in [account.as_str(), ou.as_str(), org.root_id.as_str(), MGMT] {
        assert!(tags_of(&org.mgmt, id).await.is_empty(), "{id} starts untagged");
        org.mgmt
            .tag_resource()
            .resource_id(id)
            .tags(tag("env", "prod"))
            .tags(tag("owner", "platform"))
            .tags(tag("empty", ""))
            .send()
            .await
            .unwrap_or_else(|e| panic!("TagResource {id}: {e:?}"));
        assert_eq!(tags_of(&org.mgmt, id).await, map(&[("env", "prod"), ("owner", "platform"), ("empty", "")]));
        // Overwrite one value, add one key.
        org.mgmt.tag_resource().resource_id(id).tags(tag("env", "staging")).tags(tag("unicode", "é ü")).send().await.unwrap();
        assert_eq!(
            tags_of(&org.mgmt, id).await,
            map(&[("env", "staging"), ("owner", "platform"), ("empty", ""), ("unicode", "é ü")])
        );
        // Untag two, one of them absent (no error).
        org.mgmt.untag_resource().resource_id(id).tag_keys("owner").tag_keys("never-set").send().await.unwrap();
        assert_eq!(tags_of(&org.mgmt, id).await, map(&[("env", "staging"), ("empty", ""), ("unicode", "é ü")]));
    }
    // Tags are per resource.
    org.mgmt.untag_resource().resource_id(&ou).tag_keys("env").send().await.unwrap();
    assert!(!tags_of(&org.mgmt, &ou).await.contains_key("env"));
    assert_eq!(tags_of(&org.mgmt, &account).await.get("env").map(String::as_str), Some("staging"));
}

#[tokio::test]
async fn tag_keys_with_multibyte_characters() {
    // Letters of any script are allowed in keys; the reserved-prefix check must not cut a
    // character in two (these keys have a multi-byte character across their fourth byte).
    let org = Org::new().await;
    let account = org.create_account("Tagged").await;
    let keys = ["日本", "abcé", "名前", "abc日本", "日本語abc", "ключ", "aws"];
    for key in keys {
        org.mgmt.tag_resource().resource_id(&account).tags(tag(key, "v")).send().await.unwrap_or_else(|e| panic!("{key}: {e:?}"));
    }
    let tags = tags_of(&org.mgmt, &account).await;
    assert_eq!(tags.len(), keys.len(), "{tags:?}");
    org.mgmt.untag_resource().resource_id(&account).tag_keys("日本").send().await.unwrap();
    let ou = org.mgmt.create_organizational_unit().parent_id(&org.root_id).name("Tagged").tags(tag("名前", "x")).send().await.unwrap();
    let ou = ou.organizational_unit().unwrap().id().unwrap().to_string();
    assert_eq!(tags_of(&org.mgmt, &ou).await.get("名前").map(String::as_str), Some("x"));
    // The reserved prefix is still refused in any case.
    let r = org.mgmt.tag_resource().resource_id(&account).tags(tag("AwS:日本", "v")).send().await;
    expect_err(r, "InvalidInputException", Some("INVALID_SYSTEM_TAGS_PARAMETER"));
}

#[tokio::test]
async fn tag_errors() {
    let org = Org::new().await;
    let account = org.create_account("Tagged").await;

    let r = org.mgmt.tag_resource().resource_id(&account).tags(tag("aws:createdBy", "me")).send().await;
    let err = expect_err(r, "InvalidInputException", Some("INVALID_SYSTEM_TAGS_PARAMETER"));
    match err {
        TagResourceError::InvalidInputException(e) => assert_eq!(e.reason(), Some(&InvalidInputExceptionReason::InvalidSystemTagsParameter)),
        other => panic!("{other:?}"),
    }
    let r = org.mgmt.untag_resource().resource_id(&account).tag_keys("aws:createdBy").send().await;
    expect_err(r, "InvalidInputException", Some("INVALID_SYSTEM_TAGS_PARAMETER"));

    let r = org.mgmt.tag_resource().resource_id(&account).tags(tag("k", "1")).tags(tag("k", "2")).send().await;
    expect_err(r, "InvalidInputException", Some("DUPLICATE_TAG_KEY"));

    // Atomic: a request with one bad tag applies none.
    let r = org.mgmt.tag_resource().resource_id(&account).tags(tag("good", "1")).tags(tag("aws:bad", "2")).send().await;
    expect_err(r, "InvalidInputException", Some("INVALID_SYSTEM_TAGS_PARAMETER"));
    assert!(tags_of(&org.mgmt, &account).await.is_empty());

    // Key too long / invalid characters.
    let r = org.mgmt.tag_resource().resource_id(&account).tags(tag(&"k".repeat(129), "v")).send().await;
    expect_err(r, "InvalidInputException", Some("MAX_LENGTH_EXCEEDED"));
    let r = org.mgmt.tag_resource().resource_id(&account).tags(tag("k", &"v".repeat(257))).send().await;
    expect_err(r, "InvalidInputException", Some("MAX_LENGTH_EXCEEDED"));

    // Unknown resources with well-formed ids.
    let suffix = org.root_id.trim_start_matches("r-").to_string();
    for id in ["000000000000".to_string(), format!("ou-{suffix}-zzzzzzzz"), "r-zzzz".to_string()] {
        expect_err(org.mgmt.tag_resource().resource_id(&id).tags(tag("k", "v")).send().await, "TargetNotFoundException", None);
        expect_err(org.mgmt.untag_resource().resource_id(&id).tag_keys("k").send().await, "TargetNotFoundException", None);
        expect_err(org.mgmt.list_tags_for_resource().resource_id(&id).send().await, "TargetNotFoundException", None);
    }
    // Malformed ids.
    for id in ["not-an-id", "12345", "o-abcdefghij"] {
        let f = fail(org.mgmt.tag_resource().resource_id(id).tags(tag("k", "v")).send().await);
        assert_eq!(f.code, "InvalidInputException", "{id}: {f:?}");
        let f = fail(org.mgmt.list_tags_for_resource().resource_id(id).send().await);
        assert_eq!(f.code, "InvalidInputException", "{id}: {f:?}");
    }
    // A garbage NextToken on ListTagsForResource.
    let r = org.mgmt.list_tags_for_resource().resource_id(&account).next_token("garbage").send().await;
    expect_err(r, "InvalidInputException", Some("INVALID_NEXT_TOKEN"));
}

#[tokio::test]
async fn tag_limit_is_fifty() {
    let org = Org::new().await;
    let ou = org.create_ou(&org.root_id, "Many Tags").await;
    // 51 in one request.
    let mut req = org.mgmt.tag_resource().resource_id(&ou);
    for i in 0..51 {
        req = req.tags(tag(&format!("key{i:02}"), "v"));
    }
    let err = expect_err(req.send().await, "ConstraintViolationException", Some("MAX_TAG_LIMIT_EXCEEDED"));
    match err {
        TagResourceError::ConstraintViolationException(c) => {
            assert_eq!(c.reason(), Some(&ConstraintViolationExceptionReason::MaxTagLimitExceeded))
        }
        other => panic!("{other:?}"),
    }
    assert!(tags_of(&org.mgmt, &ou).await.is_empty());

    // 30 + 20 = 50 is fine; one more new key is not; overwriting an existing key still is.
    let mut req = org.mgmt.tag_resource().resource_id(&ou);
    for i in 0..30 {
        req = req.tags(tag(&format!("a{i:02}"), "v"));
    }
    req.send().await.unwrap();
    let mut req = org.mgmt.tag_resource().resource_id(&ou);
    for i in 0..20 {
        req = req.tags(tag(&format!("b{i:02}"), "v"));
    }
    req.send().await.unwrap();
    assert_eq!(tags_of(&org.mgmt, &ou).await.len(), 50);
    let r = org.mgmt.tag_resource().resource_id(&ou).tags(tag("c00", "v")).send().await;
    expect_err(r, "ConstraintViolationException", Some("MAX_TAG_LIMIT_EXCEEDED"));
    org.mgmt.tag_resource().resource_id(&ou).tags(tag("a00", "new")).send().await.expect("overwrite at the limit");
    let tags = tags_of(&org.mgmt, &ou).await;
    assert_eq!(tags.len(), 50);
    assert_eq!(tags["a00"], "new");

    // The same limit applies to tags given at creation.
    let mut req = org.mgmt.create_organizational_unit().parent_id(&org.root_id).name("Too Many");
    for i in 0..51 {
        req = req.tags(tag(&format!("key{i:02}"), "v"));
    }
    expect_err(req.send().await, "ConstraintViolationException", Some("MAX_TAG_LIMIT_EXCEEDED"));
    let ous = org.mgmt.list_organizational_units_for_parent().parent_id(&org.root_id).send().await.unwrap();
    assert_eq!(ous.organizational_units().len(), 1, "the failed create left no OU");
}

#[tokio::test]
async fn deleted_ou_loses_its_tags() {
    let org = Org::new().await;
    let ou = org.create_ou(&org.root_id, "Temp").await;
    org.mgmt.tag_resource().resource_id(&ou).tags(tag("k", "v")).send().await.unwrap();
    org.mgmt.delete_organizational_unit().organizational_unit_id(&ou).send().await.unwrap();
    expect_err(org.mgmt.list_tags_for_resource().resource_id(&ou).send().await, "TargetNotFoundException", None);
    // A fresh OU with the same name starts without tags.
    let again = org.create_ou(&org.root_id, "Temp").await;
    assert!(tags_of(&org.mgmt, &again).await.is_empty());
}
