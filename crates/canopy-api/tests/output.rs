//! The generated `WriteJson` impls write the same bytes as the shapes' `Serialize` derive
//! through serde_json: member order, absent members left out, escapes, numbers.

use canopy_api::output::write_output;
use canopy_api::*;
use proptest::prelude::*;

fn same_as_serde<T: WriteJson + serde::Serialize>(value: &T) {
    let ours = String::from_utf8(write_output(value)).expect("UTF-8");
    let serde = serde_json::to_string(value).expect("serialized");
    assert_eq!(ours, serde);
    serde_json::from_str::<serde_json::Value>(&ours).expect("valid JSON");
}

fn account(i: u32, name: &str) -> Account {
    Account {
        id: Some(format!("{:012}", 111_111_111_111u64 + u64::from(i))),
        arn: Some(format!("arn:aws:organizations::123456789012:account/o-abcdefghij/{i}")),
        email: Some(format!("user+{i}@example.com")),
        name: Some(name.to_owned()),
        status: Some(AccountStatus::Active),
        state: Some(AccountState::Active),
        joined_method: Some(AccountJoinedMethod::Created),
        joined_timestamp: Some(Timestamp::from_millis(1_631_121_728_678 + i64::from(i))),
        paths: if i.is_multiple_of(2) { None } else { Some(vec!["o-abcdefghij/r-ab12/".into()]) },
    }
}

#[test]
fn list_accounts_page() {
    let names = ["plain", "say \"hi\"", "quote \" and \\ backslash", "tab\tline\nbreak", "ünïcødé 😀", "", "\u{1}\u{7f}"];
    let accounts = names.iter().enumerate().map(|(i, n)| account(i as u32, n)).collect();
    same_as_serde(&ListAccountsResponse { accounts: Some(accounts), next_token: Some("token/with+chars==".into()) });
    same_as_serde(&ListAccountsResponse { accounts: Some(vec![]), next_token: None });
    same_as_serde(&ListAccountsResponse::default());
}

#[test]
fn nested_structures_enums_and_required_members() {
    let resource = HandshakeResource {
        type_: Some(HandshakeResourceType::Organization),
        value: Some("o-abcdefghij".into()),
        resources: Some(vec![HandshakeResource {
            type_: Some(HandshakeResourceType::Email),
            value: Some("a@example.com".into()),
            resources: None,
        }]),
    };
    let handshake = Handshake {
        id: Some("h-0123456789".into()),
        arn: Some("arn:aws:organizations::123456789012:handshake/o-abcdefghij/invite/h-0123456789".into()),
        parties: Some(vec![
            HandshakeParty { id: "o-abcdefghij".into(), type_: HandshakePartyType::Organization },
            HandshakeParty { id: "210987654321".into(), type_: HandshakePartyType::Account },
        ]),
        state: Some(HandshakeState::Open),
        action: Some(ActionType::Invite),
        requested_timestamp: Some(Timestamp::from_millis(1_700_000_000_000)),
        expiration_timestamp: Some(Timestamp::from_millis(1_701_296_000_001)),
        resources: Some(vec![resource]),
    };
    same_as_serde(&DescribeHandshakeResponse { handshake: Some(handshake) });
}

#[test]
fn policy_documents_keep_their_escapes() {
    let content = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Deny\", \"Action\": \"s3:*\", \"Resource\": \"arn:aws:s3:::b/\\\\*\"}]\n}";
    same_as_serde(&DescribeEffectivePolicyResponse {
        effective_policy: Some(EffectivePolicy {
            policy_content: Some(content.into()),
            last_updated_timestamp: Some(Timestamp::from_millis(1_631_121_728_000)),
            target_id: Some("111111111111".into()),
            policy_type: Some(EffectivePolicyType::TagPolicy),
        }),
    });
}

proptest! {
    #[test]
    fn any_account_page_matches_serde(names in prop::collection::vec("\\PC{0,20}|[\\x00-\\x7f]{0,20}", 0..20), token in prop::option::of("[\\s\\S]{0,40}")) {
        let accounts = names.iter().enumerate().map(|(i, n)| account(i as u32, n)).collect();
        let page = ListAccountsResponse { accounts: Some(accounts), next_token: token };
        let ours = String::from_utf8(write_output(&page)).unwrap();
        prop_assert_eq!(ours, serde_json::to_string(&page).unwrap());
    }
}
