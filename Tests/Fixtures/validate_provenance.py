#!/usr/bin/env python3
"""Validates an in-toto statement with a SLSA provenance v1 predicate (tests only), with the
in-toto attestation framework's own Python bindings (PyPI `in-toto-attestation`):
  validate_provenance.py STATEMENT.json [PREDICATE.json]
The statement is parsed strictly into the framework's Statement message (unknown fields are
errors) and checked with its validate(); the predicate strictly into the SLSA Provenance v1
message, whose required fields (buildDefinition.buildType, externalParameters,
runDetails.builder.id) are checked, and each resolved dependency and the subjects as
ResourceDescriptors. With PREDICATE.json, that file must equal the statement's predicate.
Prints "ok" or one line naming what is wrong, exit 1.
"""
import json
import sys

import google.protobuf.json_format as pb_json
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement


def main(argv):
    with open(argv[1], "rb") as handle:
        text = handle.read()
    document = json.loads(text)
    statement = Statement.copy_from_pb(pb_json.Parse(text, statement_pb2.Statement()))
    statement.validate()
    if statement.pb.predicate_type != "https://slsa.dev/provenance/v1":
        raise ValueError("predicateType is not SLSA provenance v1")
    provenance = pb_json.ParseDict(document["predicate"], provenance_pb2.Provenance())
    definition = provenance.build_definition
    if not definition.build_type:
        raise ValueError("buildDefinition.buildType required")
    if not definition.HasField("external_parameters") or len(definition.external_parameters) == 0:
        raise ValueError("buildDefinition.externalParameters required")
    if not provenance.run_details.builder.id:
        raise ValueError("runDetails.builder.id required")
    for dependency in definition.resolved_dependencies:
        ResourceDescriptor.copy_from_pb(dependency).validate()
    if len(argv) > 2:
        with open(argv[2], "rb") as handle:
            if json.loads(handle.read()) != document["predicate"]:
                raise ValueError("the predicate file differs from the statement's predicate")
    print("ok")


try:
    main(sys.argv)
except Exception as error:  # one line, whatever failed
    print(f"invalid: {error}")
    sys.exit(1)
