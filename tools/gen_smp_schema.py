#!/usr/bin/env python3
"""Generate src/render/patch/schema_data.rs: the strategic-merge facts kustomize v5.5.0 takes
from its built-in Kubernetes v1.21.2 OpenAPI document.

kustomize (kyaml/openapi) embeds the document a kind v1.21.2 API server serves at /openapi/v2
in protobuf form (gnostic `openapi.v2.Document`), plus a small Kustomization schema. This
script reads both and writes only what the merge and the scope test need:

  * a type graph as kyaml's `ResourceSchema.Field` / `Elements` see it: `$ref`s resolved (so
    extensions written next to a `$ref` are dropped, as kyaml drops them), properties,
    `additionalProperties` schemas and array items, with each node's
    `x-kubernetes-patch-strategy` and merge keys (`x-kubernetes-list-map-keys` when the
    strategy is set and the list is present, else `x-kubernetes-patch-merge-key`, exactly as
    `PatchStrategyAndKeyList` chooses);
  * the node of each (apiVersion, kind) named by `x-kubernetes-group-version-kind`;
  * namespace scope per (apiVersion, kind), derived from the GET paths as kyaml's
    `findNamespaceability` does (a path containing `namespaces/{namespace}` makes it
    namespaced).

Usage (from the repository root, with any clone of kubernetes-sigs/kustomize in $KUSTOMIZE):

    git -C "$KUSTOMIZE" show kustomize/v5.5.0:kyaml/openapi/kubernetesapi/v1_21_2/swagger.pb \
        > /tmp/swagger.pb
    git -C "$KUSTOMIZE" show kustomize/v5.5.0:kyaml/openapi/kustomizationapi/swagger.json \
        > /tmp/kustomizationapi.json
    python3 tools/gen_smp_schema.py /tmp/swagger.pb /tmp/kustomizationapi.json \
        > src/render/patch/schema_data.rs

A Kubernetes `swagger.json` (for example `api/openapi-spec/swagger.json` at tag v1.21.2) is
accepted in place of the .pb file. Needs Python 3 and PyYAML (the vendor extensions inside
the protobuf are YAML text). The input documents are not committed; the output records their
SHA-256 so a regeneration can be checked against the committed table.
"""

import hashlib
import json
import sys

import yaml

# --- a minimal protobuf wire-format reader (no protobuf package needed) ------------------


def read_varint(buf, pos):
    result = 0
    shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(buf):
    """Yields (field number, wire type, value) for one message; value is bytes for
    length-delimited fields and an int for varints; fixed-width fields are skipped."""
    pos = 0
    end = len(buf)
    while pos < end:
        tag, pos = read_varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def by_number(buf):
    out = {}
    for number, _, value in fields(buf):
        out.setdefault(number, []).append(value)
    return out


# Field numbers of gnostic's openapiv2/OpenAPIv2.proto that this script reads.
DOC_PATHS, DOC_DEFINITIONS = 8, 9
PATHS_PATH = 2
PATHITEM_GET = 2
OPERATION_VENDOR_EXTENSION = 13
NAMED_NAME, NAMED_VALUE = 1, 2
ANY_YAML = 2
SCHEMA_REF, SCHEMA_ADDITIONAL, SCHEMA_TYPE, SCHEMA_ITEMS = 1, 21, 22, 23
SCHEMA_ALL_OF, SCHEMA_PROPERTIES, SCHEMA_VENDOR_EXTENSION = 24, 25, 31
ADDITIONAL_SCHEMA, ADDITIONAL_BOOLEAN = 1, 2


def text(value):
    return value.decode("utf-8")


def pb_extensions(entries):
    out = {}
    for entry in entries:
        named = by_number(entry)
        name = text(named[NAMED_NAME][0])
        any_msg = by_number(named.get(NAMED_VALUE, [b""])[0])
        out[name] = yaml.safe_load(text(any_msg.get(ANY_YAML, [b""])[0]))
    return out


def pb_schema(buf):
    msg = by_number(buf)
    schema = {}
    if SCHEMA_REF in msg:
        schema["$ref"] = text(msg[SCHEMA_REF][0])
    if SCHEMA_TYPE in msg:
        schema["type"] = [text(v) for v in by_number(msg[SCHEMA_TYPE][0]).get(1, [])]
    if SCHEMA_ITEMS in msg:
        items = [pb_schema(v) for v in by_number(msg[SCHEMA_ITEMS][0]).get(1, [])]
        schema["items"] = items[0] if len(items) == 1 else items
    if SCHEMA_ADDITIONAL in msg:
        additional = by_number(msg[SCHEMA_ADDITIONAL][0])
        if ADDITIONAL_SCHEMA in additional:
            schema["additionalProperties"] = pb_schema(additional[ADDITIONAL_SCHEMA][0])
        else:
            schema["additionalProperties"] = bool(additional.get(ADDITIONAL_BOOLEAN, [0])[0])
    if SCHEMA_PROPERTIES in msg:
        props = {}
        for entry in by_number(msg[SCHEMA_PROPERTIES][0]).get(1, []):
            named = by_number(entry)
            props[text(named[NAMED_NAME][0])] = pb_schema(named.get(NAMED_VALUE, [b""])[0])
        schema["properties"] = props
    if SCHEMA_ALL_OF in msg:
        schema["allOf"] = [pb_schema(v) for v in msg[SCHEMA_ALL_OF]]
    schema.update(pb_extensions(msg.get(SCHEMA_VENDOR_EXTENSION, [])))
    return schema


def load_pb(data):
    doc = by_number(data)
    definitions = {}
    for entry in by_number(doc[DOC_DEFINITIONS][0]).get(1, []):
        named = by_number(entry)
        definitions[text(named[NAMED_NAME][0])] = pb_schema(named[NAMED_VALUE][0])
    paths = {}
    for entry in by_number(doc[DOC_PATHS][0]).get(PATHS_PATH, []):
        named = by_number(entry)
        item = by_number(named.get(NAMED_VALUE, [b""])[0])
        get = {}
        if PATHITEM_GET in item:
            op = by_number(item[PATHITEM_GET][0])
            get = pb_extensions(op.get(OPERATION_VENDOR_EXTENSION, []))
        paths[text(named[NAMED_NAME][0])] = {"get": get} if PATHITEM_GET in item else {}
    return definitions, paths


def load_json(data):
    doc = json.loads(data)
    return doc.get("definitions", {}), doc.get("paths", {})


def load(path):
    with open(path, "rb") as handle:
        data = handle.read()
    digest = hashlib.sha256(data).hexdigest()
    if data.lstrip()[:1] == b"{":
        definitions, paths = load_json(data)
    else:
        definitions, paths = load_pb(data)
    return definitions, paths, digest


# --- the graph kyaml's ResourceSchema walks ---------------------------------------------

GVK = "x-kubernetes-group-version-kind"
STRATEGY = "x-kubernetes-patch-strategy"
MERGE_KEY = "x-kubernetes-patch-merge-key"
MAP_KEYS = "x-kubernetes-list-map-keys"


def api_version(gvk):
    group = gvk.get("group") or ""
    return f"{group}/{gvk['version']}" if group else gvk["version"]


class Graph:
    def __init__(self, definitions):
        self.definitions = definitions
        self.nodes = []  # (is_array, strategy, keys, fields, additional, items)
        self.by_definition = {}
        self.by_shape = {}
        # Definitions are recognised by identity once a $ref has been resolved to one.
        self.names_by_id = {id(schema): name for name, schema in definitions.items()}

    def resolve(self, schema):
        """kyaml's `for s.Ref.String() != "" { s = Resolve(s.Ref) }`; None when unresolvable."""
        seen = set()
        while isinstance(schema, dict) and schema.get("$ref"):
            ref = schema["$ref"]
            if ref in seen or not ref.startswith("#/definitions/"):
                return None
            seen.add(ref)
            schema = self.definitions.get(ref[len("#/definitions/"):])
        return schema if isinstance(schema, dict) else None

    def node_of(self, schema):
        """The node id of an already-resolved schema, or None."""
        if schema is None:
            return None
        if id(schema) in self.names_by_id:
            return self.definition_node(self.names_by_id[id(schema)])
        return self.inline_node(schema)

    def definition_node(self, name):
        if name in self.by_definition:
            return self.by_definition[name]
        index = len(self.nodes)
        self.by_definition[name] = index
        self.nodes.append(None)  # reserved: definitions may refer to themselves
        self.nodes[index] = self.facts(self.definitions[name])
        return index

    def inline_node(self, schema):
        shape = self.facts(schema)
        if shape not in self.by_shape:
            self.by_shape[shape] = len(self.nodes)
            self.nodes.append(shape)
        return self.by_shape[shape]

    def facts(self, schema):
        if "allOf" in schema:
            raise ValueError("allOf is not expected in this schema")
        is_array = schema.get("type") == ["array"] or schema.get("type") == "array"
        items = None
        if is_array and isinstance(schema.get("items"), dict):
            items = self.node_of(self.resolve(schema["items"]))
        additional = None
        if isinstance(schema.get("additionalProperties"), dict):
            additional = self.node_of(self.resolve(schema["additionalProperties"]))
        strategy = schema.get(STRATEGY)
        keys = ()
        if strategy is not None:
            if MAP_KEYS in schema:
                keys = tuple(schema[MAP_KEYS])
            elif MERGE_KEY in schema:
                keys = (schema[MERGE_KEY],)
        # Each property keeps the strategy declared on it as well: apimachinery honours a
        # strategy written next to a $ref (DeploymentSpec.strategy: retainKeys,
        # PodDisruptionBudgetSpec.selector: replace) even though kyaml's Field drops it.
        props = tuple(
            sorted(
                (name, self.node_of(self.resolve(prop)), prop.get(STRATEGY))
                for name, prop in schema.get("properties", {}).items()
            )
        )
        # A property whose $ref cannot be resolved is absent for kyaml's Field.
        props = tuple(prop for prop in props if prop[1] is not None)
        return (is_array, strategy, keys, props, additional, items)


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    definitions, paths, digests = {}, {}, []
    # The document each definition finally comes from: every document after the first is
    # kustomize's own Kustomization schema, which kyaml parses after any custom schema, so
    # a custom schema never overrides its definitions.
    kustomization_api = set()
    for number, path in enumerate(argv[1:]):
        defs, more_paths, digest = load(path)
        # kyaml adds documents in this order; later definitions of a name win.
        definitions.update(defs)
        if number > 0:
            kustomization_api.update(defs)
        paths.update(more_paths)
        digests.append((path.rsplit("/", 1)[-1], digest))

    graph = Graph(definitions)

    types = {}
    for name in sorted(definitions):
        for gvk in definitions[name].get(GVK) or []:
            key = (api_version(gvk), gvk["kind"])
            node = graph.definition_node(name)
            if key in types and graph.nodes[types[key]] != graph.nodes[node]:
                sys.stderr.write(f"warning: {key} is defined twice; keeping {name}\n")
            types[key] = node

    namespaced = {}
    for path in sorted(paths):
        gvk = (paths[path].get("get") or {}).get(GVK)
        if not gvk:
            continue
        key = (api_version(gvk), gvk["kind"])
        if "namespaces/{namespace}" in path:
            namespaced[key] = True
        else:
            namespaced.setdefault(key, False)

    # Every definition gets a node, so that a custom schema's `$ref` can name any of them.
    # Nodes are appended after the ones the types reach, which keeps those ids stable.
    named = [(name, graph.definition_node(name), name in kustomization_api) for name in sorted(definitions)]

    write(graph, types, namespaced, named, digests)
    return 0


def rust_str(value):
    return json.dumps(value, ensure_ascii=False)


def strategy_flags(strategy):
    """The RawNode flag constants for an x-kubernetes-patch-strategy value."""
    if strategy is None:
        return []
    tokens = strategy.split(",")
    unknown = [t for t in tokens if t not in ("merge", "retainKeys", "replace")]
    if unknown:
        raise ValueError(f"unknown patch strategy tokens {unknown}")
    flags = ["RawNode::HAS_STRATEGY"]
    for token, flag in (("merge", "MERGE"), ("retainKeys", "RETAIN_KEYS"), ("replace", "REPLACE")):
        if token in tokens:
            flags.append(f"RawNode::{flag}")
    return flags


def rust_bool(value):
    return "true" if value else "false"


def write_pairs(out, prefix, name, what, rows, rust_type, literal):
    """An (apiVersion, kind) → value table as three columns, sorted for binary search."""
    out.write(f"/// (apiVersion, kind) → {what}: the apiVersions, sorted with the kinds.\n")
    out.write(f"pub(super) const {prefix}_VERSIONS: [&str; {len(rows)}] = [\n")
    for (version, _), _ in rows:
        out.write(f"    {rust_str(version)},\n")
    out.write("];\n\n")
    out.write(f"pub(super) const {prefix}_KINDS: [&str; {len(rows)}] = [\n")
    for (_, kind), _ in rows:
        out.write(f"    {rust_str(kind)},\n")
    out.write("];\n\n")
    out.write(f"pub(super) static {name}: [{rust_type}; {len(rows)}] = [\n")
    for _, value in rows:
        out.write(f"    {literal(value)},\n")
    out.write("];\n\n")


def write(graph, types, namespaced, named, digests):
    out = sys.stdout
    out.write("// @generated by tools/gen_smp_schema.py. DO NOT EDIT; regenerate instead.\n")
    out.write("//\n")
    out.write("// The strategic-merge facts of kustomize v5.5.0's built-in Kubernetes v1.21.2\n")
    out.write("// OpenAPI schema (kyaml/openapi). Inputs (SHA-256):\n")
    for name, digest in digests:
        out.write(f"//   {name}: {digest}\n")
    out.write("\n")
    out.write("use super::{NONE, RawNode};\n\n")

    field_names, field_rows, key_rows, node_rows = [], [], [], []
    for is_array, strategy, keys, props, additional, items in graph.nodes:
        flags = ["RawNode::ARRAY"] if is_array else []
        flags += strategy_flags(strategy)
        node_rows.append(
            "    RawNode::new({}, {}, {}, {}, {}, {}, {}),".format(
                len(field_rows),
                len(props),
                len(key_rows),
                len(keys),
                "NONE" if additional is None else additional,
                "NONE" if items is None else items,
                " | ".join(flags) if flags else "0",
            )
        )
        field_names.extend(f"    {rust_str(name)}," for name, _, _ in props)
        field_rows.extend(
            f"    ({node}, {' | '.join(strategy_flags(declared)) or '0'}),"
            for _, node, declared in props
        )
        key_rows.extend(f"    {rust_str(key)}," for key in keys)

    out.write(f"pub(super) static NODES: [RawNode; {len(node_rows)}] = [\n")
    out.write("\n".join(node_rows) + "\n];\n\n")
    # Strings go in `const` columns, never in statics: a `&str` in a static is a pointer the
    # loader relocates in every process, and `schema` lays each column end to end in one
    # text at compile time instead (BENCHMARKS.md, "what limits the per-root median").
    out.write("/// Field names, one per FIELDS row.\n")
    out.write(f"pub(super) const FIELD_NAMES: [&str; {len(field_names)}] = [\n")
    out.write("\n".join(field_names) + "\n];\n\n")
    out.write("/// (node, strategy declared on the property) per field; sorted by name per node.\n")
    out.write(f"pub(super) static FIELDS: [(u16, u8); {len(field_rows)}] = [\n")
    out.write("\n".join(field_rows) + "\n];\n\n")
    out.write(f"pub(super) static MERGE_KEYS: [&str; {len(key_rows)}] = [\n")
    out.write("\n".join(key_rows) + "\n];\n\n")
    write_pairs(out, "TYPE", "TYPE_NODES", "node", sorted(types.items()), "u16", str)
    write_pairs(out, "NAMESPACED", "NAMESPACED", "namespaced", sorted(namespaced.items()), "bool", rust_bool)
    out.write("/// Definition names, sorted.\n")
    out.write(f"pub(super) const DEFINITION_NAMES: [&str; {len(named)}] = [\n")
    for name, _, _ in named:
        out.write(f"    {rust_str(name)},\n")
    out.write("];\n\n")
    out.write("/// (node, from kustomize's Kustomization schema) per definition name.\n")
    out.write(f"pub(super) static DEFINITIONS: [(u16, bool); {len(named)}] = [\n")
    for _, node, kustomization in named:
        out.write(f"    ({node}, {rust_bool(kustomization)}),\n")
    out.write("];\n\n")
    out.write("/// (node, index into DEFINITIONS) for every definition's node, sorted by node.\n")
    by_node = sorted((node, index) for index, (_, node, _) in enumerate(named))
    out.write(f"pub(super) static DEFINITION_OF_NODE: [(u16, u16); {len(by_node)}] = [\n")
    for node, index in by_node:
        out.write(f"    ({node}, {index}),\n")
    out.write("];\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
