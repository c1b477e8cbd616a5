//! The official AWS SDK for Rust against Canopy: responsibility (billing) transfers between two
//! organizations. InviteOrganizationToTransferResponsibility (a TRANSFER_RESPONSIBILITY
//! handshake), AcceptHandshake / DeclineHandshake / CancelHandshake on it, Describe,
//! ListInbound/ListOutbound (both sides, paging), Update (rename), Terminate (end of a month),
//! the refusals, and the states that derive from a clock the tests move.

mod common;

use std::sync::Arc;

use aws_sdk_organizations::primitives::DateTime;
use aws_sdk_organizations::types::{
    ActionType, HandshakeParty, HandshakePartyType, HandshakeResourceType, HandshakeState, ResponsibilityTransfer,
    ResponsibilityTransferStatus, ResponsibilityTransferType,
};
use aws_sdk_organizations::Client;
use canopy_core::{CoreConfig, ManualClock};
use canopy_server::testing::TestServer;
use canopy_server::ServerConfig;
use common::*;

/// 2026-11-15T12:00:00Z: the tests' "now".
const NOW_S: i64 = 1_794_744_000;
const DEC_1_2026: i64 = 1_796_083_200;
const DEC_31_2026_LAST_SECOND: i64 = 1_798_761_599;
const JAN_1_2027: i64 = 1_798_761_600;
const DAY_S: i64 = 86_400;

const B: &str = "222222222222";
const C: &str = "333333333333";
const D: &str = "444444444444";

/// A server whose clock moves only when the test says so, with the organization of [`MGMT`]
/// (the inviter, A) and the organizations of `others` (their management accounts).
struct World {
    server: TestServer,
    clock: Arc<ManualClock>,
    a: Client,
    a_org: String,
}

impl World {
    async fn new(others: &[&str]) -> World {
        let clock = Arc::new(ManualClock::new(NOW_S * 1000));
        let server = TestServer::start_with_clock(CoreConfig::default(), clock.clone(), ServerConfig::default()).await;
        let a = client_for(&server.endpoint, MGMT);
        let a_org = a.create_organization().send().await.unwrap().organization().unwrap().id().unwrap().to_string();
        for other in others {
            client_for(&server.endpoint, other).create_organization().send().await.unwrap();
        }
        World { server, clock, a, a_org }
    }

    fn client(&self, account: &str) -> Client {
        client_for(&self.server.endpoint, account)
    }

    async fn org_of(&self, account: &str) -> String {
        self.client(account).describe_organization().send().await.unwrap().organization().unwrap().id().unwrap().to_string()
    }

    fn advance_days(&self, days: i64) {
        self.clock.advance_ms(days * DAY_S * 1000);
    }

    /// `from` invites the management account `to` (by account id), starting on 1 Dec 2026;
    /// returns (handshake id, transfer id).
    async fn invite(&self, from: &Client, to: &str) -> (String, String) {
        let out = from
            .invite_organization_to_transfer_responsibility()
            .r#type(ResponsibilityTransferType::Billing)
            .target(party(to, HandshakePartyType::Account))
            .start_timestamp(DateTime::from_secs(DEC_1_2026))
            .source_name(format!("billing for {to}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("invite {to}: {e:?}"));
        let h = out.handshake().unwrap();
        let transfer = resource(h.resources(), HandshakeResourceType::ResponsibilityTransfer).expect("RESPONSIBILITY_TRANSFER resource");
        (h.id().unwrap().to_string(), transfer)
    }
}

fn party(id: &str, kind: HandshakePartyType) -> HandshakeParty {
    HandshakeParty::builder().id(id).r#type(kind).build().unwrap()
}

fn resource(resources: &[aws_sdk_organizations::types::HandshakeResource], kind: HandshakeResourceType) -> Option<String> {
    resources.iter().find(|r| r.r#type() == Some(&kind)).and_then(|r| r.value()).map(str::to_string)
}

async fn describe(client: &Client, id: &str) -> ResponsibilityTransfer {
    client.describe_responsibility_transfer().id(id).send().await.unwrap().responsibility_transfer().unwrap().clone()
}

async fn inbound(client: &Client) -> Vec<ResponsibilityTransfer> {
    client.list_inbound_responsibility_transfers().r#type(ResponsibilityTransferType::Billing).send().await.unwrap().responsibility_transfers().to_vec()
}

async fn outbound(client: &Client) -> Vec<ResponsibilityTransfer> {
    client.list_outbound_responsibility_transfers().r#type(ResponsibilityTransferType::Billing).send().await.unwrap().responsibility_transfers().to_vec()
}

#[tokio::test]
async fn invite_accept_rename_terminate() {
    let w = World::new(&[B]).await;
    let b = w.client(B);
    let b_org = w.org_of(B).await;

    let out = w
        .a
        .invite_organization_to_transfer_responsibility()
        .r#type(ResponsibilityTransferType::Billing)
        .target(party(B, HandshakePartyType::Account))
        .start_timestamp(DateTime::from_secs(DEC_1_2026))
        .source_name("Consolidated billing")
        .notes("please accept")
        .tags(tag("team", "finance"))
        .send()
        .await
        .unwrap();
    let h = out.handshake().unwrap();
    let handshake_id = h.id().unwrap().to_string();
    assert_eq!(h.action(), Some(&ActionType::TransferResponsibility));
    assert_eq!(h.state(), Some(&HandshakeState::Requested));
    assert_eq!(
        h.arn(),
        Some(format!("arn:aws:organizations::{MGMT}:handshake/{}/transfer_responsibility/{handshake_id}", w.a_org).as_str())
    );
    let parties: Vec<_> = h.parties().iter().map(|p| (p.id(), p.r#type().clone())).collect();
    assert_eq!(parties, [(w.a_org.as_str(), HandshakePartyType::Organization), (B, HandshakePartyType::Account)]);
    let transfer_id = resource(h.resources(), HandshakeResourceType::ResponsibilityTransfer).unwrap();
    assert!(transfer_id.starts_with("rt-") && (11..=35).contains(&transfer_id.len()), "{transfer_id}");
    assert_eq!(resource(h.resources(), HandshakeResourceType::TransferType).as_deref(), Some("BILLING"));
    assert_eq!(resource(h.resources(), HandshakeResourceType::TransferStartTimestamp).as_deref(), Some("2026-12-01T00:00:00Z"));
    assert_eq!(resource(h.resources(), HandshakeResourceType::Notes).as_deref(), Some("please accept"));
    assert_eq!(resource(h.resources(), HandshakeResourceType::ManagementAccount).as_deref(), Some(MGMT));
    assert_eq!(h.expiration_timestamp().unwrap().secs(), NOW_S + 15 * DAY_S);

    // Both sides see it while it is REQUESTED: inbound for the inviter, outbound for B.
    let mine = inbound(&w.a).await;
    assert_eq!(mine.len(), 1);
    let t = &mine[0];
    assert_eq!(t.id(), Some(transfer_id.as_str()));
    assert_eq!(t.status(), Some(&ResponsibilityTransferStatus::Requested));
    assert_eq!(t.r#type(), Some(&ResponsibilityTransferType::Billing));
    assert_eq!(t.name(), Some("Consolidated billing"));
    assert_eq!(t.arn(), Some(format!("arn:aws:organizations::{MGMT}:transfer/{}/billing/inbound/{transfer_id}", w.a_org).as_str()));
    assert_eq!(t.source().unwrap().management_account_id(), Some(B));
    assert_eq!(t.source().unwrap().management_account_email(), Some(format!("account-{B}@example.com").as_str()));
    assert_eq!(t.target().unwrap().management_account_id(), Some(MGMT));
    assert_eq!(t.start_timestamp().unwrap().secs(), DEC_1_2026);
    assert!(t.end_timestamp().is_none());
    assert_eq!(t.active_handshake_id(), Some(handshake_id.as_str()));
    assert!(outbound(&w.a).await.is_empty());
    let theirs = outbound(&b).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].arn(), Some(format!("arn:aws:organizations::{B}:transfer/{b_org}/billing/outbound/{transfer_id}").as_str()));
    assert!(inbound(&b).await.is_empty());

    // Tags: the invite's go on the inviter's side; each side tags its own view.
    let tags = w.a.list_tags_for_resource().resource_id(&transfer_id).send().await.unwrap();
    assert_eq!(tags.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), [("team", "finance")]);
    assert!(b.list_tags_for_resource().resource_id(&transfer_id).send().await.unwrap().tags().is_empty());
    b.tag_resource().resource_id(&transfer_id).tags(tag("side", "source")).send().await.unwrap();
    let tags = b.list_tags_for_resource().resource_id(&transfer_id).send().await.unwrap();
    assert_eq!(tags.tags().iter().map(|t| t.key()).collect::<Vec<_>>(), ["side"]);

    // B accepts: ACCEPTED on both sides.
    let accepted = b.accept_handshake().handshake_id(&handshake_id).send().await.unwrap();
    assert_eq!(accepted.handshake().unwrap().state(), Some(&HandshakeState::Accepted));
    assert_eq!(describe(&w.a, &transfer_id).await.status(), Some(&ResponsibilityTransferStatus::Accepted));
    assert_eq!(describe(&b, &transfer_id).await.status(), Some(&ResponsibilityTransferStatus::Accepted));

    // Neither organization can be deleted while the transfer is in force.
    for client in [&w.a, &b] {
        expect_err(client.delete_organization().send().await, "ConstraintViolationException", Some("ACTIVE_RESPONSIBILITY_TRANSFER_PROCESS"));
    }

    // Either side renames it; the other sees the new name.
    let renamed = b.update_responsibility_transfer().id(&transfer_id).name("Paid by A").send().await.unwrap();
    assert_eq!(renamed.responsibility_transfer().unwrap().name(), Some("Paid by A"));
    assert_eq!(describe(&w.a, &transfer_id).await.name(), Some("Paid by A"));

    // Terminate without an EndTimestamp: WITHDRAWN, ending with the start month (December, as
    // the transfer has not started yet), at its last millisecond.
    let ended = w.a.terminate_responsibility_transfer().id(&transfer_id).send().await.unwrap();
    let ended = ended.responsibility_transfer().unwrap();
    assert_eq!(ended.status(), Some(&ResponsibilityTransferStatus::Withdrawn));
    assert_eq!(ended.end_timestamp().unwrap().to_millis().unwrap(), DEC_31_2026_LAST_SECOND * 1000 + 999);
    expect_err(
        b.terminate_responsibility_transfer().id(&transfer_id).send().await,
        "ResponsibilityTransferAlreadyInStatusException",
        None,
    );
    // Still in force until it ends: deletion still refused, renaming still allowed.
    expect_err(b.delete_organization().send().await, "ConstraintViolationException", Some("ACTIVE_RESPONSIBILITY_TRANSFER_PROCESS"));
    b.update_responsibility_transfer().id(&transfer_id).name("Ending").send().await.unwrap();

    // Past its end (the clock moves to January 2027): over, so no rename, and B may go.
    w.clock.advance_ms((JAN_1_2027 - NOW_S) * 1000);
    assert_eq!(describe(&b, &transfer_id).await.status(), Some(&ResponsibilityTransferStatus::Withdrawn));
    expect_err(
        w.a.update_responsibility_transfer().id(&transfer_id).name("Too late").send().await,
        "ConstraintViolationException",
        Some("TRANSFER_RESPONSIBILITY_UPDATE_NOT_ALLOWED"),
    );
    b.delete_organization().send().await.unwrap();
    // Deleting B's organization took the transfer with it.
    assert!(inbound(&w.a).await.is_empty());
    expect_err(w.a.describe_responsibility_transfer().id(&transfer_id).send().await, "ResponsibilityTransferNotFoundException", None);
}

#[tokio::test]
async fn decline_cancel_expiry_and_email_targets() {
    let w = World::new(&[B]).await;
    let b = w.client(B);

    let (h1, t1) = w.invite(&w.a, B).await;
    let declined = b.decline_handshake().handshake_id(&h1).send().await.unwrap();
    assert_eq!(declined.handshake().unwrap().state(), Some(&HandshakeState::Declined));
    assert_eq!(describe(&w.a, &t1).await.status(), Some(&ResponsibilityTransferStatus::Declined));

    // A declined invitation is no longer pending: a new one may be sent, and canceled.
    let (h2, t2) = w.invite(&w.a, B).await;
    assert_ne!(t1, t2);
    expect_err(w.a.accept_handshake().handshake_id(&h2).send().await, "AccessDeniedException", None);
    w.a.cancel_handshake().handshake_id(&h2).send().await.unwrap();
    assert_eq!(describe(&b, &t2).await.status(), Some(&ResponsibilityTransferStatus::Canceled));
    expect_err(b.accept_handshake().handshake_id(&h2).send().await, "InvalidHandshakeTransitionException", None);

    // By email (any case): the invitation reaches B's management account.
    let out = w
        .a
        .invite_organization_to_transfer_responsibility()
        .r#type(ResponsibilityTransferType::Billing)
        .target(party(&format!("ACCOUNT-{B}@example.com"), HandshakePartyType::Email))
        .start_timestamp(DateTime::from_secs(DEC_1_2026))
        .source_name("by email")
        .send()
        .await
        .unwrap();
    let h3 = out.handshake().unwrap().id().unwrap().to_string();
    let t3 = resource(out.handshake().unwrap().resources(), HandshakeResourceType::ResponsibilityTransfer).unwrap();
    assert_eq!(describe(&b, &t3).await.source().unwrap().management_account_id(), Some(B));
    expect_err(w.a.delete_organization().send().await, "ConstraintViolationException", Some("ACTIVE_RESPONSIBILITY_TRANSFER_PROCESS"));

    // Unanswered for 15 days: EXPIRED, and then nothing can be done with it.
    w.advance_days(14);
    assert_eq!(describe(&w.a, &t3).await.status(), Some(&ResponsibilityTransferStatus::Requested));
    w.advance_days(1);
    assert_eq!(describe(&w.a, &t3).await.status(), Some(&ResponsibilityTransferStatus::Expired));
    assert_eq!(outbound(&b).await.iter().map(|t| t.status().cloned().unwrap()).collect::<Vec<_>>(), [
        ResponsibilityTransferStatus::Declined,
        ResponsibilityTransferStatus::Canceled,
        ResponsibilityTransferStatus::Expired,
    ]);
    expect_err(b.accept_handshake().handshake_id(&h3).send().await, "InvalidHandshakeTransitionException", None);
    expect_err(
        w.a.terminate_responsibility_transfer().id(&t3).send().await,
        "InvalidResponsibilityTransferTransitionException",
        None,
    );
    expect_err(
        w.a.update_responsibility_transfer().id(&t3).name("x").send().await,
        "ConstraintViolationException",
        Some("TRANSFER_RESPONSIBILITY_UPDATE_NOT_ALLOWED"),
    );
    // Nothing pending or in force any more: A may delete its organization.
    w.a.delete_organization().send().await.unwrap();
}

#[tokio::test]
async fn invite_refusals() {
    let w = World::new(&[B]).await;
    let member = create_account_with(&w.a, "Member", "member@example.org").await;
    let send = |client: &Client, target: HandshakeParty, start: i64| {
        client
            .invite_organization_to_transfer_responsibility()
            .r#type(ResponsibilityTransferType::Billing)
            .target(target)
            .start_timestamp(DateTime::from_secs(start))
            .source_name("n")
            .send()
    };
    let to_b = || party(B, HandshakePartyType::Account);

    // Callers: members and outsiders can't invite.
    expect_err(send(&w.client(&member), to_b(), DEC_1_2026).await, "AccessDeniedException", None);
    expect_err(send(&w.client(OUTSIDER), to_b(), DEC_1_2026).await, "AWSOrganizationsNotInUseException", None);

    // Targets.
    let hcv = "HandshakeConstraintViolationException";
    expect_err(send(&w.a, party(MGMT, HandshakePartyType::Account), DEC_1_2026).await, hcv, Some("SOURCE_AND_TARGET_CANNOT_MATCH"));
    expect_err(send(&w.a, party(&member, HandshakePartyType::Account), DEC_1_2026).await, hcv, Some("SOURCE_AND_TARGET_CANNOT_MATCH"));
    expect_err(send(&w.a, party(C, HandshakePartyType::Account), DEC_1_2026).await, hcv, Some("TARGET_ACCOUNT_VALIDATION_FAILURE"));
    let b_member = create_account_with(&w.client(B), "B member", "b-member@example.org").await;
    expect_err(send(&w.a, party(&b_member, HandshakePartyType::Account), DEC_1_2026).await, hcv, Some("TARGET_ACCOUNT_VALIDATION_FAILURE"));
    let iie = "InvalidInputException";
    expect_err(send(&w.a, party(&w.org_of(B).await, HandshakePartyType::Organization), DEC_1_2026).await, iie, Some("INVALID_PARTY_TYPE_TARGET"));
    expect_err(send(&w.a, party("12345", HandshakePartyType::Account), DEC_1_2026).await, iie, Some("INVALID_PATTERN"));
    expect_err(send(&w.a, party("not-an-email", HandshakePartyType::Email), DEC_1_2026).await, iie, Some("INVALID_EMAIL_ADDRESS_TARGET"));

    // StartTimestamp: the first instant of a month, this month to 12 months ahead.
    expect_err(send(&w.a, to_b(), DEC_1_2026 + 6 * 3600).await, iie, Some("START_DATE_NOT_BEGINNING_OF_DAY"));
    expect_err(send(&w.a, to_b(), DEC_1_2026 + DAY_S).await, iie, Some("START_DATE_NOT_BEGINNING_OF_MONTH"));
    expect_err(send(&w.a, to_b(), 1_790_812_800).await, iie, Some("START_DATE_TOO_EARLY")); // 1 Oct 2026
    expect_err(send(&w.a, to_b(), 1_827_619_200).await, iie, Some("START_DATE_TOO_LATE")); // 1 Dec 2027
    // Midnight on the first of a month, but ages away: too late or too early, not "not midnight".
    expect_err(send(&w.a, to_b(), 86_400_000_000_000_000).await, iie, Some("START_DATE_TOO_LATE"));
    expect_err(send(&w.a, to_b(), -86_400_000_000_000).await, iie, Some("START_DATE_TOO_EARLY"));
    send(&w.a, to_b(), 1_825_027_200).await.unwrap(); // 1 Nov 2027: twelve months ahead, accepted
    // Nothing was stored by the refusals: exactly that one transfer exists.
    assert_eq!(inbound(&w.a).await.len(), 1);

    // A second invitation while one is pending.
    expect_err(send(&w.a, to_b(), DEC_1_2026).await, "DuplicateHandshakeException", None);
}

#[tokio::test]
async fn one_level_and_one_payer() {
    let w = World::new(&[B, C, D]).await;
    let (b, c) = (w.client(B), w.client(C));
    let (h, t) = w.invite(&w.a, B).await;
    b.accept_handshake().handshake_id(&h).send().await.unwrap();

    // A and B already have a transfer in force.
    expect_err(
        w.invite_result(&w.a, B).await,
        "HandshakeConstraintViolationException",
        Some("RESPONSIBILITY_TRANSFER_ALREADY_EXISTS"),
    );
    // B's responsibility is held by A: C can't take it too, and B can't take anyone's.
    expect_err(w.invite_result(&c, B).await, "ConstraintViolationException", Some("RESPONSIBILITY_TRANSFER_MAX_OUTBOUND_QUOTA_VIOLATION"));
    expect_err(w.invite_result(&b, D).await, "ConstraintViolationException", Some("RESPONSIBILITY_TRANSFER_MAX_LEVEL_VIOLATION"));
    // A holds B's: nobody can take A's.
    expect_err(w.invite_result(&c, MGMT).await, "ConstraintViolationException", Some("RESPONSIBILITY_TRANSFER_MAX_LEVEL_VIOLATION"));

    // A third organization doesn't see the transfer; an unknown id is not found.
    expect_err(c.describe_responsibility_transfer().id(&t).send().await, "ResponsibilityTransferNotFoundException", None);
    expect_err(w.a.describe_responsibility_transfer().id("rt-zzzzzzzzzzzz").send().await, "ResponsibilityTransferNotFoundException", None);
    expect_err(c.terminate_responsibility_transfer().id(&t).send().await, "ResponsibilityTransferNotFoundException", None);
    expect_err(c.update_responsibility_transfer().id(&t).name("x").send().await, "ResponsibilityTransferNotFoundException", None);

    // ListInbound with an Id: the inviter's own transfer, not B's (for which it is outbound).
    let one = w.a.list_inbound_responsibility_transfers().r#type(ResponsibilityTransferType::Billing).id(&t).send().await.unwrap();
    assert_eq!(one.responsibility_transfers().iter().map(|x| x.id().unwrap()).collect::<Vec<_>>(), [t.as_str()]);
    expect_err(
        b.list_inbound_responsibility_transfers().r#type(ResponsibilityTransferType::Billing).id(&t).send().await,
        "ResponsibilityTransferNotFoundException",
        None,
    );

    // Terminate with an EndTimestamp: the end of a month, not before the start month's end.
    let terminate = |end: i64| w.a.terminate_responsibility_transfer().id(&t).end_timestamp(DateTime::from_secs(end)).send();
    expect_err(terminate(DEC_31_2026_LAST_SECOND - 3600).await, "InvalidInputException", Some("END_DATE_NOT_END_OF_MONTH"));
    expect_err(terminate(DEC_1_2026 - 1).await, "InvalidInputException", Some("END_DATE_TOO_EARLY")); // 30 Nov, before the start
    expect_err(terminate(1_830_297_599).await, "InvalidInputException", Some("END_DATE_TOO_LATE")); // 31 Dec 2027
    let ended = terminate(1_801_439_999).await.unwrap(); // 31 Jan 2027 23:59:59, normalized to .999
    let ended = ended.responsibility_transfer().unwrap();
    assert_eq!(ended.end_timestamp().unwrap().to_millis().unwrap(), 1_801_439_999_999);
    assert_eq!(describe(&b, &t).await.status(), Some(&ResponsibilityTransferStatus::Withdrawn));
}

#[tokio::test]
async fn lists_page_and_refuse_forged_tokens() {
    let w = World::new(&[B, C, D]).await;
    let mut ids = Vec::new();
    for other in [B, C, D] {
        ids.push(w.invite(&w.a, other).await.1);
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = w
            .a
            .list_inbound_responsibility_transfers()
            .r#type(ResponsibilityTransferType::Billing)
            .max_results(2)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        assert!(page.responsibility_transfers().len() <= 2);
        seen.extend(page.responsibility_transfers().iter().map(|t| t.id().unwrap().to_string()));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, ids, "every transfer once, in invitation order");
    // A token of the inbound list is no token of the outbound one.
    let page = w.a.list_inbound_responsibility_transfers().r#type(ResponsibilityTransferType::Billing).max_results(1).send().await.unwrap();
    let inbound_token = page.next_token().unwrap().to_string();
    expect_err(
        w.a.list_outbound_responsibility_transfers().r#type(ResponsibilityTransferType::Billing).next_token(inbound_token).send().await,
        "InvalidInputException",
        Some("INVALID_NEXT_TOKEN"),
    );
    // Members can't list; outsiders are not in an organization.
    let member = create_account_with(&w.a, "Member", "member@example.org").await;
    expect_err(
        w.client(&member).list_outbound_responsibility_transfers().r#type(ResponsibilityTransferType::Billing).send().await,
        "AccessDeniedException",
        None,
    );
    expect_err(
        w.client(OUTSIDER).list_inbound_responsibility_transfers().r#type(ResponsibilityTransferType::Billing).send().await,
        "AWSOrganizationsNotInUseException",
        None,
    );
}

impl World {
    async fn invite_result(
        &self,
        from: &Client,
        to: &str,
    ) -> Result<
        aws_sdk_organizations::operation::invite_organization_to_transfer_responsibility::InviteOrganizationToTransferResponsibilityOutput,
        aws_sdk_organizations::error::SdkError<
            aws_sdk_organizations::operation::invite_organization_to_transfer_responsibility::InviteOrganizationToTransferResponsibilityError,
        >,
    > {
        from.invite_organization_to_transfer_responsibility()
            .r#type(ResponsibilityTransferType::Billing)
            .target(party(to, HandshakePartyType::Account))
            .start_timestamp(DateTime::from_secs(DEC_1_2026))
            .source_name("again")
            .send()
            .await
    }
}
