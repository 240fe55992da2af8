//! `driftless version`.

pub fn run() -> anyhow::Result<()> {
    println!("driftless {}", env!("CARGO_PKG_VERSION"));
    Ok(())
}
