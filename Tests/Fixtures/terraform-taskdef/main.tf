# The art service's Terraform with kiln render-taskdef: the container definitions live in a JSON
# file next to this configuration (as the seed keeps them), and CI runs
#   kiln render-taskdef containers.json --output containers.json
# before `terraform plan`, so the task definition is pinned to the planned digests.
# The provider (pointed at moto for the test) is in ../terraform-moto.tf, copied beside this file.

resource "aws_ecs_task_definition" "art" {
  family                   = "art"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "256"
  memory                   = "512"
  container_definitions    = file("${path.module}/containers.json")
}
