//! Link-time choices for the `driftless` targets. Nothing here generates code.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let var = |name: &str| env::var(name).unwrap_or_default();
    let static_crt = var("CARGO_CFG_TARGET_FEATURE")
        .split(',')
        .any(|feature| feature == "crt-static");
    if var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu" && !static_crt
    {
        // The unwinder from libgcc_eh.a instead of libgcc_s.so.1: `driftless build` is one
        // process per render, and loading libgcc_s costs ≈ 0.1 ms of each (a library to map
        // and relocate, and a constructor that probes the CPU with CPUID, which traps to the
        // hypervisor on a VM). Listed by this crate, the archive comes before the `-lgcc_s`
        // the standard library asks for, so it resolves the `_Unwind_*` symbols and
        // `--as-needed` drops libgcc_s. Unwinding is unchanged (same unwinder, linked
        // statically, as `-static-libgcc` does for C++); BENCHMARKS.md has the figures.
        println!("cargo:rustc-link-lib=static:-bundle=gcc_eh");
    }
}
