# The art service's Terraform with kiln render-taskdef: the container definitions live in a JSON
# file next to this configuration (as the seed keeps them), and CI runs
#   kiln render-taskdef containers.json --output containers.json
# before `terraform plan`, so the task definition is pinned to the planned digests.
# The test points the provider at moto (var.aws_endpoint); in real use drop the endpoints block.

terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}

variable "aws_endpoint" {
  type    = string
  default = ""
}

provider "aws" {
  region                      = "eu-west-1"
  skip_credentials_validation = var.aws_endpoint != ""
  skip_requesting_account_id  = var.aws_endpoint != ""
  skip_metadata_api_check     = var.aws_endpoint != ""

  dynamic "endpoints" {
    for_each = var.aws_endpoint == "" ? [] : [var.aws_endpoint]
    content {
      ecs = endpoints.value
      sts = endpoints.value
      iam = endpoints.value
    }
  }
}

resource "aws_ecs_task_definition" "art" {
  family                   = "art"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "256"
  memory                   = "512"
  container_definitions    = file("${path.module}/containers.json")
}
