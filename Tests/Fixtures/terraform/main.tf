# The seeds' Terraform flow with kiln: Terraform owns the ECR repository and the ECS task
# definition; CI runs `kiln bake` between two applies and passes the digest reference it printed.
# The provider (pointed at moto for the test) is in ../terraform-moto.tf, copied beside this file.

variable "image" {
  description = "The digest reference kiln printed (REPO@sha256:...); empty on the first apply."
  type        = string
  default     = ""
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
