//! `Kustomization` (`kustomize.toolkit.fluxcd.io`), field for field as kustomize-controller
//! v1.7 (Flux 2.7, the last release serving v1beta2): `v1` is stored, `v1beta2` is served
//! and deprecated with Flux's warning.
//!
//! The CRD uses conversion strategy `None`: the API server only rewrites `apiVersion` and
//! prunes every field the target version's schema lacks. So that nothing a v1beta2 user
//! wrote is lost in storage, the stored v1 schema also carries v1beta2's fields, marked
//! deprecated:
//! - `spec.validation` (`none|client|server`): Flux v1beta2 ignored it ("not used"). Each
//!   apply stage is dry-run server-side before it is written, which is what `server` asked
//!   for; `client` gets the same, since the API server is the only faithful validator;
//!   `none` skips the dry-run.
//! - `spec.patchesStrategicMerge` (arbitrary objects, kept verbatim) and
//!   `spec.patchesJson6902` (`{target, patch[]}`): honoured, appended to the
//!   kustomization's patches as Flux's generator does.
//!
//! Every other v1beta2 field exists in v1 with the same shape (v1 only widened
//! `sourceRef.kind`, `dependsOn[]` and `decryption`), so a v1beta2 object stored as v1 reads
//! back through v1beta2 unchanged. Fields only v1 has (`deletionPolicy`, `namePrefix`,
//! `nameSuffix`, `ignoreMissingComponents`, `healthCheckExprs`, `decryption.serviceAccountName`,
//! `dependsOn[].readyExpr`, status `lastAppliedOriginRevision` and `history`) are pruned
//! when read through v1beta2, as in Flux.
//!
//! Deliberate differences from Flux:
//! - Both versions gain `spec.driftDetection.mode` (`enabled|warn|disabled`, no schema
//!   default so objects read back as written). Absent or `enabled` is Flux's behaviour:
//!   drift found at a reconcile is corrected. `warn` detects and reports drift without
//!   correcting it. `disabled` skips the comparison: objects are applied only when the
//!   rendered manifests change.
//! - The CRD carries the categories `all`, `fluxcd`, `fluxcd-appliers` and the annotation
//!   `kustomize.toolkit.fluxcd.io/substitute: disabled`, which upstream added after 1.7.
//!
//! Fields added upstream after 1.7 (`spec.ignore`, `spec.buildMetadata`,
//! `postBuild.substituteStrategy`) are not here.
//!
//! Types and pure helpers only; building and applying is the reconciler's job.

pub mod overrides;
pub mod v1;
pub mod v1beta2;

pub use overrides::FluxOverridesSource;

/// API group of Kustomization.
pub const GROUP: &str = "kustomize.toolkit.fluxcd.io";
/// Kind name.
pub const KIND: &str = "Kustomization";
/// The finalizer that holds a Kustomization until what it applied is garbage-collected.
pub const FINALIZER: &str = "finalizers.fluxcd.io";
