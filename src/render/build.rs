//! The kustomization pipeline: kustomize v5.5.0's `accumulateTarget` at every level and the
//! steps it runs once at the top (hash suffixes, name references, vars, dropping local
//! config, ordering, build metadata).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::error::RenderError;
use super::fieldspec::{self, FieldSpec};
use super::generators::{self, GeneratedKind, GeneratorArgs, GeneratorOptions};
use super::kustomization::{self, FILE_NAMES, Kustomization};
use super::resource::{ResId, Resource};
use super::sort::{self, Order};
use super::transform;
use super::tree::{self, EntryKind, FileTree};
use super::{hash, openapi, patching, plugins, yaml};

/// How far files may be loaded from a kustomization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadRestriction {
    /// Anywhere inside the tree's root (Flux's behaviour, our default).
    #[default]
    None,
    /// Only inside the kustomization's own directory (kustomize's default).
    RootOnly,
}

/// Options of one build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub restriction: LoadRestriction,
    /// Keep accumulation order unless the kustomization's `sortOptions` say otherwise, as
    /// Flux builds do (kubectl sorts in the legacy order by default).
    pub fifo: bool,
}

/// What a build produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    pub resources: Vec<Resource>,
    pub warnings: Vec<String>,
}

/// Nesting beyond this many kustomizations is refused rather than followed.
const MAX_DEPTH: usize = 100;

/// Builds the kustomization in directory `dir` of `tree`.
pub fn build(tree: &dyn FileTree, dir: &str, options: &BuildOptions) -> Result<Built, RenderError> {
    build_with(tree, dir, None, options)
}

/// Builds `dir` with the given top kustomization (and its file name, for messages) instead of
/// the one on disk: Flux's generator makes one for plain directories and rewrites the rest.
pub fn build_with(
    tree: &dyn FileTree,
    dir: &str,
    top: Option<(String, kustomization::Decoded)>,
    options: &BuildOptions,
) -> Result<Built, RenderError> {
    let schema = std::rc::Rc::new(openapi::OpenApi::new());
    // Every cluster-scope test of this build (namespace, selectors, name references) sees
    // the schema as the build sets it.
    let _schema_active = openapi::activate(schema.clone());
    let mut builder = Builder {
        tree,
        options,
        openapi: schema,
        warnings: Vec::new(),
        chain: Vec::new(),
        track_transformations: false,
    };
    let (file, kustomization) = match top {
        Some((file, decoded)) => {
            builder.warnings.extend(decoded.warnings);
            (file, decoded.kustomization)
        }
        None => builder.load_kustomization(dir)?,
    };
    builder
        .openapi
        .set_from(kustomization.openapi.as_ref(), &file, |path| {
            builder.read_file(dir, path)
        })?;
    let build_metadata = kustomization.build_metadata.clone();
    builder.track_transformations = build_metadata
        .iter()
        .any(|entry| entry == "transformerAnnotations");
    let mut accumulated = Accumulated::default();
    builder.accumulate_target(
        dir,
        &file,
        &kustomization,
        &build_metadata,
        &mut accumulated,
    )?;
    let mut resources = accumulated.resources;

    add_hashes(&mut resources)?;
    super::nameref::fix_references(&mut resources, &accumulated.config.name_reference).map_err(
        |message| RenderError::Field {
            file: file.clone(),
            field: "nameReference",
            message,
        },
    )?;
    super::vars::resolve(
        &mut resources,
        &accumulated.vars,
        &accumulated.config.var_reference,
    )
    .map_err(|message| RenderError::Field {
        file: file.clone(),
        field: "vars",
        message,
    })?;
    resources.retain(|resource| {
        resource
            .object
            .pointer("/metadata/annotations/config.kubernetes.io~1local-config")
            .is_none()
    });
    // Flux builds with kustomize's zero-valued reorder option, which sorts only when the
    // kustomization asks; kubectl sorts legacy by default.
    if kustomization.sort_options.is_some() || !options.fifo {
        let order = Order::from_options(kustomization.sort_options.as_ref()).map_err(|error| {
            RenderError::Field {
                file: file.clone(),
                field: "sortOptions",
                message: error.to_string(),
            }
        })?;
        sort::sort(&mut resources, &order);
    }
    finish_metadata(&mut resources, &build_metadata, dir);
    // kustomize fails at print time on text YAML cannot carry (DEL, C1 controls, …).
    for resource in &resources {
        let origin = match &resource.origin {
            Some(file) => format!("{file} ({})", resource.id()),
            None => resource.id().to_string(),
        };
        yaml::check_printable(&resource.object, &origin)
            .map_err(|error| RenderError::Yaml(error.to_string()))?;
    }
    Ok(Built {
        resources,
        warnings: builder.warnings,
    })
}

/// What one level hands to its parent.
#[derive(Debug, Default)]
struct Accumulated {
    resources: Vec<Resource>,
    vars: Vec<super::vars::Var>,
    config: Config,
}

/// Field specs that `configurations:` and `crds:` extend.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub name_reference: Vec<Value>,
    pub var_reference: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
}

struct Builder<'a> {
    tree: &'a dyn FileTree,
    options: &'a BuildOptions,
    /// The build's OpenAPI schema (kustomize keeps it global and sets it as it goes).
    openapi: std::rc::Rc<openapi::OpenApi>,
    warnings: Vec<String>,
    /// Resolved directories being built, outermost first, for cycle detection.
    chain: Vec<String>,
    /// Whether the top kustomization asks for transformer annotations; recording which
    /// transformers ran is wasted work otherwise.
    track_transformations: bool,
}

impl Builder<'_> {
    /// Finds and decodes the kustomization file of `dir`.
    fn load_kustomization(&mut self, dir: &str) -> Result<(String, Kustomization), RenderError> {
        let mut found = Vec::new();
        for name in FILE_NAMES {
            let path = child(dir, name);
            if self.tree.entry(&path)? == Some(EntryKind::File) {
                found.push(path);
            }
        }
        let file = match found.len() {
            0 => {
                return Err(RenderError::MissingKustomization {
                    dir: display_dir(dir),
                });
            }
            1 => found.remove(0),
            _ => {
                return Err(RenderError::MultipleKustomizations {
                    dir: display_dir(dir),
                });
            }
        };
        let bytes = self.tree.read(&file)?;
        let value = yaml::parse_config(&bytes, &file)
            .map_err(|error| RenderError::Yaml(error.to_string()))?;
        let decoded =
            kustomization::decode(value).map_err(|source| RenderError::Kustomization {
                file: file.clone(),
                problem: source,
            })?;
        self.warnings.extend(decoded.warnings);
        Ok((file, decoded.kustomization))
    }

    /// Resolves a file reference written in `dir`, applying the load restriction.
    fn file_path(&self, dir: &str, reference: &str) -> Result<String, RenderError> {
        let path = tree::join(dir, reference)?;
        if self.options.restriction == LoadRestriction::RootOnly {
            let resolved = self.tree.resolve(&path)?;
            let root = self.tree.resolve(dir)?;
            if !tree::is_within(&root, &resolved) {
                return Err(RenderError::Restricted {
                    file: display_dir(&resolved),
                    root: display_dir(&root),
                });
            }
        }
        Ok(path)
    }

    fn read_file(&self, dir: &str, reference: &str) -> Result<(String, Vec<u8>), RenderError> {
        let path = self.file_path(dir, reference)?;
        let bytes = self.tree.read(&path)?;
        Ok((path, bytes))
    }

    fn accumulate_target(
        &mut self,
        dir: &str,
        file: &str,
        kustomization: &Kustomization,
        build_metadata: &[String],
        accumulated: &mut Accumulated,
    ) -> Result<(), RenderError> {
        if self.chain.len() >= MAX_DEPTH {
            return Err(RenderError::TooDeep {
                what: display_dir(dir),
                limit: MAX_DEPTH,
            });
        }
        let resolved = self.tree.resolve(dir)?;
        self.chain.push(resolved);
        let result = self.accumulate_levels(dir, file, kustomization, build_metadata, accumulated);
        self.chain.pop();
        result
    }

    fn accumulate_levels(
        &mut self,
        dir: &str,
        file: &str,
        kustomization: &Kustomization,
        build_metadata: &[String],
        accumulated: &mut Accumulated,
    ) -> Result<(), RenderError> {
        let mut seen = identity_keys(&accumulated.resources);
        for entry in kustomization.resources.iter().flatten() {
            self.accumulate_resource(dir, file, entry, build_metadata, accumulated, &mut seen)?;
        }
        self.merge_configurations(dir, kustomization, &mut accumulated.config)?;
        self.run_generators(dir, file, kustomization, accumulated)?;
        for entry in &kustomization.components {
            let component_dir = self.directory(dir, file, "components", entry)?;
            let (component_file, component) = self.load_kustomization(&component_dir)?;
            self.openapi
                .set_from(component.openapi.as_ref(), &component_file, |path| {
                    self.read_file(&component_dir, path)
                })?;
            if component.kind != "Component" {
                return Err(RenderError::Field {
                    file: file.to_string(),
                    field: "components",
                    message: format!(
                        "expected kind 'Component' for path '{}' but got '{}'",
                        display_dir(&component_dir),
                        component.kind
                    ),
                });
            }
            self.accumulate_target(
                &component_dir,
                &component_file,
                &component,
                build_metadata,
                accumulated,
            )?;
        }
        self.run_transformers(dir, file, kustomization, accumulated)?;
        super::vars::register(
            &mut accumulated.resources,
            &kustomization.vars,
            &mut accumulated.vars,
        )
        .map_err(|message| RenderError::Field {
            file: file.to_string(),
            field: "vars",
            message,
        })?;
        Ok(())
    }

    /// A directory reference (a base or component), checked for cycles.
    fn directory(
        &self,
        dir: &str,
        file: &str,
        field: &'static str,
        entry: &str,
    ) -> Result<String, RenderError> {
        if is_remote(entry) {
            return Err(RenderError::Remote {
                file: file.to_string(),
                field,
                entry: entry.to_string(),
            });
        }
        let path = tree::join(dir, entry)?;
        match self.tree.entry(&path)? {
            Some(EntryKind::Dir) => {}
            Some(EntryKind::File) => {
                return Err(RenderError::WrongEntryKind {
                    file: file.to_string(),
                    field,
                    entry: entry.to_string(),
                    found: "file",
                    wanted: "a directory holding a kustomization",
                });
            }
            None => {
                return Err(super::tree::TreeError::NotFound {
                    path: display_dir(&path),
                }
                .into());
            }
        }
        let resolved = self.tree.resolve(&path)?;
        for visited in &self.chain {
            if tree::is_within(&resolved, visited) {
                return Err(RenderError::Cycle {
                    candidate: display_dir(&resolved),
                    visited: display_dir(visited),
                });
            }
        }
        Ok(path)
    }

    fn accumulate_resource(
        &mut self,
        dir: &str,
        file: &str,
        entry: &str,
        build_metadata: &[String],
        accumulated: &mut Accumulated,
        seen: &mut HashSet<ResId>,
    ) -> Result<(), RenderError> {
        let path = tree::join(dir, entry);
        let kind = match &path {
            Ok(path) => self.tree.entry(path)?,
            Err(_) => None,
        };
        match kind {
            Some(EntryKind::File) => {
                let (path, bytes) = self.read_file(dir, entry)?;
                let objects = load_objects(&bytes, &path)?;
                for (object, _) in &objects {
                    self.openapi.note_objects(std::slice::from_ref(object));
                }
                append_all(
                    &mut accumulated.resources,
                    seen,
                    objects.into_iter().map(|(object, bare_nulls)| Resource {
                        bare_nulls,
                        ..Resource::new(object, Some(path.clone()))
                    }),
                    &path,
                )?;
                Ok(())
            }
            Some(EntryKind::Dir) => {
                let base_dir = self.directory(dir, file, "resources", entry)?;
                let (base_file, base) = self.load_kustomization(&base_dir)?;
                self.openapi
                    .set_from(base.openapi.as_ref(), &base_file, |path| {
                        self.read_file(&base_dir, path)
                    })?;
                if base.kind == "Component" {
                    return Err(RenderError::Field {
                        file: file.to_string(),
                        field: "resources",
                        message: format!(
                            "expected kind != 'Component' for path '{}'",
                            display_dir(&base_dir)
                        ),
                    });
                }
                let mut inner = Accumulated::default();
                self.accumulate_target(&base_dir, &base_file, &base, build_metadata, &mut inner)?;
                append_all(
                    &mut accumulated.resources,
                    seen,
                    inner.resources,
                    &base_file,
                )?;
                for var in inner.vars {
                    super::vars::merge(&mut accumulated.vars, var).map_err(|message| {
                        RenderError::Field {
                            file: base_file.clone(),
                            field: "vars",
                            message,
                        }
                    })?;
                }
                accumulated.config.merge(inner.config);
                Ok(())
            }
            None if is_remote(entry) => Err(RenderError::Remote {
                file: file.to_string(),
                field: "resources",
                entry: entry.to_string(),
            }),
            None => {
                path?;
                Err(super::tree::TreeError::NotFound {
                    path: display_dir(&tree::join(dir, entry)?),
                }
                .into())
            }
        }
    }

    fn merge_configurations(
        &mut self,
        dir: &str,
        kustomization: &Kustomization,
        config: &mut Config,
    ) -> Result<(), RenderError> {
        for entry in &kustomization.configurations {
            let (path, bytes) = self.read_file(dir, entry)?;
            let value = yaml::parse_config(&bytes, &path)
                .map_err(|error| RenderError::Yaml(error.to_string()))?;
            config.merge(
                Config::from_value(&value).map_err(|message| RenderError::Field {
                    file: path.clone(),
                    field: "configurations",
                    message,
                })?,
            );
        }
        for entry in &kustomization.crds {
            let (path, bytes) = self.read_file(dir, entry)?;
            let definitions = if bytes.first() == Some(&b'{') {
                serde_json::from_slice(&bytes)
                    .map_err(|error| RenderError::Yaml(format!("{path}: {error}")))?
            } else {
                yaml::parse_config(&bytes, &path)
                    .map_err(|error| RenderError::Yaml(error.to_string()))?
            };
            let found = super::crds::config_from_definitions(&definitions).map_err(|message| {
                RenderError::Field {
                    file: path.clone(),
                    field: "crds",
                    message: format!("unable to parse open API definition: {message}"),
                }
            })?;
            config.merge(Config {
                common_annotations: found.common_annotations,
                common_labels: found.common_labels,
                name_prefix: found.name_prefix,
                name_reference: found.name_reference,
                ..Config::default()
            });
        }
        Ok(())
    }

    fn run_generators(
        &mut self,
        dir: &str,
        file: &str,
        kustomization: &Kustomization,
        accumulated: &mut Accumulated,
    ) -> Result<(), RenderError> {
        let global: Option<GeneratorOptions> =
            match &kustomization.generator_options {
                Some(value) => Some(serde_json::from_value(value.clone()).map_err(|error| {
                    RenderError::Field {
                        file: file.to_string(),
                        field: "generatorOptions",
                        message: error.to_string(),
                    }
                })?),
                None => None,
            };
        let lists = [
            (
                GeneratedKind::ConfigMap,
                "configMapGenerator",
                &kustomization.config_map_generator,
            ),
            (
                GeneratedKind::Secret,
                "secretGenerator",
                &kustomization.secret_generator,
            ),
        ];
        for (kind, field, entries) in lists {
            for entry in entries {
                let args: GeneratorArgs =
                    serde_json::from_value(entry.clone()).map_err(|error| RenderError::Field {
                        file: file.to_string(),
                        field,
                        message: error.to_string(),
                    })?;
                let mut read = |reference: &str| -> Result<Vec<u8>, generators::GeneratorError> {
                    self.read_file(dir, reference)
                        .map(|(_, bytes)| bytes)
                        .map_err(|error| generators::GeneratorError::Read {
                            message: error.to_string(),
                        })
                };
                let generated = generators::generate(kind, &args, global.as_ref(), &mut read)
                    .map_err(|error| RenderError::Field {
                        file: file.to_string(),
                        field,
                        message: error.to_string(),
                    })?;
                absorb(&mut accumulated.resources, generated, file, field, None)?;
            }
        }
        for (config, config_file) in
            self.plugin_configs(dir, file, &kustomization.generators, "generators")?
        {
            if config.get("kind").and_then(Value::as_str) == Some("IAMPolicyGenerator") {
                let account = plugins::iam_policy_service_account(&config).map_err(|error| {
                    RenderError::Field {
                        file: file.to_string(),
                        field: "generators",
                        message: error.to_string(),
                    }
                })?;
                let mut seen = identity_keys(&accumulated.resources);
                append_all(
                    &mut accumulated.resources,
                    &mut seen,
                    [Resource::new(account, None)],
                    file,
                )?;
                continue;
            }
            let (kind, value) =
                plugins::generator_args(&config).map_err(|error| RenderError::Field {
                    file: file.to_string(),
                    field: "generators",
                    message: error.to_string(),
                })?;
            let args: GeneratorArgs =
                serde_json::from_value(value).map_err(|error| RenderError::Field {
                    file: file.to_string(),
                    field: "generators",
                    message: error.to_string(),
                })?;
            let mut read = |reference: &str| -> Result<Vec<u8>, generators::GeneratorError> {
                self.read_file(dir, reference)
                    .map(|(_, bytes)| bytes)
                    .map_err(|error| generators::GeneratorError::Read {
                        message: error.to_string(),
                    })
            };
            let generated =
                generators::generate(kind, &args, global.as_ref(), &mut read).map_err(|error| {
                    RenderError::Field {
                        file: file.to_string(),
                        field: "generators",
                        message: error.to_string(),
                    }
                })?;
            absorb(
                &mut accumulated.resources,
                generated,
                &config_file,
                "generators",
                config
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )?;
        }
        Ok(())
    }

    fn run_transformers(
        &mut self,
        dir: &str,
        file: &str,
        kustomization: &Kustomization,
        accumulated: &mut Accumulated,
    ) -> Result<(), RenderError> {
        let resources = &mut accumulated.resources;
        let config = &accumulated.config;
        let transform_error = |source| RenderError::Transform {
            file: file.to_string(),
            problem: source,
        };
        for entry in &kustomization.patches_strategic_merge {
            let (origin, text) = self.inline_or_file(dir, entry)?;
            patching::apply_legacy_strategic_merge(resources, &text, &origin, &self.openapi)?;
        }
        if !kustomization.patches_strategic_merge.is_empty() {
            self.mark(
                resources,
                file,
                "PatchStrategicMergeTransformer",
                None,
                None,
            );
        }
        for entry in &kustomization.patches {
            let (origin, text) = self.patch_source(
                dir,
                file,
                entry.path.as_deref(),
                entry.patch.as_deref(),
                false,
                "patches",
            )?;
            patching::apply_patch_entry(
                resources,
                &text,
                &origin,
                entry.target.as_ref(),
                entry.options.as_ref(),
                &self.openapi,
            )?;
            self.mark(resources, file, "PatchTransformer", None, None);
        }
        if !kustomization.namespace.is_empty() {
            transform::set_namespace(resources, &kustomization.namespace)
                .map_err(transform_error)?;
            self.mark(resources, file, "NamespaceTransformer", None, None);
        }
        transform::add_prefix_suffix(
            resources,
            &kustomization.name_prefix,
            &kustomization.name_suffix,
            &fieldspec::effective_name_specs(&config.name_prefix),
            &fieldspec::effective_name_specs(&config.name_suffix),
        );
        if !kustomization.name_prefix.is_empty() {
            self.mark(resources, file, "PrefixTransformer", None, None);
        }
        if !kustomization.name_suffix.is_empty() {
            self.mark(resources, file, "SuffixTransformer", None, None);
        }
        for entry in &kustomization.labels {
            transform::apply_label_entry(
                resources,
                entry,
                &transform::LabelConfig {
                    labels: &config.labels,
                    common_labels: &config.common_labels,
                    template_labels: &config.template_labels,
                },
            )
            .map_err(transform_error)?;
            self.mark(resources, file, "LabelTransformer", None, None);
        }
        if let Some(labels) = &kustomization.common_labels {
            let mut specs = fieldspec::common_labels();
            specs.extend_from_slice(&config.common_labels);
            transform::set_pairs(resources, labels, &specs);
            self.mark(resources, file, "LabelTransformer", None, None);
        }
        if let Some(annotations) = &kustomization.common_annotations {
            let mut specs = fieldspec::common_annotations();
            specs.extend_from_slice(&config.common_annotations);
            transform::set_pairs(resources, annotations, &specs);
            self.mark(resources, file, "AnnotationsTransformer", None, None);
        }
        for entry in &kustomization.patches_json6902 {
            let (origin, text) = self.patch_source(
                dir,
                file,
                entry.path.as_deref(),
                entry.patch.as_deref(),
                true,
                "patchesJson6902",
            )?;
            patching::apply_json6902_entry(resources, &text, &origin, entry.target.as_ref())?;
            self.mark(resources, file, "PatchJson6902Transformer", None, None);
        }
        for entry in &kustomization.replicas {
            transform::apply_replicas(resources, entry, &config.replicas)
                .map_err(transform_error)?;
            self.mark(resources, file, "ReplicaCountTransformer", None, None);
        }
        for entry in &kustomization.images {
            transform::apply_image(resources, entry, &config.images);
            self.mark(resources, file, "ImageTagTransformer", None, None);
        }
        if !kustomization.replacements.is_empty() {
            let mut replacements = Vec::new();
            for entry in &kustomization.replacements {
                match entry.get("path").and_then(Value::as_str) {
                    Some(path) => {
                        let (path, bytes) = self.read_file(dir, path)?;
                        let value = yaml::parse_config(&bytes, &path)
                            .map_err(|error| RenderError::Yaml(error.to_string()))?;
                        match value {
                            Value::Array(items) => replacements.extend(items),
                            other => replacements.push(other),
                        }
                    }
                    None => replacements.push(entry.clone()),
                }
            }
            super::replacements::apply(resources, &replacements).map_err(|message| {
                RenderError::Field {
                    file: file.to_string(),
                    field: "replacements",
                    message,
                }
            })?;
            self.mark(resources, file, "ReplacementTransformer", None, None);
        }
        for (config, config_file) in
            self.plugin_configs(dir, file, &kustomization.transformers, "transformers")?
        {
            self.run_transformer_plugin(dir, file, &config, &mut accumulated.resources)?;
            let (kind, name) = plugins::describe(&config);
            let namespace = config
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .map(str::to_string);
            self.mark(
                &mut accumulated.resources,
                &config_file,
                &kind,
                Some(name),
                namespace,
            );
        }
        Ok(())
    }

    fn run_transformer_plugin(
        &mut self,
        dir: &str,
        file: &str,
        config: &Value,
        resources: &mut Vec<Resource>,
    ) -> Result<(), RenderError> {
        let plugin_error = |error: plugins::PluginError| RenderError::Field {
            file: file.to_string(),
            field: "transformers",
            message: error.to_string(),
        };
        match plugins::transform(resources, config).map_err(plugin_error)? {
            plugins::TransformerStep::Done => Ok(()),
            plugins::TransformerStep::Patch {
                path,
                patch,
                target,
                options,
            } => {
                let (origin, text) = self.patch_source(
                    dir,
                    file,
                    path.as_deref(),
                    patch.as_deref(),
                    false,
                    "transformers",
                )?;
                patching::apply_patch_entry(
                    resources,
                    &text,
                    &origin,
                    target.as_ref(),
                    options.as_ref(),
                    &self.openapi,
                )
            }
            plugins::TransformerStep::StrategicMerge { paths, inline } => {
                for path in paths {
                    let (origin, text) = self.inline_or_file(dir, &path)?;
                    patching::apply_strategic_merge_documents(
                        resources,
                        &text,
                        &origin,
                        None,
                        &self.openapi,
                    )?;
                }
                if !inline.trim().is_empty() {
                    patching::apply_strategic_merge_documents(
                        resources,
                        &inline,
                        file,
                        None,
                        &self.openapi,
                    )?;
                }
                Ok(())
            }
            plugins::TransformerStep::Json6902 {
                target,
                path,
                inline,
            } => {
                let (origin, text) = self.patch_source(
                    dir,
                    file,
                    path.as_deref(),
                    inline.as_deref(),
                    true,
                    "transformers",
                )?;
                patching::apply_json6902_entry(resources, &text, &origin, target.as_ref())
            }
            plugins::TransformerStep::Replacements(replacements) => {
                super::replacements::apply(resources, &replacements).map_err(|message| {
                    RenderError::Field {
                        file: file.to_string(),
                        field: "transformers",
                        message,
                    }
                })
            }
        }
    }

    /// The plugin configs a `generators:` or `transformers:` list names: files, directories
    /// holding kustomizations (whose output are the configs), or inline YAML.
    fn plugin_configs(
        &mut self,
        dir: &str,
        file: &str,
        entries: &[String],
        field: &'static str,
    ) -> Result<Vec<(Value, String)>, RenderError> {
        let mut configs = Vec::new();
        for entry in entries {
            let path = tree::join(dir, entry).ok();
            let kind = match &path {
                Some(path) if !entry.contains('\n') => self.tree.entry(path)?,
                _ => None,
            };
            match kind {
                Some(EntryKind::File) => {
                    let (path, bytes) = self.read_file(dir, entry)?;
                    let loaded = yaml::parse_resources(&bytes, &path)
                        .map_err(|error| RenderError::Yaml(error.to_string()))?;
                    // kustomize appends plugin configs to an accumulator like resources.
                    self.openapi.note_objects(&loaded);
                    configs.extend(loaded.into_iter().map(|config| (config, path.clone())));
                }
                Some(EntryKind::Dir) => {
                    let plugin_dir = self.directory(dir, file, field, entry)?;
                    let (plugin_file, plugin_kustomization) =
                        self.load_kustomization(&plugin_dir)?;
                    self.openapi.set_from(
                        plugin_kustomization.openapi.as_ref(),
                        &plugin_file,
                        |path| self.read_file(&plugin_dir, path),
                    )?;
                    let mut inner = Accumulated::default();
                    self.accumulate_target(
                        &plugin_dir,
                        &plugin_file,
                        &plugin_kustomization,
                        &[],
                        &mut inner,
                    )?;
                    configs.extend(
                        inner
                            .resources
                            .into_iter()
                            .map(|resource| (resource.object, plugin_file.clone())),
                    );
                }
                None => {
                    let parsed = yaml::parse_resources(entry.as_bytes(), file)
                        .map_err(|error| RenderError::Yaml(error.to_string()))?;
                    if parsed.is_empty()
                        || !parsed.iter().all(|config| config.get("kind").is_some())
                    {
                        return Err(RenderError::Field {
                            file: file.to_string(),
                            field,
                            message: format!(
                                "'{entry}' is neither a file, a directory nor an inline plugin config"
                            ),
                        });
                    }
                    self.openapi.note_objects(&parsed);
                    configs.extend(parsed.into_iter().map(|config| (config, file.to_string())));
                }
            }
        }
        Ok(configs)
    }

    /// The text of a patch given as a file (`path`, read from `dir`) or inline, with the file
    /// it came from. `path_wins` says whether both may be given (the file is used, as for
    /// JSON 6902 patches); otherwise exactly one is required.
    fn patch_source(
        &self,
        dir: &str,
        file: &str,
        path: Option<&str>,
        inline: Option<&str>,
        path_wins: bool,
        field: &'static str,
    ) -> Result<(String, String), RenderError> {
        match (path, inline) {
            (Some(_), Some(_)) if !path_wins => Err(RenderError::Field {
                file: file.to_string(),
                field,
                message: "each patch needs exactly one of 'path' and 'patch'".into(),
            }),
            (Some(path), _) => {
                let (path, bytes) = self.read_file(dir, path)?;
                let text = text_of(bytes, &path)?;
                Ok((path, text))
            }
            (None, Some(text)) => Ok((file.to_string(), text.to_string())),
            (None, None) => Err(RenderError::Field {
                file: file.to_string(),
                field,
                message: "each patch needs a 'path' or an inline patch".into(),
            }),
        }
    }

    /// A `patchesStrategicMerge` entry is a file path, or inline YAML when it is not one.
    fn inline_or_file(&self, dir: &str, entry: &str) -> Result<(String, String), RenderError> {
        if !entry.contains('\n')
            && let Ok(path) = tree::join(dir, entry)
            && self.tree.entry(&path)? == Some(EntryKind::File)
        {
            let (path, bytes) = self.read_file(dir, entry)?;
            let text = text_of(bytes, &path)?;
            return Ok((path, text));
        }
        Ok((display_dir(dir), entry.to_string()))
    }
}

impl Config {
    fn merge(&mut self, other: Config) {
        fn union<T: PartialEq>(into: &mut Vec<T>, from: Vec<T>) {
            for item in from {
                if !into.contains(&item) {
                    into.push(item);
                }
            }
        }
        union(&mut self.name_reference, other.name_reference);
        union(&mut self.var_reference, other.var_reference);
        union(&mut self.common_labels, other.common_labels);
        union(&mut self.template_labels, other.template_labels);
        union(&mut self.labels, other.labels);
        union(&mut self.common_annotations, other.common_annotations);
        union(&mut self.images, other.images);
        union(&mut self.replicas, other.replicas);
        union(&mut self.name_prefix, other.name_prefix);
        union(&mut self.name_suffix, other.name_suffix);
        union(&mut self.namespace, other.namespace);
    }

    fn from_value(value: &Value) -> Result<Config, String> {
        let specs = |field: &str| -> Result<Vec<FieldSpec>, String> {
            match value.get(field) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(list) => serde_json::from_value(list.clone())
                    .map_err(|error| format!("{field}: {error}")),
            }
        };
        Ok(Config {
            name_reference: value
                .get("nameReference")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            var_reference: specs("varReference")?,
            common_labels: specs("commonLabels")?,
            template_labels: specs("templateLabels")?,
            labels: specs("labels")?,
            common_annotations: specs("commonAnnotations")?,
            images: specs("images")?,
            replicas: specs("replicas")?,
            name_prefix: specs("namePrefix")?,
            name_suffix: specs("nameSuffix")?,
            namespace: specs("namespace")?,
        })
    }
}

fn text_of(bytes: Vec<u8>, path: &str) -> Result<String, RenderError> {
    String::from_utf8(bytes).map_err(|_| RenderError::Yaml(format!("{path}: not valid UTF-8")))
}

/// Parses a resource file and flattens `…List` objects with `items`, whose items queue after
/// the file's remaining documents, as kustomize does.
fn load_objects(bytes: &[u8], path: &str) -> Result<Vec<(Value, yaml::BareNulls)>, RenderError> {
    let documents = yaml::parse_resources_noting_bare_nulls(bytes, path)
        .map_err(|error| RenderError::Yaml(error.to_string()))?;
    let mut queue: std::collections::VecDeque<(Value, yaml::BareNulls)> = documents.into();
    let mut objects = Vec::new();
    while let Some((object, bare_nulls)) = queue.pop_front() {
        let Value::Object(map) = &object else {
            return Err(RenderError::NotAnObject {
                file: path.to_string(),
                index: objects.len(),
            });
        };
        let is_list = map
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind.ends_with("List"))
            && map.contains_key("items");
        if is_list {
            if let Some(Value::Array(items)) = map.get("items") {
                queue.extend(items.iter().enumerate().map(|(index, item)| {
                    let prefix = format!("/items/{index}/");
                    let inside = bare_nulls
                        .iter()
                        .filter_map(|pointer| pointer.strip_prefix(&prefix))
                        .map(|rest| format!("/{rest}"))
                        .collect();
                    (item.clone(), inside)
                }));
            }
            continue;
        }
        if super::resource::str_at(&object, &["kind"]).is_empty() {
            return Err(RenderError::MissingKind {
                file: path.to_string(),
                index: objects.len(),
            });
        }
        if super::resource::str_at(&object, &["metadata", "name"]).is_empty() {
            return Err(RenderError::MissingName {
                file: path.to_string(),
                index: objects.len(),
            });
        }
        objects.push((object, bare_nulls));
    }
    Ok(objects)
}

/// The identity keys of `resources`, for [`append_all`] to check new ones against.
fn identity_keys(resources: &[Resource]) -> HashSet<ResId> {
    resources
        .iter()
        .map(|resource| resource.id().identity_key())
        .collect()
}

/// Appends `new`, refusing an id already present; `seen` holds the identity keys of
/// `resources` and is kept up to date, so a long `resources:` list costs linear time.
fn append_all(
    resources: &mut Vec<Resource>,
    seen: &mut HashSet<ResId>,
    new: impl IntoIterator<Item = Resource>,
    file: &str,
) -> Result<(), RenderError> {
    for resource in new {
        let id = resource.id();
        if !seen.insert(id.identity_key()) {
            return Err(RenderError::DuplicateId {
                file: file.to_string(),
                id: id.to_string(),
            });
        }
        resources.push(resource);
    }
    Ok(())
}

/// Adds a generated object: create appends; merge and replace fold it into the object it
/// names (by any id), keeping that object's place.
fn absorb(
    resources: &mut Vec<Resource>,
    generated: generators::Generated,
    file: &str,
    field: &'static str,
    plugin_name: Option<String>,
) -> Result<(), RenderError> {
    let id = ResId::of(&generated.object);
    let existing = resources
        .iter()
        .position(|resource| resource.answers_to(&id));
    match (generated.behavior, existing) {
        (generators::Behavior::Create, None) => {
            let mut resource = Resource::new(generated.object, None);
            resource.needs_hash = generated.needs_hash;
            resource.generated_by = Some(generated_by(file, &id, plugin_name));
            resources.push(resource);
            Ok(())
        }
        (generators::Behavior::Create, Some(_)) => Err(RenderError::Field {
            file: file.to_string(),
            field,
            message: format!("id {id} exists; behavior must be merge or replace"),
        }),
        (_, None) => Err(RenderError::Field {
            file: file.to_string(),
            field,
            message: format!("id {id} does not exist; cannot merge or replace"),
        }),
        (_, Some(index)) => {
            let merged =
                generators::merge_into(&resources[index].object, &generated).map_err(|error| {
                    RenderError::Field {
                        file: file.to_string(),
                        field,
                        message: error.to_string(),
                    }
                })?;
            // A replaced object is the new generator's; a merged one stays the old one's.
            if generated.behavior == generators::Behavior::Replace {
                resources[index].generated_by = Some(generated_by(file, &id, plugin_name));
                resources[index].origin = None;
            }
            resources[index].object = merged;
            resources[index].needs_hash =
                generators::merged_needs_hash(resources[index].needs_hash, &generated);
            Ok(())
        }
    }
}

/// The `name`/`namespace` lines of a plugin's `configuredBy`, at `indent`.
fn plugin_identity(by: &super::resource::GeneratedBy, indent: &str) -> String {
    let mut text = String::new();
    if let Some(name) = &by.name {
        text.push_str(&format!("{indent}name: {name}\n"));
    }
    if let Some(namespace) = &by.namespace {
        text.push_str(&format!("{indent}namespace: {namespace}\n"));
    }
    text
}

fn generated_by(file: &str, id: &ResId, name: Option<String>) -> super::resource::GeneratedBy {
    super::resource::GeneratedBy {
        namespace: None,
        file: file.to_string(),
        kind: if id.kind == "Secret" {
            "SecretGenerator"
        } else {
            "ConfigMapGenerator"
        }
        .to_string(),
        name,
    }
}

/// Appends the content hash to the name of every generated object that wants one.
fn add_hashes(resources: &mut [Resource]) -> Result<(), RenderError> {
    for resource in resources.iter_mut().filter(|resource| resource.needs_hash) {
        let suffix = hash::content_hash(&resource.object).map_err(|error| RenderError::Field {
            file: resource.name().to_string(),
            field: "hash",
            message: error.to_string(),
        })?;
        resource.remember_id();
        let name = format!("{}-{suffix}", resource.name());
        resource.set_name(&name);
    }
    Ok(())
}

/// The last touches: the managed-by label, origin annotations when asked, annotations as
/// strings (kustomize re-sets the map as strings), and no internal annotations.
fn finish_metadata(resources: &mut [Resource], build_metadata: &[String], top_dir: &str) {
    let origin = build_metadata
        .iter()
        .any(|entry| entry == "originAnnotations");
    let managed_by = build_metadata.iter().any(|entry| entry == "managedByLabel");
    let transformations = build_metadata
        .iter()
        .any(|entry| entry == "transformerAnnotations");
    for resource in resources.iter_mut() {
        if managed_by
            && let Some(labels) =
                super::resource::map_at(&mut resource.object, &["metadata", "labels"])
        {
            labels.insert(
                "app.kubernetes.io/managed-by".into(),
                Value::String("kustomize-(devel)".into()),
            );
        }
        let origin_text = match (&resource.origin, &resource.generated_by) {
            (Some(path), _) => Some(format!("path: {}\n", tree::relative(top_dir, path))),
            (None, Some(by)) => Some(format!(
                "configuredIn: {}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {}\n{}",
                tree::relative(top_dir, &by.file),
                by.kind,
                plugin_identity(by, "  ")
            )),
            (None, None) => None,
        };
        if origin
            && let Some(text) = origin_text
            && let Some(annotations) =
                super::resource::map_at(&mut resource.object, &["metadata", "annotations"])
        {
            annotations.insert("config.kubernetes.io/origin".into(), Value::String(text));
        }
        if transformations && !resource.transformations.is_empty() {
            let text: String = resource
                .transformations
                .iter()
                .map(|by| {
                    format!(
                        "- configuredIn: {}\n  configuredBy:\n    apiVersion: builtin\n    kind: {}\n{}",
                        tree::relative(top_dir, &by.file),
                        by.kind,
                        plugin_identity(by, "    ")
                    )
                })
                .collect();
            if let Some(annotations) =
                super::resource::map_at(&mut resource.object, &["metadata", "annotations"])
            {
                annotations.insert(
                    "alpha.config.kubernetes.io/transformations".into(),
                    Value::String(text),
                );
            }
        }
        if let Some(Value::Object(annotations)) =
            resource.object.pointer_mut("/metadata/annotations")
        {
            let strings: Map<String, Value> = std::mem::take(annotations)
                .into_iter()
                .filter(|(key, _)| !key.starts_with("internal.config.kubernetes.io/"))
                .map(|(key, value)| {
                    let text = match value {
                        Value::String(text) => text,
                        Value::Null => "null".to_string(),
                        other => other.to_string(),
                    };
                    (key, Value::String(text))
                })
                .collect();
            *annotations = strings;
        }
        // kustomize keeps internal annotations on every object during a build and removes
        // them at the end, taking an emptied map with them.
        let emptied = match resource.object.pointer("/metadata/annotations") {
            Some(Value::Object(map)) => map.is_empty(),
            Some(Value::Null) => true,
            _ => false,
        };
        if emptied && let Some(Value::Object(metadata)) = resource.object.get_mut("metadata") {
            metadata.remove("annotations");
        }
    }
}

fn child(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn display_dir(dir: &str) -> String {
    if dir.is_empty() {
        ".".to_string()
    } else {
        dir.to_string()
    }
}

/// Whether a reference names something remote (a URL or a Git repository spec).
pub fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("git@")
        || entry.starts_with("github.com/")
        || entry.starts_with("gitlab.com/")
        || entry.starts_with("bitbucket.org/")
        || entry.contains("?ref=")
}

impl Builder<'_> {
    /// Records, on every resource of the level, that a transformer ran (kustomize annotates
    /// them all, touched or not).
    fn mark(
        &self,
        resources: &mut [Resource],
        file: &str,
        kind: &str,
        name: Option<String>,
        namespace: Option<String>,
    ) {
        if !self.track_transformations {
            return;
        }
        for resource in resources.iter_mut() {
            resource.transformations.push(super::resource::GeneratedBy {
                file: file.to_string(),
                kind: kind.to_string(),
                name: name.clone(),
                namespace: namespace.clone(),
            });
        }
    }
}
