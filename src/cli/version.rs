//! `driftless version`.

use crate::testenv::{ETCD_VERSION, KUBERNETES_VERSION, KWOK_VERSION};

pub fn run() -> anyhow::Result<()> {
    println!("driftless {}", env!("CARGO_PKG_VERSION"));
    println!("kubernetes {KUBERNETES_VERSION} (API types and local control plane)");
    println!("etcd {ETCD_VERSION}, kwok {KWOK_VERSION} (local control plane)");
    Ok(())
}
