//! The Kubeflow Pipelines REST API: HTTP client, auth providers, v2beta1 and v1beta1 calls.

#[derive(Debug, thiserror::Error)]
pub enum KfpError {
    #[error("{0}")]
    Other(String),
}
