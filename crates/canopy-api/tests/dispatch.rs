//! `dispatch` over a dummy service: parsing, defaults (`UnsupportedAPIEndpointException`),
//! output serialization and body edge cases.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use canopy_api::*;
use serde_json::{json, Value};

/// A minimal executor: the dummy service never actually waits.
fn block_on<F: Future>(fut: F) -> F::Output {
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[derive(Default)]
struct Dummy {
    calls: AtomicUsize,
}

impl Organizations for Dummy {
    async fn describe_organization(
        &self,
        ctx: &RequestContext,
    ) -> Result<DescribeOrganizationResponse, ApiError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(DescribeOrganizationResponse {
            organization: Some(Organization {
                id: Some("o-a1b2c3d4e5".into()),
                master_account_id: Some(ctx.caller.account_id.clone()),
                feature_set: Some(OrganizationFeatureSet::All),
                ..Default::default()
            }),
        })
    }

    async fn list_roots(
        &self,
        _ctx: &RequestContext,
        input: ListRootsRequest,
    ) -> Result<ListRootsResponse, ApiError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if input.next_token.is_some() {
            return Err(ApiError::invalid_input(
                InvalidInputExceptionReason::InvalidNextToken,
                "bad token",
            ));
        }
        Ok(ListRootsResponse {
            roots: Some(vec![]),
            next_token: None,
        })
    }

    async fn tag_resource(
        &self,
        _ctx: &RequestContext,
        _input: TagResourceRequest,
    ) -> Result<(), ApiError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn ctx() -> RequestContext {
    RequestContext {
        caller: Caller::root("123456789012", "aws", "us-east-1", "AKIDEXAMPLE"),
        request_id: "req-1".into(),
    }
}

fn call(svc: &Dummy, op: Operation, body: &[u8]) -> Result<Value, ApiError> {
    block_on(dispatch(svc, &ctx(), op, body))
        .map(|bytes| serde_json::from_slice(&bytes).expect("output is JSON"))
}

#[test]
fn implemented_operation_answers() {
    let svc = Dummy::default();
    let v = call(&svc, Operation::DescribeOrganization, b"{}").unwrap();
    assert_eq!(
        v,
        json!({"Organization": {"Id": "o-a1b2c3d4e5", "MasterAccountId": "123456789012", "FeatureSet": "ALL"}})
    );
    // No-input operations accept an empty body too.
    call(&svc, Operation::DescribeOrganization, b"").unwrap();
    call(&svc, Operation::DescribeOrganization, b"  \n").unwrap();
    assert_eq!(svc.calls.load(Ordering::SeqCst), 3);
}

#[test]
fn unimplemented_operations_answer_unsupported() {
    let svc = Dummy::default();
    let e = call(&svc, Operation::CreateOrganization, b"{}").unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedAPIEndpointException);
    assert_eq!(
        e.message,
        "Canopy does not implement CreateOrganization yet."
    );
    assert_eq!(e.http_status(), 400);
    let e = call(&svc, Operation::DeleteOrganization, b"").unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedAPIEndpointException);
    // Every operation answers something, never panics, on an empty body.
    for op in Operation::ALL {
        let _ = block_on(dispatch(&svc, &ctx(), *op, b""));
    }
}

#[test]
fn operations_without_output_answer_empty_object() {
    let svc = Dummy::default();
    let body = br#"{"ResourceId":"123456789012","Tags":[{"Key":"a","Value":"b"}]}"#;
    assert_eq!(
        block_on(dispatch(&svc, &ctx(), Operation::TagResource, body)).unwrap(),
        b"{}"
    );
}

#[test]
fn invalid_input_never_reaches_the_service() {
    let svc = Dummy::default();
    let e = call(&svc, Operation::ListRoots, br#"{"MaxResults":21}"#).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInputException);
    assert_eq!(e.reason, Some("MAX_VALUE_EXCEEDED"));
    let e = call(&svc, Operation::TagResource, b"{}").unwrap_err();
    assert_eq!(e.reason, Some("INPUT_REQUIRED"));
    assert_eq!(svc.calls.load(Ordering::SeqCst), 0);
}

#[test]
fn service_errors_pass_through() {
    let svc = Dummy::default();
    let e = call(&svc, Operation::ListRoots, br#"{"NextToken":"x"}"#).unwrap_err();
    assert_eq!(e.reason, Some("INVALID_NEXT_TOKEN"));
}

#[test]
fn malformed_bodies_are_serialization_errors() {
    let svc = Dummy::default();
    for body in [
        &b"{"[..],
        b"[]",
        b"\"x\"",
        b"null",
        b"42",
        b"{\"a\":1}}",
        &[0xff, 0xfe][..],
    ] {
        let e = call(&svc, Operation::ListRoots, body).unwrap_err();
        assert_eq!(
            e.code,
            ErrorCode::SerializationException,
            "{:?}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(e.reason, None);
        // Also for operations without input.
        let e = call(&svc, Operation::DescribeOrganization, body).unwrap_err();
        assert_eq!(e.code, ErrorCode::SerializationException);
    }
    let e = call(&svc, Operation::ListRoots, br#"{"MaxResults":"1"}"#).unwrap_err();
    assert_eq!(e.code, ErrorCode::SerializationException);
    assert!(e.message.contains("MaxResults"), "{}", e.message);
}

#[test]
fn dispatch_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let svc = Dummy::default();
    let ctx = ctx();
    let fut = dispatch(&svc, &ctx, Operation::ListRoots, b"{}");
    assert_send(&fut);
    // The trait's default bodies are Send as well.
    let default_fut = svc.create_organization(&ctx, CreateOrganizationRequest::default());
    assert_send(&default_fut);
}
