# The aws provider as the Terraform tests run it: pointed at moto through var.aws_endpoint
# (copied beside each fixture's main.tf by KilnTestSupport's Terraform). In real use the
# provider needs none of this: `provider "aws" { region = "eu-west-1" }`.

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
      ecr = endpoints.value
      ecs = endpoints.value
      sts = endpoints.value
      iam = endpoints.value
    }
  }
}
