//! In-process render of the seed's overlay (base Deployment + patchesStrategicMerge), the
//! path the reconciler takes for every Kustomization. Prints the median and 95th percentile
//! of one full build (read, parse, merge, sort) over many runs.
//!
//!     cargo bench --bench render_seed

use std::path::Path;
use std::time::Instant;

use driftless::render::build::{BuildOptions, LoadRestriction, build};
use driftless::render::tree::DiskTree;
use driftless::render::yaml;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kustomize/seed-overlay-production/input");
    let tree = match DiskTree::new(&root) {
        Ok(tree) => tree,
        Err(error) => {
            eprintln!("cannot open {}: {error}", root.display());
            std::process::exit(1);
        }
    };
    let options = BuildOptions {
        restriction: LoadRestriction::None,
        fifo: false,
    };
    let dir = "apps/my-app/overlays/production";
    let mut samples = Vec::with_capacity(5000);
    for _ in 0..5000 {
        let start = Instant::now();
        let built = match build(&tree, dir, &options) {
            Ok(built) => built,
            Err(error) => {
                eprintln!("render failed: {error}");
                std::process::exit(1);
            }
        };
        let objects: Vec<_> = built
            .resources
            .into_iter()
            .map(|resource| resource.object)
            .collect();
        let text = yaml::to_yaml_stream(&objects);
        samples.push(start.elapsed());
        std::hint::black_box(text);
    }
    samples.sort();
    let median = samples[samples.len() / 2];
    let p95 = samples[samples.len() * 95 / 100];
    println!(
        "seed overlay, in-process render (build + YAML output), 5000 runs: median {median:?}, p95 {p95:?}"
    );
}
