#!/usr/bin/env python3
"""Writes JSON schemas for kubeconform from files that ship in Go modules,
so the chart is validated offline.

  kube-schemas.py OUTDIR SWAGGER_JSON [CRD.json ...]

SWAGGER_JSON is Kubernetes' OpenAPI v2 document (api/openapi-spec/swagger.json
of the k8s.io/kubernetes module); each CRD file is a CustomResourceDefinition
in JSON (the prometheus-operator module's jsonnet/prometheus-operator/*-crd.json).
Files are named as kubeconform's -schema-location template
OUTDIR/{{.ResourceKind}}{{.KindSuffix}}.json expects, e.g. deployment-apps-v1.json.
Schemas are strict: an object with declared properties accepts no other key,
as in kubeconform's own "-strict" schema sets.
"""

import json
import os
import sys

QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"


def kind_file(group, version, kind):
    first = group.split(".")[0] if group else ""
    suffix = f"-{first.lower()}-{version.lower()}" if first else f"-{version.lower()}"
    return f"{kind.lower()}{suffix}.json"


def strict(node, nullable):
    """Closes objects with properties, turns int-or-string into a oneOf and
    lets optional fields be null (Helm renders empty values as null)."""
    if isinstance(node, list):
        return [strict(n, nullable) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k == "properties":
            out[k] = {name: strict(sub, True) for name, sub in v.items()}
        elif k in ("items", "additionalProperties", "allOf", "anyOf", "oneOf", "not"):
            out[k] = strict(v, False)
        else:
            out[k] = v
    if out.get("format") == "int-or-string" or out.get("x-kubernetes-int-or-string"):
        for key in ("type", "format"):
            out.pop(key, None)
        out["oneOf"] = [{"type": "string"}, {"type": "integer"}] + ([{"type": "null"}] if nullable else [])
    if "properties" in out and "additionalProperties" not in out \
            and not out.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if nullable and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def inline(node, defs, stack):
    """Replaces every $ref by its definition; a definition that refers to
    itself (JSONSchemaProps) becomes an open schema at the second level."""
    if isinstance(node, list):
        return [inline(n, defs, stack) for n in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("$ref"), str):
        name = node["$ref"].split("/")[-1]
        if name in stack:
            return {}
        if name == QUANTITY:
            # The API server takes a quantity as a string or a number (cpu: 1).
            return {"oneOf": [{"type": "string"}, {"type": "number"}]}
        return inline(defs[name], defs, stack | {name})
    return {k: inline(v, defs, stack) for k, v in node.items()}


def write(outdir, name, schema):
    schema = dict(schema)
    schema["$schema"] = "http://json-schema.org/schema#"
    with open(os.path.join(outdir, name), "w") as f:
        json.dump(schema, f)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    outdir, swagger = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    with open(swagger) as f:
        defs = json.load(f)["definitions"]
    n = 0
    for name, d in defs.items():
        for gvk in d.get("x-kubernetes-group-version-kind", []):
            props = d.get("properties", {})
            if "kind" not in props or "apiVersion" not in props or name.endswith("List"):
                continue
            schema = strict(inline(d, defs, frozenset([name])), False)
            write(outdir, kind_file(gvk["group"], gvk["version"], gvk["kind"]), schema)
            n += 1
    for path in sys.argv[3:]:
        with open(path) as f:
            crd = json.load(f)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for v in crd["spec"]["versions"]:
            write(outdir, kind_file(group, v["name"], kind), strict(v["schema"]["openAPIV3Schema"], False))
            n += 1
    print(f"kube-schemas: {n} schemas in {outdir}")


if __name__ == "__main__":
    main()
