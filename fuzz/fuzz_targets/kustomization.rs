//! The kustomization file parser: YAML 1.1 reading, then kustomize's decoding and fix-ups.
//! Any input must end in a value or an error, never a panic, hang or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = driftless::render::yaml::parse_config(data, "fuzz/kustomization.yaml") {
        let _ = driftless::render::kustomization::decode(value);
    }
    if let Ok(documents) = driftless::render::yaml::parse_resources(data, "fuzz/resources.yaml") {
        let _ = driftless::render::yaml::to_yaml_stream(&documents);
    }
});
