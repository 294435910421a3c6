#!/usr/bin/env python3
"""Generate the embedded input schemas from the upstream CRDs.

Usage: scripts/gen-input-schemas.py [CRD_DIR] [--out DIR]

CRD_DIR defaults to $K8SSANDRA_GITOPS_SHARED/schemas/crds, else ../shared/schemas/crds relative to
the repository root (the parent of this script's directory); --out defaults to <repo>/src/schema.

For each input kind the served version's openAPIV3Schema is reduced to what the structural checker
in src/schema.rs needs: descriptions and x-kubernetes-map-type are dropped, and so is the
`anyOf: [{type: integer}, {type: string}]` that merely spells out x-kubernetes-int-or-string.
Identical subtrees are shared through a definitions table, and the result is written as
deterministic compact JSON:

    {"generator": ..., "kind": ..., "version": ..., "source": "<crd file>", "sha256": "<hex>",
     "root": <def index>, "patterns": [<regex>, ...], "defs": [<def>, ...]}

A def is a schema node whose child schemas (properties values, items, additionalProperties,
anyOf/oneOf/allOf branches) are replaced by indices into "defs", and whose "pattern" is an index
into "patterns". Defs are numbered in post-order (children before parents); keys are sorted.
Re-running on the same input produces byte-identical output.

Requires python3 and PyYAML.
"""

import argparse
import hashlib
import json
import os
import sys

import yaml

INPUTS = [
    # (crd file, kind, served version, output file)
    ("k8ssandraclusters.k8ssandra.io.yaml", "K8ssandraCluster", "v1alpha1", "k8ssandracluster.v1alpha1.json"),
    ("clientconfigs.config.k8ssandra.io.yaml", "ClientConfig", "v1beta1", "clientconfig.v1beta1.json"),
    # Operations documents routed to the datacenter they name, and the storage settings a
    # K8ssandraCluster's Medusa may reference.
    ("medusabackupschedules.medusa.k8ssandra.io.yaml", "MedusaBackupSchedule", "v1alpha1", "medusabackupschedule.v1alpha1.json"),
    ("medusabackupjobs.medusa.k8ssandra.io.yaml", "MedusaBackupJob", "v1alpha1", "medusabackupjob.v1alpha1.json"),
    ("medusarestorejobs.medusa.k8ssandra.io.yaml", "MedusaRestoreJob", "v1alpha1", "medusarestorejob.v1alpha1.json"),
    ("medusaconfigurations.medusa.k8ssandra.io.yaml", "MedusaConfiguration", "v1alpha1", "medusaconfiguration.v1alpha1.json"),
    ("cassandratasks.control.k8ssandra.io.yaml", "CassandraTask", "v1alpha1", "cassandratask.v1alpha1.json"),
]

# Keywords copied verbatim (after a type sanity check).
SCALAR_KEYS = {
    "type", "required", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties",
    "format", "nullable", "default", "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource",
    "x-kubernetes-list-type", "x-kubernetes-list-map-keys",
}
# Keywords that hold schemas.
SCHEMA_KEYS = {"properties", "items", "additionalProperties", "anyOf", "oneOf", "allOf"}
# Keywords dropped on purpose (documentation, server-side-apply hints, unused by the checker).
DROPPED_KEYS = {"description", "x-kubernetes-map-type", "example", "title", "externalDocs"}

INT_OR_STRING_ANYOF = [{"type": "integer"}, {"type": "string"}]


def fail(msg):
    sys.exit(f"gen-input-schemas: {msg}")


class Builder:
    def __init__(self):
        self.defs = []          # canonical JSON text per def
        self.index = {}         # canonical JSON text -> index
        self.patterns = []
        self.pattern_index = {}

    def pattern(self, p):
        if p not in self.pattern_index:
            self.pattern_index[p] = len(self.patterns)
            self.patterns.append(p)
        return self.pattern_index[p]

    def intern(self, node):
        text = json.dumps(node, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        if text not in self.index:
            self.index[text] = len(self.defs)
            self.defs.append(node)
        return self.index[text]

    def build(self, schema, where):
        if not isinstance(schema, dict):
            fail(f"{where}: schema is not a mapping")
        out = {}
        int_or_string = schema.get("x-kubernetes-int-or-string") is True
        for key in sorted(schema):
            value = schema[key]
            at = f"{where}.{key}"
            if key in DROPPED_KEYS:
                continue
            if key == "properties":
                out[key] = {name: self.build(sub, f"{at}.{name}") for name, sub in sorted(value.items())}
            elif key == "items":
                out[key] = self.build(value, at)
            elif key == "additionalProperties":
                out[key] = value if isinstance(value, bool) else self.build(value, at)
            elif key in ("anyOf", "oneOf", "allOf"):
                # The anyOf that spells out x-kubernetes-int-or-string adds nothing to the flag.
                if int_or_string and key == "anyOf" and value == INT_OR_STRING_ANYOF:
                    continue
                if int_or_string and key == "allOf" and value == [{"anyOf": INT_OR_STRING_ANYOF}]:
                    continue
                out[key] = [self.build(sub, f"{at}[{i}]") for i, sub in enumerate(value)]
            elif key == "pattern":
                if not isinstance(value, str):
                    fail(f"{at}: pattern is not a string")
                out[key] = self.pattern(value)
            elif key in SCALAR_KEYS:
                out[key] = value
            elif key.startswith("x-kubernetes-validations"):
                fail(f"{at}: CEL validation rules are not supported by the checker")
            else:
                fail(f"{at}: unsupported schema keyword {key!r}; teach gen-input-schemas.py and src/schema.rs about it")
        check_types(out, where)
        return self.intern(out)


def check_types(node, where):
    """Guards against YAML 1.1 surprises (unquoted yes/no, dates) in enum and default values."""
    ty = node.get("type")
    expected = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,)}.get(ty)
    if expected is None:
        return
    values = list(node.get("enum", []))
    if "default" in node:
        values.append(node["default"])
    for v in values:
        ok = isinstance(v, expected) and (ty == "boolean" or not isinstance(v, bool))
        if not ok and not (v is None and node.get("nullable")):
            fail(f"{where}: value {v!r} does not match type {ty}")


def generate(crd_dir, out_dir):
    for crd_file, kind, version, out_file in INPUTS:
        path = os.path.join(crd_dir, crd_file)
        with open(path, "rb") as f:
            raw = f.read()
        docs = [d for d in yaml.load_all(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if d]
        crds = [d for d in docs if d.get("kind") == "CustomResourceDefinition"]
        if len(crds) != 1:
            fail(f"{path}: expected one CustomResourceDefinition, found {len(crds)}")
        crd = crds[0]
        if crd["spec"]["names"]["kind"] != kind:
            fail(f"{path}: kind is {crd['spec']['names']['kind']!r}, expected {kind!r}")
        versions = [v for v in crd["spec"]["versions"] if v["name"] == version]
        if len(versions) != 1 or not versions[0].get("served"):
            fail(f"{path}: version {version} is not served")
        schema = versions[0]["schema"]["openAPIV3Schema"]
        b = Builder()
        root = b.build(schema, f"{kind}/{version}")
        doc = {
            "generator": "scripts/gen-input-schemas.py",
            "kind": kind,
            "version": version,
            "source": crd_file,
            "sha256": hashlib.sha256(raw).hexdigest(),
            "root": root,
            "patterns": b.patterns,
            "defs": b.defs,
        }
        text = json.dumps(doc, separators=(",", ":"), ensure_ascii=True) + "\n"
        os.makedirs(out_dir, exist_ok=True)
        target = os.path.join(out_dir, out_file)
        with open(target, "w", encoding="ascii", newline="\n") as f:
            f.write(text)
        print(f"{target}: {len(text)} bytes, {len(b.defs)} defs, {len(b.patterns)} patterns (from {len(raw)} bytes)")


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shared = os.environ.get("K8SSANDRA_GITOPS_SHARED") or os.path.join(repo, "..", "shared")
    parser.add_argument("crd_dir", nargs="?", default=os.path.join(shared, "schemas", "crds"))
    parser.add_argument("--out", default=os.path.join(repo, "src", "schema"))
    args = parser.parse_args()
    generate(args.crd_dir, args.out)


if __name__ == "__main__":
    main()
