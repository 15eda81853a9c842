#!/usr/bin/env python3
"""The UM gateway on ECS Fargate, its image pinned by kiln at synth time.

`kiln plan --json` computes the derived image's content tag offline (from images/, overlays/
and kiln.lock); the task definition references exactly that tag. CI runs `kiln build` before
`cdk deploy`, so the tag exists when ECS pulls it. Settings:
  KILN       the kiln executable (default: kiln on PATH)
  KILN_ROOT  the repository holding images/, overlays/ and kiln.lock (default: two folders up)
  KILN_LOCK  another lock file (default: KILN_ROOT/kiln.lock)
"""
import json
import os
import subprocess

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs

ROOT = os.environ.get("KILN_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def kiln_plan(name):
    """kiln's plan for images/NAME.yaml: image, digest, tag, repository."""
    command = [os.environ.get("KILN", "kiln"), "plan", "--json", "--root", ROOT]
    if os.environ.get("KILN_LOCK"):
        command += ["--lock", os.environ["KILN_LOCK"]]
    command.append(os.path.join(ROOT, "images", name + ".yaml"))
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stderr.strip())
    return json.loads(result.stdout)["images"][name]


class GatewayStack(cdk.Stack):
    def __init__(self, scope, construct_id, **kwargs):
        super().__init__(scope, construct_id, **kwargs)
        plan = kiln_plan("gateway")
        # REPO is ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME; the stack only needs NAME.
        repository = ecr.Repository.from_repository_name(self, "GatewayRepository", plan["repository"].split("/", 1)[1])
        task = ecs.FargateTaskDefinition(self, "Gateway", cpu=256, memory_limit_mib=512)
        task.add_container(
            "gateway",
            image=ecs.ContainerImage.from_ecr_repository(repository, plan["tag"]),
            port_mappings=[ecs.PortMapping(container_port=8000)],
            logging=ecs.LogDrivers.aws_logs(stream_prefix="gateway"),
        )
        cdk.CfnOutput(self, "GatewayImage", value=plan["image"])


app = cdk.App()
GatewayStack(app, "UmGateway", env=cdk.Environment(account="123456789012", region="eu-west-1"))
app.synth()
