//! Handshakes through the official SDK: invitations (by account id and by email), accept,
//! decline, cancel, describe, both lists, expiry and the 30-day visibility on a manual clock,
//! the invitation quotas, and the all-features migration of a CONSOLIDATED_BILLING organization.

mod common;

use std::sync::Arc;

use aws_sdk_organizations::types::{
    AccountJoinedMethod, ActionType, Handshake, HandshakeFilter, HandshakeParty, HandshakePartyType,
    HandshakeResourceType, HandshakeState, OrganizationFeatureSet, PolicyType, PolicyTypeStatus,
};
use aws_sdk_organizations::Client;
use canopy_core::{Clock, CoreConfig, ManualClock, SystemClock};
use canopy_server::testing::TestServer;
use canopy_server::ServerConfig;
use common::*;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const A: &str = "222222222222";
const B: &str = "333333333333";
const C: &str = "444444444444";

/// An organization on a server whose clock moves only when a test says so (a memory store, or
/// a PostgreSQL scratch schema when `CANOPY_TEST_POSTGRES` is set).
struct Fixture {
    org: Org,
    clock: Arc<ManualClock>,
}

async fn fixture_with(config: CoreConfig, feature_set: OrganizationFeatureSet) -> Fixture {
    let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
    let server = TestServer::start_with_clock(config, clock.clone(), ServerConfig::default()).await;
    let mgmt = client_for(&server.endpoint, MGMT);
    let out = mgmt.create_organization().feature_set(feature_set).send().await.expect("CreateOrganization");
    let org_id = out.organization().and_then(|o| o.id()).expect("organization id").to_string();
    let roots = mgmt.list_roots().send().await.expect("ListRoots");
    let root_id = roots.roots()[0].id().expect("root id").to_string();
    Fixture { org: Org { server, mgmt, org_id, root_id }, clock }
}

async fn fixture() -> Fixture {
    fixture_with(CoreConfig::default(), OrganizationFeatureSet::All).await
}

/// A CONSOLIDATED_BILLING organization that A and B joined by invitation (the members an
/// all-features migration asks).
async fn billing_org_with_invited_members() -> Fixture {
    let fx = fixture_with(CoreConfig::default(), OrganizationFeatureSet::ConsolidatedBilling).await;
    for id in [A, B] {
        let h = invite(&fx.org, id, HandshakePartyType::Account).await;
        accept(&fx.org.client(id), h.id().unwrap()).await;
    }
    fx
}

fn party(id: &str, t: HandshakePartyType) -> HandshakeParty {
    HandshakeParty::builder().id(id).r#type(t).build().expect("party")
}

async fn invite(org: &Org, id: &str, t: HandshakePartyType) -> Handshake {
    org.mgmt
        .invite_account_to_organization()
        .target(party(id, t))
        .send()
        .await
        .unwrap_or_else(|e| panic!("invite {id}: {e:?}"))
        .handshake()
        .cloned()
        .expect("handshake")
}

async fn describe(client: &Client, id: &str) -> Handshake {
    client.describe_handshake().handshake_id(id).send().await.expect("DescribeHandshake").handshake().cloned().expect("handshake")
}

async fn accept(client: &Client, id: &str) -> Handshake {
    client
        .accept_handshake()
        .handshake_id(id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("AcceptHandshake {id}: {e:?}"))
        .handshake()
        .cloned()
        .expect("handshake")
}

async fn for_account(client: &Client, filter: Option<HandshakeFilter>) -> Vec<Handshake> {
    let out = client.list_handshakes_for_account().set_filter(filter).send().await.expect("ListHandshakesForAccount");
    assert!(out.next_token().is_none());
    out.handshakes().to_vec()
}

async fn for_org(org: &Org, filter: Option<HandshakeFilter>) -> Vec<Handshake> {
    let out = org.mgmt.list_handshakes_for_organization().set_filter(filter).send().await.expect("ListHandshakesForOrganization");
    assert!(out.next_token().is_none());
    out.handshakes().to_vec()
}

fn ids(hs: &[Handshake]) -> Vec<String> {
    hs.iter().map(|h| h.id().unwrap().to_string()).collect()
}

fn is_handshake_id(s: &str) -> bool {
    s.strip_prefix("h-").is_some_and(|r| (8..=32).contains(&r.len()) && r.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}

fn by_action(a: ActionType) -> Option<HandshakeFilter> {
    Some(HandshakeFilter::builder().action_type(a).build())
}

fn by_parent(id: &str) -> Option<HandshakeFilter> {
    Some(HandshakeFilter::builder().parent_handshake_id(id).build())
}

async fn feature_set(client: &Client) -> OrganizationFeatureSet {
    client.describe_organization().send().await.expect("DescribeOrganization").organization().unwrap().feature_set().cloned().unwrap()
}

#[tokio::test]
async fn invite_by_account_id_then_accept() {
    let fx = fixture().await;
    let org = &fx.org;
    let now = fx.clock.now_ms();
    let out = org
        .mgmt
        .invite_account_to_organization()
        .target(party(A, HandshakePartyType::Account))
        .notes("Welcome aboard")
        .tags(tag("team", "blue"))
        .send()
        .await
        .expect("invite");
    let h = out.handshake().unwrap();
    let id = h.id().unwrap();
    assert!(is_handshake_id(id), "{id}");
    assert_eq!(h.arn(), Some(format!("arn:aws:organizations::{MGMT}:handshake/{}/invite/{id}", org.org_id).as_str()));
    assert_eq!(h.action(), Some(&ActionType::InviteAccountToOrganization));
    assert_eq!(h.state(), Some(&HandshakeState::Open));
    let parties: Vec<_> = h.parties().iter().map(|p| (p.id().to_string(), p.r#type().clone())).collect();
    assert_eq!(parties, vec![(org.org_id.clone(), HandshakePartyType::Organization), (A.to_string(), HandshakePartyType::Account)]);
    let resources = h.resources();
    assert_eq!(resources.len(), 3);
    assert_eq!(resources[0].r#type(), Some(&HandshakeResourceType::Organization));
    assert_eq!(resources[0].value(), Some(org.org_id.as_str()));
    let nested: Vec<_> = resources[0].resources().iter().map(|r| r.r#type().cloned().unwrap()).collect();
    assert_eq!(nested, vec![HandshakeResourceType::MasterEmail, HandshakeResourceType::MasterName, HandshakeResourceType::OrganizationFeatureSet]);
    assert_eq!(resources[0].resources()[2].value(), Some("ALL"));
    assert_eq!((resources[1].r#type(), resources[1].value()), (Some(&HandshakeResourceType::Account), Some(A)));
    assert_eq!((resources[2].r#type(), resources[2].value()), (Some(&HandshakeResourceType::Notes), Some("Welcome aboard")));
    let requested = h.requested_timestamp().unwrap().to_millis().unwrap();
    let expires = h.expiration_timestamp().unwrap().to_millis().unwrap();
    assert!((requested - now).abs() < 1_000, "requested {requested} vs clock {now}");
    assert_eq!(expires - requested, 15 * DAY_MS);

    // The invitee, outside any organization, sees and describes it.
    let invitee = org.client(A);
    assert_eq!(ids(&for_account(&invitee, None).await), vec![id.to_string()]);
    assert_eq!(describe(&invitee, id).await, h.clone());
    assert_eq!(ids(&for_org(org, None).await), vec![id.to_string()]);
    expect_err(invitee.describe_organization().send().await, "AWSOrganizationsNotInUseException", None);

    let accepted = accept(&invitee, id).await;
    assert_eq!(accepted.state(), Some(&HandshakeState::Accepted));
    assert_eq!(accepted.id(), Some(id));
    // A member now: same organization, INVITED, tags applied, default SCP attached.
    let o = invitee.describe_organization().send().await.expect("DescribeOrganization as the new member");
    assert_eq!(o.organization().unwrap().id(), Some(org.org_id.as_str()));
    let accounts = org.mgmt.list_accounts().send().await.unwrap();
    let joined = accounts.accounts().iter().find(|a| a.id() == Some(A)).expect("invitee listed");
    assert_eq!(joined.joined_method(), Some(&AccountJoinedMethod::Invited));
    assert!(joined.joined_timestamp().is_some());
    let parents = org.mgmt.list_parents().child_id(A).send().await.unwrap();
    assert_eq!(parents.parents()[0].id(), Some(org.root_id.as_str()));
    let tags = org.mgmt.list_tags_for_resource().resource_id(A).send().await.unwrap();
    assert_eq!(tags.tags(), &[tag("team", "blue")]);
    let scps = org.mgmt.list_policies_for_target().target_id(A).filter(PolicyType::ServiceControlPolicy).send().await.unwrap();
    assert_eq!(scps.policies().iter().map(|p| p.id().unwrap()).collect::<Vec<_>>(), vec!["p-FullAWSAccess"]);

    // Accepting twice, declining or canceling an accepted handshake.
    expect_err(invitee.accept_handshake().handshake_id(id).send().await, "HandshakeAlreadyInStateException", None);
    expect_err(invitee.decline_handshake().handshake_id(id).send().await, "InvalidHandshakeTransitionException", None);
    expect_err(org.mgmt.cancel_handshake().handshake_id(id).send().await, "InvalidHandshakeTransitionException", None);
    let listed = for_org(org, None).await;
    assert_eq!(listed[0].state(), Some(&HandshakeState::Accepted));
    // Accepted handshakes stay visible 30 days, then are gone.
    fx.clock.advance_ms(30 * DAY_MS - 1_000);
    assert_eq!(describe(&invitee, id).await.state(), Some(&HandshakeState::Accepted));
    fx.clock.advance_ms(2_000);
    expect_err(invitee.describe_handshake().handshake_id(id).send().await, "HandshakeNotFoundException", None);
    assert!(for_account(&invitee, None).await.is_empty());
    assert!(for_org(org, None).await.is_empty());
}

#[tokio::test]
async fn invite_by_email_matches_the_accounts_address() {
    let fx = fixture().await;
    let org = &fx.org;
    // A standalone account Canopy has not seen has the address account-<id>@example.com.
    let target = format!("Account-{B}@Example.com");
    let h = invite(org, &target, HandshakePartyType::Email).await;
    let id = h.id().unwrap();
    assert_eq!(h.parties()[1].id(), target);
    assert_eq!(h.parties()[1].r#type(), &HandshakePartyType::Email);
    assert_eq!(h.resources()[1].r#type(), Some(&HandshakeResourceType::Email));

    // Another account neither sees nor can answer it.
    let other = org.client(C);
    assert!(for_account(&other, None).await.is_empty());
    expect_err(other.describe_handshake().handshake_id(id).send().await, "HandshakeNotFoundException", None);
    expect_err(other.accept_handshake().handshake_id(id).send().await, "HandshakeNotFoundException", None);
    expect_err(other.decline_handshake().handshake_id(id).send().await, "HandshakeNotFoundException", None);

    let invitee = org.client(B);
    assert_eq!(ids(&for_account(&invitee, None).await), vec![id.to_string()]);
    assert_eq!(accept(&invitee, id).await.state(), Some(&HandshakeState::Accepted));
    let account = org.mgmt.describe_account().account_id(B).send().await.expect("DescribeAccount");
    assert_eq!(account.account().unwrap().joined_method(), Some(&AccountJoinedMethod::Invited));
    // An invitation to an email is not re-sendable while open; to the same account's id it is
    // refused because the account is now a member.
    let err = org.mgmt.invite_account_to_organization().target(party(B, HandshakePartyType::Account)).send().await;
    expect_err(err, "HandshakeConstraintViolationException", Some("ALREADY_IN_AN_ORGANIZATION"));
    // Nor by its address: the address of an account Canopy knows is that account.
    let err = org.mgmt.invite_account_to_organization().target(party(&target, HandshakePartyType::Email)).send().await;
    expect_err(err, "HandshakeConstraintViolationException", Some("ALREADY_IN_AN_ORGANIZATION"));
    // An open invitation to an account's id makes one to its address a duplicate, and back.
    invite(org, C, HandshakePartyType::Account).await;
    let err = org.mgmt.invite_account_to_organization().target(party(&format!("account-{C}@example.com"), HandshakePartyType::Email)).send().await;
    expect_err(err, "DuplicateHandshakeException", None);
    invite(org, &format!("account-{A}@example.com"), HandshakePartyType::Email).await;
    let err = org.mgmt.invite_account_to_organization().target(party(A, HandshakePartyType::Account)).send().await;
    expect_err(err, "DuplicateHandshakeException", None);
}

#[tokio::test]
async fn decline_cancel_and_who_may_act() {
    let fx = fixture().await;
    let org = &fx.org;
    let a = org.client(A);
    let b = org.client(B);
    let ha = invite(org, A, HandshakePartyType::Account).await;
    let hb = invite(org, B, HandshakePartyType::Account).await;
    let (ida, idb) = (ha.id().unwrap(), hb.id().unwrap());

    // Declining: the recipient only; the sender cancels instead.
    expect_err(org.mgmt.decline_handshake().handshake_id(ida).send().await, "AccessDeniedException", None);
    expect_err(org.mgmt.accept_handshake().handshake_id(ida).send().await, "AccessDeniedException", None);
    let declined = a.decline_handshake().handshake_id(ida).send().await.expect("decline");
    assert_eq!(declined.handshake().unwrap().state(), Some(&HandshakeState::Declined));
    expect_err(a.decline_handshake().handshake_id(ida).send().await, "HandshakeAlreadyInStateException", None);
    expect_err(a.accept_handshake().handshake_id(ida).send().await, "InvalidHandshakeTransitionException", None);
    expect_err(org.mgmt.cancel_handshake().handshake_id(ida).send().await, "InvalidHandshakeTransitionException", None);

    // Canceling: the sender only.
    expect_err(b.cancel_handshake().handshake_id(idb).send().await, "AccessDeniedException", None);
    let canceled = org.mgmt.cancel_handshake().handshake_id(idb).send().await.expect("cancel");
    assert_eq!(canceled.handshake().unwrap().state(), Some(&HandshakeState::Canceled));
    expect_err(org.mgmt.cancel_handshake().handshake_id(idb).send().await, "HandshakeAlreadyInStateException", None);
    expect_err(b.accept_handshake().handshake_id(idb).send().await, "InvalidHandshakeTransitionException", None);
    assert_eq!(describe(&b, idb).await.state(), Some(&HandshakeState::Canceled));
    // Neither joined.
    expect_err(a.describe_organization().send().await, "AWSOrganizationsNotInUseException", None);
    expect_err(b.describe_organization().send().await, "AWSOrganizationsNotInUseException", None);

    // Strangers and unknown ids.
    let stranger = org.client(OUTSIDER);
    expect_err(stranger.describe_handshake().handshake_id(ida).send().await, "HandshakeNotFoundException", None);
    expect_err(stranger.cancel_handshake().handshake_id(ida).send().await, "HandshakeNotFoundException", None);
    expect_err(a.describe_handshake().handshake_id("h-doesnotexist").send().await, "HandshakeNotFoundException", None);
    // Only the management account invites or lists the organization's handshakes.
    let member = org.create_account("Member One").await;
    let m = org.client(&member);
    let err = m.invite_account_to_organization().target(party(C, HandshakePartyType::Account)).send().await;
    expect_err(err, "AccessDeniedException", None);
    // A plain member sees none of the organization's handshakes, to cancel or otherwise.
    expect_err(m.cancel_handshake().handshake_id(idb).send().await, "HandshakeNotFoundException", None);
    expect_err(m.list_handshakes_for_organization().send().await, "AccessDeniedException", None);
    expect_err(m.describe_handshake().handshake_id(ida).send().await, "HandshakeNotFoundException", None);
    let err = stranger.invite_account_to_organization().target(party(C, HandshakePartyType::Account)).send().await;
    expect_err(err, "AWSOrganizationsNotInUseException", None);
    expect_err(stranger.list_handshakes_for_organization().send().await, "AWSOrganizationsNotInUseException", None);
    // The states as the organization lists them.
    let states: Vec<_> = for_org(org, None).await.iter().map(|h| h.state().cloned().unwrap()).collect();
    assert_eq!(states, vec![HandshakeState::Declined, HandshakeState::Canceled]);
}

#[tokio::test]
async fn invite_refusals_leave_nothing_behind() {
    let fx = fixture().await;
    let org = &fx.org;
    let send = |t: HandshakeParty| org.mgmt.invite_account_to_organization().target(t).send();
    expect_err(send(party(&org.org_id, HandshakePartyType::Organization)).await, "InvalidInputException", Some("INVALID_PARTY_TYPE_TARGET"));
    expect_err(send(party("12345", HandshakePartyType::Account)).await, "InvalidInputException", Some("INVALID_PATTERN"));
    expect_err(send(party("not-an-email", HandshakePartyType::Email)).await, "InvalidInputException", Some("INVALID_EMAIL_ADDRESS_TARGET"));
    let hcv = "HandshakeConstraintViolationException";
    expect_err(send(party(MGMT, HandshakePartyType::Account)).await, hcv, Some("ALREADY_IN_AN_ORGANIZATION"));
    let member = org.create_account("Already Here").await;
    expect_err(send(party(&member, HandshakePartyType::Account)).await, hcv, Some("ALREADY_IN_AN_ORGANIZATION"));
    // An account that manages another organization.
    let other = org.client(C);
    other.create_organization().send().await.expect("another organization");
    expect_err(send(party(C, HandshakePartyType::Account)).await, hcv, Some("ALREADY_IN_AN_ORGANIZATION"));
    let err = org.mgmt.invite_account_to_organization().target(party(A, HandshakePartyType::Account)).tags(tag("aws:x", "y")).send().await;
    expect_err(err, "InvalidInputException", Some("INVALID_SYSTEM_TAGS_PARAMETER"));
    let err = org
        .mgmt
        .invite_account_to_organization()
        .target(party(A, HandshakePartyType::Account))
        .tags(tag("k", "1"))
        .tags(tag("k", "2"))
        .send()
        .await;
    expect_err(err, "InvalidInputException", Some("DUPLICATE_TAG_KEY"));
    assert!(for_org(org, None).await.is_empty(), "refused invitations are not stored");

    // One open invitation per target.
    let first = invite(org, A, HandshakePartyType::Account).await;
    expect_err(send(party(A, HandshakePartyType::Account)).await, "DuplicateHandshakeException", None);
    assert_eq!(ids(&for_org(org, None).await), vec![first.id().unwrap().to_string()]);

    // The target joins another organization before answering: refused at accept.
    let email_invite = invite(org, &format!("account-{B}@example.com"), HandshakePartyType::Email).await;
    let b = org.client(B);
    b.create_organization().send().await.expect("B creates its own organization");
    let err = b.accept_handshake().handshake_id(email_invite.id().unwrap()).send().await;
    expect_err(err, hcv, Some("ALREADY_IN_AN_ORGANIZATION"));
    assert_eq!(describe(&b, email_invite.id().unwrap()).await.state(), Some(&HandshakeState::Open));
}

#[tokio::test]
async fn account_and_daily_invitation_quotas() {
    let config = CoreConfig { max_accounts: 3, max_invitations_per_day: 4, ..CoreConfig::default() };
    let fx = fixture_with(config, OrganizationFeatureSet::All).await;
    let org = &fx.org;
    let hcv = "HandshakeConstraintViolationException";
    let send = |id: &str| org.mgmt.invite_account_to_organization().target(party(id, HandshakePartyType::Account)).send();
    // Management account + two open invitations reach the quota of 3.
    let ha = invite(org, A, HandshakePartyType::Account).await;
    let hb = invite(org, B, HandshakePartyType::Account).await;
    expect_err(send(C).await, hcv, Some("ACCOUNT_NUMBER_LIMIT_EXCEEDED"));
    org.mgmt.cancel_handshake().handshake_id(hb.id().unwrap()).send().await.unwrap();
    let hc = invite(org, C, HandshakePartyType::Account).await;
    accept(&org.client(A), ha.id().unwrap()).await;
    // Sent in 24 h and not accepted: B (canceled), C. Then D and E (canceled) make 4.
    org.mgmt.cancel_handshake().handshake_id(hc.id().unwrap()).send().await.unwrap();
    for target in ["555555555555", "666666666666"] {
        let h = invite(org, target, HandshakePartyType::Account).await;
        org.mgmt.cancel_handshake().handshake_id(h.id().unwrap()).send().await.unwrap();
    }
    expect_err(send("777777777777").await, hcv, Some("HANDSHAKE_RATE_LIMIT_EXCEEDED"));
    fx.clock.advance_ms(DAY_MS + 1);
    let late = invite(org, "777777777777", HandshakePartyType::Account).await;
    assert_eq!(late.state(), Some(&HandshakeState::Open));
}

#[tokio::test]
async fn open_invitations_hold_their_place_in_the_account_quota() {
    let config = CoreConfig { max_accounts: 3, ..CoreConfig::default() };
    let fx = fixture_with(config, OrganizationFeatureSet::All).await;
    let org = &fx.org;
    let ha = invite(org, A, HandshakePartyType::Account).await;
    let hb = invite(org, B, HandshakePartyType::Account).await;
    // The management account and two open invitations fill the quota of 3: creating an account
    // would take an invitee's place, so it is refused, and so is a third invitation.
    let r = org.mgmt.create_account().account_name("Created").email("created@example.org").send().await;
    expect_err(r, "ConstraintViolationException", Some("ACCOUNT_NUMBER_LIMIT_EXCEEDED"));
    let r = org.mgmt.invite_account_to_organization().target(party("444444444444", HandshakePartyType::Account)).send().await;
    expect_err(r, "HandshakeConstraintViolationException", Some("ACCOUNT_NUMBER_LIMIT_EXCEEDED"));
    // A declined invitation gives its place back: now an account can be created.
    org.client(B).decline_handshake().handshake_id(hb.id().unwrap()).send().await.unwrap();
    org.create_account("Created").await;
    // The invitee still holding a place can join.
    org.client(A).accept_handshake().handshake_id(ha.id().unwrap()).send().await.unwrap();
    assert_eq!(org.mgmt.list_accounts().send().await.unwrap().accounts().len(), 3);
}

#[tokio::test]
async fn invitations_expire_and_then_vanish() {
    let fx = fixture().await;
    let org = &fx.org;
    let a = org.client(A);
    let h = invite(org, A, HandshakePartyType::Account).await;
    let id = h.id().unwrap();
    fx.clock.advance_ms(15 * DAY_MS - 1_000);
    assert_eq!(describe(&a, id).await.state(), Some(&HandshakeState::Open));
    fx.clock.advance_ms(2_000);
    assert_eq!(describe(&a, id).await.state(), Some(&HandshakeState::Expired));
    assert_eq!(for_org(org, None).await[0].state(), Some(&HandshakeState::Expired));
    expect_err(a.accept_handshake().handshake_id(id).send().await, "InvalidHandshakeTransitionException", None);
    expect_err(org.mgmt.cancel_handshake().handshake_id(id).send().await, "InvalidHandshakeTransitionException", None);
    // An expired invitation is no longer open: the account can be invited again.
    let again = invite(org, A, HandshakePartyType::Account).await;
    assert_eq!(ids(&for_account(&a, None).await), vec![id.to_string(), again.id().unwrap().to_string()]);
    // 30 days after it expired the first one is gone.
    fx.clock.advance_ms(30 * DAY_MS);
    expect_err(a.describe_handshake().handshake_id(id).send().await, "HandshakeNotFoundException", None);
    assert_eq!(ids(&for_account(&a, None).await), vec![again.id().unwrap().to_string()]);
    assert_eq!(for_org(org, None).await.len(), 1);
}

#[tokio::test]
async fn lists_page_and_filter() {
    let fx = fixture().await;
    let org = &fx.org;
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(invite(org, &format!("50000000000{i}"), HandshakePartyType::Account).await.id().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let out = org.mgmt.list_handshakes_for_organization().max_results(2).set_next_token(token).send().await.unwrap();
        pages += 1;
        seen.extend(ids(out.handshakes()));
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!((seen, pages), (sent.clone(), 3));
    let err = org.mgmt.list_handshakes_for_organization().next_token("forged").send().await;
    expect_err(err, "InvalidInputException", Some("INVALID_NEXT_TOKEN"));
    let err = org.mgmt.list_handshakes_for_organization().max_results(21).send().await;
    expect_err_or_client_rejection(err, "InvalidInputException", Some("MAX_VALUE_EXCEEDED"));
    let both = HandshakeFilter::builder().action_type(ActionType::InviteAccountToOrganization).parent_handshake_id("h-0123456789").build();
    let err = org.mgmt.list_handshakes_for_organization().filter(both.clone()).send().await;
    expect_err(err, "InvalidInputException", Some("MAX_LIMIT_EXCEEDED_FILTER"));
    let err = org.client(A).list_handshakes_for_account().filter(both).send().await;
    expect_err(err, "InvalidInputException", Some("MAX_LIMIT_EXCEEDED_FILTER"));
    assert_eq!(for_org(org, by_action(ActionType::InviteAccountToOrganization)).await.len(), 5);
    assert!(for_org(org, by_action(ActionType::EnableAllFeatures)).await.is_empty());
}

#[tokio::test]
async fn deleting_the_organization_takes_its_invitations() {
    let fx = fixture().await;
    let org = &fx.org;
    let h = invite(org, A, HandshakePartyType::Account).await;
    org.mgmt.delete_organization().send().await.expect("DeleteOrganization");
    let a = org.client(A);
    assert!(for_account(&a, None).await.is_empty());
    expect_err(a.accept_handshake().handshake_id(h.id().unwrap()).send().await, "HandshakeNotFoundException", None);
}

/// A CONSOLIDATED_BILLING organization with two invited members and one created account moves
/// to ALL: every invited member approves, then the management account accepts the approval.
#[tokio::test]
async fn enable_all_features_end_to_end() {
    let fx = fixture_with(CoreConfig::default(), OrganizationFeatureSet::ConsolidatedBilling).await;
    let org = &fx.org;
    let (a, b) = (org.client(A), org.client(B));
    let ha = invite(org, A, HandshakePartyType::Account).await;
    assert_eq!(ha.resources()[0].resources()[2].value(), Some("CONSOLIDATED_BILLING"));
    accept(&a, ha.id().unwrap()).await;
    let hb = invite(org, B, HandshakePartyType::Account).await;
    accept(&b, hb.id().unwrap()).await;
    let created = org.create_account("Created Here").await;

    let parent = org.mgmt.enable_all_features().send().await.expect("EnableAllFeatures").handshake().cloned().unwrap();
    let pid = parent.id().unwrap();
    assert_eq!(parent.action(), Some(&ActionType::EnableAllFeatures));
    assert_eq!(parent.state(), Some(&HandshakeState::Requested));
    assert_eq!(parent.arn(), Some(format!("arn:aws:organizations::{MGMT}:handshake/{}/enable_all_features/{pid}", org.org_id).as_str()));
    let parties: Vec<_> = parent.parties().iter().map(|p| (p.id().to_string(), p.r#type().clone())).collect();
    assert_eq!(parties, vec![(org.org_id.clone(), HandshakePartyType::Organization)]);
    assert_eq!(parent.resources().len(), 1);
    assert_eq!(parent.resources()[0].value(), Some(org.org_id.as_str()));
    let span = parent.expiration_timestamp().unwrap().to_millis().unwrap() - parent.requested_timestamp().unwrap().to_millis().unwrap();
    assert_eq!(span, 90 * DAY_MS);

    // One request per invited member, none for the created account.
    let children = for_org(org, by_parent(pid)).await;
    let mut recipients: Vec<_> = children.iter().map(|h| h.parties()[1].id().to_string()).collect();
    recipients.sort();
    assert_eq!(recipients, vec![A.to_string(), B.to_string()]);
    assert!(for_account(&org.client(&created), None).await.is_empty());
    let mine = for_account(&a, by_action(ActionType::EnableAllFeatures)).await;
    assert_eq!(mine.len(), 1);
    let child_a = mine[0].id().unwrap().to_string();
    assert!(mine[0].resources().iter().any(|r| r.r#type() == Some(&HandshakeResourceType::ParentHandshake) && r.value() == Some(pid)));
    assert_eq!(ids(&for_account(&a, by_parent(pid)).await), vec![child_a.clone()]);

    // While the migration is pending: no invitations, no second migration, no early approval.
    let hcv = "HandshakeConstraintViolationException";
    let err = org.mgmt.invite_account_to_organization().target(party(C, HandshakePartyType::Account)).send().await;
    expect_err(err, hcv, Some("INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES"));
    expect_err(org.mgmt.enable_all_features().send().await, hcv, Some("ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION"));
    expect_err(org.mgmt.accept_handshake().handshake_id(pid).send().await, "InvalidHandshakeTransitionException", None);
    assert!(for_account(&org.mgmt, by_action(ActionType::ApproveAllFeatures)).await.is_empty());

    assert_eq!(accept(&a, &child_a).await.state(), Some(&HandshakeState::Accepted));
    assert!(for_account(&org.mgmt, by_action(ActionType::ApproveAllFeatures)).await.is_empty(), "B has not approved yet");
    let child_b = ids(&for_account(&b, by_action(ActionType::EnableAllFeatures)).await).remove(0);
    accept(&b, &child_b).await;

    // Everyone approved: the parent is OPEN and the management account has the approval.
    assert_eq!(describe(&org.mgmt, pid).await.state(), Some(&HandshakeState::Open));
    let approvals = for_account(&org.mgmt, by_action(ActionType::ApproveAllFeatures)).await;
    assert_eq!(approvals.len(), 1);
    let approval = approvals[0].id().unwrap();
    assert_eq!(approvals[0].state(), Some(&HandshakeState::Requested));
    assert_eq!(feature_set(&org.mgmt).await, OrganizationFeatureSet::ConsolidatedBilling);
    expect_err(a.accept_handshake().handshake_id(approval).send().await, "HandshakeNotFoundException", None);

    assert_eq!(accept(&org.mgmt, approval).await.state(), Some(&HandshakeState::Accepted));
    assert_eq!(feature_set(&org.mgmt).await, OrganizationFeatureSet::All);
    assert_eq!(feature_set(&a).await, OrganizationFeatureSet::All);
    assert_eq!(describe(&org.mgmt, pid).await.state(), Some(&HandshakeState::Accepted));
    expect_err(org.mgmt.enable_all_features().send().await, hcv, Some("ORGANIZATION_ALREADY_HAS_ALL_FEATURES"));
    // Policy types are available now, each still to be enabled.
    let roots = org.mgmt.list_roots().send().await.unwrap();
    assert!(roots.roots()[0].policy_types().is_empty());
    let enabled = org.mgmt.enable_policy_type().root_id(&org.root_id).policy_type(PolicyType::ServiceControlPolicy).send().await.unwrap();
    assert_eq!(enabled.root().unwrap().policy_types()[0].status(), Some(&PolicyTypeStatus::Enabled));
    // Invitations are possible again.
    invite(org, C, HandshakePartyType::Account).await;
}

/// A member declining blocks the migration; the management account cancels it (ending every
/// request under it), starts again, removes the member that holds it up and accepts the
/// migration itself.
#[tokio::test]
async fn enable_all_features_declined_canceled_and_accepted_by_management() {
    let fx = billing_org_with_invited_members().await;
    let org = &fx.org;
    let (a, b) = (org.client(A), org.client(B));
    let first = org.mgmt.enable_all_features().send().await.unwrap().handshake().cloned().unwrap();
    let child_a = ids(&for_account(&a, by_action(ActionType::EnableAllFeatures)).await).remove(0);
    let child_b = ids(&for_account(&b, by_action(ActionType::EnableAllFeatures)).await).remove(0);
    accept(&a, &child_a).await;
    let declined = b.decline_handshake().handshake_id(&child_b).send().await.unwrap();
    assert_eq!(declined.handshake().unwrap().state(), Some(&HandshakeState::Declined));
    assert!(for_account(&org.mgmt, by_action(ActionType::ApproveAllFeatures)).await.is_empty());
    expect_err(org.mgmt.accept_handshake().handshake_id(first.id().unwrap()).send().await, "InvalidHandshakeTransitionException", None);

    let canceled = org.mgmt.cancel_handshake().handshake_id(first.id().unwrap()).send().await.unwrap();
    assert_eq!(canceled.handshake().unwrap().state(), Some(&HandshakeState::Canceled));
    let states: Vec<_> = for_org(org, by_parent(first.id().unwrap())).await.iter().map(|h| h.state().cloned().unwrap()).collect();
    assert_eq!(states, vec![HandshakeState::Accepted, HandshakeState::Declined]);

    // Again; B is removed instead of approving, A approves, the management account accepts
    // the ENABLE_ALL_FEATURES handshake itself.
    let second = org.mgmt.enable_all_features().send().await.unwrap().handshake().cloned().unwrap();
    let pid = second.id().unwrap();
    assert_eq!(for_org(org, by_parent(pid)).await.len(), 2);
    org.mgmt.remove_account_from_organization().account_id(B).send().await.expect("remove B");
    assert!(for_account(&b, None).await.iter().all(|h| h.action() == Some(&ActionType::InviteAccountToOrganization)), "B keeps no migration request");
    let child_a = for_account(&a, by_parent(pid)).await.remove(0);
    accept(&a, child_a.id().unwrap()).await;
    assert_eq!(accept(&org.mgmt, pid).await.state(), Some(&HandshakeState::Accepted));
    assert_eq!(feature_set(&org.mgmt).await, OrganizationFeatureSet::All);
    // The approval that the last member's acceptance opened is accepted with the migration.
    let approvals = for_org(org, by_action(ActionType::ApproveAllFeatures)).await;
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0].state(), Some(&HandshakeState::Accepted));
}

/// With no invited members the approval is there at once.
#[tokio::test]
async fn enable_all_features_without_invited_members() {
    let fx = fixture_with(CoreConfig::default(), OrganizationFeatureSet::ConsolidatedBilling).await;
    let org = &fx.org;
    org.create_account("Created").await;
    let parent = org.mgmt.enable_all_features().send().await.unwrap().handshake().cloned().unwrap();
    assert_eq!(parent.state(), Some(&HandshakeState::Open));
    let approvals = for_account(&org.mgmt, by_action(ActionType::ApproveAllFeatures)).await;
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0].parties()[1].id(), MGMT);
    let arn = approvals[0].arn().unwrap();
    assert!(arn.contains("/approve_all_features/h-"), "{arn}");
    // The migration expires after 90 days if nobody finishes it.
    fx.clock.advance_ms(90 * DAY_MS);
    assert_eq!(describe(&org.mgmt, parent.id().unwrap()).await.state(), Some(&HandshakeState::Expired));
    let err = org.mgmt.accept_handshake().handshake_id(approvals[0].id().unwrap()).send().await;
    expect_err(err, "InvalidHandshakeTransitionException", None);
    assert_eq!(feature_set(&org.mgmt).await, OrganizationFeatureSet::ConsolidatedBilling);
    // A new migration can start.
    org.mgmt.enable_all_features().send().await.expect("EnableAllFeatures after expiry");
}

/// An account that left an organization keeps its own address: an invitation to it (in any
/// letter case) reaches it, and handshakes stay in their partition.
#[tokio::test]
async fn email_invitation_to_a_former_member_and_partitions() {
    let fx = fixture().await;
    let org = &fx.org;
    let former = create_account_with(&org.mgmt, "Former", "former.member@example.org").await;
    org.mgmt.remove_account_from_organization().account_id(&former).send().await.expect("remove");
    let h = invite(org, "Former.Member@EXAMPLE.org", HandshakePartyType::Email).await;
    let id = h.id().unwrap();
    let client = org.client(&former);
    assert_eq!(ids(&for_account(&client, None).await), vec![id.to_string()]);
    // The same account id signing for another partition is another account.
    let cn = client_in_region(&org.server.endpoint, &former, "cn-north-1");
    let out = cn.list_handshakes_for_account().send().await.expect("ListHandshakesForAccount in aws-cn");
    assert!(out.handshakes().is_empty());
    expect_err(cn.accept_handshake().handshake_id(id).send().await, "HandshakeNotFoundException", None);
    accept(&client, id).await;
    let account = org.mgmt.describe_account().account_id(&former).send().await.expect("DescribeAccount");
    assert_eq!(account.account().unwrap().joined_method(), Some(&AccountJoinedMethod::Invited));
    assert_eq!(account.account().unwrap().email(), Some("former.member@example.org"));
}

/// The management account declining its own migration ends it with every request under it;
/// a member that leaves keeps no request of its former organization.
#[tokio::test]
async fn enable_all_features_declined_by_management_and_members_leaving() {
    let fx = billing_org_with_invited_members().await;
    let org = &fx.org;
    let (a, b) = (org.client(A), org.client(B));
    let first = org.mgmt.enable_all_features().send().await.unwrap().handshake().cloned().unwrap();
    let pid = first.id().unwrap();
    // The management account sees the migration and every request under it.
    let parents = for_account(&org.mgmt, by_action(ActionType::EnableAllFeatures)).await;
    assert_eq!(ids(&parents), vec![pid.to_string()]);
    let children = for_org(org, by_parent(pid)).await;
    assert_eq!(describe(&org.mgmt, children[0].id().unwrap()).await.state(), Some(&HandshakeState::Requested));
    let declined = org.mgmt.decline_handshake().handshake_id(pid).send().await.expect("decline the migration");
    assert_eq!(declined.handshake().unwrap().state(), Some(&HandshakeState::Declined));
    let states: Vec<_> = for_org(org, by_parent(pid)).await.iter().map(|h| h.state().cloned().unwrap()).collect();
    assert_eq!(states, vec![HandshakeState::Canceled, HandshakeState::Canceled]);
    expect_err(a.accept_handshake().handshake_id(children[0].id().unwrap()).send().await, "InvalidHandshakeTransitionException", None);

    // A second migration; B leaves the organization and keeps nothing of it.
    let second = org.mgmt.enable_all_features().send().await.unwrap().handshake().cloned().unwrap();
    let child_b = for_account(&b, by_parent(second.id().unwrap())).await.remove(0);
    b.leave_organization().send().await.expect("LeaveOrganization");
    assert!(for_account(&b, by_action(ActionType::EnableAllFeatures)).await.is_empty());
    expect_err(b.accept_handshake().handshake_id(child_b.id().unwrap()).send().await, "HandshakeNotFoundException", None);
    expect_err(b.describe_handshake().handshake_id(child_b.id().unwrap()).send().await, "HandshakeNotFoundException", None);
    // The request to B is void: CANCELED at once, not left REQUESTED with nobody to answer it.
    assert_eq!(describe(&org.mgmt, child_b.id().unwrap()).await.state(), Some(&HandshakeState::Canceled));
    // A's approval is then the last one: the approval reaches the management account.
    let child_a = for_account(&a, by_parent(second.id().unwrap())).await.remove(0);
    accept(&a, child_a.id().unwrap()).await;
    let approvals = for_account(&org.mgmt, by_action(ActionType::ApproveAllFeatures)).await;
    assert_eq!(approvals.len(), 1);
    accept(&org.mgmt, approvals[0].id().unwrap()).await;
    assert_eq!(feature_set(&a).await, OrganizationFeatureSet::All);
}

/// A member that declined is removed after every other member approved: it no longer holds the
/// migration up, so the management account receives the approval then.
#[tokio::test]
async fn removing_the_last_blocking_member_opens_the_approval() {
    let fx = billing_org_with_invited_members().await;
    let org = &fx.org;
    let (a, b) = (org.client(A), org.client(B));
    let parent = org.mgmt.enable_all_features().send().await.unwrap().handshake().cloned().unwrap();
    let pid = parent.id().unwrap();
    let child_a = for_account(&a, by_parent(pid)).await.remove(0);
    let child_b = for_account(&b, by_parent(pid)).await.remove(0);
    b.decline_handshake().handshake_id(child_b.id().unwrap()).send().await.unwrap();
    accept(&a, child_a.id().unwrap()).await;
    assert!(for_account(&org.mgmt, by_action(ActionType::ApproveAllFeatures)).await.is_empty(), "B's decline holds it up");
    assert_eq!(describe(&org.mgmt, pid).await.state(), Some(&HandshakeState::Requested));

    org.mgmt.remove_account_from_organization().account_id(B).send().await.expect("remove B");
    assert_eq!(describe(&org.mgmt, pid).await.state(), Some(&HandshakeState::Open));
    let approvals = for_account(&org.mgmt, by_action(ActionType::ApproveAllFeatures)).await;
    assert_eq!(approvals.len(), 1);
    accept(&org.mgmt, approvals[0].id().unwrap()).await;
    assert_eq!(feature_set(&org.mgmt).await, OrganizationFeatureSet::All);
}
