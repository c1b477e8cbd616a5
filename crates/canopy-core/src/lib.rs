//! The AWS Organizations domain. [`Canopy`] implements the generated `Organizations` trait of
//! `canopy-api`: each operation is a closure over a [`Tx`] run by the [`Store`] as one
//! transaction. Rules live in `ops`, record → wire conversions in `views`, and nothing here knows
//! which database is in use.

mod access;
mod attachments;
pub mod arn;
pub mod authz;
pub mod clock;
pub mod config;
mod free_text;
pub mod identity;
pub mod ids;
mod ops;
pub mod paging;
pub mod records;
pub mod store;
mod tree;
pub mod views;

use std::sync::Arc;

use canopy_api as api;
use canopy_api::{ApiError, Organizations, RequestContext};

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::CoreConfig;
pub use ids::{IdSource, RandomIds};
pub use records::*;
pub use canopy_policy;
pub use store::{BoxFuture, OpError, Store, StoreError, StoreResult, Tx, TxFn};

/// What every operation needs besides its store: settings, the clock and the id source.
pub struct Env {
    pub config: CoreConfig,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdSource>,
}

/// The Organizations service over a store.
#[derive(Clone)]
pub struct Canopy {
    store: Arc<dyn Store>,
    env: Arc<Env>,
}

impl Canopy {
    pub fn new(store: Arc<dyn Store>, config: CoreConfig) -> Self {
        Self::with_env(store, Env { config, clock: Arc::new(SystemClock), ids: Arc::new(RandomIds) })
    }

    pub fn with_env(store: Arc<dyn Store>, env: Env) -> Self {
        Canopy { store, env: Arc::new(env) }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn env(&self) -> &Env {
        &self.env
    }

    /// Runs `op` in a read transaction.
    async fn read<T, F>(&self, op: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Tx, &Env) -> Result<T, OpError> + Send + 'static,
    {
        let env = self.env.clone();
        let result = self.store.read(Box::new(move |tx| op(tx, &env).map(|v| Box::new(v) as _))).await;
        unbox(result)
    }

    /// Runs `op` as one durable write transaction.
    async fn write<T, F>(&self, op: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Tx, &Env) -> Result<T, OpError> + Send + 'static,
    {
        let env = self.env.clone();
        let result = self.store.write(Box::new(move |tx| op(tx, &env).map(|v| Box::new(v) as _))).await;
        unbox(result)
    }
}

fn unbox<T: 'static>(result: Result<Box<dyn std::any::Any + Send>, OpError>) -> Result<T, ApiError> {
    match result {
        Ok(value) => value.downcast::<T>().map(|b| *b).map_err(|_| {
            tracing::error!("store returned a value of the wrong type");
            ApiError::internal()
        }),
        Err(OpError::Api(e)) => Err(e),
        Err(OpError::Store(e)) => {
            // Details go to the log only; the client sees an opaque ServiceException.
            tracing::error!(error = %e, "storage failure");
            Err(ApiError::internal())
        }
    }
}

/// Wires an operation to a read or write closure. The input and caller move into the closure,
/// which must be `'static` because the store may run it on another thread.
macro_rules! run {
    // Every operation passes the SCP check of a member caller first (`authz::enforce`), in the
    // operation's own transaction.
    ($self:ident, $mode:ident, $ctx:ident, $op:ident, |$tx:ident, $env:ident, $caller:ident| $body:expr) => {{
        let $caller = $ctx.caller.clone();
        $self.$mode(move |$tx, $env| { let _member = authz::enforce($tx, $env, &$caller, api::Operation::$op)?; $body }).await
    }};
    ($self:ident, $mode:ident, $ctx:ident, $op:ident, $input:ident, |$tx:ident, $env:ident, $caller:ident, $inp:ident| $body:expr) => {{
        let $caller = $ctx.caller.clone();
        let $inp = $input;
        $self.$mode(move |$tx, $env| { let _member = authz::enforce($tx, $env, &$caller, api::Operation::$op)?; $body }).await
    }};
}

impl Organizations for Canopy {
    async fn create_organization(&self, ctx: &RequestContext, input: api::CreateOrganizationRequest) -> Result<api::CreateOrganizationResponse, ApiError> {
        run!(self, write, ctx, CreateOrganization, input, |tx, env, caller, input| ops::organization::create(tx, env, &caller, &input))
    }
    async fn describe_organization(&self, ctx: &RequestContext) -> Result<api::DescribeOrganizationResponse, ApiError> {
        run!(self, read, ctx, DescribeOrganization, |tx, env, caller| ops::organization::describe(tx, &caller))
    }
    async fn delete_organization(&self, ctx: &RequestContext) -> Result<(), ApiError> {
        run!(self, write, ctx, DeleteOrganization, |tx, env, caller| ops::organization::delete(tx, env, &caller))
    }
    async fn list_roots(&self, ctx: &RequestContext, input: api::ListRootsRequest) -> Result<api::ListRootsResponse, ApiError> {
        run!(self, read, ctx, ListRoots, input, |tx, env, caller, input| ops::organization::list_roots(tx, &caller, &input))
    }

    async fn create_organizational_unit(&self, ctx: &RequestContext, input: api::CreateOrganizationalUnitRequest) -> Result<api::CreateOrganizationalUnitResponse, ApiError> {
        run!(self, write, ctx, CreateOrganizationalUnit, input, |tx, env, caller, input| ops::ou::create(tx, env, &caller, &input))
    }
    async fn describe_organizational_unit(&self, ctx: &RequestContext, input: api::DescribeOrganizationalUnitRequest) -> Result<api::DescribeOrganizationalUnitResponse, ApiError> {
        run!(self, read, ctx, DescribeOrganizationalUnit, input, |tx, env, caller, input| ops::ou::describe(tx, &caller, &input))
    }
    async fn update_organizational_unit(&self, ctx: &RequestContext, input: api::UpdateOrganizationalUnitRequest) -> Result<api::UpdateOrganizationalUnitResponse, ApiError> {
        run!(self, write, ctx, UpdateOrganizationalUnit, input, |tx, env, caller, input| ops::ou::update(tx, &caller, &input))
    }
    async fn delete_organizational_unit(&self, ctx: &RequestContext, input: api::DeleteOrganizationalUnitRequest) -> Result<(), ApiError> {
        run!(self, write, ctx, DeleteOrganizationalUnit, input, |tx, env, caller, input| ops::ou::delete(tx, env, &caller, &input))
    }
    async fn list_organizational_units_for_parent(&self, ctx: &RequestContext, input: api::ListOrganizationalUnitsForParentRequest) -> Result<api::ListOrganizationalUnitsForParentResponse, ApiError> {
        run!(self, read, ctx, ListOrganizationalUnitsForParent, input, |tx, env, caller, input| ops::ou::list_for_parent(tx, &caller, &input))
    }
    async fn list_children(&self, ctx: &RequestContext, input: api::ListChildrenRequest) -> Result<api::ListChildrenResponse, ApiError> {
        run!(self, read, ctx, ListChildren, input, |tx, env, caller, input| ops::ou::list_children(tx, env, &caller, &input))
    }
    async fn list_parents(&self, ctx: &RequestContext, input: api::ListParentsRequest) -> Result<api::ListParentsResponse, ApiError> {
        run!(self, read, ctx, ListParents, input, |tx, env, caller, input| ops::ou::list_parents(tx, env, &caller, &input))
    }

    async fn create_account(&self, ctx: &RequestContext, input: api::CreateAccountRequest) -> Result<api::CreateAccountResponse, ApiError> {
        run!(self, write, ctx, CreateAccount, input, |tx, env, caller, input| ops::account::create(tx, env, &caller, &input))
    }
    async fn describe_create_account_status(&self, ctx: &RequestContext, input: api::DescribeCreateAccountStatusRequest) -> Result<api::DescribeCreateAccountStatusResponse, ApiError> {
        run!(self, read, ctx, DescribeCreateAccountStatus, input, |tx, env, caller, input| ops::account::describe_create_status(tx, env, &caller, &input))
    }
    async fn list_create_account_status(&self, ctx: &RequestContext, input: api::ListCreateAccountStatusRequest) -> Result<api::ListCreateAccountStatusResponse, ApiError> {
        run!(self, read, ctx, ListCreateAccountStatus, input, |tx, env, caller, input| ops::account::list_create_status(tx, env, &caller, &input))
    }
    async fn describe_account(&self, ctx: &RequestContext, input: api::DescribeAccountRequest) -> Result<api::DescribeAccountResponse, ApiError> {
        run!(self, read, ctx, DescribeAccount, input, |tx, env, caller, input| ops::account::describe(tx, env, &caller, &input))
    }
    async fn list_accounts(&self, ctx: &RequestContext, input: api::ListAccountsRequest) -> Result<api::ListAccountsResponse, ApiError> {
        run!(self, read, ctx, ListAccounts, input, |tx, env, caller, input| ops::account::list(tx, env, &caller, &input))
    }
    async fn list_accounts_for_parent(&self, ctx: &RequestContext, input: api::ListAccountsForParentRequest) -> Result<api::ListAccountsForParentResponse, ApiError> {
        run!(self, read, ctx, ListAccountsForParent, input, |tx, env, caller, input| ops::account::list_for_parent(tx, env, &caller, &input))
    }
    async fn move_account(&self, ctx: &RequestContext, input: api::MoveAccountRequest) -> Result<(), ApiError> {
        run!(self, write, ctx, MoveAccount, input, |tx, env, caller, input| ops::account::move_account(tx, env, &caller, &input))
    }
    async fn close_account(&self, ctx: &RequestContext, input: api::CloseAccountRequest) -> Result<(), ApiError> {
        run!(self, write, ctx, CloseAccount, input, |tx, env, caller, input| ops::account::close(tx, env, &caller, &input))
    }
    async fn remove_account_from_organization(&self, ctx: &RequestContext, input: api::RemoveAccountFromOrganizationRequest) -> Result<(), ApiError> {
        run!(self, write, ctx, RemoveAccountFromOrganization, input, |tx, env, caller, input| ops::account::remove(tx, env, &caller, &input))
    }
    async fn leave_organization(&self, ctx: &RequestContext) -> Result<(), ApiError> {
        run!(self, write, ctx, LeaveOrganization, |tx, env, caller| ops::account::leave(tx, env, &caller))
    }

    async fn tag_resource(&self, ctx: &RequestContext, input: api::TagResourceRequest) -> Result<(), ApiError> {
        run!(self, write, ctx, TagResource, input, |tx, env, caller, input| ops::tags::tag_resource(tx, env, &caller, &input))
    }
    async fn untag_resource(&self, ctx: &RequestContext, input: api::UntagResourceRequest) -> Result<(), ApiError> {
        run!(self, write, ctx, UntagResource, input, |tx, env, caller, input| ops::tags::untag_resource(tx, env, &caller, &input))
    }
    async fn list_tags_for_resource(&self, ctx: &RequestContext, input: api::ListTagsForResourceRequest) -> Result<api::ListTagsForResourceResponse, ApiError> {
        run!(self, read, ctx, ListTagsForResource, input, |tx, env, caller, input| ops::tags::list_tags_for_resource(tx, env, &caller, &input))
    }

    async fn create_policy(&self, ctx: &RequestContext, input: api::CreatePolicyRequest) -> Result<api::CreatePolicyResponse, ApiError> {
        run!(self, write, ctx, CreatePolicy, input, |tx, env, caller, input| ops::policy::create(tx, env, &caller, &input))
    }
    async fn describe_policy(&self, ctx: &RequestContext, input: api::DescribePolicyRequest) -> Result<api::DescribePolicyResponse, ApiError> {
        run!(self, read, ctx, DescribePolicy, input, |tx, env, caller, input| ops::policy::describe(tx, &caller, &input))
    }
    async fn update_policy(&self, ctx: &RequestContext, input: api::UpdatePolicyRequest) -> Result<api::UpdatePolicyResponse, ApiError> {
        run!(self, write, ctx, UpdatePolicy, input, |tx, env, caller, input| ops::policy::update(tx, env, &caller, &input))
    }
    async fn delete_policy(&self, ctx: &RequestContext, input: api::DeletePolicyRequest) -> Result<(), ApiError> {
        run!(self, write, ctx, DeletePolicy, input, |tx, env, caller, input| ops::policy::delete(tx, env, &caller, &input))
    }
    async fn list_policies(&self, ctx: &RequestContext, input: api::ListPoliciesRequest) -> Result<api::ListPoliciesResponse, ApiError> {
        run!(self, read, ctx, ListPolicies, input, |tx, env, caller, input| ops::policy::list(tx, &caller, &input))
    }
    async fn list_policies_for_target(&self, ctx: &RequestContext, input: api::ListPoliciesForTargetRequest) -> Result<api::ListPoliciesForTargetResponse, ApiError> {
        run!(self, read, ctx, ListPoliciesForTarget, input, |tx, env, caller, input| ops::policy::list_for_target(tx, env, &caller, &input))
    }
    async fn list_targets_for_policy(&self, ctx: &RequestContext, input: api::ListTargetsForPolicyRequest) -> Result<api::ListTargetsForPolicyResponse, ApiError> {
        run!(self, read, ctx, ListTargetsForPolicy, input, |tx, env, caller, input| ops::policy::list_targets(tx, env, &caller, &input))
    }
    async fn attach_policy(&self, ctx: &RequestContext, input: api::AttachPolicyRequest) -> Result<(), ApiError> {
        run!(self, write, ctx, AttachPolicy, input, |tx, env, caller, input| ops::policy::attach(tx, env, &caller, &input))
    }
    async fn detach_policy(&self, ctx: &RequestContext, input: api::DetachPolicyRequest) -> Result<(), ApiError> {
        run!(self, write, ctx, DetachPolicy, input, |tx, env, caller, input| ops::policy::detach(tx, env, &caller, &input))
    }
    async fn enable_policy_type(&self, ctx: &RequestContext, input: api::EnablePolicyTypeRequest) -> Result<api::EnablePolicyTypeResponse, ApiError> {
        run!(self, write, ctx, EnablePolicyType, input, |tx, env, caller, input| ops::policy::enable_type(tx, env, &caller, &input))
    }
    async fn disable_policy_type(&self, ctx: &RequestContext, input: api::DisablePolicyTypeRequest) -> Result<api::DisablePolicyTypeResponse, ApiError> {
        run!(self, write, ctx, DisablePolicyType, input, |tx, env, caller, input| ops::policy::disable_type(tx, &caller, &input))
    }
    async fn describe_effective_policy(&self, ctx: &RequestContext, input: api::DescribeEffectivePolicyRequest) -> Result<api::DescribeEffectivePolicyResponse, ApiError> {
        run!(self, read, ctx, DescribeEffectivePolicy, input, |tx, env, caller, input| ops::effective::describe(tx, env, &caller, &input))
    }
    async fn list_accounts_with_invalid_effective_policy(
        &self,
        ctx: &RequestContext,
        input: api::ListAccountsWithInvalidEffectivePolicyRequest,
    ) -> Result<api::ListAccountsWithInvalidEffectivePolicyResponse, ApiError> {
        run!(self, read, ctx, ListAccountsWithInvalidEffectivePolicy, input, |tx, env, caller, input| ops::effective::list_invalid_accounts(tx, env, &caller, &input))
    }
    async fn list_effective_policy_validation_errors(
        &self,
        ctx: &RequestContext,
        input: api::ListEffectivePolicyValidationErrorsRequest,
    ) -> Result<api::ListEffectivePolicyValidationErrorsResponse, ApiError> {
        run!(self, read, ctx, ListEffectivePolicyValidationErrors, input, |tx, env, caller, input| ops::effective::list_validation_errors(tx, env, &caller, &input))
    }

    async fn invite_account_to_organization(&self, ctx: &RequestContext, input: api::InviteAccountToOrganizationRequest) -> Result<api::InviteAccountToOrganizationResponse, ApiError> {
        run!(self, write, ctx, InviteAccountToOrganization, input, |tx, env, caller, input| ops::handshake::invite(tx, env, &caller, &input))
    }
    async fn accept_handshake(&self, ctx: &RequestContext, input: api::AcceptHandshakeRequest) -> Result<api::AcceptHandshakeResponse, ApiError> {
        run!(self, write, ctx, AcceptHandshake, input, |tx, env, caller, input| ops::handshake::accept(tx, env, &caller, &input))
    }
    async fn decline_handshake(&self, ctx: &RequestContext, input: api::DeclineHandshakeRequest) -> Result<api::DeclineHandshakeResponse, ApiError> {
        run!(self, write, ctx, DeclineHandshake, input, |tx, env, caller, input| ops::handshake::decline(tx, env, &caller, &input))
    }
    async fn cancel_handshake(&self, ctx: &RequestContext, input: api::CancelHandshakeRequest) -> Result<api::CancelHandshakeResponse, ApiError> {
        run!(self, write, ctx, CancelHandshake, input, |tx, env, caller, input| ops::handshake::cancel(tx, env, &caller, &input))
    }
    async fn describe_handshake(&self, ctx: &RequestContext, input: api::DescribeHandshakeRequest) -> Result<api::DescribeHandshakeResponse, ApiError> {
        run!(self, read, ctx, DescribeHandshake, input, |tx, env, caller, input| ops::handshake::describe(tx, env, &caller, &input))
    }
    async fn list_handshakes_for_account(&self, ctx: &RequestContext, input: api::ListHandshakesForAccountRequest) -> Result<api::ListHandshakesForAccountResponse, ApiError> {
        run!(self, read, ctx, ListHandshakesForAccount, input, |tx, env, caller, input| ops::handshake::list_for_account(tx, env, &caller, &input))
    }
    async fn list_handshakes_for_organization(&self, ctx: &RequestContext, input: api::ListHandshakesForOrganizationRequest) -> Result<api::ListHandshakesForOrganizationResponse, ApiError> {
        run!(self, read, ctx, ListHandshakesForOrganization, input, |tx, env, caller, input| ops::handshake::list_for_organization(tx, env, &caller, &input))
    }
    async fn enable_all_features(&self, ctx: &RequestContext, input: api::EnableAllFeaturesRequest) -> Result<api::EnableAllFeaturesResponse, ApiError> {
        let _ = input;
        run!(self, write, ctx, EnableAllFeatures, |tx, env, caller| ops::handshake::enable_all_features(tx, env, &caller))
    }
    async fn enable_aws_service_access(&self, ctx: &RequestContext, input: api::EnableAWSServiceAccessRequest) -> Result<(), ApiError> {
        run!(self, write, ctx, EnableAWSServiceAccess, input, |tx, env, caller, input| ops::delegation::enable_service_access(tx, env, &caller, &input))
    }
    async fn disable_aws_service_access(&self, ctx: &RequestContext, input: api::DisableAWSServiceAccessRequest) -> Result<(), ApiError> {
        run!(self, write, ctx, DisableAWSServiceAccess, input, |tx, env, caller, input| ops::delegation::disable_service_access(tx, env, &caller, &input))
    }
    async fn list_aws_service_access_for_organization(
        &self,
        ctx: &RequestContext,
        input: api::ListAWSServiceAccessForOrganizationRequest,
    ) -> Result<api::ListAWSServiceAccessForOrganizationResponse, ApiError> {
        run!(self, read, ctx, ListAWSServiceAccessForOrganization, input, |tx, env, caller, input| ops::delegation::list_service_access(tx, &caller, &input))
    }
    async fn register_delegated_administrator(&self, ctx: &RequestContext, input: api::RegisterDelegatedAdministratorRequest) -> Result<(), ApiError> {
        run!(self, write, ctx, RegisterDelegatedAdministrator, input, |tx, env, caller, input| ops::delegation::register(tx, env, &caller, &input))
    }
    async fn deregister_delegated_administrator(&self, ctx: &RequestContext, input: api::DeregisterDelegatedAdministratorRequest) -> Result<(), ApiError> {
        run!(self, write, ctx, DeregisterDelegatedAdministrator, input, |tx, env, caller, input| ops::delegation::deregister(tx, env, &caller, &input))
    }
    async fn list_delegated_administrators(&self, ctx: &RequestContext, input: api::ListDelegatedAdministratorsRequest) -> Result<api::ListDelegatedAdministratorsResponse, ApiError> {
        run!(self, read, ctx, ListDelegatedAdministrators, input, |tx, env, caller, input| ops::delegation::list_admins(tx, env, &caller, &input))
    }
    async fn list_delegated_services_for_account(
        &self,
        ctx: &RequestContext,
        input: api::ListDelegatedServicesForAccountRequest,
    ) -> Result<api::ListDelegatedServicesForAccountResponse, ApiError> {
        run!(self, read, ctx, ListDelegatedServicesForAccount, input, |tx, env, caller, input| ops::delegation::list_services(tx, env, &caller, &input))
    }
    async fn put_resource_policy(&self, ctx: &RequestContext, input: api::PutResourcePolicyRequest) -> Result<api::PutResourcePolicyResponse, ApiError> {
        run!(self, write, ctx, PutResourcePolicy, input, |tx, env, caller, input| ops::resource_policy::put(tx, env, &caller, &input))
    }
    async fn describe_resource_policy(&self, ctx: &RequestContext) -> Result<api::DescribeResourcePolicyResponse, ApiError> {
        run!(self, read, ctx, DescribeResourcePolicy, |tx, env, caller| ops::resource_policy::describe(tx, &caller))
    }
    async fn delete_resource_policy(&self, ctx: &RequestContext) -> Result<(), ApiError> {
        run!(self, write, ctx, DeleteResourcePolicy, |tx, env, caller| ops::resource_policy::delete(tx, &caller))
    }
    async fn create_gov_cloud_account(&self, ctx: &RequestContext, input: api::CreateGovCloudAccountRequest) -> Result<api::CreateGovCloudAccountResponse, ApiError> {
        run!(self, write, ctx, CreateGovCloudAccount, input, |tx, env, caller, input| ops::govcloud::create(tx, env, &caller, &input))
    }
    async fn invite_organization_to_transfer_responsibility(
        &self,
        ctx: &RequestContext,
        input: api::InviteOrganizationToTransferResponsibilityRequest,
    ) -> Result<api::InviteOrganizationToTransferResponsibilityResponse, ApiError> {
        run!(self, write, ctx, InviteOrganizationToTransferResponsibility, input, |tx, env, caller, input| ops::transfer::invite(tx, env, &caller, &input))
    }
    async fn describe_responsibility_transfer(&self, ctx: &RequestContext, input: api::DescribeResponsibilityTransferRequest) -> Result<api::DescribeResponsibilityTransferResponse, ApiError> {
        run!(self, read, ctx, DescribeResponsibilityTransfer, input, |tx, env, caller, input| ops::transfer::describe(tx, env, &caller, &input))
    }
    async fn list_inbound_responsibility_transfers(
        &self,
        ctx: &RequestContext,
        input: api::ListInboundResponsibilityTransfersRequest,
    ) -> Result<api::ListInboundResponsibilityTransfersResponse, ApiError> {
        run!(self, read, ctx, ListInboundResponsibilityTransfers, input, |tx, env, caller, input| ops::transfer::list_inbound(tx, env, &caller, &input))
    }
    async fn list_outbound_responsibility_transfers(
        &self,
        ctx: &RequestContext,
        input: api::ListOutboundResponsibilityTransfersRequest,
    ) -> Result<api::ListOutboundResponsibilityTransfersResponse, ApiError> {
        run!(self, read, ctx, ListOutboundResponsibilityTransfers, input, |tx, env, caller, input| ops::transfer::list_outbound(tx, env, &caller, &input))
    }
    async fn update_responsibility_transfer(&self, ctx: &RequestContext, input: api::UpdateResponsibilityTransferRequest) -> Result<api::UpdateResponsibilityTransferResponse, ApiError> {
        run!(self, write, ctx, UpdateResponsibilityTransfer, input, |tx, env, caller, input| ops::transfer::update(tx, env, &caller, &input))
    }
    async fn terminate_responsibility_transfer(
        &self,
        ctx: &RequestContext,
        input: api::TerminateResponsibilityTransferRequest,
    ) -> Result<api::TerminateResponsibilityTransferResponse, ApiError> {
        run!(self, write, ctx, TerminateResponsibilityTransfer, input, |tx, env, caller, input| ops::transfer::terminate(tx, env, &caller, &input))
    }
}
