# The seeds' Terraform flow with kiln: Terraform owns the ECR repository and the ECS task
# definition; CI runs `kiln bake` between two applies and passes the digest reference it printed.
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

variable "image" {
  description = "The digest reference kiln printed (REPO@sha256:...); empty on the first apply."
  type        = string
  default     = ""
}

provider "aws" {
  region                      = "eu-west-1"
  skip_credentials_validation = var.aws_endpoint != ""
  skip_requesting_account_id  = var.aws_endpoint != ""
  skip_metadata_api_check     = var.aws_endpoint != ""

  dynamic "endpoints" {
    for_each = var.aws_endpoint == "" ? [] : [var.aws_endpoint]
    content {
      ecr = endpoints.value
      ecs = endpoints.value
      sts = endpoints.value
      iam = endpoints.value
    }
  }
}

resource "aws_ecr_repository" "gateway" {
  name                 = "um/gateway"
  image_tag_mutability = "IMMUTABLE"
}

resource "aws_ecs_task_definition" "gateway" {
  count                    = var.image == "" ? 0 : 1
  family                   = "um-gateway"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "256"
  memory                   = "512"
  container_definitions = jsonencode([{
    name         = "gateway"
    image        = var.image
    essential    = true
    portMappings = [{ containerPort = 8000 }]
  }])
}

output "repository_url" {
  value = aws_ecr_repository.gateway.repository_url
}
