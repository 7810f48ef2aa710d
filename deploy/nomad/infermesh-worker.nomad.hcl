# A pool of infermesh workers for ONE model deployment (run the file once per deployment:
# churn/prod, churn/canary, ...; the job ID names both).
#
#   nomad job run -var model=churn -var deployment=prod deploy/nomad/infermesh-worker.nomad.hcl
#
# Two kinds of change, two paths:
# - A new MODEL VERSION needs no redeploy: each worker follows models/<model>/deployments/<deployment>
#   in Consul KV and hot-swaps what `infermesh models promote` points it at (no request fails).
# - A new WORKER BUILD (new image or binary, new flags) is a new job version: Nomad starts
#   `canary` allocations beside the old ones (registered with canary_meta, so the gateway sends them
#   their share of traffic and dashboards can tell them apart) and waits for an operator:
#     nomad deployment promote <deployment-id>     # or: nomad deployment fail <deployment-id>
#   A canary that never becomes healthy fails the deployment, and auto_revert puts the last stable
#   job version back; the old allocations keep serving all along.
#
# Catalog registration: Nomad's service block registers the workers with a grpc.health.v1 check.
# Alternatively drop the service blocks and pass --register, letting each worker register itself
# (that registration also keeps a `version` meta current on every swap).
#
# raw_exec runs the built application on the client node. For the docker driver in production see
# deploy/nomad/README.md (the service, update and restart blocks stay as they are).

variable "model" {
  type        = string
  description = "Model name in the registry (models/<model>/...)."
}

variable "deployment" {
  type        = string
  default     = "prod"
  description = "Deployment the workers follow (models/<model>/deployments/<deployment>), e.g. prod or canary."
}

variable "count" {
  type        = number
  default     = 2
  description = "Worker instances. Size for peak load with one instance lost; the gateway spreads calls over all of them."
}

variable "cpu" {
  type        = number
  default     = 500
  description = "CPU reserved per worker, MHz. ONNX inference with --onnx-threads 1 uses about one core at full load."
}

variable "memory" {
  type        = number
  default     = 512
  description = "Memory reserved per worker, MiB: the runtime plus two loaded artifacts during a hot swap."
}

variable "infermesh_command" {
  type        = list(string)
  default     = ["infermesh"]
  description = "Program and leading arguments that start the infermesh CLI on the client node, e.g. [\"node\", \"/opt/infermesh/packages/cli/bin/infermesh.mjs\"]."
}

variable "build" {
  type        = string
  default     = "1"
  description = "Label of the worker build (the image tag in production). Changing it makes a new job version, rolled out through a canary."
}

variable "consul_address" {
  type        = string
  default     = "http://127.0.0.1:8500"
  description = "HTTP address of the Consul agent the workers read the registry from: the node's local agent by default."
}

variable "kv_prefix" {
  type        = string
  default     = "infermesh/"
  description = "Consul KV prefix of the registry (the same for gateways, workers, aggregator and CLI)."
}

variable "kafka_brokers" {
  type        = string
  default     = ""
  description = "Kafka bootstrap servers, host:port,host:port, the workers publish their lifecycle events to (infermesh.model.reloaded, reload_failed). Empty: NDJSON files in the task directory."
}

variable "events_topic_prefix" {
  type        = string
  default     = "infermesh."
  description = "Prefix of the event topics (<prefix>lifecycle): the same on the gateways, workers and aggregator."
}

variable "canary" {
  type        = number
  default     = 1
  description = "Canary allocations a new worker build starts beside the old ones before an operator promotes it."
}

variable "min_healthy_time" {
  type        = string
  default     = "10s"
  description = "How long an allocation's checks must pass before it counts as healthy."
}

variable "healthy_deadline" {
  type        = string
  default     = "3m"
  description = "How long a new allocation may take to become healthy (download and load of the artifact included)."
}

variable "progress_deadline" {
  type        = string
  default     = "10m"
  description = "How long a deployment may go without a new healthy allocation before it fails (and is reverted)."
}

variable "restart_attempts" {
  type        = number
  default     = 2
  description = "Restarts of a crashed worker in place (per 30 minutes) before its allocation fails and is rescheduled."
}

variable "shutdown_delay" {
  type        = string
  default     = "5s"
  description = "Time between leaving the Consul catalog and SIGTERM, so gateways stop picking the instance first."
}

locals {
  job_id = "infermesh-worker-${var.model}-${var.deployment}"
}

job "infermesh-worker" {
  id   = local.job_id
  name = local.job_id
  type = "service"

  meta {
    model      = var.model
    deployment = var.deployment
    build      = var.build
  }

  group "worker" {
    count          = var.count
    shutdown_delay = var.shutdown_delay

    network {
      port "grpc" {}
      port "metrics" {}
    }

    update {
      max_parallel      = 1
      health_check      = "checks"
      canary            = var.canary
      auto_promote      = false
      auto_revert       = true
      min_healthy_time  = var.min_healthy_time
      healthy_deadline  = var.healthy_deadline
      progress_deadline = var.progress_deadline
    }

    restart {
      attempts = var.restart_attempts
      interval = "30m"
      delay    = "15s"
      mode     = "fail"
    }

    # The gateway builds a variant's pool from the passing instances whose meta names its model and
    # deployment: canary_meta keeps those two, so canaries get traffic, and marks them as canaries.
    service {
      name     = "infermesh-worker"
      provider = "consul"
      port     = "grpc"
      tags     = [var.model, var.deployment]
      meta {
        model      = var.model
        deployment = var.deployment
        build      = var.build
        canary     = "false"
      }
      canary_tags = [var.model, var.deployment, "canary"]
      canary_meta {
        model      = var.model
        deployment = var.deployment
        build      = var.build
        canary     = "true"
      }
      check {
        name         = "grpc.health.v1"
        type         = "grpc"
        port         = "grpc"
        grpc_service = "inference.GRPCInferenceService"
        interval     = "2s"
        timeout      = "2s"
        # One slow answer on a busy node must not take the instance out of every gateway's pool.
        failures_before_critical = 2
      }
    }

    service {
      name     = "infermesh-worker-metrics"
      provider = "consul"
      port     = "metrics"
      tags     = ["prometheus", var.model, var.deployment]
      meta {
        model      = var.model
        deployment = var.deployment
      }
    }

    task "worker" {
      driver = "raw_exec"

      config {
        command = var.infermesh_command[0]
        args = concat(slice(var.infermesh_command, 1, length(var.infermesh_command)), [
          "worker",
          "--model", var.model,
          "--deployment", var.deployment,
          "--consul", var.consul_address,
          "--kv-prefix", var.kv_prefix,
          "--host", "${NOMAD_IP_grpc}",
          "--port", "${NOMAD_PORT_grpc}",
          "--metrics-host", "${NOMAD_IP_metrics}",
          "--metrics-port", "${NOMAD_PORT_metrics}",
          "--artifact-cache-dir", "${NOMAD_ALLOC_DIR}/artifacts",
          # A worker publishes a few events per promotion: 64 MiB of spool rides out any Kafka outage.
          ], var.kafka_brokers == "" ? [] : [
          "--kafka-brokers", var.kafka_brokers,
          "--events-topic-prefix", var.events_topic_prefix,
          "--events-spool-dir", "${NOMAD_ALLOC_DIR}/data/spool",
          "--events-spool-max-bytes", "67108864",
        ])
      }

      env {
        # Changing the build changes the task, which is what makes Nomad roll out a new allocation.
        INFERMESH_BUILD = var.build
      }

      # SIGTERM drains in-flight calls for up to --shutdown-grace-ms (10 s): give it longer.
      kill_signal  = "SIGTERM"
      kill_timeout = "15s"

      resources {
        cpu    = var.cpu
        memory = var.memory
      }
    }
  }
}
