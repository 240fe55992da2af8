//! Strategic merge: the input is split at the first `\n---\n` into a target and a patch
//! (both YAML); the merge must end in a value or an error for any pair.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Some((target, patch)) = text.split_once("\n---\n") else {
        return;
    };
    let parse = |text: &str| {
        driftless::render::yaml::parse_resources(text.as_bytes(), "fuzz.yaml")
            .ok()?
            .into_iter()
            .next()
    };
    let (Some(target), Some(patch)) = (parse(target), parse(patch)) else {
        return;
    };
    let api_version = target
        .get("apiVersion")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("apps/v1")
        .to_string();
    let kind = target
        .get("kind")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("Deployment")
        .to_string();
    if let Ok(driftless::render::patch::smp::MergeOutcome::Merged(merged)) =
        driftless::render::patch::smp::strategic_merge(&target, &patch, &api_version, &kind)
    {
        let _ = driftless::render::yaml::to_yaml(&merged);
    }
});
