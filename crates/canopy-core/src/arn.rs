//! ARNs as AWS makes them (api-facts §4.2): every one carries the management account id.

pub fn organization(partition: &str, mgmt: &str, org_id: &str) -> String {
    format!("arn:{partition}:organizations::{mgmt}:organization/{org_id}")
}

pub fn root(partition: &str, mgmt: &str, org_id: &str, root_id: &str) -> String {
    format!("arn:{partition}:organizations::{mgmt}:root/{org_id}/{root_id}")
}

pub fn ou(partition: &str, mgmt: &str, org_id: &str, ou_id: &str) -> String {
    format!("arn:{partition}:organizations::{mgmt}:ou/{org_id}/{ou_id}")
}

pub fn account(partition: &str, mgmt: &str, org_id: &str, account_id: &str) -> String {
    format!("arn:{partition}:organizations::{mgmt}:account/{org_id}/{account_id}")
}
