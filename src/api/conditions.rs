//! Condition types and reasons, with Flux's exact strings (`fluxcd/pkg/apis/meta`,
//! source-controller `api/v1/condition_types.go`, kustomize-controller), so that `flux`,
//! kstatus and dashboards read driftless objects as they read Flux's.
//!
//! Every condition and Event reason driftless writes comes from here; no string literal
//! elsewhere.

/// Condition types.
pub mod types {
    /// The object is fully reconciled (all Flux kinds).
    pub const READY: &str = "Ready";
    /// Reconciliation has stopped on an error that needs a spec change. Present only when True.
    pub const STALLED: &str = "Stalled";
    /// The controller is working on the latest spec. Present only when True.
    pub const RECONCILING: &str = "Reconciling";
    /// The last health assessment of the applied objects (Kustomization).
    pub const HEALTHY: &str = "Healthy";
    /// driftless: applied objects differ from Git (`driftDetection.mode: warn`, or while a
    /// correction is held back). Present only when True.
    pub const DRIFTED: &str = "Drifted";

    /// The artifact for the current revision is in storage (GitRepository).
    pub const ARTIFACT_IN_STORAGE: &str = "ArtifactInStorage";
    /// A newer upstream revision exists than the stored artifact. Present only when True.
    pub const ARTIFACT_OUTDATED: &str = "ArtifactOutdated";
    /// The commit or tag signature was verified (only when `spec.verify` is set).
    pub const SOURCE_VERIFIED: &str = "SourceVerified";
    /// Fetching from the upstream failed. Present only when True.
    pub const FETCH_FAILED: &str = "FetchFailed";
    /// Building the artifact failed. Present only when True.
    pub const BUILD_FAILED: &str = "BuildFailed";
    /// A storage operation (write, archive, lock, symlink) failed. Present only when True.
    pub const STORAGE_OPERATION_FAILED: &str = "StorageOperationFailed";
    /// An included GitRepository is missing or has no artifact. Present only when True.
    pub const INCLUDE_UNAVAILABLE: &str = "IncludeUnavailable";
}

/// Condition and Event reasons.
pub mod reasons {
    /// Generic success.
    pub const SUCCEEDED: &str = "Succeeded";
    /// Generic failure.
    pub const FAILED: &str = "Failed";
    /// Work has started (Ready=Unknown, Reconciling=True).
    pub const PROGRESSING: &str = "Progressing";
    /// A failed reconcile will be retried (Reconciling=True).
    pub const PROGRESSING_WITH_RETRY: &str = "ProgressingWithRetry";
    /// The object, or one it depends on, is suspended.
    pub const SUSPENDED: &str = "Suspended";
    /// A dependency is not ready yet.
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    /// A path is invalid (e.g. leaves the artifact root).
    pub const INVALID_PATH: &str = "InvalidPath";
    /// A URL is invalid.
    pub const INVALID_URL: &str = "InvalidURL";
    /// Plain HTTP was used where it is not allowed.
    pub const INSECURE_CONNECTIONS_DISALLOWED: &str = "InsecureConnectionsDisallowed";
    /// The network protocol is not supported.
    pub const UNSUPPORTED_CONNECTION_TYPE: &str = "UnsupportedConnectionType";
    /// Deleting objects that left the inventory failed.
    pub const PRUNE_FAILED: &str = "PruneFailed";
    /// driftless: the objects of a deleted Kustomization were deleted (Normal Event).
    pub const PRUNE_SUCCEEDED: &str = "PruneSucceeded";
    /// The source artifact could not be fetched (missing source, no artifact, 404, digest).
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    /// Building manifests failed (kustomize build, decryption, substitution).
    pub const BUILD_FAILED: &str = "BuildFailed";
    /// Health checks failed or timed out.
    pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
    /// Health checks were cancelled by a new revision (kustomize-controller 1.8+).
    pub const HEALTH_CHECK_CANCELED: &str = "HealthCheckCanceled";
    /// The Kustomization was applied successfully.
    pub const RECONCILIATION_SUCCEEDED: &str = "ReconciliationSucceeded";
    /// Applying (or dry-running) the manifests failed.
    pub const RECONCILIATION_FAILED: &str = "ReconciliationFailed";
    /// driftless: Flux's own CRDs in the build were not applied (Warning Event).
    pub const FLUX_CRD_SKIPPED: &str = "FluxCRDSkipped";
    /// A CEL expression in the spec does not compile.
    pub const INVALID_CEL_EXPRESSION: &str = "InvalidCELExpression";
    /// The spec uses a feature whose gate is off.
    pub const FEATURE_GATE_DISABLED: &str = "FeatureGateDisabled";
    /// A cross-namespace reference was refused.
    pub const ACCESS_DENIED: &str = "AccessDenied";
    /// A working directory could not be created.
    pub const DIRECTORY_CREATION_FAILED: &str = "DirectoryCreationFailed";

    /// A Git operation (clone, fetch, checkout) succeeded.
    pub const GIT_OPERATION_SUCCEEDED: &str = "GitOperationSucceeded";
    /// A Git operation (clone, fetch, checkout) failed.
    pub const GIT_OPERATION_FAILED: &str = "GitOperationFailed";
    /// The URL is not valid for the source kind.
    pub const URL_INVALID: &str = "URLInvalid";
    /// Credentials were missing or refused.
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
    /// Signature verification failed.
    pub const VERIFICATION_ERROR: &str = "VerificationError";
    /// A stat on storage failed.
    pub const STAT_OPERATION_FAILED: &str = "StatOperationFailed";
    /// A read from storage failed.
    pub const READ_OPERATION_FAILED: &str = "ReadOperationFailed";
    /// The storage lock could not be taken.
    pub const ACQUIRE_LOCK_FAILED: &str = "AcquireLockFailed";
    /// Writing the artifact archive failed.
    pub const ARCHIVE_OPERATION_FAILED: &str = "ArchiveOperationFailed";
    /// driftless: the artifact is over `--max-artifact-size`.
    pub const ARTIFACT_TOO_LARGE: &str = "ArtifactTooLarge";
    /// driftless: the spec sets a Flux field driftless does not implement (Stalled).
    pub const UNSUPPORTED_FIELD: &str = "UnsupportedField";
    /// driftless: the spec holds a value that cannot be used (Stalled).
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// driftless: an applied object differs from Git (Drifted=True, Warning Event).
    pub const DRIFT_DETECTED: &str = "DriftDetected";
    /// driftless: a drifted object was applied again (Normal Event).
    pub const DRIFT_CORRECTED: &str = "DriftCorrected";
    /// driftless: an object drifted again and again; its next correction waits (Warning
    /// Event, Drifted=True).
    pub const DRIFT_CORRECTION_HELD: &str = "DriftCorrectionHeld";
    /// driftless: checking or correcting a drifted object failed (Warning Event).
    pub const DRIFT_CORRECTION_FAILED: &str = "DriftCorrectionFailed";

    /// Updating the `latest` symlink failed.
    pub const SYMLINK_UPDATE_FAILED: &str = "SymlinkUpdateFailed";
    /// The stored artifact is already the current revision (trace Event).
    pub const ARTIFACT_UP_TO_DATE: &str = "ArtifactUpToDate";
    /// A cache operation failed.
    pub const CACHE_OPERATION_FAILED: &str = "CacheOperationFailed";
    /// Patching the object's status failed.
    pub const PATCH_OPERATION_FAILED: &str = "PatchOperationFailed";
    /// The provider configuration is invalid.
    pub const INVALID_PROVIDER_CONFIGURATION: &str = "InvalidProviderConfiguration";
    /// A newer upstream revision was found (ArtifactOutdated=True).
    pub const NEW_REVISION: &str = "NewRevision";
    /// A new artifact was stored (Normal Event).
    pub const NEW_ARTIFACT: &str = "NewArtifact";
}
