//! Flux's postBuild variable substitution, as kustomize-controller v1.7 (Flux 2.7) runs it:
//! `fluxcd/pkg/kustomize` v1.24.0 `SubstituteVariables` over `fluxcd/pkg/envsubst` v1.5.0.
//!
//! Owns: the envsubst expression language ([`envsubst`]), the variable set with Flux's
//! precedence and newline stripping ([`Variables`]), the per-object decisions (the
//! `kustomize.toolkit.fluxcd.io/substitute: disabled` opt-out, whether substitution runs at
//! all) and the textual round trip of one object ([`substitute_object`]).
//! Must not: read ConfigMaps or Secrets from a cluster (the caller resolves `substituteFrom`
//! into raw key/value lists), or print or parse YAML itself (the caller passes the YAML
//! module's functions, so substitution sees exactly the text Flux would).
//!
//! Flux 2.7 facts this follows (read in kustomize-controller at tag v1.7.3):
//! - strict mode is off by default: the `StrictPostBuildSubstitutions` feature gate is
//!   `false` in `internal/features/features.go` ("opt-in from v1.3"), and `main.go` passes
//!   it to the reconciler, which calls `SubstituteWithStrict(r.StrictSubstitutions)`;
//! - `spec.postBuild.substituteStrategy` does not exist in its v1 API (`PostBuild` has only
//!   `substitute` and `substituteFrom`), and `fluxcd/pkg/kustomize` v1.24.0 substitutes only
//!   when at least one variable exists. Later Flux versions added the field, with `Always`
//!   running substitution even without variables; [`SubstituteStrategy`] accepts it because
//!   test corpora written against those versions use it. On a real Flux 2.7 cluster the API
//!   server prunes the unknown field, which is the same as `WithVariables`.

mod envsubst;

use serde_json::Value;

/// The label or annotation that opts an object out of substitution.
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// The value of [`SUBSTITUTE_KEY`] that opts out (exact, lower case).
pub const SUBSTITUTE_DISABLED: &str = "disabled";

/// The pattern Flux requires of every variable name, as Flux words it in errors.
pub const VARIABLE_NAME_PATTERN: &str = "^[_[:alpha:]][_[:alpha:][:digit:]]*$";

/// Why substitution failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstituteError {
    /// Strict mode: `${name}` with no value and no default.
    #[error("variable not set (strict mode): \"{name}\"")]
    VariableNotSet { name: String },
    /// envsubst's generic parse error (an operator or closing brace where none fits).
    #[error("bad substitution")]
    BadSubstitution,
    /// `${name` followed by something that is not an operator or `}`.
    #[error("missing closing brace")]
    MissingClosingBrace,
    /// `${` followed by something that is not a variable name.
    #[error("unable to parse variable name")]
    VariableName,
    /// An operator whose argument is missing or runs off the text.
    #[error("unable to parse substitution within function")]
    FuncSubstitution,
    /// A default operator that could not be read.
    #[error("unable to parse default function")]
    DefaultFunction,
    /// Expressions nested deeper than any real manifest; refused to protect the stack.
    #[error("expressions nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    /// `${name:pos:len}` with a range Go cannot slice (a negative length); envsubst panics.
    #[error("substring of variable \"{name}\" out of range [{start}:{end}]")]
    SliceBounds { name: String, start: i64, end: i64 },
    /// A byte-wise substring split a character, so the result is not text; Flux fails when
    /// it parses such a result back as YAML.
    #[error("the substituted text is not valid UTF-8")]
    InvalidUtf8,
    /// A variable whose name Flux refuses; checked before each object is substituted.
    #[error("envsubst error: '{name}' var name is invalid, must match '{VARIABLE_NAME_PATTERN}'")]
    InvalidVariableName { name: String },
    /// The expression language failed on an object's YAML.
    #[error("envsubst error: variable substitution failed: {source}")]
    Failed {
        #[source]
        source: Box<SubstituteError>,
    },
    /// The substituted YAML did not parse back into an object.
    #[error("envsubst error: YAMLToJSON: {message}")]
    Reparse { message: String },
}

impl SubstituteError {
    /// Whether trying again may succeed. Never: the manifests and variables decide.
    pub fn is_retryable(&self) -> bool {
        false
    }

    /// The variable the error is about, when there is one.
    pub fn variable(&self) -> Option<&str> {
        match self {
            Self::VariableNotSet { name }
            | Self::SliceBounds { name, .. }
            | Self::InvalidVariableName { name } => Some(name),
            Self::Failed { source } => source.variable(),
            _ => None,
        }
    }
}

/// Expands `${…}` expressions in `text` as `fluxcd/pkg/envsubst` v1.5.0 does.
///
/// Supported: `${var}`; defaults `${var:=d}`, `${var=d}`, `${var:-d}`, `${var:?d}`,
/// `${var:+d}` (all of them mean "d when the value is empty"; `d` may contain nested
/// `${…}`); `${#var}` (length in bytes); `${var^}` `${var^^}` `${var,}` `${var,,}`; substrings
/// `${var:pos}` `${var:pos:len}` (bytes); replacements `${var/old/new}` `${var//old/new}`
/// `${var/#old/new}` `${var/%old/new}`; pattern removal `${var#pat}` `${var##pat}`
/// `${var%pat}` `${var%%pat}`. `$${var}` writes a literal `${var}` and `$$` a `$`; a bare
/// `$var` is left alone. The forms `${var-d}`, `${var+d}` and `${var?d}` are not supported
/// there and fail with "missing closing brace".
///
/// `vars` returns `None` for an unset variable. Without `strict` an unset variable is
/// empty. With `strict`, only a bare `${var}` of an unset variable fails, with Flux's
/// message `variable not set (strict mode): "var"`; every operator form treats it as empty.
pub fn envsubst(
    text: &str,
    vars: &dyn Fn(&str) -> Option<String>,
    strict: bool,
) -> Result<String, SubstituteError> {
    let lookup = |name: &str| match vars(name) {
        Some(value) => Some(value),
        None if !strict => Some(String::new()),
        None => None,
    };
    envsubst::eval(text, &lookup)
}

/// The variables of one Flux Kustomization: every `substituteFrom` source in list order,
/// then the inline `substitute`, a later source overriding an earlier one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variables {
    values: std::collections::BTreeMap<String, String>,
    /// The first name (bytewise) that fails [`VARIABLE_NAME_PATTERN`].
    invalid: Option<String>,
}

impl Variables {
    /// Builds the set from raw sources in precedence order (lowest first): the data of each
    /// resolved `substituteFrom` ConfigMap or Secret (Secret values already base64-decoded),
    /// then the inline `substitute` map. Every `\n` is removed from every value, as Flux
    /// does; `\r` is kept.
    pub fn new(sources: Vec<Vec<(String, String)>>) -> Self {
        let mut values = std::collections::BTreeMap::new();
        for source in sources {
            for (name, value) in source {
                values.insert(name, value.replace('\n', ""));
            }
        }
        let invalid = values.keys().find(|k| !is_valid_name(k)).cloned();
        Self { values, invalid }
    }

    /// The value of `name`, if set (possibly empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// How many distinct variables there are.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// A variable whose name Flux refuses, if any. Flux only reports it when it substitutes
    /// an object, so a render with nothing to substitute does not fail on it.
    pub fn invalid_name(&self) -> Option<&str> {
        self.invalid.as_deref()
    }

    /// Variables ordered by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Flux's variable-name rule: an ASCII letter or `_`, then ASCII letters, digits or `_`
/// (Go's `[:alpha:]` and `[:digit:]` are ASCII-only).
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// `spec.postBuild.substituteStrategy` (not in Flux 2.7's API; see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubstituteStrategy {
    /// Substitute only when at least one variable exists (Flux 2.7's only behaviour).
    #[default]
    WithVariables,
    /// Substitute even without variables, so defaults like `${x:=d}` apply.
    Always,
}

/// How a Kustomization's substitution runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubstituteOptions {
    /// Fail on `${var}` of an unset variable (the controller's
    /// `StrictPostBuildSubstitutions` gate, off by default in Flux 2.7; `flux build
    /// --strict-substitute`).
    pub strict: bool,
    /// When substitution runs at all.
    pub strategy: SubstituteStrategy,
}

/// Whether substitution runs for a Kustomization that has `spec.postBuild`: only with at
/// least one variable, unless the strategy is [`SubstituteStrategy::Always`]. Without
/// `spec.postBuild` it never runs; that check is the caller's.
pub fn should_substitute(vars: &Variables, strategy: SubstituteStrategy) -> bool {
    !vars.is_empty() || strategy == SubstituteStrategy::Always
}

/// Whether the object opts out: its label **or** annotation [`SUBSTITUTE_KEY`] is exactly
/// `disabled`.
pub fn is_substitution_disabled(object: &Value) -> bool {
    ["labels", "annotations"].iter().any(|field| {
        object
            .get("metadata")
            .and_then(|m| m.get(*field))
            .and_then(|m| m.get(SUBSTITUTE_KEY))
            .and_then(Value::as_str)
            == Some(SUBSTITUTE_DISABLED)
    })
}

/// Substitutes one rendered object as Flux does: print it as YAML, expand the text, parse
/// the result back. Values are spliced into the text, so they can carry YAML syntax
/// (`!!str 123`, quotes) and the source's quoting is gone (`"${empty}"` becomes `null`).
///
/// Returns `Ok(None)` when the object is left as it is: it opts out, or
/// [`should_substitute`] says no. `to_yaml` must print the object as kustomize's
/// `Resource.AsYAML` does (JSON → `sigs.k8s.io/yaml`, the same text as the final output);
/// `parse` must read the first YAML document as `sigs.k8s.io/yaml.YAMLToJSON` does.
pub fn substitute_object(
    object: &Value,
    vars: &Variables,
    options: &SubstituteOptions,
    to_yaml: &dyn Fn(&Value) -> String,
    parse: &dyn Fn(&str) -> Result<Value, String>,
) -> Result<Option<Value>, SubstituteError> {
    if is_substitution_disabled(object) || !should_substitute(vars, options.strategy) {
        return Ok(None);
    }
    if let Some(name) = vars.invalid_name() {
        return Err(SubstituteError::InvalidVariableName {
            name: name.to_string(),
        });
    }
    let text = to_yaml(object);
    let lookup = |name: &str| vars.get(name).map(str::to_string);
    let substituted =
        envsubst(&text, &lookup, options.strict).map_err(|e| SubstituteError::Failed {
            source: Box::new(e),
        })?;
    let parsed = parse(&substituted).map_err(|message| SubstituteError::Reparse { message })?;
    if !parsed.is_object() {
        return Err(SubstituteError::Reparse {
            message: "the substituted object is not a mapping".to_string(),
        });
    }
    Ok(Some(parsed))
}

/// Substitutes every object in render order, as kustomize-controller's build loop does, and
/// names the object in errors the way Flux does: `post build failed for
/// 'Kind.version.group/name': …`. Objects left alone are kept as they are.
pub fn substitute_all(
    objects: Vec<Value>,
    vars: &Variables,
    options: &SubstituteOptions,
    to_yaml: &dyn Fn(&Value) -> String,
    parse: &dyn Fn(&str) -> Result<Value, String>,
) -> Result<Vec<Value>, PostBuildError> {
    objects
        .into_iter()
        .map(
            |object| match substitute_object(&object, vars, options, to_yaml, parse) {
                Ok(Some(substituted)) => Ok(substituted),
                Ok(None) => Ok(object),
                Err(source) => Err(PostBuildError {
                    object: object_id(&object),
                    source,
                }),
            },
        )
        .collect()
}

/// Runs a Kustomization's postBuild substitution over the rendered objects with the YAML
/// module's printer and reader: objects are printed as kustomize's `AsYAML` prints them,
/// and the result is read back with sigs.k8s.io/yaml's YAML 1.1 rules, as Flux's
/// `YAMLToJSON` does (so an unquoted `yes` spliced in becomes `true`).
///
/// `sources` are the raw variable sources in precedence order (each resolved
/// `substituteFrom` entry, then the inline `substitute`). Call it only when the
/// Kustomization has `spec.postBuild`.
pub fn apply(
    objects: Vec<Value>,
    sources: &[Vec<(String, String)>],
    substitution: &super::Substitution,
) -> Result<Vec<Value>, PostBuildError> {
    let vars = Variables::new(sources.to_vec());
    let options = SubstituteOptions {
        strict: substitution.strict,
        strategy: if substitution.always {
            SubstituteStrategy::Always
        } else {
            SubstituteStrategy::WithVariables
        },
    };
    let parse = |text: &str| {
        crate::render::yaml::parse_config(text.as_bytes(), "the substituted object")
            .map_err(|e| e.to_string())
    };
    substitute_all(
        objects,
        &vars,
        &options,
        &crate::render::yaml::to_yaml,
        &parse,
    )
}

/// A substitution failure for one object of a render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("post build failed for '{object}': {source}")]
pub struct PostBuildError {
    /// kustomize's `Gvk.String()` and the name: `ServiceAccount.v1.[noGrp]/app`.
    pub object: String,
    #[source]
    pub source: SubstituteError,
}

impl PostBuildError {
    /// Whether trying again may succeed. Never: the manifests and variables decide.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// `Kind.version.group/name` with kustomize's placeholders for empty parts.
fn object_id(object: &Value) -> String {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let api_version = text(object.get("apiVersion"));
    let (group, version) = match api_version.split_once('/') {
        Some((group, version)) => (group.to_string(), version.to_string()),
        None => (String::new(), api_version),
    };
    let or = |s: String, placeholder: &str| {
        if s.is_empty() {
            placeholder.to_string()
        } else {
            s
        }
    };
    format!(
        "{}.{}.{}/{}",
        or(text(object.get("kind")), "[noKind]"),
        or(version, "[noVer]"),
        or(group, "[noGrp]"),
        text(object.get("metadata").and_then(|m| m.get("name")))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn pairs(entries: &[(&str, &str)]) -> Vec<(String, String)> {
        entries
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    fn subst(text: &str, vars: &[(&str, &str)], strict: bool) -> Result<String, SubstituteError> {
        let map: BTreeMap<String, String> = pairs(vars).into_iter().collect();
        envsubst(text, &|name| map.get(name).cloned(), strict)
    }

    /// Outputs of the real `fluxcd/pkg/envsubst` v1.5.0 on 185 expressions, each in
    /// non-strict and strict mode (testdata/envsubst-v1.5.0.json, produced by a Go program
    /// calling `envsubst.Eval` with Flux's lookup).
    #[test]
    fn matches_envsubst_v1_5_0() {
        let doc: Value =
            serde_json::from_str(include_str!("testdata/envsubst-v1.5.0.json")).expect("json");
        let vars: BTreeMap<String, String> =
            serde_json::from_value(doc["vars"].clone()).expect("vars");
        let cases = doc["cases"].as_array().expect("cases");
        assert_eq!(cases.len(), 370);
        let mut failures = Vec::new();
        for case in cases {
            let input = case["input"].as_str().expect("input");
            let strict = case["strict"].as_bool().expect("strict");
            let got = envsubst(input, &|name| vars.get(name).cloned(), strict);
            let ok = match (&got, case) {
                (Ok(out), c) if c.get("output").is_some() => {
                    Some(out.as_str()) == c["output"].as_str()
                }
                (Err(e), c) if c.get("error").is_some() => {
                    Some(e.to_string().as_str()) == c["error"].as_str()
                }
                (Err(SubstituteError::SliceBounds { .. }), c) => c.get("panic").is_some(),
                (Err(SubstituteError::InvalidUtf8), c) => c.get("invalid_utf8").is_some(),
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{input:?} strict={strict}: got {got:?}, want {case}"
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} mismatches:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn defaults_escape_and_bare_dollar() {
        let vars = [("cluster_env", "prod"), ("x", "X")];
        assert_eq!(
            subst("env: ${cluster_env:=dev}", &vars, true).as_deref(),
            Ok("env: prod")
        );
        assert_eq!(
            subst("r: ${cluster_region:=eu-central-1}", &vars, true).as_deref(),
            Ok("r: eu-central-1")
        );
        assert_eq!(
            subst("${missing:-fallback}", &vars, true).as_deref(),
            Ok("fallback")
        );
        assert_eq!(
            subst("${missing=fallback}", &vars, true).as_deref(),
            Ok("fallback")
        );
        assert_eq!(
            subst("escaped $${var} and $$x", &vars, true).as_deref(),
            Ok("escaped ${var} and $x")
        );
        assert_eq!(subst("$x ${x}", &vars, true).as_deref(), Ok("$x X"));
        assert_eq!(subst("a\\?b ${x}", &vars, true).as_deref(), Ok("a\\?b X"));
    }

    #[test]
    fn strict_mode_errors_only_on_bare_unset_references() {
        let vars = [("test", "test"), ("empty", "")];
        let err = subst(
            "default: ${default:=test}\nmissing: ${missing}\n",
            &vars,
            true,
        );
        assert_eq!(
            err,
            Err(SubstituteError::VariableNotSet {
                name: "missing".into()
            })
        );
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("variable not set (strict mode): \"missing\"".into())
        );
        // Set but empty is fine; operators treat unset as empty (envsubst v1.5.0).
        assert_eq!(subst("[${empty}]", &vars, true).as_deref(), Ok("[]"));
        assert_eq!(
            subst("${#missing}${missing^^}", &vars, true).as_deref(),
            Ok("0")
        );
        // Non-strict: unset is empty.
        assert_eq!(
            subst("missing: ${missing}", &vars, false).as_deref(),
            Ok("missing: ")
        );
    }

    #[test]
    fn absurd_nesting_is_refused() {
        let deep = format!("{}x{}", "${a:=".repeat(600), "}".repeat(600));
        assert_eq!(
            subst(&deep, &[], false),
            Err(SubstituteError::TooDeep { limit: 512 })
        );
        let fine = format!("{}x{}", "${a:=".repeat(100), "}".repeat(100));
        assert_eq!(subst(&fine, &[], false).as_deref(), Ok("x"));
    }

    #[test]
    fn variables_strip_newlines_and_later_sources_win() {
        // kc--varsub-inline-configmap-secret: ConfigMap then Secret define `zone`, the
        // Secret (later) wins, every `\n` is removed; the inline map comes last.
        let vars = Variables::new(vec![
            pairs(&[("zone", "\naz-1a\n"), ("color", "red\r\n")]),
            pairs(&[("zone", "\naz-1b\n")]),
            pairs(&[("_Region", "eu-central-1"), ("color", "blue\n")]),
        ]);
        assert_eq!(vars.get("zone"), Some("az-1b"));
        assert_eq!(vars.get("_Region"), Some("eu-central-1"));
        assert_eq!(vars.get("color"), Some("blue"));
        assert_eq!(vars.len(), 3);
        assert_eq!(vars.invalid_name(), None);
        let crlf = Variables::new(vec![pairs(&[("v", "a\r\nb")])]);
        assert_eq!(crlf.get("v"), Some("a\rb"));
    }

    #[test]
    fn variable_names() {
        for good in ["a", "_", "_Region", "A1_b", "cluster_env"] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", "1a", "my-var", "a.b", "é", "a b"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
        let vars = Variables::new(vec![pairs(&[("ok", "1"), ("my-var", "2")])]);
        assert_eq!(vars.invalid_name(), Some("my-var"));
        let object = json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}});
        let err = substitute_object(
            &object,
            &vars,
            &SubstituteOptions::default(),
            &json_text,
            &json_parse,
        );
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("envsubst error: 'my-var' var name is invalid, must match \
                 '^[_[:alpha:]][_[:alpha:][:digit:]]*$'"
                .into())
        );
    }

    fn json_text(object: &Value) -> String {
        serde_json::to_string_pretty(object).unwrap_or_default()
    }

    fn json_parse(text: &str) -> Result<Value, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    fn yaml_parse(text: &str) -> Result<Value, String> {
        serde_saphyr::from_str::<Value>(text).map_err(|e| e.to_string())
    }

    #[test]
    fn opt_out_by_label_or_annotation() {
        let labelled = json!({"kind": "ConfigMap", "metadata": {"name": "a",
            "labels": {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}},
            "data": {"x": "${cluster_env:=dev}"}});
        let annotated = json!({"kind": "ConfigMap", "metadata": {"name": "a",
            "annotations": {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}}});
        let other = json!({"kind": "ConfigMap", "metadata": {"name": "a",
            "labels": {"kustomize.toolkit.fluxcd.io/substitute": "Disabled"}}});
        assert!(is_substitution_disabled(&labelled));
        assert!(is_substitution_disabled(&annotated));
        assert!(!is_substitution_disabled(&other));
        let vars = Variables::new(vec![pairs(&[("cluster_env", "prod")])]);
        let strict = SubstituteOptions {
            strict: true,
            strategy: SubstituteStrategy::WithVariables,
        };
        assert_eq!(
            substitute_object(&labelled, &vars, &strict, &json_text, &json_parse),
            Ok(None)
        );
    }

    #[test]
    fn strategy_decides_whether_substitution_runs() {
        // flux2--build-substitute-strategy-*: no variables at all.
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "test-config"},
                            "data": {"color": "${color:=blue}", "shape": "${shape:=square}"}});
        let none = Variables::default();
        assert!(!should_substitute(&none, SubstituteStrategy::WithVariables));
        assert!(should_substitute(&none, SubstituteStrategy::Always));
        let with_vars = SubstituteOptions::default();
        assert_eq!(
            substitute_object(&object, &none, &with_vars, &json_text, &json_parse),
            Ok(None)
        );
        let always = SubstituteOptions {
            strict: false,
            strategy: SubstituteStrategy::Always,
        };
        let out = substitute_object(&object, &none, &always, &json_text, &json_parse)
            .expect("substitute")
            .expect("ran");
        assert_eq!(out["data"], json!({"color": "blue", "shape": "square"}));
        // A variable with an empty value still counts as a variable.
        let empty = Variables::new(vec![pairs(&[("unused", "")])]);
        assert!(should_substitute(&empty, SubstituteStrategy::WithVariables));
    }

    // kc--varsub-inline-configmap-secret, with the YAML kustomize prints for the objects.
    #[test]
    fn inline_configmap_and_secret_sources() {
        let vars = Variables::new(vec![
            pairs(&[("zone", "\naz-1a\n")]),
            pairs(&[("zone", "\naz-1b\n")]),
            pairs(&[("_Region", "eu-central-1")]),
        ]);
        let sa_yaml = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  labels:\n    \
                       environment: ${env:=dev}\n    region: ${_Region}\n    zone: ${zone}\n  \
                       name: vars-abcde\n  namespace: vars-abcde\n";
        let out = substitute_object(
            &json!({"kind": "ServiceAccount"}),
            &vars,
            &SubstituteOptions::default(),
            &|_| sa_yaml.to_string(),
            &yaml_parse,
        )
        .expect("substitute")
        .expect("ran");
        assert_eq!(
            out["metadata"]["labels"],
            json!({"environment": "dev", "region": "eu-central-1", "zone": "az-1b"})
        );
    }

    // kc--varsub-number-bool-escape: values carry YAML syntax; `$${var}` and `\?` survive.
    #[test]
    fn values_splice_yaml_syntax() {
        let vars = Variables::new(vec![pairs(&[
            ("q", "\""),
            ("numberStr", "!!str 123"),
            ("number", "123"),
            ("booleanStr", "!!str true"),
            ("boolean", "true"),
        ])]);
        let repo_yaml = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  \
            annotations:\n    enabled: ${q}${boolean}${q}\n    id: ${q}${number}${q}\n  labels:\n    \
            enabled: ${booleanStr}\n    id: ${numberStr}\n  name: vars-num01\n  namespace: vars-num01\n\
            spec:\n  interval: ${number}m\n  url: https://host/repo\n";
        let out = substitute_object(
            &json!({"kind": "GitRepository"}),
            &vars,
            &SubstituteOptions::default(),
            &|_| repo_yaml.to_string(),
            &yaml_parse,
        )
        .expect("substitute")
        .expect("ran");
        assert_eq!(
            out["metadata"]["labels"],
            json!({"enabled": "true", "id": "123"})
        );
        assert_eq!(
            out["metadata"]["annotations"],
            json!({"enabled": "true", "id": "123"})
        );
        assert_eq!(out["spec"]["interval"], json!("123m"));
        let cm_yaml = "apiVersion: v1\ndata:\n  id: ${q}${number}${q}\n  text: |\n    This variable \
            is escaped $${var}\n\n    \\?\nkind: ConfigMap\nmetadata:\n  name: vars-num01\n";
        let out = substitute_object(
            &json!({"kind": "ConfigMap"}),
            &vars,
            &SubstituteOptions::default(),
            &|_| cm_yaml.to_string(),
            &yaml_parse,
        )
        .expect("substitute")
        .expect("ran");
        assert_eq!(out["data"]["id"], json!("123"));
        assert_eq!(
            out["data"]["text"],
            json!("This variable is escaped ${var}\n\n\\?\n")
        );
    }

    // pkg--varsub-strict-empty-values and pkg--varsub-strict-off-missing-var-ok: the source's
    // quotes are gone in the printed YAML, so empty values become null.
    #[test]
    fn empty_values_become_null_and_strict_accepts_them() {
        let vars = Variables::new(vec![
            pairs(&[("empty_cm", "")]),
            pairs(&[("empty_secret", "")]),
            pairs(&[("empty_inline", "")]),
        ]);
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    from-configmap: \
            ${empty_cm}\n    from-inline: ${empty_inline}\n    from-secret: ${empty_secret}\n  \
            name: app-vars-strict-empty\n  namespace: apps\n";
        let strict = SubstituteOptions {
            strict: true,
            strategy: SubstituteStrategy::WithVariables,
        };
        let out = substitute_object(
            &json!({"kind": "ConfigMap"}),
            &vars,
            &strict,
            &|_| yaml.to_string(),
            &yaml_parse,
        )
        .expect("substitute")
        .expect("ran");
        assert_eq!(
            out["metadata"]["labels"],
            json!({"from-configmap": null, "from-inline": null, "from-secret": null})
        );
        let vars = Variables::new(vec![pairs(&[
            ("cluster_env", "prod"),
            ("cluster_region", "eu-central-1"),
        ])]);
        let yaml = "apiVersion: v1\ndata:\n  missing: ${missing}\nkind: ConfigMap\nmetadata:\n  \
            labels:\n    environment: ${cluster_env:=dev}\n    region: ${cluster_region}\n  name: x\n";
        let lenient = SubstituteOptions::default();
        let out = substitute_object(
            &json!({"kind": "ConfigMap"}),
            &vars,
            &lenient,
            &|_| yaml.to_string(),
            &yaml_parse,
        )
        .expect("substitute")
        .expect("ran");
        assert_eq!(out["data"]["missing"], Value::Null);
        assert_eq!(
            out["metadata"]["labels"],
            json!({"environment": "prod", "region": "eu-central-1"})
        );
    }

    // kc--varsub-strict-missing-var-error / pkg--varsub-strict-missing-var-error, with
    // Flux's full message.
    #[test]
    fn strict_missing_variable_fails_the_object() {
        let vars = Variables::new(vec![pairs(&[("test", "test")])]);
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "vars-str01", "namespace": "vars-str01",
                         "labels": {"default": "${default:=test}", "missing": "${missing}"}}});
        let strict = SubstituteOptions {
            strict: true,
            strategy: SubstituteStrategy::WithVariables,
        };
        let err = substitute_all(vec![sa.clone()], &vars, &strict, &json_text, &json_parse);
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err(
                "post build failed for 'ServiceAccount.v1.[noGrp]/vars-str01': envsubst error: \
                 variable substitution failed: variable not set (strict mode): \"missing\""
                    .into()
            )
        );
        let lenient = SubstituteOptions::default();
        let out =
            substitute_all(vec![sa], &vars, &lenient, &json_text, &json_parse).expect("substitute");
        assert_eq!(
            out[0]["metadata"]["labels"],
            json!({"default": "test", "missing": ""})
        );
    }

    // pkg--varsub-substitute-and-substitutefrom and flux2--build-var-substitution: the
    // opted-out ConfigMap keeps its expressions, the Deployment is substituted.
    #[test]
    fn substitute_all_keeps_opted_out_objects() {
        let vars = Variables::new(vec![
            pairs(&[
                ("prometheus_scrape", "\"true\""),
                ("prometheus_port", "\"9797\""),
                ("image", "nginx:1.21.4"),
            ]),
            pairs(&[("cluster_env", "prod"), ("cluster_region", "eu-central-1")]),
        ]);
        let configmap = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "app-vars", "namespace": "apps",
                         "labels": {"kustomize.toolkit.fluxcd.io/substitute": "disabled",
                                    "environment": "${cluster_env:=dev}"}},
            "data": {"image": "${image}"}});
        // JSON text as the printer stand-in: the quoted values below would break JSON, so
        // this part substitutes only the unquoted ones.
        let plain = Variables::new(vec![
            pairs(&[("image", "nginx:1.21.4")]),
            pairs(&[("cluster_env", "prod"), ("cluster_region", "eu-central-1")]),
        ]);
        let deployment_plain = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "app", "namespace": "apps",
                         "labels": {"environment": "${cluster_env:=dev}", "region": "${cluster_region}"}},
            "spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "${image}"}]}}}});
        let out = substitute_all(
            vec![deployment_plain, configmap.clone()],
            &plain,
            &SubstituteOptions::default(),
            &json_text,
            &json_parse,
        );
        let out = out.expect("substitute");
        assert_eq!(
            out[0]["metadata"]["labels"],
            json!({"environment": "prod", "region": "eu-central-1"})
        );
        assert_eq!(
            out[0]["spec"]["template"]["spec"]["containers"][0]["image"],
            json!("nginx:1.21.4")
        );
        assert_eq!(out[1], configmap);
        let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    \
            metadata:\n      annotations:\n        prometheus.io/port: ${prometheus_port}\n        \
            prometheus.io/scrape: ${prometheus_scrape:=false}\n";
        let out = substitute_object(
            &json!({"kind": "Deployment"}),
            &vars,
            &SubstituteOptions::default(),
            &|_| yaml.to_string(),
            &yaml_parse,
        )
        .expect("substitute")
        .expect("ran");
        assert_eq!(
            out["spec"]["template"]["metadata"]["annotations"],
            json!({"prometheus.io/port": "9797", "prometheus.io/scrape": "true"})
        );
    }

    // The flux-build cases through the real YAML printer and reader.
    #[test]
    fn apply_with_the_yaml_module() {
        let repo = json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "vars-num01", "namespace": "vars-num01",
                "labels": {"id": "${numberStr}", "enabled": "${booleanStr}"},
                "annotations": {"id": "${q}${number}${q}", "enabled": "${q}${boolean}${q}"}},
            "spec": {"interval": "${number}m", "url": "https://host/repo"}});
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "vars-num01", "namespace": "vars-num01"},
            "data": {"id": "${q}${number}${q}",
                     "text": "This variable is escaped $${var}\n\nLorem ipsum.\n\n\\?\n"}});
        let sources = vec![pairs(&[
            ("q", "\""),
            ("numberStr", "!!str 123"),
            ("number", "123"),
            ("booleanStr", "!!str true"),
            ("boolean", "true"),
        ])];
        let out = apply(
            vec![repo, cm],
            &sources,
            &super::super::Substitution::default(),
        )
        .expect("substitute");
        assert_eq!(
            out[0]["metadata"]["labels"],
            json!({"enabled": "true", "id": "123"})
        );
        assert_eq!(
            out[0]["metadata"]["annotations"],
            json!({"enabled": "true", "id": "123"})
        );
        assert_eq!(out[0]["spec"]["interval"], json!("123m"));
        assert_eq!(out[1]["data"]["id"], json!("123"));
        assert_eq!(
            out[1]["data"]["text"],
            json!("This variable is escaped ${var}\n\nLorem ipsum.\n\n\\?\n")
        );

        // pkg--varsub-strict-empty-values: quotes are lost, empty values become null.
        let empty = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "e", "labels": {"from-inline": "${empty_inline}"}}});
        let strict = super::super::Substitution {
            strict: true,
            always: false,
        };
        let out =
            apply(vec![empty], &[pairs(&[("empty_inline", "")])], &strict).expect("substitute");
        assert_eq!(out[0]["metadata"]["labels"]["from-inline"], Value::Null);

        // kc--varsub-strategy-always: no variables, defaults apply only with Always.
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "vars-alw01", "labels": {"color": "${color:=blue}"}}});
        let kept = apply(
            vec![sa.clone()],
            &[],
            &super::super::Substitution::default(),
        )
        .expect("substitute");
        assert_eq!(kept[0], sa);
        let always = super::super::Substitution {
            strict: true,
            always: true,
        };
        let out = apply(vec![sa], &[], &always).expect("substitute");
        assert_eq!(out[0]["metadata"]["labels"]["color"], json!("blue"));
    }

    #[test]
    fn reparse_failures_and_object_ids() {
        let vars = Variables::new(vec![pairs(&[("v", "\"")])]);
        let object = json!({"apiVersion": "example.com/v1beta1", "kind": "Thing",
                            "metadata": {"name": "t"}, "spec": {"a": "${v}"}});
        let err = substitute_all(
            vec![object],
            &vars,
            &SubstituteOptions::default(),
            &json_text,
            &json_parse,
        )
        .expect_err("broken JSON");
        assert_eq!(err.object, "Thing.v1beta1.example.com/t");
        assert!(matches!(err.source, SubstituteError::Reparse { .. }));
        assert!(err.to_string().contains("envsubst error: YAMLToJSON: "));
        assert!(!err.is_retryable());
        assert_eq!(object_id(&json!({})), "[noKind].[noVer].[noGrp]/");
    }
}
