//! driftless: a GitOps reconciler for Kubernetes that speaks the Flux API.
pub mod api;
pub mod apply;
pub mod cli;
pub mod controller;
pub mod render;
pub mod source;
pub mod testenv;
