//! Clients that act as a Kustomization's ServiceAccount (`spec.serviceAccountName`, or
//! `--default-service-account`), so that the API server's RBAC decides what its applies,
//! prunes and drift corrections may touch: a tenant's Kustomization cannot write outside
//! what its account is granted.
//!
//! The impersonating client wraps the controller's own (same connection pool, same
//! credentials) and adds `Impersonate-User: system:serviceaccount:<namespace>:<name>` to
//! each request; the API server adds the account's groups itself. The controller's identity
//! needs the `impersonate` verb on `serviceaccounts`.
//!
//! Must not: decide which operations impersonate (the Kustomization actor does: writes do,
//! the controller's own reads and status writes do not).

use std::sync::Arc;

use dashmap::DashMap;
use http::HeaderValue;
use kube::client::Body;

/// The header the API server reads the impersonated user from.
const IMPERSONATE_USER: &str = "Impersonate-User";

/// The user name Kubernetes gives a ServiceAccount.
pub fn service_account_user(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// A user name that cannot travel in a header (control characters): refused, never sent
/// without one, which would run the request as the controller.
#[derive(Debug, thiserror::Error)]
#[error("cannot impersonate {0:?}: not a valid user name; fix spec.serviceAccountName")]
pub struct InvalidUser(String);

impl InvalidUser {
    /// Only a spec change fixes it.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// Impersonating clients, one per user, made on first use and shared.
#[derive(Clone, Default)]
pub struct Impersonation {
    clients: Arc<DashMap<String, kube::Client>>,
}

impl Impersonation {
    /// A client that acts as `user`, built over `base`.
    pub fn client(&self, base: &kube::Client, user: &str) -> Result<kube::Client, InvalidUser> {
        if let Some(found) = self.clients.get(user) {
            return Ok(found.clone());
        }
        let header = HeaderValue::from_str(user).map_err(|_| InvalidUser(user.to_string()))?;
        let client = impersonating(base.clone(), header);
        self.clients.insert(user.to_string(), client.clone());
        Ok(client)
    }
}

fn impersonating(base: kube::Client, header: HeaderValue) -> kube::Client {
    let default_namespace = base.default_namespace().to_string();
    let service = tower::service_fn(move |mut request: http::Request<Body>| {
        let base = base.clone();
        request
            .headers_mut()
            .insert(IMPERSONATE_USER, header.clone());
        async move { base.send(request).await }
    });
    kube::Client::new(service, default_namespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_user_name_that_cannot_be_a_header_is_refused() {
        let config = kube::Config::new("https://127.0.0.1:1".parse().unwrap_or_default());
        let Ok(base) = kube::Client::try_from(config) else {
            panic!("a client for a fixed config");
        };
        let impersonation = Impersonation::default();
        assert!(impersonation.client(&base, "bad\nname").is_err());
        assert!(
            impersonation
                .client(&base, "system:serviceaccount:a:b")
                .is_ok()
        );
    }

    #[test]
    fn service_accounts_are_users_named_as_kubernetes_names_them() {
        assert_eq!(
            service_account_user("team-a", "deployer"),
            "system:serviceaccount:team-a:deployer"
        );
    }
}
