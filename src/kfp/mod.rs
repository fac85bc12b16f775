//! The Kubeflow Pipelines REST API: HTTP client, auth providers, v2beta1 and v1beta1 calls.

pub mod auth;

#[derive(Debug, thiserror::Error)]
pub enum KfpError {
    /// No credentials worked, or a credential source failed (message names the provider,
    /// never the secret).
    #[error("{0}")]
    Auth(String),
    #[error("{0}")]
    Other(String),
}
