# A team's own root configuration, as docs/terraform-module.md has it: its provider (here pointed
# at an AWS emulator), and the generated module called once per pipeline with for_each.
# test/terraform-module.test.ts generates the module into ./modules/payload-pipeline, then runs
# init, validate, plan, apply, plan again, a business-code change and destroy against moto_server.

terraform {
  required_version = ">= 1.9.0"
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

variable "emulator_endpoint" {
  description = "moto_server's URL, for every service"
  type        = string
}

provider "aws" {
  region                      = "eu-central-1"
  access_key                  = "test"
  secret_key                  = "test"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  endpoints {
    cloudwatch = var.emulator_endpoint
    dynamodb   = var.emulator_endpoint
    ec2        = var.emulator_endpoint
    iam        = var.emulator_endpoint
    kms        = var.emulator_endpoint
    lambda     = var.emulator_endpoint
    logs       = var.emulator_endpoint
    s3         = var.emulator_endpoint
    sns        = var.emulator_endpoint
    sqs        = var.emulator_endpoint
    sts        = var.emulator_endpoint
  }
  default_tags {
    tags = { owner = "payments-platform" }
  }
}

# What the team already has: an alarm topic, a key, a network.
resource "aws_sns_topic" "ops" {
  name = "ops-alarms"
}

resource "aws_kms_key" "payloads" {
  description = "payload buckets"
}

resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_subnet" "private" {
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.0.1.0/24"
}

resource "aws_security_group" "functions" {
  name   = "payload-functions"
  vpc_id = aws_vpc.main.id
}

locals {
  pipelines = {
    orders = {
      tracing         = true
      kms_key_arn     = aws_kms_key.payloads.arn
      reserved        = 5
      subnet_ids      = [aws_subnet.private.id]
      security_groups = [aws_security_group.functions.id]
      alarm_topic_arn = aws_sns_topic.ops.arn
      producers       = ["111122223333", "arn:aws:iam::444455556666:role/billing"]
      memory_size     = 1024
      tags            = { pipeline = "orders" }
    }
    invoices = {
      tracing         = false
      kms_key_arn     = null
      reserved        = null
      subnet_ids      = []
      security_groups = []
      alarm_topic_arn = null
      producers       = []
      memory_size     = null # the module's defaults
      tags            = null
    }
  }
}

module "payload_pipeline" {
  source   = "./modules/payload-pipeline"
  for_each = local.pipelines

  name_prefix                   = each.key
  tracing                       = each.value.tracing
  kms_key_arn                   = each.value.kms_key_arn
  consumer_reserved_concurrency = each.value.reserved
  subnet_ids                    = each.value.subnet_ids
  security_group_ids            = each.value.security_groups
  alarm_topic_arn               = each.value.alarm_topic_arn
  producers                     = each.value.producers
  memory_size                   = each.value.memory_size
  log_retention_days            = 30
  tags                          = each.value.tags
  force_destroy                 = true
}

# The same module with count and depends_on: a module with no provider block of its own allows both.
module "disabled_pipeline" {
  source     = "./modules/payload-pipeline"
  count      = 0
  depends_on = [aws_sns_topic.ops]

  name_prefix = "disabled"
}

output "pipelines" {
  description = "What producers and operators of each pipeline need"
  value = { for name, p in module.payload_pipeline : name => {
    consumer_function_name = p.consumer_function_name
    consumer_function_arn  = p.consumer_function_arn
    sender_function_name   = p.sender_function_name
    bucket_name            = p.bucket_name
    payload_prefix         = p.payload_prefix
    failure_bucket_name    = p.failure_bucket_name
    idempotency_table_name = p.idempotency_table_name
    alarm_topic_arn        = p.alarm_topic_arn
    producer_policy_json   = p.producer_policy_json
  } }
}
