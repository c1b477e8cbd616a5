//! Identity: the credentials Canopy issues, the roles CreateAccount makes, and STS AssumeRole's
//! rules (trust, session duration). Secrets arrive here already sealed by the server: core never
//! sees a secret in clear, only stores what it is given.

use canopy_api::{ApiError, SessionFacts};
use canopy_policy::{ContextValue, RequestContext};

use crate::store::{OpError, Tx};
use crate::{Canopy, CredentialRecord, Env, RoleRecord};

/// The role CreateAccount makes when the request names none.
pub const DEFAULT_ROLE_NAME: &str = "OrganizationAccountAccessRole";
/// IAM's default MaxSessionDuration of a role, and the cap of role chaining.
pub const MAX_SESSION_SECS: i64 = 3600;
/// STS's shortest session.
pub const MIN_SESSION_SECS: i64 = 900;

/// The principal behind a credential: what GetCallerIdentity answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub partition: String,
    pub account_id: String,
    /// The resource part of the ARN: `root`, `user/NAME` or `assumed-role/ROLE/SESSION`.
    pub resource: String,
    /// GetCallerIdentity's UserId.
    pub user_id: String,
    /// When a session's temporary credentials were issued (Unix ms); `None` for long-term keys.
    pub token_issued_ms: Option<i64>,
    /// A session's policy, tags and source identity.
    pub session: Option<SessionFacts>,
}

impl Principal {
    /// The root user of an account (dev auth's caller, and keys issued without a user name).
    pub fn root(partition: &str, account_id: &str) -> Self {
        Principal {
            partition: partition.to_owned(),
            account_id: account_id.to_owned(),
            resource: "root".into(),
            user_id: account_id.to_owned(),
            token_issued_ms: None,
            session: None,
        }
    }

    pub fn of(credential: &CredentialRecord) -> Self {
        Principal {
            partition: credential.partition.clone(),
            account_id: credential.account_id.clone(),
            resource: credential.principal.clone(),
            user_id: credential.user_id.clone(),
            token_issued_ms: credential.session_token_sha256.is_some().then_some(credential.created_ms),
            session: credential.session.clone(),
        }
    }

    /// Whether this is an assumed-role session (AssumeRole from it is role chaining).
    pub fn is_session(&self) -> bool {
        self.resource.starts_with("assumed-role/")
    }

    /// Root user, IAM user or role session (what `aws:PrincipalType` tells apart).
    pub fn principal_type(&self) -> canopy_api::PrincipalType {
        if self.is_session() {
            canopy_api::PrincipalType::AssumedRole
        } else if self.resource == "root" {
            canopy_api::PrincipalType::Root
        } else {
            canopy_api::PrincipalType::IamUser
        }
    }

    /// `arn:aws:iam::123456789012:user/alice`, `arn:aws:sts::…:assumed-role/R/s`, `…:root`.
    pub fn arn(&self) -> String {
        let service = if self.is_session() { "sts" } else { "iam" };
        format!("arn:{}:{service}::{}:{}", self.partition, self.account_id, self.resource)
    }
}

/// A credential about to be stored: the server generated the secret and sealed it.
#[derive(Debug, Clone)]
pub struct NewCredential {
    pub access_key_id: String,
    pub secret_sealed: String,
    /// SHA-256 (hex) of the session token, for temporary credentials.
    pub session_token_sha256: Option<String>,
}

/// A parsed AssumeRole request (the server validated the wire syntax).
#[derive(Debug, Clone)]
pub struct AssumeRoleRequest {
    pub partition: String,
    pub account_id: String,
    pub role_name: String,
    pub role_arn: String,
    pub session_name: String,
    pub duration_secs: i64,
    /// The client's address, for SCP conditions on `aws:SourceIp`.
    pub source_ip: Option<std::net::IpAddr>,
    /// The session policy, session tags and source identity asked for (the server checked
    /// their wire constraints; the policy's grammar is checked here).
    pub session: SessionFacts,
}

/// What AssumeRole issued.
#[derive(Debug, Clone)]
pub struct AssumedRole {
    pub principal: Principal,
    pub access_key_id: String,
    pub expires_ms: i64,
}

/// Why AssumeRole or credential creation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// AWS: AccessDenied (403).
    #[error("{0}")]
    AccessDenied(String),
    /// AWS: ValidationError (400).
    #[error("{0}")]
    Validation(String),
    /// AWS: MalformedPolicyDocument (400): a session policy that is not a valid policy.
    #[error("{0}")]
    MalformedPolicy(String),
    /// AWS: PackedPolicyTooLarge (400): the session policy is over its size limit.
    #[error("{0}")]
    PolicyTooLarge(String),
    /// A storage failure (already logged): an opaque internal error.
    #[error(transparent)]
    Internal(ApiError),
}

/// The longest session policy AWS takes, in characters of its plain text.
pub const MAX_SESSION_POLICY_CHARS: usize = 2048;

/// A session policy must be a valid IAM identity policy (Version optional, Statement with
/// Effect, Action or NotAction, Resource or NotResource, Condition; no Principal) of at most
/// [`MAX_SESSION_POLICY_CHARS`].
fn check_session_policy(policy: &str) -> Result<(), IdentityError> {
    let chars = policy.chars().count();
    if chars > MAX_SESSION_POLICY_CHARS {
        return Err(IdentityError::PolicyTooLarge(format!(
            "The session policy has {chars} characters; a session policy can have at most {MAX_SESSION_POLICY_CHARS}."
        )));
    }
    canopy_policy::validate_session_policy(policy).map_err(|e| IdentityError::MalformedPolicy(e.to_string()))
}

/// The request's own keys for the SCPs that judge an AssumeRole: the session name, the tags
/// and source identity asked for.
fn assume_role_keys(request: &AssumeRoleRequest) -> RequestContext {
    let mut keys = RequestContext::new();
    keys.insert("sts:RoleSessionName", request.session_name.as_str());
    let facts = &request.session;
    for (key, value) in &facts.tags {
        keys.insert(format!("aws:RequestTag/{key}"), value.as_str());
    }
    if !facts.tags.is_empty() {
        keys.insert("aws:TagKeys", ContextValue::Multi(facts.tags.iter().map(|(k, _)| k.clone()).collect()));
    }
    if !facts.transitive_tag_keys.is_empty() {
        keys.insert("sts:TransitiveTagKeys", ContextValue::Multi(facts.transitive_tag_keys.clone()));
    }
    if let Some(source) = &facts.source_identity {
        keys.insert("sts:SourceIdentity", source.as_str());
    }
    keys
}

/// Makes (or replaces) the role `name` in `account_id`, trusting `trusted_account_id`.
pub(crate) fn put_access_role(
    tx: &mut dyn Tx,
    env: &Env,
    partition: &str,
    account_id: &str,
    name: Option<&str>,
    trusted_account_id: &str,
) -> Result<(), OpError> {
    tx.role_put(&RoleRecord {
        partition: partition.to_owned(),
        account_id: account_id.to_owned(),
        name: name.unwrap_or(DEFAULT_ROLE_NAME).to_owned(),
        role_id: env.ids.principal_id("AROA"),
        trusted_account_id: trusted_account_id.to_owned(),
        created_ms: env.clock.now_ms(),
    })?;
    Ok(())
}

/// IAM user and role session names: `[\w+=,.@-]`, `min..=max` characters.
pub fn is_iam_name(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.chars().count())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

impl Canopy {
    /// The credential with this access key id, whatever its state (the caller checks expiry).
    pub async fn credential(&self, access_key_id: &str) -> Result<Option<CredentialRecord>, ApiError> {
        let akid = access_key_id.to_owned();
        self.read(move |tx, _| Ok(tx.credential_get(&akid)?)).await
    }

    /// Long-term credentials of `partition`, of one account or all (`canopy credentials list`).
    pub async fn long_term_credentials(&self, partition: &str, account_id: Option<&str>) -> Result<Vec<CredentialRecord>, ApiError> {
        let (partition, account_id) = (partition.to_owned(), account_id.map(str::to_owned));
        self.read(move |tx, _| Ok(tx.credential_list_long_term(&partition, account_id.as_deref())?)).await
    }

    /// Revokes a credential (long-term or temporary): it stops verifying at once on this
    /// database, and within the key cache's re-check interval in a running server. Returns the
    /// revoked record, `None` when no such key exists.
    pub async fn revoke_credential(&self, access_key_id: &str) -> Result<Option<CredentialRecord>, ApiError> {
        let akid = access_key_id.to_owned();
        self.write(move |tx, _| {
            let found = tx.credential_get(&akid)?;
            if found.is_some() {
                tx.credential_delete(&akid)?;
            }
            Ok(found)
        })
        .await
    }

    /// How many long-term credentials exist (strict mode says how to make the first).
    pub async fn long_term_credential_count(&self) -> Result<u64, ApiError> {
        self.read(|tx, _| Ok(tx.credential_count_long_term()?)).await
    }

    /// Stores a long-term credential for `account_id` (the root user, or the IAM user
    /// `user_name`), making a standalone account first when the account does not exist.
    pub async fn create_credential(
        &self,
        partition: &str,
        account_id: &str,
        user_name: Option<&str>,
        new: NewCredential,
    ) -> Result<CredentialRecord, IdentityError> {
        if !(account_id.len() == 12 && account_id.bytes().all(|b| b.is_ascii_digit())) {
            return Err(IdentityError::Validation(format!("account id {account_id:?} must be 12 digits")));
        }
        if let Some(name) = user_name {
            if !is_iam_name(name, 1, 64) {
                return Err(IdentityError::Validation(format!(
                    "user name {name:?} must be 1 to 64 characters of letters, digits and _+=,.@-"
                )));
            }
        }
        let (partition, account_id, user_name) = (partition.to_owned(), account_id.to_owned(), user_name.map(str::to_owned));
        self.write(move |tx, env| {
            let now = env.clock.now_ms();
            if tx.account_get(&partition, &account_id)?.is_none() {
                // The same account a first call would make (and an EMAIL invitation reaches).
                tx.account_insert(&crate::ops::organization::standalone_account(&partition, &account_id, now))?;
            }
            let (principal, user_id) = match &user_name {
                // One IAM user, one unique id, whatever the number of its keys: a user already
                // holding a key (names compare without case, as IAM's do) keeps its id and name.
                Some(name) => {
                    let wanted = format!("user/{name}");
                    let existing = tx.credential_list_long_term(&partition, Some(&account_id))?.into_iter().find(|c| c.principal.eq_ignore_ascii_case(&wanted));
                    match existing {
                        Some(c) => (c.principal, c.user_id),
                        None => (wanted, env.ids.principal_id("AIDA")),
                    }
                }
                None => ("root".to_owned(), account_id.clone()),
            };
            let record = CredentialRecord {
                access_key_id: new.access_key_id.clone(),
                partition: partition.clone(),
                account_id: account_id.clone(),
                principal,
                user_id,
                secret_sealed: new.secret_sealed.clone(),
                session_token_sha256: None,
                expires_ms: None,
                created_ms: now,
                session: None,
            };
            tx.credential_insert(&record)?;
            Ok(record)
        })
        .await
        .map_err(IdentityError::Internal)
    }

    /// STS AssumeRole: the role must exist and trust the caller's account; the session lasts
    /// `duration_secs` (at most the role's one hour). Stores the temporary credential and
    /// drops expired ones.
    pub async fn assume_role(
        &self,
        caller: &Principal,
        request: AssumeRoleRequest,
        new: NewCredential,
    ) -> Result<AssumedRole, IdentityError> {
        if let Some(policy) = &request.session.policy {
            check_session_policy(policy)?;
        }
        let caller = caller.clone();
        let outcome = self
            .write(move |tx, env| {
                let denied = || {
                    IdentityError::AccessDenied(format!(
                        "User: {} is not authorized to perform: sts:AssumeRole on resource: {}",
                        caller.arn(),
                        request.role_arn
                    ))
                };
                // The SCPs in force on the caller's account (and a calling session's policy) apply
                // to its principals' AssumeRole, before the role and its trust are looked at;
                // passing session tags is sts:TagSession, a source identity sts:SetSourceIdentity.
                let mut actions = vec!["sts:AssumeRole"];
                if !request.session.tags.is_empty() {
                    actions.push("sts:TagSession");
                }
                if request.session.source_identity.is_some() {
                    actions.push("sts:SetSourceIdentity");
                }
                let keys = assume_role_keys(&request);
                if let Some(message) = crate::authz::denial_for(tx, env, &caller, &actions, &request.role_arn, request.source_ip, keys)? {
                    return Ok(Err(IdentityError::AccessDenied(message)));
                }
                // A missing role and an untrusting one look the same to the caller, as in AWS.
                let Some(role) = tx.role_get(&request.partition, &request.account_id, &request.role_name)? else {
                    return Ok(Err(denied()));
                };
                if role.trusted_account_id != caller.account_id || role.partition != caller.partition {
                    return Ok(Err(denied()));
                }
                // A closed account is suspended: its roles can't be assumed any more (the same
                // rule as for founding or joining an organization).
                if tx.account_get(&request.partition, &request.account_id)?.is_some_and(|a| a.close_requested_ms.is_some()) {
                    return Ok(Err(IdentityError::AccessDenied(format!(
                        "User: {} is not authorized to perform: sts:AssumeRole on resource: {}: account {} is closed",
                        caller.arn(),
                        request.role_arn,
                        request.account_id
                    ))));
                }
                if caller.is_session() && request.duration_secs > MAX_SESSION_SECS {
                    return Ok(Err(IdentityError::Validation(
                        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
                            .into(),
                    )));
                }
                if request.duration_secs > MAX_SESSION_SECS {
                    return Ok(Err(IdentityError::Validation(
                        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.".into(),
                    )));
                }
                let now = env.clock.now_ms();
                let expires_ms = now + request.duration_secs * 1000;
                let principal = Principal {
                    partition: role.partition.clone(),
                    account_id: role.account_id.clone(),
                    resource: format!("assumed-role/{}/{}", role.name, request.session_name),
                    user_id: format!("{}:{}", role.role_id, request.session_name),
                    token_issued_ms: Some(now),
                    session: (request.session != SessionFacts::default()).then(|| request.session.clone()),
                };
                tx.credential_delete_expired(now)?;
                tx.credential_insert(&CredentialRecord {
                    session: principal.session.clone(),
                    access_key_id: new.access_key_id.clone(),
                    partition: principal.partition.clone(),
                    account_id: principal.account_id.clone(),
                    principal: principal.resource.clone(),
                    user_id: principal.user_id.clone(),
                    secret_sealed: new.secret_sealed.clone(),
                    session_token_sha256: new.session_token_sha256.clone(),
                    expires_ms: Some(expires_ms),
                    created_ms: now,
                })?;
                Ok(Ok(AssumedRole { principal, access_key_id: new.access_key_id.clone(), expires_ms }))
            })
            .await
            .map_err(IdentityError::Internal)?;
        outcome
    }
}
